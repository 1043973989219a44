"""Extraction: a model's response text -> its final committed answer (a string), or None.

The first of the checker's three layers (extract, compare, decide). It judges the *final*
answer only: the text after the last `</think>`; an unclosed `<think>` means the response
was cut off while reasoning, so only a box or an `<answer>` tag inside it counts. Within the
final part, the answer is, in order of trust: the last `\\boxed{}` or `<answer>` tag
(whichever comes last), then the last "answer is ..." / "Final Answer: ..." sentence, then a
concluding "Therefore ..." sentence, then a short last line or its bold text. Two boxes joined
by "or" are a hedge (None); a last box that never closes is a truncated answer (None).

Every scan here is linear in the response and bounded, so a 200k-character response or braces
nested thousands deep cost milliseconds.

    >>> final_answer("<think>maybe 3</think> The answer is \\\\boxed{5}.").answer
    '5'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from vgpo_eval.checker.quantity import CJK, NUMBER_WORDS, has_variable_term

STOP_TOKENS = ("<|im_start|>", "<|im_end|>", "<|endoftext|>", "<|eot_id|>", "</s>")
INVISIBLE = dict.fromkeys(map(ord, "\x00\u200b\u200c\u200d\u200e\u200f\u2060\ufeff"), None)
_INVISIBLE = re.compile("[" + "".join(map(chr, INVISIBLE)) + "]")
# full-width digits and Latin letters, as CJK input methods type them ("答案是 Ｂ", "１２")
FULL_WIDTH = {0xFF10 + i: ord("0") + i for i in range(10)} | {
    base + i: ord(first) + i for base, first in ((0xFF21, "A"), (0xFF41, "a")) for i in range(26)
}
VULGAR = {"½": "1/2", "⅓": "1/3", "⅔": "2/3", "¼": "1/4", "¾": "3/4", "⅕": "1/5", "⅙": "1/6", "⅛": "1/8"}
_VULGAR_CHAR = re.compile("[" + "".join(VULGAR) + "]")
_VULGAR = re.compile(r"(?:(?<![\d.,])(\d+)\s?)?[" + "".join(VULGAR) + "]")  # "½ cm²" is "1/2 cm²", "2½" 5/2
# a whole number and a fraction in words: "5 and a half" is 11/2, "2 and three quarters" 11/4
_MIXED_WORDS = re.compile(
    r"(?<![\d.,])(\d+)\s+and\s+(a|one|two|three)[\s-]+(halves|half|thirds?|quarters?|fourths?)\b", re.I
)
_FRACTION_WORDS = {"a": 1, "one": 1, "two": 2, "three": 3, "half": 2, "halves": 2, "third": 3, "thirds": 3,
                   "quarter": 4, "quarters": 4, "fourth": 4, "fourths": 4}  # fmt: skip
_FULL_WIDTH = re.compile("[\uff10-\uff19\uff21-\uff3a\uff41-\uff5a]")
_ESCAPED_TWICE = re.compile(r"\\\\(?:boxed|frac|dfrac|sqrt|text|cdot|times|pi|circ|left|right)\b")
# "[^\S\n]*" after the newline, not "\s*": the same matches, without retrying every newline of a long run
_NEW_QUESTION = re.compile(r"(?:^|\n)[^\S\n]*(?:Question|Problem|Q)\s*(?:\d+\s*)?[:.]", re.I)
LATER = 600  # characters after the last box in which a final-answer sentence still counts
TAIL = 4000  # only the end of a long final part can hold its conclusion
MAX_BOX = 100_000  # a box still open after this many characters is not an answer ("too_long")
MAX_OPENERS = 20  # boxes examined from the end

_BOX_OPEN = re.compile(r"\\(?:boxed|fbox)\s*\{")
_BRACE = re.compile(r"[{}]")
_ANSWER_TAG = re.compile(r"<answer>(.*?)(?:</answer>|$)", re.S | re.I)
_STRONG_CUE = re.compile(
    r"(?=[afoc答故所因应\s])(?:"  # a cheap first-character test before the alternatives
    r"\bfinal\s+answer\b(?:\s*\([^()]{0,40}\))?\s*(?:is\b|:|=)?"  # "Final answer (displacement): 5 m"
    r"|\b(?:answer|option|choice)\s*(?:is|was|would\s+be|should\s+be|will\s+be|remains|stays)\b\s*:?"
    r"|\banswer\s*[:=]|^\s*final\s*:"
    r"|答案\s*(?:是|为)?\s*[:：]?|(?:故|所以|因此|应)选|^\s*答\s*[:：])",  # 答案是 C, 故选 C, 答：...
    re.I | re.M,
)
_JSON_ANSWER = re.compile(
    r'"(?:final[_ ]?)?answer"\s*:\s*(?:"((?:[^"\\]|\\.)*)"|(-?\d+(?:\.\d+)?)|\[([^\[\]]*)\])', re.I
)
_HOW_HEADER = re.compile(  # "how I got the answer:", "to find the answer:": what follows is the working
    r"\b(?:how|to)\s+(?:(?:I|we|you)\s+)?(?:got|get|found|find|reached|reach|arrived\s+at|arrive\s+at|obtained|obtain"
    r"|derived|derive|determined|determine|calculated|calculate|computed|compute|came\s+up\s+with|come\s+up\s+with)"
    r"\s+(?:the|my|this|that|our|your|an?)\s+$",
    re.I,
)
_CUE_KEYS = ("final", "answer", "option", "choice", "答", "选")  # one is in every match of _STRONG_CUE
_WEAK_CUE = re.compile(
    r"\b(?:therefore|thus|hence|so)\b,?|∴|所以|因此", re.I
)  # looked for in the last line only
_SENTENCE_END = re.compile(r"(?<!\bi\.e)(?<!\be\.g)\.(?=\s|$)|\n")  # "55°, i.e. option A" is one
_OPTION = re.compile(
    r"(?:\b(?i:option|choice|pick|choose|select|go with|(?:box|grid|panel|figure|candidate|diagram)(?:es|s)?)|选项|选)\s*"
    r"(\(?\s*[A-J]\s*\)?(?:\s*(?:,\s*and|,|and|&|和|与|、)\s*\(?[A-J]\)?)*)(?![A-Za-z])"
)  # "(option F)", "选项 C 正确", "，选B。", "选 C 和 D"
# option letters joined by commas or "and", a "*" or "+" away from a list: "A", "B and D", "(A), (C) & (D)"
_LETTER_LIST = r"\(?[A-J]\)?(?:\s*(?:,\s*and|,|and|&)\s*\(?[A-J]\)?)"
# a line closing on a lone letter: "... = 3. B.", "Wait, ... It's D.", "the odd one out is G, because ..."
_CLOSING_LETTER = re.compile(  # read on the line's last 40 characters (it is anchored at the end)
    r"(?:[.!?]\s+|。\s*|(?:^|\s)(?:→|⇒|=>|->)\s*|\b(?i:it|that|this)(?:'s|’s|\s+is|\s+must\s+be|\s+would\s+be)\s+)"
    r"\(?([A-J])\)?[.!。]?$"
)
_REASONED_LETTERS = re.compile(rf"\b(?:is|are|be)\s+({_LETTER_LIST}*)\s*,?\s+(?:because|since|as)\b")
_BOLD_LETTERS = re.compile(r"^\s*(?:,\s*and|,|and|&)\s*$")  # "**B** and **D**": one answer, two letters
_MARKDOWN = re.compile(r"\*\*|__|^#+\s*", re.M)
_BOLD = re.compile(r"\*\*(.+?)\*\*")
_MATH = re.compile(r"\$([^$]+)\$")
_VALUE_WORDS = tuple(w for w in NUMBER_WORDS if w not in ("no", "none"))  # "no" is not a value here
_NUMBER_WORDS = "|".join(_VALUE_WORDS)
_VALUE = re.compile(  # "12", "1,200", "12’500", "3/4", "2:15", "seven"; not the "6" of "the 6th shape"
    rf"\d+:\d\d|-?\d[\d,]*(?:[’']\d{{3}}[\d,]*)*(?:\.\d+)?(?:/\d+)?(?!\d|(?:st|nd|rd|th)\b)|\b(?:{_NUMBER_WORDS})\b",
    re.I,
)
_NUMBER_DIGIT = re.compile(r"\d(?!\d|(?:st|nd|rd|th)\b)")  # the last digit of a number, not of "6th"
_NUMBER_WORD_SET = frozenset(_VALUE_WORDS)
_LOWER_WORD = re.compile(r"[a-z]+")
_THRESHOLD = re.compile(  # a bound the question set, not the answer: "three bars with values above 40"
    r"\b(?:above|below|over|under|than|exceed(?:s|ing)?|at\s+least|at\s+most)\s+\$?-?\d[\d,.]*", re.I
)
_AT_BOUND = re.compile(r"\bat\s+(?:least|most)\s+\$?-?\d", re.I)
_EITHER = re.compile(  # "either 0.5 cm² (C) or 1.5 cm² (B)": a hedge; not "objects either blue or metal"
    r"\beither\s+[^.!?\d]{0,20}(?:-?\d|(?<![A-Za-z])(?-i:\(?[A-J])\b)(?:[^.!?]|\.\d)*?"
    r"\bor\s+[^.!?\d]{0,20}(?:-?\d|(?<![A-Za-z])(?-i:\(?[A-J])\b)",
    re.I,
)
_BETWEEN = re.compile(r"\bbetween\s+(-?\d[\d,.]*)\s+and\s+(-?\d[\d,.]*)(?:\s+[A-Za-z%°]+){0,2}\s*$", re.I)
_HEDGE_GAP = re.compile(r"\bor\b", re.I)
# two letters joined by "or": "(B) or possibly (D)" as the answer, or closing a sentence ("... is B or C")
_OR_LETTERS = r"\(?[A-J]\)?\s*,?\s+or\s+(?:(?:possibly|maybe|perhaps|probably)\s+)?\(?[A-J]\)?"
_LETTER_OR = re.compile(_OR_LETTERS + r"(?![\w(])")
_LETTER_OR_END = re.compile(r"(?<![\w(])" + _OR_LETTERS + "$")
_ALSO_BE = re.compile(
    r"\b(?i:could|might|may)\s+also\s+be\s+(?:(?i:option|choice)\s+)?\(?(?:[A-J]\b|-?\d)"
    r"|(?<![\w(])\(?[A-J]\)?\s+(?i:could|might|may)\s+also\s+be\s+(?i:correct|right|valid|justified|argued|defended)"
)  # "it could also be C", "(though D could also be justified)"
_ASSIGNED = r"(?:[A-Za-z]\w*\s*=\s*)?-?\d[\d,]*(?:\.\d+)?"
_ALTERNATIVES = re.compile(rf"(?<![\dA-Za-z.,]){_ASSIGNED}(?:\s*(?:\bor\b|或)\s*{_ASSIGNED})+\s*$")
_REVISION = re.compile(
    r"\b(?:wait|actually|on (?:a )?closer (?:inspection|look)|correction|my mistake|re-?check\w*|re-?examin\w*)\b"
    r"|不对|更正|重新",
    re.I,
)
# several boxes: a box the response takes back before its last one ("I initially got \boxed{2}, but I made a
# sign error"), and the words that offer two boxed answers as alternatives ("Both are plausible", "either")
_RETRACTED = re.compile(
    _REVISION.pattern + r"|\b(?:initially|at first|mistakes?|errors?|reconsider\w*|double[- ]check\w*"
    r"|correct(?:ing|ed|ion)|instead)\b|检查|应为|应该是|改正",
    re.I,
)
_ALTERNATIVE = re.compile(
    r"\b(?:both|either|alternatively|plausible|possibl[ey]|perhaps|maybe|depend(?:s|ing)|not sure|unsure"
    r"|uncertain|ambiguous|otherwise|another (?:reading|interpretation|possibility))\b|或者|可能|也可以",
    re.I,
)
_CASE_START = re.compile(r"\s*(?:if|when|otherwise|in (?:the )?case|assuming)\b|\s*(?:如果|若)", re.I)
_NAMED_BY = re.compile(  # "so the width is \boxed{4}": the quantity a box is named as
    r"\b(?:the\s+)?([a-z]{3,})(?:\s+of\s+[\w\s]{1,30}?)?\s+(?:is|are|was|equals)\s+(?:therefore\s+|thus\s+)?"
    r"(?:[^.\n]{0,40}=\s*)?\$?\s*$",
    re.I,
)
_UNNAMED = frozenset({"answer", "result", "value", "solution", "number", "option", "choice", "it", "this", "that",
                      "which", "correct", "final", "one"})  # fmt: skip
_CONTINUED = re.compile(r"(?:\\sqrt\s*(?:\{[^{}$]{1,20}\}|\d)|\\pi\b|π|√\d+)+")
BOX_LETTER = re.compile(r"\(?([A-J])\)?\.?")
# an answer template left unfilled ("Answer: $LETTER", MMMU-Pro's instruction copied out): no answer
_PLACEHOLDER = re.compile(
    r"^[^\S\n]*(?:\*\*)?(?i:final\s+)?(?i:answer|option|choice)(?:\*\*)?\s*[:：]\s*\$?\(?"
    r"(?:LETTER|ANSWER|OPTION)\)?\$?\.?[^\S\n]*$",
    re.M,
)
_BREAKDOWN = re.compile(  # "5 (3 cars + 2 buses)", "12 cm (4 + 4 + 4)": a value, then how it adds up
    r"(-?\d[\d,]*+(?:\.\d+)?(?:\s*[^\W\d_]{1,12})?)\s*[（(]([^()（）]*+)[)）]\.?"
)  # possessive: a long bracket with no end fails in one pass
_OPERATOR = re.compile(r"[+×*=]")
_INSTRUCTION = re.compile(  # a benchmark's instruction copied out: "provide the final value, e.g., 1, 2, 3, at the end"
    r"\b(?:provide|give|answer)\b[^\n]{0,80}\be\.g\.,?\s*(?:[A-J]|\d+(?:\.\d+)?)\s*,\s*(?:[A-J]|\d+(?:\.\d+)?)",
    re.I,
)
_LIKELY = re.compile(r"^\s*(?:most\s+)?(?:likely|probably|possibly|perhaps|maybe)\s+", re.I)
_CONDITIONAL = re.compile(  # an alternative answer under another reading, after the answer
    r"(?:^|[.!?\n]\s*)(?:but\s+|however,?\s+)?if\b[^.\n]{0,200}?\bwould\s+(?:be|give|make)\b[^\n]{0,80}?"
    r"(?:\d|\b(?:option\s+)?\(?[A-J]\)?[.)]?\s*$)",
    re.I | re.M,
)
_BOTH_POSSIBLE = re.compile(
    r"\bboth\b[^.\n]{1,60}?\b(?:are|seem|look)\s+(?:equally\s+)?(?:plausible|possible)\b", re.I
)
_WORDED_SUM = re.compile(r"\d+\s*[^\W\d_]+(?:\s*\+\s*\d+\s*[^\W\d_]+)+\s*\.?")  # "4 dogs + 5 cats"
_YUAN = re.compile(r"(\d+)\s*元\s*(\d)\s*角(?:\s*(\d)\s*分)?")  # 2 元 5 角 = 2.5 元
_JOIN_GAP = re.compile(  # "\boxed{2}, \boxed{3}"; "x = \boxed{2} and y = \boxed{3}"
    r"^\s*\$?\s*(?:,|;|&|and|,\s*and)\s*\$?\s*(?:[A-Za-z](?:_\{?\w+\}?)?\s*=\s*)?\$?\s*$", re.I
)
_NAMED_GAP = re.compile(  # "the width is \boxed{2} and the height is \boxed{3}": a second named part
    r"^\s*\$?\s*,?\s*and\s+(?:the\s+)?[A-Za-z][\w\s]{0,30}?\s(?:is|=|:)\s*\$?\s*$", re.I
)
# the words that state a value ("the area is 12", "That's 3", "x ≈ 4"): `_IS` adds "=" and "得"
_STATES = (
    r"(?:^|\s)(?:is|are|equals|was|were)\s|['’]s\s(?<=\b[Tt]hat...)|['’]s\s(?<=\b[Ii]t...)|\s(?:≈|\\approx)\s"
)
_IS_WORD = re.compile(rf"{_STATES}|(?<=[\u4e00-\u9fff])(?:是|为|等于)", re.I)
_CHECK_LINE = re.compile(  # a check of the answer or a remark after it, not the answer
    r"^\(\s*(?:check|verification|verify|note)\b.*\)\W*$|^(?:check|verification|note|n\.?b\.?)\s*:|^note\s+that\b",
    re.I,
)
_PAREN_LETTERS = re.compile(r"(?:\([A-J]\)){2,}")
_ANNOUNCED = re.compile(r"\b(?:is|are):\s+(.+)$")
_LONE_LETTER = re.compile(r"\W*[A-J]\W*")
_LOWER_LETTER = re.compile(r"[(\[]?[a-j][)\]]?\.?")
_DIGIT = re.compile(r"\d")
_QUALIFIED = re.compile(r"^(?:approximately|about|around|roughly|exactly|only|just|at)\s+", re.I)
_CLAUSE_BREAK = re.compile(r";|,\s")
_WORD = re.compile(r"[A-Za-z]{2,}|[\u4e00-\u9fff]")
_COMMAND = re.compile(r"\\[A-Za-z]+")
_BECAUSE = re.compile(r"\b(?:because|since|as)\b")
_BRACKETED = re.compile(r"[\[({][^A-Za-z\[\](){}]*[\])}]\.?")  # a list, tuple, set or interval of values
_BARE = re.compile(r"\(?[A-J]\)?[.:]?|-?\d[\d,]*(?:\.\d+)?\.?")  # a line that is only a letter or a number
# a value and its unit, then more sentences: "4 years. The man looks about 34."
_UNIT_FIRST = re.compile(r"(-?\d[\d,]*(?:\.\d+)?\s*(?:%|°|[a-z]+(?:\s[a-z]+)?))\.\s+[A-Z]")
_ANSWER_FIRST = re.compile(  # not the range "14–15"
    r"^(\(?[A-J]\)?(?=\s*(?:—|–|--|\s-)\s*\S)|-?\d[\d,]*(?:\.\d+)?(?=\s*(?:—|–|--|\s-)\s*[^\s\d]))"
)
_LETTER_TOKEN = re.compile(r"\b[A-J]\b")
_OPTION_WORDS = ("option", "choice", "pick", "choose", "select", "go with", "box", "grid", "panel", "figure",
                 "candidate", "diagram", "选")  # fmt: skip
_LETTERS_ONLY = re.compile(rf"{_LETTER_LIST}*")
_SENTENCES = re.compile(r"(?<=[.!?])\s+(?=[A-Z])|(?<=[。！？])")
# a later sentence of the last line that states a value: "... are (2, 4) and (0, 0)", "... it will be 5:00"
_STATEMENT = re.compile(r"(?<=[.!?])\s+[A-Z][^.!?]*?\b(?:is|are|will\s+be|equals)\b([^.!?]*)[.!?]?\s*$")
# the last clause of a line, an equality whose last side is short: "∠B = 90° − 60° = 30°"
_CHAIN_END = re.compile(
    r"(?:^|[,;，；:：]\s*|\bso\s+|\bthen\s+)"
    r"((?:\{,\}|[^,;，；:：=])+(?:=(?:\{,\}|[^=,;，；])+)*?=\s*[^=,;，；\s](?:\{,\}|,(?=\d{3})|[^=,;，；]){0,24}?)[.。]?$"
)  # ("{,}" is a thousands separator, not a clause break: "= 1{,}200")
_RESTATED = re.compile(r",?\s*\b(?:i\.\s?e\.|that is),?\s+(.+)$", re.I)
_TRAILING_CLAUSE = re.compile(  # where or when the answer holds, or a remark with no value of its own
    r"\s*[,，]\s*(?:(?i:where|when|while|out\s+of|depending)\b|此时|这时|当"
    r"|(?i:which|attained|achieved|occurring|reached)\b(?=[^.]*\b(?i:at|when|where|if)\b|[^\d]*$))"
)  # not "3.89, which to one decimal place is 3.8": that clause restates the answer
_IS = re.compile(
    r"(?=[\s'’是为等得iI])"  # a cheap first-character test before the alternatives
    rf"(?:{_STATES}|(?:(?<=\d)|(?<=[A-Za-z]{{2}}))\s=\s(?=[^=]*$)|(?<=[\u4e00-\u9fff])(?:是|为|等于|得(?![到出])))",
    re.I,
)  # "the area is 12", "周长是12厘米", "解得 1 ≤ x < 3"
_LEADING_LETTERS = re.compile(
    rf"^(?i:both\s+|options?\s+|choices?\s+)?({_LETTER_LIST}*)\s+"
    r"(?:is|are|belongs?|fits?|follows?|matches|match|satisf\w*|contains?|completes?)\b"  # not "I would"
)
# several letters, then what they do: "Keys B and D fit the lock", "C and D light up" (one letter: _LETTER_WORDS)
_LEADING_SET = re.compile(rf"^(?:[A-Z]?[a-z]+s\s+)?({_LETTER_LIST}+)\s+(?=[a-z])")
_LETTER_CORRECT = re.compile(  # "Based on the graph, (C) is correct", "so B is the best answer"
    r"(?:^|[\s,:])\(?([A-J])\)?\s+(?:is|would\s+be|seems)\s+(?:the\s+)?"
    r"(?:correct|right|best|answer|most\s+(?:likely|appropriate|accurate|plausible))\b"
)
_LETTER_CJK = re.compile(r"^[(（]?([A-J])[)）]?\s*(?:[。：．]|、(?!\s*[(（]?[A-J]\b))")  # not "A、C"
_LETTER_BECAUSE = re.compile(r"^\(?([A-J])\)?\s*,?\s+(?:because|since|as|given|for)\b")
_LETTER_LEAD = re.compile(r"^(?:\(([A-J])\)|([A-J])[).:])\s+\S")  # "C) Annie is the youngest sister"
_LETTER_WORDS = re.compile(  # a letter, then words ("B the larger one"); not "A"/"I" (article, pronoun)
    r"^\(?([B-HJ])\)?\s+(?=[a-z])(?!(?:and|or|to|nor)\s+\(?[A-J]\b)"
)
_MONEY_LAST = re.compile(r"\$\d[^$]*$")
_DANGLING = re.compile(
    r"\b(?:and|or|the|a|an|of|is|are|to|with|so|then|because|which|that|by|for|in|on|as|be|we|let|since)$",
    re.I,
)
_REMARK = re.compile(r"\s+\((?=[^()\\]*[a-z]{2,})[^()\\]*\)\s*$")  # "(in m/s²)", not "(2, +\\infty)"
_LETTER_LAST = re.compile(  # "... Impressionism (F)", "The point is (2, -1). D", "hold: A, B, C and D",
    rf"(?:\(([A-J])\)|[.!?]\s+\(?([A-J])\)?|(?::|\bare)\s*({_LETTER_LIST}+)"  # "... are (A) and (D)"
    r"|(?<=[a-z]),\s+\(?([A-J])\)?)$"  # "Based on the analysis, C" (not the C of "A, B, C")
)
_GLOSSED_SET = re.compile(r"\([A-J]\)(?:\s*(?:,\s*and|,|and)\s+(?!and\s)[^().,;]{1,40}?\s*\([A-J]\))+$")
_NOTE = re.compile(r"(?<=[.!?])\s+(?:Note(?:\s+that\b|:)|N\.?B\.?:|Remember(?:\s+that\b|:))[^\n]*$")
_GLOSSED_NOT = re.compile(r"\(([A-J])\),?\s+(?:not|rather\s+than|instead\s+of)\s+[^()]{0,40}\([A-J]\)$")
_YES_NO = re.compile(r"^(yes|no)\b(?:[,.;!]|\s*$)", re.I)
_RANGE = re.compile(  # "6 to 7", "14–15": not "8-2\pi" or "8-2x", a difference
    r"\b(\d+(?:\.\d+)?)\s*(?:to|or|-|–)\s*(\d+(?:\.\d+)?)\b(?![\\(^√π]|[A-Za-z](?![A-Za-z]))"
)
_LABELLED = re.compile(  # "Total: 12", "Bearing of R from P: S23.5°W", "Equation of line l: 2x − y − 1 = 0"
    r"^[^\W\d_]{2,}(?:\s[^\W\d_]+){0,5}\s*[:：]\s*(\S.{0,40})$"
)
_CLOSING_YES_NO = re.compile(r"(?:^|[.!?]\s+)(yes|no)[.!]?$", re.I)


@dataclass(frozen=True)
class Extraction:
    """The final committed answer (None if there is none) and how it was found."""

    answer: str | None
    how: str  # boxed | answer_tag | cue | conclusion | last_line | hedge | truncated | empty | none
    last_part: str | None = None  # for parts in named boxes ("the width is \boxed{2} and the height is
    #                               \boxed{3}"), the last box: what a gold of one part is compared with


class Box(NamedTuple):
    content: str | None  # None for a hedge or a truncation
    end: int
    how: str
    last_part: str | None = None


def clean(text: str) -> str:
    """Drop invisible characters and anything after a chat-template stop token, read full-width digits and
    letters as ASCII; undo LaTeX escaped twice
    ("\\\\boxed{\\\\frac{1}{2}}", a response that went through JSON encoding one time too many)."""
    if _INVISIBLE.search(text):
        text = text.translate(INVISIBLE)
    if _FULL_WIDTH.search(text):
        text = text.translate(FULL_WIDTH)
    if _VULGAR_CHAR.search(text):
        text = _VULGAR.sub(_vulgar, text)
    if "角" in text and _YUAN.search(text):
        text = _YUAN.sub(lambda m: f"{m.group(1)}.{m.group(2)}{m.group(3) or ''} 元", text)
    if " and " in text and ("alf" in text or "hird" in text or "uarter" in text or "ourth" in text):
        text = _MIXED_WORDS.sub(_mixed_words, text)
    if "\\\\" in text and _ESCAPED_TWICE.search(text):
        text = re.sub(r"\\\\(?=[A-Za-z{}$%])", r"\\", text)
    for token in STOP_TOKENS:
        cut = text.find(token)
        if cut != -1:
            text = text[:cut]
    return text


def _vulgar(m: re.Match) -> str:
    """A vulgar fraction as a/b, and with a whole number before it as one improper fraction."""
    fraction = VULGAR[m.group(0)[-1]]
    if m.group(1) is None:
        return fraction
    top, bottom = map(int, fraction.split("/"))
    return f"{int(m.group(1)) * bottom + top}/{bottom}"


def _mixed_words(m: re.Match) -> str:
    top, bottom = _FRACTION_WORDS[m.group(2).lower()], _FRACTION_WORDS[m.group(3).lower()]
    return f"{int(m.group(1)) * bottom + top}/{bottom}"


def final_answer(text: str) -> Extraction:
    """The final committed answer of a response (see the module docstring for the policy)."""
    text = clean(text or "")
    close = text.rfind("</think>")
    if close != -1:
        region = text[close + len("</think>") :]
        if not region.strip():  # everything was said inside the reasoning: only a box or a tag commits
            return _from_region(text[:close].replace("<think>", ""), marked_only=True)
        return _from_region(region, marked_only=False)
    start = text.find("<think>")
    if start != -1:  # reasoning never closed: the response was cut off
        return _from_region(text[start + len("<think>") :], marked_only=True)
    return _from_region(text, marked_only=False)


def final_line(text: str) -> str:
    """The last non-empty line of a response's final part (after the last </think>), markdown aside."""
    text = clean(text or "")
    close = text.rfind("</think>")
    region = text[close + len("</think>") :] if close != -1 else text
    lines = [line.strip() for line in _MARKDOWN.sub("", region[-TAIL:]).splitlines() if line.strip()]
    return lines[-1] if lines else ""


