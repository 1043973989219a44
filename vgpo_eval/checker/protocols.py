"""Protocols: extract + compare composed into a `Verdict`, under a name recorded beside every number.

- `strict` (default): the final committed answer (`extract`) judged by `compare` / `choices`.
- `paper`: the cascade the VGPO paper used (Look-Back's script), bug for bug: the last box's
  content (MathRuler's extractor, "None" when there is no box), correct if MathRuler's
  `grade_answer` holds, else if math-verify verifies it, else if the gold is one capital letter
  found anywhere in the upper-cased box ("BAD" answers "A"; no box answers "N", "O", "E").
- `papo`: MathRuler's `grade_answer` on the last box only (PAPO-Eval, EasyR1's math reward).

`check(text, sample, protocol)` is the one entry point; an RL reward is exactly
`check(...).score`. Every symbolic step runs in a warm guard helper under a CPU-time limit
(`guard`), so a verdict is a pure function of (response, sample, protocol, checker version),
whatever the machine's load. The limits are a safety net that realistic answers never reach;
when one fires, the verdict's rule says `timeout:<what>` (after one retry on a fresh helper)
and the RL reward is None, never a silent 0.

    >>> check("\\\\boxed{0.5}", Sample(id="x/1", task="x", question="", answer="\\\\frac{1}{2}")).correct
    True
"""

from __future__ import annotations

import re
from collections.abc import Callable

from vgpo_eval.checker import guard, reference
from vgpo_eval.checker.choices import (
    LETTERS,
    gold_letters,
    option_written,
    options_listed,
    options_stated,
    pred_letters,
)
from vgpo_eval.checker.compare import answer_count, equal, rounded
from vgpo_eval.checker.extract import Extraction, final_answer, final_line
from vgpo_eval.checker.parse import parse
from vgpo_eval.types import Sample, Verdict

STRICT_BUDGET = 5.0  # CPU seconds one strict check may spend in math-verify, all parts included
REFERENCE_LIMIT = 10.0  # CPU seconds for one MathRuler or math-verify call (MathRuler has no limit
#                         of its own, math-verify 5 s wall-clock per parse and per comparison)
_OR = re.compile(r"\bor\b", re.I)
_LAST_SENTENCE = re.compile(r"(?<=[.!?。！？])\s+(?=\S)|(?<=[。！？])")
_NEGATED = re.compile(
    r"\b(?:not|no|never|neither|nor|cannot|isn't|aren't|doesn't|don't|won't|wouldn't)\b|n't\b", re.I
)


def strict(text: str, sample: Sample) -> Verdict:
    """Our checker: the final committed answer, compared by value (see `compare`, `choices`)."""
    found = final_answer(text)
    if sample.choices and found.how == "last_line" and options_listed(text, sample.choices):
        return Verdict(False, None, "no_answer:truncated")
    if sample.choices and sample.answer_type in (None, "choice"):
        stated = _stated_options(text, found, sample)
        if stated is not None:
            return stated
    if found.answer is None:
        return Verdict(False, None, f"no_answer:{found.how}")
    try:
        with guard.budget(STRICT_BUDGET):
            return _strict(found, sample)
    except guard.GuardTimeout:
        return Verdict(False, found.answer, "timeout:symbolic")


def _stated_options(text: str, found: Extraction, sample: Sample) -> Verdict | None:
    """When the answer found picks no option (or there is none), the option whose text the final line
    is, or else the options whose text its last sentence (or the whole line) states in so many words
    ("... is smaller than the right one."): one for a single-answer gold, the whole set for a
    multi-select gold. None when this rule does not apply."""
    gold = gold_letters(sample.answer, sample.choices)
    if gold is None or found.how in ("hedge", "truncated", "several_answers"):
        return None
    if found.answer is not None and pred_letters(found.answer, sample.choices) is not None:
        return None
    line = final_line(text)
    written = option_written(line, sample.choices)
    if len(written) == 1:  # the line is an option's own text, even one that reads as a negation
        return Verdict(written == gold, next(iter(written)), "choice:stated")
    for part in dict.fromkeys((_LAST_SENTENCE.split(line)[-1], line)):
        stated = options_stated(part, sample.choices)
        if not stated or (len(stated) > 1 and len(gold) == 1):
            continue
        if _NEGATED.search(_without_options(part, stated, sample.choices)):
            return None  # "... is not larger than ...": stating an option is not choosing it
        return Verdict(stated == gold, ", ".join(sorted(stated)), "choice:stated")
    return None


def _without_options(line: str, letters: frozenset[str], choices: tuple[str, ...]) -> str:
    """The line with the stated options' own words taken out ("Time waits for no man" holds a "no")."""
    for letter in letters:
        option = choices[LETTERS.index(letter)].strip().rstrip("?.!。？")
        line = re.sub(re.escape(option), " ", line, flags=re.I)
    return line


def _strict(found: Extraction, sample: Sample) -> Verdict:
    gold = None if sample.answer_type not in (None, "choice") else gold_letters(sample.answer, sample.choices)
    if gold is not None:
        picked = pred_letters(found.answer, sample.choices)
        if found.how == "boxes" and len(gold) == 1 and picked is not None and len(picked) > 1:
            return Verdict(False, found.answer, "hedge:boxes")  # several options boxed for one answer
        return Verdict(picked == gold, found.answer, f"choice:{found.how}")
    if found.last_part is not None and answer_count(sample.answer) == 1:
        found = Extraction(found.last_part, found.how)  # named parts, one asked for: the last one stated
    if _OR.search(found.answer) and answer_count(sample.answer) == 1:
        said = [part.strip(" ,;") for part in _OR.split(found.answer)]
        if not all(part and equal(sample.answer, part, sample.precision) for part in said):
            return Verdict(False, found.answer, f"hedge:{found.how}")
        return Verdict(
            True, found.answer, f"{parse(sample.answer).kind}:{found.how}"
        )  # "0.25, or 25%": once, twice
    correct = equal(sample.answer, found.answer, sample.precision)
    if correct and sample.precision is None and rounded(sample.answer, found.answer):
        return Verdict(True, found.answer, f"rounded:{found.how}")  # 0.33 for 1/3: accepted, and counted
    return Verdict(correct, found.answer, f"{parse(sample.answer).kind}:{found.how}")


