"""Checks per second of each protocol in one process, beside MathRuler's `grade_answer` on the same rows.

Each input row is scored once per protocol (one pass, so the parse caches only help where
rows share a gold answer or options, as a sample's responses do in a run or an RL group).
Before timing, the guard helper is started and warmed, as `score` does. The peer is what
PAPO-Eval and EasyR1 run per response: MathRuler's `extract_boxed_content` then
`grade_answer`, in this process, with no time limit. Printed per protocol: checks/s, the ratio
to MathRuler's rate, the slowest single check, and how many checks reached a time limit.

Inputs are JSONL files of the `score` format ({response, answer, choices?, answer_type?,
precision?}) or labelled cases ({response, ground_truth, ...}); several files are one mix.
The default is the project's own labelled cases. By default the process (and its guard
helpers) is pinned to one core.

    python benchmarks/checker_throughput.py [FILE.jsonl ...] [--protocol strict paper papo] [--core 0]
"""

from __future__ import annotations

import argparse
import os
import time

from _cases import DEFAULT_CASES, load_cases

from vgpo_eval.checker import PROTOCOLS, check, guard
from vgpo_eval.checker.parse import clear_caches


def _time(pairs, protocol: str) -> tuple[float, float, str, int]:
    clear_caches()
    worst, timeouts, start = (0.0, ""), 0, time.perf_counter()
    for text, sample in pairs:
        t = time.perf_counter()
        verdict = check(text, sample, protocol)
        worst = max(worst, (time.perf_counter() - t, sample.id))
        timeouts += verdict.timed_out
    return len(pairs) / (time.perf_counter() - start), worst[0], worst[1], timeouts


def _mathruler_rate(pairs) -> float:
    from mathruler.grader import extract_boxed_content, grade_answer

    start = time.perf_counter()
    for text, sample in pairs:
        grade_answer(extract_boxed_content(text), sample.answer)
    return len(pairs) / (time.perf_counter() - start)


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "files", nargs="*", default=[str(DEFAULT_CASES)], help="JSONL inputs (default: %(default)s)"
    )
    parser.add_argument("--protocol", nargs="+", choices=sorted(PROTOCOLS), default=list(PROTOCOLS))
    parser.add_argument(
        "--core", type=int, default=0, help="pin to this core (-1: no pinning; default %(default)s)"
    )
    args = parser.parse_args()
    if args.core >= 0 and hasattr(os, "sched_setaffinity"):
        os.sched_setaffinity(0, {args.core})  # the guard helpers inherit it
    pairs = [(row["response"], sample) for path in args.files for row, sample in load_cases(path)]
    guard.warm_up()
    print(
        f"{len(pairs)} rows from {', '.join(args.files)}; one core"
        if args.core >= 0
        else f"{len(pairs)} rows"
    )
    peer = _mathruler_rate(pairs)
    print(f"{'mathruler':>9}: {peer:8.0f} checks/s  (grade_answer on the last box: the peer)")
    for protocol in args.protocol:
        rate, worst, worst_id, timeouts = _time(pairs, protocol)
        print(
            f"{protocol:>9}: {rate:8.0f} checks/s  {rate / peer:5.2f}x mathruler  "
            f"slowest {worst * 1e3:6.1f} ms ({worst_id})  timeouts {timeouts}"
        )


if __name__ == "__main__":
    main()