def _from_region(region: str, marked_only: bool) -> Extraction:
    """Find the answer in the final part of a response."""
    if ("LETTER" in region or "ANSWER" in region or "OPTION" in region) and _PLACEHOLDER.search(region):
        if _PLACEHOLDER.search(region.rstrip().rsplit("\n", 1)[-1]):
            return Extraction(None, "template")  # it ends on the template, unfilled: it never chose
        region = _PLACEHOLDER.sub("", region)  # a template copied out before the answer commits nothing
    box = last_box(region)
    tag = _last_answer_tag(region)
    if tag is not None and (box is None or tag[1] > box[1]):
        inner = last_box(tag[0])
        content = inner[0] if inner is not None and inner[0] is not None else tag[0]
        content = _broken_down(content.strip())
        return Extraction(content or None, "answer_tag" if content else "empty")
    if box is not None:
        content, end, how, last_part = box
        later = _later_statement(region[end:]) or _revised(region[end:], content)
        if later is not None:  # "\boxed{4} ... Final answer: 5": the last statement is the committed one
            return later
        if content is None:
            return Extraction(None, how)
        several = _several(region) if last_part is None else None
        if several is not None:  # "\boxed{A} ... should be \boxed{C}": both committed
            return several
        content = _broken_down(content)
        return Extraction(content or None, how if content else "empty", last_part)
    if marked_only:
        return Extraction(None, "truncated")
    found = _unmarked(region[-TAIL:])
    if found.answer and found.answer.endswith((")", ").")):
        return Extraction(_broken_down(found.answer), found.how, found.last_part)  # "12 (3 + 4 + 5)"
    return found


