"""Checks per second of each protocol on one core, and the slowest single check.

The mix is a labelled cases file (default ../shared/data/checker_cases.jsonl), repeated; the
first pass starts the guard helpers and is not timed. The checkers keep no result cache in
this process, so a repeated row costs the same as a new one.

    python benchmarks/checker_throughput.py [CASES.jsonl] [--passes 3]
"""

from __future__ import annotations

import argparse
import time

from _cases import SHARED_CASES, load_cases

from vgpo_eval.checker.protocols import PROTOCOLS, check


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("cases", nargs="?", default=str(SHARED_CASES))
    parser.add_argument("--passes", type=int, default=3)
    args = parser.parse_args()
    pairs = [(row["response"], sample) for row, sample in load_cases(args.cases)]
    for protocol in PROTOCOLS:
        for text, sample in pairs:  # warm-up: helper processes, imports
            check(text, sample, protocol)
        worst, total, count = (0.0, ""), 0.0, 0
        for _ in range(args.passes):
            for text, sample in pairs:
                start = time.perf_counter()
                check(text, sample, protocol)
                took = time.perf_counter() - start
                total += took
                count += 1
                worst = max(worst, (took, sample.id))
        print(
            f"{protocol:>7}: {count / total:8.0f} checks/s over {count} checks; slowest {worst[0] * 1e3:.1f} ms ({worst[1]})"
        )


if __name__ == "__main__":
    main()