def paper(text: str, sample: Sample) -> Verdict:
    """The Look-Back cascade the VGPO paper scored with (docs/checker.md, "The other protocols")."""
    boxed = reference.boxed(text or "")
    gold = sample.answer
    ruler = _guarded("mathruler_grade", boxed, gold)
    if ruler is None:
        return Verdict(False, boxed, "timeout:mathruler")
    if ruler:
        return Verdict(True, boxed, "mathruler")
    verified = _guarded("math_verify_grade", boxed, gold)
    if verified:
        return Verdict(True, boxed, "math_verify")
    if len(gold) == 1 and "A" <= gold <= "Z" and gold in boxed.upper():
        return Verdict(True, boxed, "letter_in_box")  # as Look-Back, also when math-verify timed out
    return Verdict(False, boxed, "none" if verified is not None else "timeout:math_verify")


def papo(text: str, sample: Sample) -> Verdict:
    """MathRuler's grade_answer on the last box (PAPO-Eval, EasyR1's math reward)."""
    boxed = reference.boxed(text or "")
    correct = _guarded("mathruler_grade", boxed, sample.answer)
    if correct is None:
        return Verdict(False, boxed, "timeout:mathruler")
    return Verdict(correct, boxed, "mathruler")


def _guarded(name: str, given: str, gold: str) -> bool | None:
    """A reference grader in a guard helper: its verdict, False if it raised, None if it ran out of CPU."""
    try:
        return guard.call("vgpo_eval.checker.reference", name, given, gold, limit=REFERENCE_LIMIT)
    except guard.GuardError:
        return False
    except guard.GuardTimeout:
        return None


PROTOCOLS: dict[str, Callable[[str, Sample], Verdict]] = {"strict": strict, "paper": paper, "papo": papo}
INLINE_CHARS = 16_000  # longer responses are checked whole inside a guard helper, under CHECK_LIMIT
CHECK_LIMIT = 10.0  # CPU seconds for the whole check of a long response, symbolic work included
MAX_PRECISION = 64  # decimals a gold may ask for (benchmarks ask for at most a few)


def check(text: str, sample: Sample, protocol: str = "strict") -> Verdict:
    """Judge one response against one sample under a named protocol.

    Bounded whatever the response: one up to INLINE_CHARS long is checked here (every pattern on
    it is measured by benchmarks/checker_adversarial.py), a longer one whole in a sandboxed guard
    helper under CHECK_LIMIT CPU seconds. An exception inside a check is a verdict (rule
    `error:<type>`), never a crash; wrong argument types raise TypeError before any work."""
    if protocol not in PROTOCOLS:
        raise ValueError(f"unknown protocol {protocol!r}; choose one of {', '.join(PROTOCOLS)}")
    _validate(text, sample)
    verdict = _judge(text, sample, protocol)
    if verdict.timed_out:  # once more on a fresh, warm helper before it is recorded
        verdict = _judge(text, sample, protocol)
    return verdict


def _validate(text: str, sample: Sample) -> None:
    if not isinstance(text, str):
        raise TypeError(f"a response must be a string, not {type(text).__name__}")
    if not isinstance(sample, Sample):
        raise TypeError(f"a sample must be a vgpo_eval.types.Sample, not {type(sample).__name__}")
    if not isinstance(sample.answer, str):
        raise TypeError(f"{sample.id}: the gold answer must be a string, not {type(sample.answer).__name__}")
    if sample.choices is not None and not all(isinstance(c, str) for c in sample.choices):
        raise TypeError(f"{sample.id}: choices must be strings")
    p = sample.precision
    if p is not None and (type(p) is not int or not 0 <= p <= MAX_PRECISION):
        raise ValueError(f"{sample.id}: precision must be an integer from 0 to {MAX_PRECISION}, not {p!r}")


def _judge(text: str, sample: Sample, protocol: str) -> Verdict:
    return (
        _in_helper(text, sample, protocol) if len(text) > INLINE_CHARS else _protected(text, sample, protocol)
    )


def _protected(text: str, sample: Sample, protocol: str) -> Verdict:
    try:
        return PROTOCOLS[protocol](text, sample)
    except Exception as exc:  # noqa: BLE001 - a response must never crash a report or a reward
        return Verdict(False, None, f"error:{type(exc).__name__}")


def _in_helper(text: str, sample: Sample, protocol: str) -> Verdict:
    fields = {k: getattr(sample, k) for k in ("id", "task", "answer", "answer_type", "choices", "precision")}
    try:
        verdict = guard.call(
            "vgpo_eval.checker.protocols", "judged", text, fields, protocol, limit=CHECK_LIMIT
        )
    except guard.GuardTimeout:
        return Verdict(False, None, "timeout:check")
    except guard.GuardError as exc:
        return Verdict(False, None, f"error:{str(exc).partition(':')[0]}")
    return Verdict(**verdict)


def judged(text: str, fields: dict, protocol: str) -> dict:
    """A whole check as a guard helper runs it (`check` sends long responses here)."""
    return _protected(text, Sample(question="", **fields), protocol).to_dict()
