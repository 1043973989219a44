"""Multiple choice: resolve an answer to a set of option letters, both ways.

A gold answer is a letter ("C"), several ("A, C" for multi-select, as LogicVista) or an option's
text ("8/11", MathVista stores the text). A predicted answer may be a letter in any dress
("(C)", "c", "\\text{C}", "Option C", "C. 5", "B: Rhombus", "Rhombus (B)") or the text of an
option, matched by value ("\\frac{8}{11}" is option "8/11"). Letters are never found by
substring search, so "Cannot determine" does not answer "A".
"""

from __future__ import annotations

import re
from functools import lru_cache

from vgpo_eval.checker.compare import equal, same_order
from vgpo_eval.checker.quantity import CACHE, CJK, normalize

LETTERS = "ABCDEFGHIJ"
_LETTER = r"\(?\s*([A-J])\s*\)?"
_SINGLE = re.compile(r"^[(\[]?\s*([A-Ja-j])\s*[)\]]?[.:]?$")  # "C", "(C)", "[C]", "c."
_MULTI = re.compile(
    rf"^(?:both\s+|options?\s+|choices?\s+|answers?\s+)?{_LETTER}(?:\s*(?:,\s*and|,|;|&|/|and|、|，|和|与)\s*{_LETTER})+$",
    re.I,
)
_COMPACT = re.compile(r"^[A-J]{2,}$|^(?:\([A-J]\)){2,}$|^[A-J](?: [A-J])+$")  # "ACD", "(B)(D)", "A C"
_NAMED = re.compile(rf"^(?i:option|choice|answer)\s*:?\s*{_LETTER}$")
_PUNCTUATED = re.compile(
    r"^(?:(?i:option|choice|answer)\s*:?\s*)?(?:[(（]\s*([A-J])\s*[)）]|([A-J])\s*[.:)\-。：、．])\s*(.+)$"
)
_STATED_WORD = re.compile(r"[\w'’-]+")
_SPACED = re.compile(r"^([A-J])\s+(.+)$")
_LOWER_LEAD = re.compile(r"^(?:[(（]\s*([a-j])\s*[)）]|([a-j])\))\s*(.+)$")  # "(c) 60", "c) 60"
_OPTION_LINE = re.compile(r"^\(?([A-J])[).:]\s*(.+)$")  # "(D) The Emancipation", "D. 4 cm"
_TEXT_JOIN = re.compile(r"\s*(?:,\s*and\s+|,|\s+and\s+|\s*&\s*)\s*", re.I)
_GLOSSED = re.compile(r"^\(?([A-J])\)?\s*[(（]\s*([^()（）]+?)\s*[)）]$")
_TRAILING = re.compile(r"^(.+?)\s*\(\s*([A-J])\s*\)$")
# words between a cue and the letter it gives: "the answer is actually C", "所以答案选A", "对应选项 B"
_QUALIFIER = re.compile(
    r"^(?:(?:actually|definitely|clearly|indeed|therefore|thus|so)\s+|选项\s*|选\s*|项\s*)(?=\(?[A-J]\b|\(?[A-J]$)",
    re.IGNORECASE,
)


@lru_cache(maxsize=CACHE)
def gold_letters(gold: str, choices: tuple[str, ...] | None) -> frozenset[str] | None:
    """The option letters a gold answer stands for, or None when it is not a choice answer."""
    s = normalize(gold)
    letters = _letter_set(s, choices, allow_lower=False)
    if letters:
        return letters
    if choices:
        matches = _options_matching(s, choices)
        if len(matches) == 1:
            return matches
    return None


