"""Why a verdict is what it is, in words: what a user needs to dispute it.

vgpo-eval check "<think>...</think> The answer is 0.5." --answer "\\frac{1}{2}" --explain
"""

from __future__ import annotations

from vgpo_eval.checker import reference
from vgpo_eval.checker.choices import gold_letters, pred_letters
from vgpo_eval.checker.compare import answer_count
from vgpo_eval.checker.extract import Extraction, final_answer
from vgpo_eval.checker.parse import parse
from vgpo_eval.types import Sample, Verdict

_WHERE = {
    "boxed": "the last \\boxed{} of the final part (after </think>)",
    "answer_tag": "the last <answer> tag",
    "cue": 'an "answer is" / "Final answer:" sentence',
    "conclusion": 'a concluding "Therefore ..." sentence on the last line',
    "last_line": "the last line (its bold text or its value)",
    "hedge": 'two answers offered as alternatives ("4 or 5", "likely A or B", "Both ... are plausible", '
    '"If ..., it would be D"): a hedge',
    "boxes": "several boxes of the final part, their option letters read as one selection (a hedge for a "
    "one-letter gold)",
    "several_answers": "several different boxed answers offered as alternatives: a hedge",
    "template": 'an answer template left unfilled ("Answer: $LETTER"): no choice made',
    "too_long": "a box too long to be an answer",
    "truncated": "nothing: the response stops mid-reasoning or mid-formula",
    "empty": "an empty box or tag",
    "none": "nothing that commits to an answer",
}


def explain(text: str, sample: Sample, protocol: str, verdict: Verdict) -> str:
    """A few lines: the verdict, the answer and where it was found, both sides' readings, the rule."""
    lines = [
        f"verdict: {'correct' if verdict.correct else 'wrong'} (rule {verdict.rule}, protocol {protocol})"
    ]
    if protocol != "strict":
        lines.append(
            f"answer judged: {reference.boxed(text or '')!r} (the last box's content, as MathRuler extracts it)"
        )
        lines.append(
            "rules: MathRuler grade_answer, then math-verify"
            + (", then the gold letter anywhere in the box" if protocol == "paper" else "")
        )
        return "\n".join(lines)
    found = final_answer(text)
    lines.append(f"answer found: {found.answer!r} in {_WHERE.get(found.how, found.how)}")
    if verdict.rule == "choice:stated":
        lines.append(f"the final line states the text of option(s) {verdict.extracted} (no letter picked)")
        return "\n".join(lines)
    if found.answer is None:
        return "\n".join(lines)
    if found.last_part is not None and answer_count(sample.answer) == 1:
        lines.append(f"parts in named boxes, the gold has one: the last, {found.last_part!r}, is compared")
        found = Extraction(found.last_part, found.how)
    gold = gold_letters(sample.answer, sample.choices) if sample.answer_type in (None, "choice") else None
    if gold is not None:
        picked = pred_letters(found.answer, sample.choices)
        lines.append(
            f"gold: option(s) {', '.join(sorted(gold))}; the answer picks {', '.join(sorted(picked)) if picked else 'no option'}"
        )
    else:
        lines.append(f"gold parsed as: {parse(sample.answer).describe()}")
        lines.append(f"answer parsed as: {parse(found.answer).describe()}")
    if verdict.timed_out:
        lines.append("the comparison ran out of CPU time twice: counted wrong, reward None")
    return "\n".join(lines)


def rule_meaning(rule: str, protocol: str) -> str:
    """What a verdict's rule says, in words, without running the check again (the run browser shows it)."""
    kind, _, how = str(rule).partition(":")
    if rule == "generation_error":
        return "no response: generation failed"
    if kind in ("timeout", "error"):
        return "the check could not finish (CPU limit or a failure inside it): counted wrong, reward None"
    if kind == "verifier":
        return {"correct": "the verifier model judged it correct (strict did not accept it)",
                "incorrect": "the verifier model judged it incorrect", "invalid": "the verifier model judged it "
                "invalid (incomplete, repetitive or a refusal): wrong", "unparsed": "the verifier's reply was no "
                "judgment: strict's verdict kept", "error": "the verifier could not answer (down, slow, refused): "
                "strict's verdict kept, asked again on the next scoring", "too_long": "longer than the verifier reads: "
                "not sent, strict's verdict kept"}.get(how, str(rule))  # fmt: skip
    if protocol == "verifier":
        return rule_meaning(rule, "strict") + " (strict accepted it: not sent to the verifier)"
    if protocol != "strict":
        return ("the last box's content, as MathRuler extracts it, judged by MathRuler grade_answer, then math-verify"
                + (", then the gold letter anywhere in the box" if protocol == "paper" else ""))  # fmt: skip
    return f"{kind}: answer from {_WHERE[how]}" if how in _WHERE else str(rule)