def _later_statement(tail: str) -> Extraction | None:
    """An "answer is" / "Final answer:" sentence shortly after the last box, stating its own answer; not
    one after a new question the model went on to write (few-shot prompts invite that)."""
    plain = _MARKDOWN.sub("", tail[:LATER])
    strong = list(_STRONG_CUE.finditer(plain))
    if not strong or _NEW_QUESTION.search(plain, 0, strong[-1].start()):
        return None
    span = _distill(_sentence(plain, strong[-1].end()))
    return Extraction(span, "cue") if span else None


def _revised(tail: str, boxed: str | None) -> Extraction | None:
    """A box the response goes on to take back ("\\boxed{62}. On closer inspection ... the correct value
    is 68"): the answer its last line states instead, when it is the same kind of answer (a number for a
    number: a closing "Yes." does not replace a boxed 5)."""
    if not _REVISION.search(tail[:LATER]) or _NEW_QUESTION.search(tail):
        return None
    after = _unmarked(tail[-TAIL:])
    if after.answer is None or boxed is None or after.answer == boxed:
        return None
    if bool(_DIGIT.search(after.answer)) != bool(_DIGIT.search(boxed)) or _YES_NO.match(after.answer):
        return None
    return after


def last_box(text: str) -> Box | None:
    """The last `\\boxed{...}` as a `Box` (content, end position, how); content None for a hedge or a
    truncation.

    Returns None when the text has no box at all. Two boxes joined by "or" are a hedge; joined
    by "and" or a comma they are one answer with two parts ("2, 3"), and so are two boxes naming
    two parts ("the width is \\boxed{2} and the height is \\boxed{3}": its last part kept apart).
    """
    openers = [m.end() for m in _BOX_OPEN.finditer(text)][-MAX_OPENERS:]
    if not openers:
        return None
    last = _close(text, openers[-1])
    if last is None:
        return Box(None, len(text), "truncated" if len(text) - openers[-1] < MAX_BOX else "too_long")
    content = text[openers[-1] : last].strip()
    for begin in reversed(openers[:-1]):
        end = _close(text, begin)
        if end is None or end >= openers[-1]:
            continue  # unbalanced, or the last box is nested inside this one
        gap = text[end + 1 : _opener_start(text, openers[-1])]
        earlier = text[begin:end].strip()
        if _hedge(gap, earlier, content):
            return Box(None, last + 1, "hedge")
        if _JOIN_GAP.match(gap) and earlier != content:
            content = f"{earlier}, {content}"
        elif _NAMED_GAP.match(gap) and earlier != content:
            return Box(f"{earlier}, {content}", last + 1, "boxed", content)
        break
    rest = _CONTINUED.match(text, last + 1)
    if rest and content and not content.endswith(("}", "\\")):  # "\boxed{3}\sqrt{3}": the written answer
        return Box(content + rest.group(0), rest.end(), "boxed")
    return Box(content, last + 1, "boxed")


