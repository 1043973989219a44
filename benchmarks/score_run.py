"""Scoring throughput of a whole run folder: responses checked per second, per protocol.

With no argument, a synthetic run folder is made first: every task's synthetic items with
realistic responses (a think block, then a boxed answer, right or wrong), repeated to --size.

    python benchmarks/score_run.py [RUN_DIR] [--size 5000] [--workers N]
"""

from __future__ import annotations

import argparse
import random
import tempfile
import time
from pathlib import Path

from vgpo_eval.report import score_run
from vgpo_eval.run import write_jsonl
from vgpo_eval.task import load
from vgpo_tasks import SUITES, TASKS, synthetic


def make_run(out: Path, size: int) -> int:
    """A run folder with `size` responses spread over every task; returns the number written."""
    data = synthetic.write(out / "data", n=8)
    rng, per_task = random.Random(0), max(1, size // len(SUITES["all"]))
    for name in SUITES["all"]:
        samples = load(TASKS[name], "local", data).samples
        items = [samples[i % len(samples)] for i in range(per_task)]
        items = [s.__class__(**{**s.to_dict(), "id": f"{s.id}#{k}"}) for k, s in enumerate(items)]
        write_jsonl(out / f"{name}.samples.jsonl", [s.to_dict() for s in items])
        lines = []
        for s in items:
            answer = s.answer if rng.random() < 0.6 else "7"
            text = f"<think>\nLooking at the figure step by step, {rng.randint(2, 9)} then {rng.randint(2, 9)}.\n</think>\n"
            lines.append(
                {"sample_id": s.id, "text": text + f"The answer is $\\boxed{{{answer}}}$.", "index": 0}
            )
        write_jsonl(out / f"{name}.responses.jsonl", lines)
    return per_task * len(SUITES["all"])


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("run_dir", nargs="?")
    parser.add_argument("--size", type=int, default=5000)
    parser.add_argument("--workers", type=int)
    args = parser.parse_args()
    run_dir = Path(args.run_dir) if args.run_dir else Path(tempfile.mkdtemp()) / "run"
    count = None if args.run_dir else make_run(run_dir, args.size)
    for protocol in ("strict", "paper", "papo"):
        start = time.perf_counter()
        report = score_run(run_dir, protocol, args.workers)
        took = time.perf_counter() - start
        n = count or sum(t["n"] for t in report["tasks"].values())
        print(
            f"{protocol:>7}: {n / took:8.0f} responses/s ({n} responses, {took:.1f} s, files and reports included)"
        )


if __name__ == "__main__":
    main()
