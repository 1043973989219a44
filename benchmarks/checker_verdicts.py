"""Every verdict of some protocols on every stored row, written to a file, or compared with such a file.

A change to the checkers' plumbing (the sandbox, the guard, the parser's safety checks) must not
move a verdict: dump the verdicts before the change, then compare after it. Rows: every labelled
set (benchmarks/data/labelled*.jsonl) and any files given (`score` lines, labelled cases, R1-V
counting logs). Checks run in worker processes, one per core.

    python benchmarks/checker_verdicts.py --protocol paper papo --out before.jsonl
    python benchmarks/checker_verdicts.py --protocol paper papo --compare before.jsonl
"""

from __future__ import annotations

import argparse
import json
import os
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path

from _cases import LABELLED, load_cases

from vgpo_eval.checker.protocols import PROTOCOLS, check


def _verdicts(job: tuple[str, str]) -> list[dict]:
    path, protocol = job
    return [
        {"file": Path(path).name, "row": n, "protocol": protocol}
        | check(row["response"], sample, protocol).to_dict()
        for n, (row, sample) in enumerate(load_cases(path), 1)
    ]


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("files", nargs="*", help="more row files beside the labelled sets")
    parser.add_argument("--protocol", choices=sorted(PROTOCOLS), nargs="+", default=["paper", "papo"])
    parser.add_argument("--out", help="write every verdict here (JSON Lines)")
    parser.add_argument("--compare", help="a file written by --out: print every verdict that differs")
    args = parser.parse_args()
    jobs = [(str(p), protocol) for protocol in args.protocol for p in [*LABELLED, *args.files]]
    with ProcessPoolExecutor(os.cpu_count() or 1) as pool:
        rows = [v for part in pool.map(_verdicts, jobs) for v in part]
    if args.out:
        Path(args.out).write_text(
            "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in rows), encoding="utf-8"
        )
    print(f"{len(rows):,} verdicts ({', '.join(args.protocol)}) on {len(jobs) // len(args.protocol)} files")
    if args.compare:
        key = lambda r: (r["file"], r["row"], r["protocol"])  # noqa: E731
        before = {
            key(r): r for r in map(json.loads, Path(args.compare).read_text(encoding="utf-8").splitlines())
        }
        differ = [(before.get(key(r)), r) for r in rows if before.get(key(r)) != r]
        for old, new in differ:
            print(f"  {key(new)}: {old and (old['correct'], old['rule'])} -> {(new['correct'], new['rule'])}")
        print(f"{len(differ):,} of {len(rows):,} verdicts differ from {args.compare}")


if __name__ == "__main__":
    main()