def committed_boxes(text: str) -> list[tuple[int, int, str]]:
    """The boxes of a response's final part that it still stands by: every complete top-level box after
    the last retraction ("wait", "I made an error", "应为") that precedes its last box, as (start, end,
    content). A box named as another quantity than the last ("the width is \\boxed{4} ... the area is
    \\boxed{24}") is working, not an answer, and is left out."""
    text = clean(text or "")
    close = text.rfind("</think>")
    region = text[close + len("</think>") :] if close != -1 and text[close + 8 :].strip() else text
    return _committed(region)


def _committed(region: str) -> list[tuple[int, int, str]]:
    boxes = []
    for m in list(_BOX_OPEN.finditer(region))[-MAX_OPENERS:]:
        end = _close(region, m.end())
        if end is not None and not (boxes and m.start() < boxes[-1][1]):  # complete, not nested
            boxes.append((m.start(), end + 1, region[m.end() : end].strip()))
    if len(boxes) < 2:
        return boxes
    retracted = [m.end() for m in _RETRACTED.finditer(region, boxes[0][1], boxes[-1][0])]
    boxes = [b for b in boxes if not retracted or b[0] >= retracted[-1]]
    last = _name(region, boxes[-1][0])
    return [b for b in boxes[:-1] if not (last and (name := _name(region, b[0])) and name != last)] + boxes[
        -1:
    ]


