"""The reference graders the `paper` and `papo` protocols reproduce, called exactly as upstream does.

- MathRuler (`mathruler.grader`, EasyR1's math reward, PAPO-Eval): `extract_boxed_content` takes
  the content of the last `\\boxed{` and returns the string "None" when there is no box;
  `grade_answer(given, gold)` normalises both (prm800k rules) and falls back to sympy.
- math-verify: `verify(parse(pred), parse(gold))` with its default extraction configs, the
  argument order of Look-Back's `cal_score.py` (math-verify's `verify` is not symmetric).

These run inside guard helper processes under CPU-time limits (`guard`): MathRuler has no
limit of its own; math-verify's wall-clock SIGALRM limits (5 s per parse and per comparison by
default) are replaced by the helper's CPU-time limit, so a busy machine cannot cut them short.
"""

from __future__ import annotations

import logging


def boxed(response: str) -> str:
    """MathRuler's extraction: the last box's content, or the literal string "None"."""
    from mathruler.grader import extract_boxed_content

    return extract_boxed_content(response)


def mathruler_grade(given: str, gold: str) -> bool:
    """MathRuler's `grade_answer(given, gold)`."""
    from mathruler.grader import grade_answer

    return bool(grade_answer(given, gold))


def math_verify_grade(given: str, gold: str) -> bool:
    """math-verify's `verify(parse(given), parse(gold))`, default configs, as Look-Back calls it."""
    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    return bool(
        verify(parse(given, parsing_timeout=None), parse(gold, parsing_timeout=None), timeout_seconds=None)
    )


def warm() -> None:
    """Run each grader once on answers that reach sympy and the LaTeX parser (the guard helper
    calls this before it reports ready, so no real call pays for first-use imports)."""
    for given, gold in (
        ("\\frac{1}{2}", "0.5"),
        ("(x+1)^2", "x^2+2x+1"),
        ("\\sqrt{8}", "2\\sqrt{2}"),
        ("[1, 2)", "(1,2]"),
        ("\\{1,2\\}", "\\{2,1\\}"),
        ("x=3", "3"),
        ("30^\\circ", "30"),
    ):
        mathruler_grade(given, gold)
        math_verify_grade(given, gold)
    boxed("\\boxed{1}")