@lru_cache(maxsize=CACHE)
def pred_letters(pred: str, choices: tuple[str, ...] | None) -> frozenset[str] | None:
    """The option letters a predicted answer picks, or None when it picks none recognisably."""
    s = _QUALIFIER.sub("", normalize(pred), count=1)
    exact = _options_written(s, choices) if choices else None
    if exact:  # an option's own text, even one that reads like letters ("Both A and C")
        return exact
    if choices and (" and " in s or "," in s) and (texts := _texts_listed(s, choices)):
        return texts  # "Cube and Cylinder": several options' texts, each whole
    letters = _letter_set(s, choices, allow_lower=True)
    if letters:
        return letters
    m = _PUNCTUATED.match(s)
    letter = (m.group(1) or m.group(2)) if m else None
    if letter is None and (m := _TRAILING.match(s)):
        letter = m.group(2)
    if letter and _valid(letter, choices):
        return frozenset(letter)
    m = _SPACED.match(s)
    if m and choices and _valid(m.group(1), choices) and m.group(1) in _options_matching(m.group(2), choices):
        return frozenset(m.group(1))  # "A Trapezoid": a letter only when the text agrees
    m = _LOWER_LEAD.match(s)
    if (
        m
        and choices
        and (letter := (m.group(1) or m.group(2)).upper()) in _options_matching(m.group(3), choices)
    ):
        return frozenset(letter)  # "(c) 60": a lower-case letter, only when its option's text follows
    m = _GLOSSED.match(s)
    if (
        m
        and _valid(m.group(1), choices)
        and not (choices and _options_matching(m.group(2), choices) - {m.group(1)})
    ):
        return frozenset(m.group(1))  # "D (0.32, 0.67)", "D（8）": a letter glossed, unless as another option
    if choices:  # its exact text was looked for first, above: now by value
        matches = _options_by_value(s, choices)
        if matches:
            return matches
    return None


def _letter_set(s: str, choices: tuple[str, ...] | None, allow_lower: bool) -> frozenset[str] | None:
    m = _SINGLE.match(s) or _NAMED.match(s)
    if m and (allow_lower or m.group(1).isupper()):
        letter = m.group(1).upper()
        return frozenset(letter) if _valid(letter, choices) else None
    multi = _MULTI.match(s)
    if _COMPACT.match(s):  # "ACD", "(B)(D)"
        letters = frozenset(re.sub(r"[() ]", "", s))
    elif multi and (allow_lower or s.upper() == s or s.lower().startswith("both")):
        letters = frozenset(re.findall(r"\b[A-J]\b", re.sub(r"(?i)^both\s+|\band\b", " ", s).upper()))
    else:
        return None
    return letters if letters and all(_valid(x, choices) for x in letters) else None


def _texts_listed(s: str, choices: tuple[str, ...]) -> frozenset[str] | None:
    """The letters of two or more options whose whole texts are listed, joined by commas or "and"; else None."""
    items = [item for item in _TEXT_JOIN.split(s) if item.strip()]
    found = [_options_written(item.strip(), choices) for item in items]
    if len(items) < 2 or not all(len(letters) == 1 for letters in found):
        return None
    return frozenset().union(*found)


def _valid(letter: str, choices: tuple[str, ...] | None) -> bool:
    return letter in LETTERS[: len(choices) if choices else len(LETTERS)]


@lru_cache(maxsize=CACHE)
def _option_text(i: int, option: str) -> str:
    """An option's text without a prefix repeating its own letter ("A: 25°" -> "25°")."""
    m = re.match(rf"^\(?{LETTERS[i]}\)?\s*[.:)]\s*(.+)$", option.strip())
    return m.group(1) if m else option


def _options_written(text: str, choices: tuple[str, ...]) -> frozenset[str]:
    """Letters of the options whose text is `text`, letter for letter (case and spacing aside)."""
    key = _plain_scripts(" ".join(text.lower().split()))
    return frozenset(letter for letter, written in _written(tuple(choices)) if written == key)


@lru_cache(maxsize=CACHE)
def _written(choices: tuple[str, ...]) -> tuple[tuple[str, str], ...]:
    """(letter, text as compared) of each option, made once per option list."""
    return tuple(
        (LETTERS[i], _key(_option_text(i, option))) for i, option in enumerate(choices[: len(LETTERS)])
    )


def _key(text: str) -> str:
    """An option's text as compared: normalised, lower case, single spaces, LaTeX scripts written plainly
    ("sp^3" and "sp^{3}" are the option "sp3", "H_2O" is "H2O")."""
    return _plain_scripts(" ".join(normalize(text).lower().split()))