def _name(region: str, start: int) -> str | None:
    """The quantity a box is named as in its sentence ("the height is \\boxed{6}" -> "height"), if any."""
    named = _NAMED_BY.search(region, max(0, start - 80), start)
    name = named.group(1).lower() if named else None
    return None if name in _UNNAMED else name


def _several(region: str) -> Extraction | None:
    """Two or more different answers boxed and still stood by: option letters are one selection
    ("\\boxed{B} \\boxed{D}": the comparison judges it against the gold's letters, a hedge for one
    letter); other values are a hedge when the words around them offer alternatives ("Both are
    plausible", "either", two cases "If ... \\boxed{3}. If ... \\boxed{-3}")."""
    boxes = _committed(region)
    distinct = list(dict.fromkeys(content for _, _, content in boxes))
    if len(distinct) < 2:
        return None
    letters = [BOX_LETTER.fullmatch(content) for content in distinct]
    if all(letters):
        return Extraction(", ".join(dict.fromkeys(m.group(1) for m in letters)), "boxes")
    last = boxes[-1]
    other = next(b for b in reversed(boxes) if b[2] != last[2])
    gap, after = region[other[1] : last[0]], region[last[1] : last[1] + 300]
    cases = all(_CASE_START.match(_sentence_before(region, b[0])) for b in (other, last))
    if _ALTERNATIVE.search(gap) or _ALTERNATIVE.search(after) or cases:
        return Extraction(None, "several_answers")
    return None


