"""The `python -m vgpo_eval` command line.

python -m vgpo_eval score responses.jsonl --protocol strict --out scored.jsonl
python -m vgpo_eval check "so the answer is \\boxed{0.5}" --answer "\\frac{1}{2}"
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vgpo_eval.protocols import PROTOCOLS

EPILOG = """\
protocols:
  strict  (default) the final committed answer, compared by value: numbers with the precision the
          gold states, units, percent, fractions, LaTeX expressions, option letters <-> option texts,
          tuples vs sets, intervals; a hedge or a truncated answer is wrong
  paper   the cascade the VGPO paper scored with (Look-Back): MathRuler, then math-verify, then
          "gold letter anywhere in the box" (lenient on purpose, for parity with the paper)
  papo    MathRuler's grade_answer on the last box (PAPO-Eval, EasyR1's math reward)

examples:
  python -m vgpo_eval score preds.jsonl --out preds.scored.jsonl
  python -m vgpo_eval score preds.jsonl --protocol paper --workers 4
  python -m vgpo_eval check "<think>...</think> \\boxed{C}" --answer C --choices 3 4 5 6
"""


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        prog="python -m vgpo_eval",
        description="Evaluate vision-language models on the VGPO paper's benchmarks with verifiable checkers.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    commands = parser.add_subparsers(dest="command", required=True)

    score = commands.add_parser(
        "score",
        help="score a JSONL file of responses (no GPU needed)",
        description="Score responses. Each input line: {id, response, answer, choices?, answer_type?, "
        "precision?, task?}; output lines add correct, extracted, rule, protocol.",
        epilog=EPILOG,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    score.add_argument("input", type=Path, help="JSONL file of responses")
    score.add_argument(
        "--protocol", choices=sorted(PROTOCOLS), default="strict", help="checker protocol (default: strict)"
    )
    score.add_argument(
        "--out", type=Path, help="where to write the scored lines (default: INPUT.scored.PROTOCOL.jsonl)"
    )
    score.add_argument(
        "--workers", type=int, default=None, help="worker processes (default: one per CPU core)"
    )
    score.set_defaults(run=_score)

    one = commands.add_parser("check", help="check one response against a gold answer, and say why")
    one.add_argument("response", help="the response text")
    one.add_argument("--answer", required=True, help="the gold answer (an option letter for multiple choice)")
    one.add_argument("--choices", nargs="*", help="option texts, in letter order")
    one.add_argument("--precision", type=int, help="decimals the gold answer is stated to")
    one.add_argument("--protocol", choices=sorted(PROTOCOLS), default="strict")
    one.set_defaults(run=_check)

    listing = commands.add_parser("list", help="list tasks and suites: sources, sizes, what is cached")
    listing.set_defaults(run=_list)

    lmms = commands.add_parser(
        "export-lmms-eval",
        help="write our tasks as lmms-eval task definitions, scored by our checkers",
        description="Write DIR/vgpo_<task>.yaml + .jsonl for `lmms-eval --include_path DIR --tasks vgpo_<task>`.",
    )
    lmms.add_argument("out_dir", type=Path)
    _data_arguments(lmms)
    lmms.add_argument("--protocol", choices=sorted(PROTOCOLS), default="strict")
    lmms.add_argument("--prompt", default="lookback", help="prompt variant: lookback (default) or train")
    lmms.set_defaults(run=_export_lmms)

    args = parser.parse_args(argv)
    return args.run(args)


def _score(args: argparse.Namespace) -> int:
    from vgpo_eval.score import score_file

    if not args.input.is_file():
        print(f"error: no such file: {args.input}", file=sys.stderr)
        return 2
    out = args.out or args.input.with_name(f"{args.input.stem}.scored.{args.protocol}.jsonl")
    summary = score_file(args.input, out, args.protocol, args.workers)
    print(summary.render())
    print(f"scored lines written to {out}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from vgpo_eval.protocols import check
    from vgpo_eval.types import Sample

    sample = Sample(
        id="cli", task="", question="", answer=args.answer, choices=args.choices, precision=args.precision
    )
    print(json.dumps(check(args.response, sample, args.protocol).to_dict(), ensure_ascii=False))
    return 0


def _list(args: argparse.Namespace) -> int:
    from tasks import SUITES, TASKS
    from vgpo_eval.task import cached

    def where(spec) -> str:
        return (
            "-"
            if spec is None
            else f"{spec.dataset}:{spec.split}" + (f" ({spec.config})" if spec.config else "")
        )

    rows = [("task", "suite", "items", "papo source", "upstream source", "local files", "cached")]
    for task in TASKS.values():
        rows.append(
            (
                task.name,
                task.suite,
                str(task.size or "?"),
                where(task.papo),
                where(task.upstream),
                ", ".join(task.local_files),
                ", ".join(cached(task)) or "-",
            )
        )
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    print("\nsuites:")
    for name, members in SUITES.items():
        print(f"  {name:<17} {', '.join(members)}")
    return 0


def _data_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--tasks", default="all", help="tasks or suites, comma-separated (default: all)")
    parser.add_argument(
        "--source", choices=("papo", "upstream", "local"), default="papo",
        help="papo: the paper's evaluation data (default); upstream: the benchmarks' own hub datasets; "
        "local: a folder given by --data-dir",
    )  # fmt: skip
    parser.add_argument("--data-dir", type=Path, help="folder holding the tasks' files (for --source local)")
    parser.add_argument("--limit", type=int, help="at most this many items per task")


def _load_tasks(args: argparse.Namespace) -> dict:
    """{task name: samples} for the tasks named on the command line; bad rows are reported, not fatal."""
    from tasks import resolve
    from vgpo_eval.task import load

    out = {}
    for task in resolve(args.tasks):
        loaded = load(task, args.source, args.data_dir, args.limit)
        for error in loaded.errors[:5]:
            print(f"warning: {error}", file=sys.stderr)
        if len(loaded.errors) > 5:
            print(f"warning: {task.name}: {len(loaded.errors) - 5} more bad rows", file=sys.stderr)
        out[task.name] = loaded.samples
    return out


def _export_lmms(args: argparse.Namespace) -> int:
    from vgpo_eval.lmms import export
    from vgpo_eval.task import DataError

    try:
        samples = _load_tasks(args)
    except (DataError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    names = export(args.out_dir, samples, args.protocol, args.prompt)
    print(f"wrote {len(names)} lmms-eval tasks to {args.out_dir}: {', '.join(names)}")
    print(f"run: lmms-eval --include_path {args.out_dir} --tasks {','.join(names)} --model ...")
    return 0
