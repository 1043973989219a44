"""Symbolic equivalence through math-verify: the thorough, slow fallback of `compare`.

Runs inside a guard helper process (`vgpo_eval.checker.guard`), never in the caller's, because
sympy can hang or eat memory on adversarial answers. math-verify's own SIGALRM timeouts are
switched off here: the guard's CPU-time limit is the time limit.
"""

from __future__ import annotations

import logging


def equivalent(gold: str, pred: str) -> bool:
    """math-verify's verdict on two LaTeX answers (each wrapped in $...$ so it parses as math)."""
    from math_verify import parse, verify

    logging.getLogger("math_verify").setLevel(logging.CRITICAL)
    gold_parsed = parse(f"${gold}$", parsing_timeout=None)
    pred_parsed = parse(f"${pred}$", parsing_timeout=None)
    if not gold_parsed or not pred_parsed:
        return False
    return bool(verify(gold_parsed, pred_parsed, timeout_seconds=None))


def warm() -> None:
    """One comparison of each kind `compare` sends here, before the helper reports ready."""
    for gold, pred in (
        ("x^2-4", "(x-2)(x+2)"),
        ("\\{1,2\\}", "\\{2,1\\}"),
        ("[1,2)", "[1,2)"),
        ("\\begin{pmatrix}1\\\\2\\end{pmatrix}", "\\begin{pmatrix}1\\\\2\\end{pmatrix}"),
        ("y=2x+1", "2x+1"),
        ("\\sin^2 x", "1-\\cos^2 x"),
    ):
        equivalent(gold, pred)