def _sentence_before(region: str, start: int) -> str:
    """The sentence a box stands in, up to the box."""
    begin = max(region.rfind(mark, 0, start) for mark in (". ", "\n", "; ", "。", "！", "？"))
    return region[begin + 1 : start]


def _opener_start(text: str, content_start: int) -> int:
    return text.rfind("\\", 0, content_start)


def _close(text: str, start: int) -> int | None:
    """Index of the brace closing the one opened just before `start` (within MAX_BOX characters), or None."""
    depth = 1
    for m in _BRACE.finditer(text, start, start + MAX_BOX):  # braces only: a long plain box costs nothing
        depth += 1 if m.group() == "{" else -1
        if depth == 0:
            return m.start()
    return None


def _last_answer_tag(text: str) -> tuple[str, int] | None:
    start = text.lower().rfind("<answer>")
    if start == -1:
        return None
    m = _ANSWER_TAG.match(text, start)
    content = m.group(1)
    if content.lstrip()[:1] in (":", "：") and "</" not in text[m.start() : m.end()]:
        content = content.lstrip()[1:].strip().split("\n", 1)[0]  # WeMath's template: "<Answer>: B"
    return content, m.end()


def _broken_down(content: str) -> str:
    """A value followed by its breakdown in brackets ("5 (3 cars + 2 buses)") is the value."""
    m = _BREAKDOWN.fullmatch(content) if content.endswith((")", ").")) else None
    return m.group(1).strip() if m and _OPERATOR.search(m.group(2)) else content


def _unmarked(region: str) -> Extraction:
    """No box or tag: an "answer is" sentence, else the last line (its bold, its conclusion, its value)."""
    if '":' in region and "answer" in region.lower() and (field := _json_answer(region)) is not None:
        return Extraction(field or None, "cue" if field else "empty")  # {"answer": "C"}
    plain = (
        _MARKDOWN.sub("", region) if ("*" in region or "_" in region or "#" in region) else region
    )  # "**Answer**: C"
    strong = _last_cue(plain)
    if strong:
        sentence = _sentence(plain, strong.end())
        if _LETTER_OR.match(_LIKELY.sub("", sentence, count=1)) or (
            "also be" in plain and _ALSO_BE.search(plain, strong.end())
        ):
            return Extraction(None, "hedge")  # "likely A or B"; "it could also be C"
        if "ould" in plain and _CONDITIONAL.search(plain, strong.end()):
            return Extraction(None, "hedge")  # "Answer: C. If ..., however, it would be 5/8, i.e. D."
        span = _distill(sentence)
        if span:
            return Extraction(span, "cue")
    if ("plausible" in plain or "possible" in plain) and _BOTH_POSSIBLE.search(plain[-400:]):
        return Extraction(None, "hedge")  # "Both 45° and 135° are plausible"
    lines = [line.strip() for line in region.strip().splitlines() if line.strip()]
    while len(lines) > 1 and (
        _CHECK_LINE.match(lines[-1]) or ("e.g." in lines[-1] and _INSTRUCTION.search(lines[-1]))
    ):
        lines.pop()  # "(Check: 2(36) + 3(36) = 180.)", "Note: not to scale.": not the answer
    if not lines:
        return Extraction(None, "none")
    last = lines[-1].lstrip("#").lstrip() if lines[-1].startswith("#") else lines[-1]  # "#### 10" (GSM8K)
    last = last.rstrip("✔✓✅☑ ").lstrip("→⇒ ") or last  # "y = 22 ✔", "→ 7.5"
    if "ote" in last or "emember" in last:
        last = _NOTE.sub("", last)  # "... $2,486 (option C). Note that at 12% it would be lower.": a remark
    if len(lines) == 1 and _LOWER_LETTER.fullmatch(last):
        return Extraction(last.strip("()[]. ").upper(), "last_line")  # the whole response is "a" or "(b)"
    if _cut_off(last):  # cut off mid-sentence: only an explicit "answer is" counts
        return Extraction(None, "truncated")
    letter = _CLOSING_LETTER.search(last, max(0, len(last) - 40)) or (
        _REASONED_LETTERS.search(last) if _BECAUSE.search(last) else None
    )
    if letter:
        return Extraction(letter.group(1), "last_line")
    bold = [m for m in _BOLD.finditer(last) if not _label(last, m)]  # not "**Equation:** y = 2x + 1"
    if bold:
        one, two = bold[-2:] if len(bold) > 1 else (None, None)
        if one and _hedge(last[one.end() : two.start()], one[1].strip(), two[1].strip()):
            return Extraction(
                None, "hedge"
            )  # "**4** or **5**, depending on ...": as two boxes joined by "or"
        letters = _bold_letters(last, bold)
        return Extraction(letters or _distill(bold[-1].group(1)), "last_line")
    weak = list(_WEAK_CUE.finditer(last))
    if weak:
        sentence = _sentence(last, weak[-1].end())
        after = last[last.find(sentence, weak[-1].end()) + len(sentence) :]
        if "either" in after.lower() and _EITHER.search(after):  # "so x = 5. ... it's either 5 or 6."
            return Extraction(None, "hedge")
        # "so x = 0 or x = 2. The intersection points are (2, 4) and (0, 0).": the later statement
        stated = _STATEMENT.search(after)
        span = _distill(stated.group(0) if stated and _has_value(stated.group(1)) else sentence)
        if span:
            return Extraction(span, "conclusion")
    closing = _CLOSING_YES_NO.search(last)
    if closing:  # "... area under the curve. Yes."
        return Extraction(closing.group(1), "last_line")
    if len(last) > 30 and _BRACKETED.fullmatch(last):  # "[0, 2, 0, 2, 1, 7, 1, 2, 0, 3, 0, 6]": one structure
        return Extraction(last.rstrip("."), "last_line")
    first = _MARKDOWN.sub("", lines[0]).strip()
    if len(lines) > 1 and _BARE.fullmatch(first) and not _REVISION.search(region):
        return Extraction(first.rstrip(".:"), "last_line")  # "E.\n\n<why E>": answer first, then reasons
    opening = _UNIT_FIRST.match(first)
    if opening and not _REVISION.search(region):  # "4 years. The man looks about 34, the woman 30."
        return Extraction(opening.group(1), "last_line")
    chain = _CHAIN_END.search(_MATH.sub(lambda m: m.group(1), last[-300:])) if "=" in last else None
    if chain and chain.start(1) == 0 and chain.group(1).count("=") > 1:  # "Cost = 62 m × $20/m = $1,240"
        return Extraction(chain.group(1).strip(), "last_line")
    sentence = _SENTENCES.split(last)[-1]
    stating = sentence == last or _has_value(sentence) or _LETTER_TOKEN.search(sentence)
    closing = _distill(sentence) if stating else None  # the last sentence, when it states a value or letters
    if closing and len(closing) <= 30 and (_has_value(closing) or _LETTERS_ONLY.fullmatch(closing)):
        return Extraction(closing, "last_line")
    span = closing if sentence == last else _distill(last)
    if span and len(span) <= 30:
        return Extraction(span, "last_line")
    if chain:  # a line ending on a computation: "Since ∠A = 60°, ∠B = 90° − 60° = 30°."
        return Extraction(chain.group(1).strip(), "last_line")
    return Extraction(None, "none")


