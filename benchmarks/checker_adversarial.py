"""Seconds each protocol takes on hostile inputs (the table of tests/test_robustness.py).

The target is every check within 2 s on an idle machine; the test itself only asserts that each
check finishes with a verdict (a wall-clock bound there would fail on a busy machine). Printed
per protocol: the slowest input, its time, and how many verdicts were timeouts.

    python benchmarks/checker_adversarial.py
"""

from __future__ import annotations

import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_robustness import ADVERSARIAL  # noqa: E402

from vgpo_eval.checker import PROTOCOLS, check, guard  # noqa: E402
from vgpo_eval.types import Sample  # noqa: E402


def main() -> None:
    guard.warm_up()
    for protocol in PROTOCOLS:
        times, timeouts = [], 0
        for text, gold in ADVERSARIAL:
            start = time.perf_counter()
            verdict = check(text, Sample(id="adv", task="t", question="", answer=gold), protocol)
            times.append((time.perf_counter() - start, repr(text[:40])))
            timeouts += verdict.timed_out
        worst = max(times)
        print(
            f"{protocol:>7}: {len(times)} inputs, slowest {worst[0]:.3f} s ({worst[1]}), timeouts {timeouts}"
        )


if __name__ == "__main__":
    main()
