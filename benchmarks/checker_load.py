"""Do verdicts change with machine load? Score one file quietly, then again under CPU oversubscription.

The quiet pass uses one worker; the loaded pass uses --workers workers while --load busy loops per
core run beside it (3 per core: three times more runnable processes than cores, before the
workers). Prints, per protocol, the accuracy of each pass, how many verdicts (correct, rule,
extracted answer) differ, and how many checks reached a time limit in each pass.

    python benchmarks/checker_load.py [FILE.jsonl ...] [--protocol strict paper] [--workers 4] [--load 3]
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import tempfile
import time
from pathlib import Path

from _cases import DEFAULT_CASES, load_cases

from vgpo_eval.checker import PROTOCOLS
from vgpo_eval.score import score_file


def _spin(until: float, stop) -> None:
    while time.monotonic() < until and not stop.is_set():
        pass


def _score(src: Path, out: Path, protocol: str, workers: int, spinners: int) -> tuple[object, dict]:
    ctx = multiprocessing.get_context("spawn")
    stop = ctx.Event()
    procs = [
        ctx.Process(target=_spin, args=(time.monotonic() + 3600, stop), daemon=True) for _ in range(spinners)
    ]
    for p in procs:
        p.start()
    try:
        summary = score_file(src, out, protocol, workers=workers)
    finally:
        stop.set()
        for p in procs:
            p.join(timeout=10)
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    return summary, {r.get("id"): (r.get("correct"), r.get("rule"), r.get("extracted")) for r in records}


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "files", nargs="*", default=[str(DEFAULT_CASES)], help="JSONL inputs (default: %(default)s)"
    )
    parser.add_argument("--protocol", nargs="+", choices=sorted(PROTOCOLS), default=["strict", "paper"])
    parser.add_argument(
        "--workers", type=int, default=4, help="workers of the loaded pass (default %(default)s)"
    )
    parser.add_argument(
        "--load", type=int, default=3, help="busy loops per core in the loaded pass (default %(default)s)"
    )
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        src = Path(tmp) / "responses.jsonl"
        with open(src, "w", encoding="utf-8") as f:
            for path in args.files:
                for row, sample in load_cases(path):
                    line = {"id": sample.id, "response": row["response"], "answer": sample.answer,
                            "choices": sample.choices, "answer_type": sample.answer_type, "precision": sample.precision}  # fmt: skip
                    f.write(json.dumps(line, ensure_ascii=False) + "\n")
        spinners = args.load * (os.cpu_count() or 1)
        for protocol in args.protocol:
            quiet, a = _score(src, Path(tmp) / "quiet.jsonl", protocol, 1, 0)
            loaded, b = _score(src, Path(tmp) / "loaded.jsonl", protocol, args.workers, spinners)
            differ = sorted(str(k) for k in a if a[k] != b.get(k))
            print(
                f"{protocol:>7}: quiet {quiet.accuracy:.2f}% / loaded {loaded.accuracy:.2f}% over {quiet.scored} checks; "
                f"{len(differ)} verdicts differ; timeouts quiet {len(quiet.timeouts)}, loaded {len(loaded.timeouts)} "
                f"({spinners} busy loops + {args.workers} workers on {os.cpu_count()} cores)"
            )
            for key in differ[:20]:
                print(f"    {key}: quiet {a[key]} / loaded {b.get(key)}")


if __name__ == "__main__":
    main()