def _label(line: str, bold: re.Match) -> bool:
    """Whether a bold span is a label ("**Equation:**", "**Total**:") with the value after it."""
    after = line[bold.end() :].lstrip()
    if bold.group(1).rstrip().endswith((":", "：")):
        return bool(after)
    return after[:1] in (":", "：") and bool(after[1:].strip())


def _hedge(gap: str, earlier: str, later: str) -> bool:
    """Two different answers (boxes, bold spans) joined by "or" a few words apart: "\\boxed{4} or \\boxed{5}"."""
    return len(gap) <= 40 and bool(_HEDGE_GAP.search(gap)) and earlier != later


def _bold_letters(line: str, bold: list[re.Match]) -> str | None:
    """Option letters in bold joined by "and" or commas ("**B** and **D**" -> "B, D"), or None."""
    if len(bold) < 2 or not all(re.fullmatch(r"\(?[A-J]\)?", m.group(1).strip()) for m in bold):
        return None
    if not all(_BOLD_LETTERS.match(line[a.end() : b.start()]) for a, b in zip(bold, bold[1:], strict=False)):
        return None
    return ", ".join(m.group(1).strip().strip("()") for m in bold)


def _json_answer(region: str) -> str | None:
    """The value of the last "answer" field of a JSON object ({"answer": "C"}, {"final_answer": 42})."""
    found = None
    for found in _JSON_ANSWER.finditer(region):  # noqa: B007 (the last one is wanted)
        pass
    if found is None:
        return None
    if found.group(3) is not None:  # {"answer": ["B", "D"]}
        return ", ".join(item.strip().strip("\"'") for item in found.group(3).split(",") if item.strip())
    text = found.group(1) if found.group(1) is not None else found.group(2)
    return text.strip()  # (LaTeX escaped for JSON, "\\\\frac", is undone by clean())


def _last_cue(plain: str) -> re.Match | None:
    """The last "answer is" / "Final answer:" cue of the text, or None. Every cue holds a key word
    ("answer", "final", ...) near its start, so the cue is looked for around those words, the latest
    first: far cheaper than scanning every character of a long response with the full pattern."""
    low, end = plain.lower(), len(plain)
    while True:
        at, key = max((low.rfind(key, 0, end), key) for key in _CUE_KEYS)
        if at == -1:
            return None
        found = None
        for cue in _STRONG_CUE.finditer(plain, max(0, at - 40), at + 120):
            if not _HOW_HEADER.search(plain, max(0, cue.start() - 60), cue.start()):
                found = cue  # the last one, unless it heads an explanation ("Here's how I got the answer:")
        if found is not None:
            return found
        end = at + len(key) - 1  # the next key must start before this one


def _cut_off(line: str) -> bool:
    """Whether a last line stops mid-sentence: on a connector word, an operator, or inside a formula."""
    tail = line.rstrip().rstrip("*").rstrip()  # a closing "**" is markdown, not an operator
    return not tail or bool(
        (
            _DANGLING.search(tail, max(0, len(tail) - 16)) and not tail.endswith("A")
        )  # "the answer is A": a letter, not an article
        or (tail.count("$") % 2 and not _MONEY_LAST.search(tail))  # "needs $13.8": money, not an open formula
        or tail.count("{") > tail.count("}")
        or tail[-1] in "+-*/=,:(["
    )


def _sentence(text: str, start: int) -> str:
    """The text from `start` to the end of its sentence (a period before a space, or a newline)."""
    while start < len(text) and text[start] in " \t\n*:":
        start += 1
    end = _SENTENCE_END.search(text, start)
    return text[start : end.start() if end else len(text)]