def _plain_scripts(text: str) -> str:
    """LaTeX super- and subscripts written plainly: "sp^{3}" -> "sp3", "h_2o" -> "h2o"."""
    return _SCRIPT.sub(r"\1", text) if ("^" in text or "_" in text) else text


_SCRIPT = re.compile(r"(?<=[a-z)])[\^_]\{?([0-9a-z+\-]{1,3})\}?")


def _options_matching(text: str, choices: tuple[str, ...]) -> frozenset[str]:
    """Letters of the options whose text states the same answer as `text`: exact text first, then value."""
    return _options_written(text, choices) or _options_by_value(text, choices)


def _options_by_value(text: str, choices: tuple[str, ...]) -> frozenset[str]:
    """Letters of the options equal to `text` by value; when several match ("0.32, 0.67" and
    "0.67, 0.32"), the ones equal in order."""
    texts = {LETTERS[i]: _option_text(i, option) for i, option in enumerate(choices[: len(LETTERS)])}
    matches = frozenset(letter for letter, option in texts.items() if equal(option, text))
    if len(matches) > 1:
        ordered = frozenset(letter for letter in matches if same_order(texts[letter], text))
        return ordered or matches
    return matches


def options_stated(sentence: str, choices: tuple[str, ...]) -> frozenset[str]:
    """Letters of the options whose text a sentence states word for word (case aside): only options of
    two or more words, or one word of four or more letters, and never a bare number, so "4" is not
    found in "4 apples". Text in Chinese or Japanese (no spaces between words) is found inside the
    sentence: two or more such characters ("第四象限" in "所以不经过第四象限")."""
    words = " ".join(_STATED_WORD.findall(sentence.lower()))
    found = set()
    for letter, text, cjk in _phrases(tuple(choices)):
        if text not in (words.replace(" ", "") if cjk else words):
            continue  # a fast test first: most options are not there at all
        if cjk or re.search(rf"(?<![\w'’-]){re.escape(text)}(?![\w'’-])", words):
            found.add(letter)
    return frozenset(found)


@lru_cache(maxsize=CACHE)
def _phrases(choices: tuple[str, ...]) -> tuple[tuple[str, str, bool], ...]:
    """(letter, words, in CJK) of each option that can be stated in a sentence, made once per option list."""
    phrases = []
    for i, option in enumerate(choices[: len(LETTERS)]):
        text = " ".join(_STATED_WORD.findall(normalize(_option_text(i, option)).lower()))
        if not text or re.fullmatch(r"[\d\s.,-]+", text):
            continue
        if CJK.search(text):
            if len(CJK.findall(text)) >= 2:
                phrases.append((LETTERS[i], text.replace(" ", ""), True))
        elif " " in text or len(text) >= 4:
            phrases.append((LETTERS[i], text, False))
    return tuple(phrases)


def options_listed(text: str, choices: tuple[str, ...]) -> bool:
    """Whether a response ends copying out the options ("(C) <C's text>", then "(D) <D's text, or its
    start>"): it was transcribing the question when it stopped, and chose nothing."""
    lines = [line.strip() for line in text[-2000:].splitlines() if line.strip()][-2:]
    listed = [_OPTION_LINE.match(line) for line in lines]
    if len(lines) < 2 or not all(listed) or ord(listed[1][1]) != ord(listed[0][1]) + 1:
        return False
    written = dict(_written(tuple(choices)))
    (first, first_copy), (last, last_copy) = (
        (written.get(m[1], "").rstrip("."), _key(m[2]).rstrip(".")) for m in listed
    )
    return bool(first) and first == first_copy and bool(last) and last.startswith(last_copy)


def option_written(line: str, choices: tuple[str, ...]) -> frozenset[str]:
    """The option whose text is the whole line ("Some dogs are not cats."), closing stop aside."""
    if len(line) > 2 * max(map(len, choices), default=0) + 8:
        return frozenset()  # longer than any option could be written
    return _options_written(normalize(line.strip().rstrip(".。!")), choices)
