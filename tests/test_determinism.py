"""A verdict never depends on machine load: the same file scored quietly with one worker, and with four
workers while this test keeps every core busy, gives identical verdicts, rules and extracted answers.

The rows reach every slow path on purpose: MathRuler's sympy, math-verify's LaTeX parser and the
strict checker's symbolic fallback, plus answers the fast path decides. The busy loops are bounded
(they stop when scoring ends, and after 120 s whatever happens).
"""

import json
import multiprocessing
import os
import random
import time
from contextlib import contextmanager

import pytest

from vgpo_eval.score import score_file

GOLDS = [
    ("\\frac{1}{2}", ["0.5", "\\frac{2}{4}", "1/2", "0.49", "\\frac{1}{3}"]),
    ("x^2+2x+1", ["(x+1)^2", "x^2+1", "(1+x)(x+1)", "x^{2}+2x+1"]),
    ("2\\sqrt{2}", ["\\sqrt{8}", "2.83", "\\sqrt{2}", "2^{3/2}"]),
    ("(1, -2)", ["(1,-2)", "(-2, 1)", "x=1, y=-2", "\\left(1, -2\\right)"]),
    ("[1, 3)", ["[1,3)", "1 \\le x < 3", "(1, 3]", "x \\in [1, 3)"]),
    ("\\binom{5}{2}", ["10", "\\frac{5!}{2!3!}", "20"]),
    ("12", ["12", "12.0", "\\text{12 cm}", "twelve", "13", "2(3+3) = 12"]),
    ("60^\\circ", ["60", "\\frac{\\pi}{3}", "60°", "30^\\circ"]),
    ("\\{1, 2\\}", ["\\{2, 1\\}", "1, 2", "\\{1\\}"]),
    ("y = 2x + 1", ["2x+1", "y=1+2x", "y = x + 2"]),
]
WRAPS = [
    "<think>Let me work it out.</think> The answer is \\boxed{{{}}}.",
    "We compute carefully.\n\nFinal answer: ${}$",
    "\\boxed{{{}}}",
    "<think>maybe 7</think>So the result is {}.",
]


def _rows() -> list[dict]:
    rng, rows = random.Random(0), []
    for gold, preds in GOLDS:
        for pred in preds:
            for wrap in WRAPS:
                rows.append({"id": f"r{len(rows)}", "response": wrap.format(pred), "answer": gold})
    rows += [
        {
            "id": f"c{i}",
            "response": f"\\boxed{{{rng.choice('ABCD')}}}",
            "answer": "B",
            "choices": ["1", "2", "3", "4"],
        }
        for i in range(20)
    ]
    return rows


def _spin(until: float, stop) -> None:
    while time.monotonic() < until and not stop.is_set():
        pass


@contextmanager
def busy(processes: int, limit: float = 120.0):
    """`processes` busy loops, stopped on exit (or after `limit` seconds)."""
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    spinners = [
        ctx.Process(target=_spin, args=(time.monotonic() + limit, stop), daemon=True)
        for _ in range(processes)
    ]
    for p in spinners:
        p.start()
    try:
        yield
    finally:
        stop.set()
        for p in spinners:
            p.join(timeout=10)


def _verdicts(path) -> dict:
    records = [json.loads(line) for line in path.read_text().splitlines()]
    assert [r for r in records if "error" in r] == []
    return {r["id"]: (r["correct"], r["rule"], r["extracted"]) for r in records}


@pytest.mark.parametrize("protocol", ["strict", "paper"])
def test_verdicts_are_the_same_quiet_and_under_load(tmp_path, protocol):
    src = tmp_path / "responses.jsonl"
    src.write_text("".join(json.dumps(r) + "\n" for r in _rows()), encoding="utf-8")
    quiet = score_file(src, tmp_path / "quiet.jsonl", protocol, workers=1)
    with busy(3 * (os.cpu_count() or 2)):  # 3x oversubscribed, and four workers on top
        loaded = score_file(src, tmp_path / "loaded.jsonl", protocol, workers=4)
    assert not quiet.timeouts and not loaded.timeouts
    a, b = _verdicts(tmp_path / "quiet.jsonl"), _verdicts(tmp_path / "loaded.jsonl")
    assert {k: (a[k], b[k]) for k in a if a[k] != b[k]} == {}
    assert 0 < quiet.correct < quiet.scored  # the rows are a real mix, not all one verdict