def _distill(span: str) -> str | None:
    """Reduce a concluding sentence to its answer: option letters, the part after "is" / "=", a formula."""
    span = span.replace("**", "").strip().lstrip(":：").strip().rstrip(".。")
    if span.startswith("(") and _PAREN_LETTERS.fullmatch(span):  # "(B)(D)": several letters, not the last
        return span
    if ("either" in span or "Either" in span) and _EITHER.search(span):
        return None
    lowered = span.lower()
    option = _OPTION.search(span) if any(word in lowered for word in _OPTION_WORDS) else None
    if option:  # "... which is a lower mordent (option F)"
        return ", ".join(re.findall(r"[A-J]", option.group(1)))
    if " or " in span and _LETTER_OR_END.search(span):
        return None  # "... is (B) or (C)": a hedge, not its last letter
    glossed = _GLOSSED_SET.search(span) if span.endswith(")") and " and " in span else None
    if glossed:  # "... are Bob (B) and Carol (C)": each option named, then its letter
        return ", ".join(re.findall(r"\(([A-J])\)", glossed.group(0)))
    rejected = _GLOSSED_NOT.search(span) if span.endswith(")") else None
    if rejected:  # "It is 12 (B), not 15 (C)": the letter before the one turned down
        return rejected.group(1)
    last = _LETTER_LAST.search(span)
    if last:  # an option letter (or several) closing the sentence
        return next(group for group in last.groups() if group)
    span = _REMARK.sub("", span)  # "3/2 (in m/s²)" -> "3/2"
    yes_no = _YES_NO.match(span)
    if yes_no:  # "No, it is not." / "Yes, the blue bar is larger"
        return yes_no.group(1).capitalize()
    correct = _LETTER_CORRECT.search(span)
    if correct:
        return correct.group(1)
    leading = _LEADING_LETTERS.match(span) or _LEADING_SET.match(span)
    if leading:  # "B and D belong to the green category", "Both A and B contain ...", "Keys B and D fit"
        return leading.group(1)
    lettered = _LETTER_CJK.match(span)
    if lettered:  # "D。拿破仑于1815年战败": the letter, then its explanation
        return lettered.group(1)
    first = _ANSWER_FIRST.match(span)
    if first:  # "5 — two cubes, two spheres and one cylinder": the answer, then what it counts
        return first.group(1)
    reasoned = _LETTER_BECAUSE.match(span) or _LETTER_WORDS.match(span)
    if reasoned:  # "B because the triangle is right", "(C), since ...", "B the larger one"
        return reasoned.group(1)
    lead = _LETTER_LEAD.match(span)
    if lead:  # "C) Annie is the youngest sister": the letter, then its option's text
        return lead.group(1) or lead.group(2)
    labelled = _LABELLED.match(span)
    if labelled and _has_value(span[: labelled.start(1)]):
        labelled = None  # "There are four objects: 2 spheres and 2 cubes": the answer comes before the colon
    if labelled and (re.search(r"\d", labelled.group(1)) or len(labelled.group(1).split()) <= 2):
        # "پاسخ: 5", "Total: 12 apples": a one- or two-word label in any script, then a value
        span = labelled.group(1)
    restated = _RESTATED.search(span) if "i.e" in span or "that is" in span else None
    if restated and _has_value(restated.group(1)):  # "$\frac{\pi}{3}$ rad, i.e., 60°": the restatement
        span = restated.group(1)
    span = _after_answer(span)
    announced = _ANNOUNCED.search(span) if ":" in span else None  # "the true statement is: <option text>"
    parts = [announced.group(1)] if announced else _IS.split(_outside_math(span))
    if not announced and len(parts) > 1 and has_variable_term(parts[-2].rsplit("=", 1)[-1]):
        worded = _IS_WORD.split(_outside_math(span))
        if len(worded) < len(parts):  # the last split was an "=" ending an equation, "... is 2x - y + 1 = 0"
            parts = worded
    if len(parts) > 1 and _WORDED_SUM.fullmatch(parts[-1].strip()) and _has_value(parts[-2]):
        parts = parts[:-1]  # "9 = 4 dogs + 5 cats": the value, not the count it adds up
        span = span[: len(span) - len(span.rsplit("=", 1)[-1]) - 1]
    tail = parts[-1]
    head = span[: len(span) - len(tail)]
    valueless = not _has_value(tail) and not _LONE_LETTER.fullmatch(tail) and "$" not in tail
    valueless = valueless and _DIGIT.search(head)  # "... 5 of them, seven | are | left": keep whole
    if announced or (len(parts) > 1 and not valueless):
        span = span[len(span) - len(tail) :]
    if _MATH.search(span) and len(_MATH.sub("", span).strip(" .,;:")) <= 12:
        span = _MATH.sub(lambda m: m.group(1), span)  # "$1$ and $-2$" -> "1 and -2"
    if "at " in span and _AT_BOUND.search(span) and not _VALUE.findall(_THRESHOLD.sub(" ", span)):
        return None  # "at least 8 pencils": a bound, not a count
    span = _QUALIFIED.sub("", span.strip())
    span = span.strip().rstrip(".;:,!").strip()
    prose = _MATH.sub(" ", span)  # the sentence without its formulas
    if _RANGE.search(prose):
        return None  # "roughly 6 to 7 objects": a hedge, not an answer
    final_math = re.search(r"\$([^$]+)\$\W*$", span)
    if final_math and ("\\in" in final_math.group(1) or CJK.search(span[: final_math.start()])):
        return final_math.group(1).strip()  # "... when $x \in (-1, 2)$", "因式分解得 $(x-1)(x+1)$"
    alternatives = _ALTERNATIVES.search(prose) if " or " in prose or "或" in prose else None
    if alternatives:  # "解得 x=8 或 x=-2": both, for the comparison to judge (a hedge for one gold)
        return alternatives.group(0).strip()
    between = _BETWEEN.search(prose) if "between" in prose else None
    if between:  # "the peak lies between 2014 and 2016": both ends
        return f"{between.group(1).rstrip('.,')}, {between.group(2).rstrip('.,')}"
    clauses = [c for c in _CLAUSE_BREAK.split(prose) if _has_value(c)]
    clause = clauses[-1] if clauses else ""  # "ten objects; ..., seven remain": seven
    values = _VALUE.findall(_THRESHOLD.sub(" ", clause)) or _VALUE.findall(clause)  # bounds only if all
    if values and final_math and not any(v[-1].isdigit() for v in values):
        return final_math.group(1).strip()  # "Adding the four quarters: $250 + ... = 1{,}200$"
    words = _WORD.findall(_COMMAND.sub(" ", prose))  # not \\frac; a CJK character is a word
    if values and len(words) >= 3:  # still a sentence: its value
        digits = [v for v in values if v[-1].isdigit()]  # "12 sequences meeting the three conditions": 12
        value = (digits or values)[0].rstrip(",")
        cents = (
            re.search(re.escape(value) + r"\s*(?:cents?\b|¢)", clause)
            if "cent" in clause or "¢" in clause
            else None
        )
        return value + " cents" if cents else value  # "It costs 25 cents": the unit changes the value
    if len(span) > 30 and final_math:
        return final_math.group(1).strip()  # "... 22.3 metres apart, i.e. $d \\approx 22.3$"
    if len(span) > 40 and " " in span:
        return None
    return span or None


def _has_value(text: str) -> bool:
    """Whether `text` holds a value `_VALUE` would find (a number that is not an ordinal, or a number
    word); five times cheaper than searching with `_VALUE` itself."""
    return _NUMBER_DIGIT.search(text) is not None or not _NUMBER_WORD_SET.isdisjoint(
        _LOWER_WORD.findall(text.lower())
    )


def _after_answer(span: str) -> str:
    """A sentence without what follows its answer: a clause about where or when it holds ("14, which
    occurs at x = 3", "6，此时 x = 2"), a remark with no value ("(2,3), which is the centre"), or the
    breakdown after a colon ("3 objects: 1 cube, 1 sphere")."""
    cut = _TRAILING_CLAUSE.search(span) if "," in span or "，" in span else None
    if cut and _has_value(span[: cut.start()]):
        span = span[: cut.start()]
    head, colon, tail = span.partition(": ")
    if (
        colon
        and "$" not in tail
        and _has_value(head)
        and len(_VALUE.findall(tail)) >= 2
        and re.search(r",|\band\b", tail)
    ):
        span = head
    return span


def _outside_math(span: str) -> str:
    """`span` with the inside of $...$ blanked (same length), so splits ignore formula content."""
    return _MATH.sub(lambda m: "$" + " " * (len(m.group(0)) - 2) + "$", span)
