"""The `python -m vgpo_eval` command line.

python -m vgpo_eval score responses.jsonl --protocol strict --out scored.jsonl
python -m vgpo_eval check "so the answer is \\boxed{0.5}" --answer "\\frac{1}{2}"
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from vgpo_eval.checker.protocols import PROTOCOLS

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
    score.add_argument("input", type=Path, nargs="?", help="JSONL file of responses")
    score.add_argument(
        "--run",
        dest="run_dir",
        type=Path,
        help="re-score a run folder instead (writes its scored files and reports)",
    )
    score.add_argument(
        "--protocol", choices=sorted(PROTOCOLS), default="strict", help="checker protocol (default: strict)"
    )
    score.add_argument(
        "--out", type=Path, help="where to write the scored lines (default: INPUT.scored.PROTOCOL.jsonl)"
    )
    score.add_argument(
        "--workers", type=int, default=None, help="worker processes (default: one per CPU core)"
    )
    score.set_defaults(handler=_score)

    one = commands.add_parser("check", help="check one response against a gold answer, and say why")
    one.add_argument("response", help="the response text")
    one.add_argument("--answer", required=True, help="the gold answer (an option letter for multiple choice)")
    one.add_argument("--choices", nargs="*", help="option texts, in letter order")
    one.add_argument("--precision", type=int, help="decimals the gold answer is stated to")
    one.add_argument("--protocol", choices=sorted(PROTOCOLS), default="strict")
    one.set_defaults(handler=_check)

    listing = commands.add_parser("list", help="list tasks and suites: sources, sizes, what is cached")
    listing.set_defaults(handler=_list)

    lmms = commands.add_parser(
        "export-lmms-eval",
        help="write our tasks as lmms-eval task definitions, scored by our checkers",
        description="Write DIR/vgpo_<task>.yaml + .jsonl for `lmms-eval --include_path DIR --tasks vgpo_<task>`.",
    )
    lmms.add_argument("out_dir", type=Path)
    _data_arguments(lmms)
    lmms.add_argument("--protocol", choices=sorted(PROTOCOLS), default="strict")
    lmms.add_argument("--prompt", default="lookback", help="prompt variant: lookback (default) or train")
    lmms.set_defaults(handler=_export_lmms)

    runner = commands.add_parser(
        "run",
        help="generate and score: the paper's evaluation of a model on tasks or suites",
        description="Generate responses for every item (resumable: re-run the same command after a crash), "
        "then score them under each protocol and print the paper-style table.",
        epilog="examples:\n"
        "  python -m vgpo_eval run --tasks all --model MuMing0102/VGPO-RL-7B\n"
        "  python -m vgpo_eval run --tasks general --model Qwen/Qwen2.5-VL-7B-Instruct --backend vllm\n"
        "  python -m vgpo_eval run --tasks mathvista --model my-model --backend openai --base-url http://127.0.0.1:8000/v1\n"
        "  python -m vgpo_eval run --tasks all --model M --samples 8 --temperature 1.0   # avg@8, as PAPO reports",
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    runner.add_argument(
        "--model", required=True, help="hub id or local folder (or the served model name for openai)"
    )
    runner.add_argument("--revision", help="model revision to pin (a commit, branch or tag)")
    runner.add_argument("--backend", choices=("auto", "hf", "vllm", "openai"), default="auto",
                        help="auto (default): vllm when installed with a GPU, else hf")  # fmt: skip
    _data_arguments(runner)
    runner.add_argument("--protocols", default="strict,paper", help="comma-separated (default: strict,paper)")
    runner.add_argument(
        "--out", type=Path, help="run folder (default: runs/<model>-<source>-<prompt>-t<T>-k<K>)"
    )
    runner.add_argument(
        "--prompt", default="lookback", help="prompt variant: lookback (the paper's, default) or train"
    )
    runner.add_argument(
        "--samples", type=int, default=1, help="responses per item, scored as avg@K (default 1)"
    )
    runner.add_argument("--temperature", type=float, default=0.0, help="0 = greedy (the paper's protocol)")
    runner.add_argument("--top-p", type=float, default=1.0)
    runner.add_argument("--max-new-tokens", type=int, default=2048)
    runner.add_argument("--min-pixels", type=int, default=262_144)
    runner.add_argument("--max-pixels", type=int, default=1_000_000)
    runner.add_argument("--seed", type=int, default=0)
    runner.add_argument(
        "--batch-size", type=int, help="hf: prompts per generate() call (default 8); vllm: per call"
    )
    runner.add_argument("--concurrency", type=int, help="openai: requests in flight (default 8)")
    runner.add_argument("--base-url", help="openai: the server's /v1 URL (default http://127.0.0.1:8000/v1)")
    runner.add_argument("--tensor-parallel-size", type=int, help="vllm: GPUs per model")
    runner.add_argument(
        "--max-model-len", type=int, help="vllm: context length to reserve (default: the model's)"
    )
    runner.add_argument("--max-images", type=int, help="vllm: images per prompt (default 8)")
    runner.add_argument("--dtype", help="hf/vllm: weights dtype (default bf16 on GPU, fp32 on CPU for hf)")
    runner.add_argument("--workers", type=int, help="scoring processes (default: one per core)")
    runner.set_defaults(handler=_run)

    demo = commands.add_parser(
        "demo",
        help="the whole pipeline offline on CPU: a tiny random model on synthetic data of every task",
        description="Builds a tiny random-weight Qwen2.5-VL and synthetic data for every task, runs "
        "`run --tasks all` on them with the hf backend and prints the table. Accuracies are meaningless.",
    )
    demo.add_argument("--out", type=Path, default=Path("runs/demo"), help="where the model, data and run go")
    demo.add_argument("--n", type=int, default=3, help="items per task (default 3)")
    demo.set_defaults(handler=_demo)

    table = commands.add_parser(
        "table",
        help="the paper's reported numbers beside your runs, with deltas (markdown, optional PNG)",
        description="Compare runs with the numbers the VGPO paper reports (leaderboards/paper.json).",
    )
    table.add_argument("runs", type=Path, nargs="*", help="run folders (each scored under --protocol)")
    table.add_argument("--protocol", choices=sorted(PROTOCOLS), default="paper",
                       help="whose report to read (default: paper, the protocol the paper scored with)")  # fmt: skip
    table.add_argument("--out", type=Path, help="write the markdown here too")
    table.add_argument("--png", type=Path, help="write a bar chart here")
    table.set_defaults(handler=_table)

    args = parser.parse_args(argv)
    return args.handler(args)


def _score(args: argparse.Namespace) -> int:
    from vgpo_eval.score import score_file

    if args.run_dir is not None:
        return _report(args.run_dir, [args.protocol], args.workers)
    if args.input is None or not args.input.is_file():
        print(f"error: no such file: {args.input}", file=sys.stderr)
        return 2
    out = args.out or args.input.with_name(f"{args.input.stem}.scored.{args.protocol}.jsonl")
    summary = score_file(args.input, out, args.protocol, args.workers)
    print(summary.render())
    print(f"scored lines written to {out}")
    return 0


def _check(args: argparse.Namespace) -> int:
    from vgpo_eval.checker.protocols import check
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


def _run(args: argparse.Namespace) -> int:
    from tasks import resolve
    from vgpo_eval.backends import Decoding
    from vgpo_eval.run import RunConfig, default_out_dir, run

    try:
        tasks = resolve(args.tasks)
        protocols = tuple(p.strip() for p in args.protocols.split(",") if p.strip())
        unknown = [p for p in protocols if p not in PROTOCOLS]
        if unknown:
            raise ValueError(f"unknown protocol(s) {', '.join(unknown)}; choose from {', '.join(PROTOCOLS)}")
        if args.samples > 1 and args.temperature == 0:
            print("warning: --samples > 1 with greedy decoding gives identical responses", file=sys.stderr)
        decoding = Decoding(
            temperature=args.temperature, top_p=args.top_p, max_new_tokens=args.max_new_tokens, samples=args.samples,
            seed=args.seed, min_pixels=args.min_pixels, max_pixels=args.max_pixels, prompt=args.prompt,
        )  # fmt: skip
        options = {
            "hf": {"batch_size": args.batch_size, "dtype": args.dtype},
            "vllm": {
                "batch_size": args.batch_size,
                "dtype": args.dtype,
                "tensor_parallel_size": args.tensor_parallel_size,
                "max_model_len": args.max_model_len,
                "max_images": args.max_images,
            },
            "openai": {"concurrency": args.concurrency, "base_url": args.base_url},
            "auto": {"batch_size": args.batch_size, "dtype": args.dtype},
        }[args.backend]
        out = args.out or Path(default_out_dir(args.model, args.source, decoding))
        config = RunConfig(
            model=args.model, tasks=tuple(t.name for t in tasks), out_dir=str(out), backend=args.backend,
            revision=args.revision, source=args.source, data_dir=str(args.data_dir) if args.data_dir else None,
            limit=args.limit, protocols=protocols, decoding=decoding, backend_options=options,
        )  # fmt: skip
        load_errors = run(config, tasks)
    except (ValueError, ImportError, ConnectionError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    for errors in load_errors.values():
        for error in errors[:3]:
            print(f"warning: {error}", file=sys.stderr)
    return _report(out, list(protocols), args.workers)


def _report(run_dir: Path, protocols: list[str], workers: int | None) -> int:
    from vgpo_eval.report import main_table, markdown, score_run

    if not any(run_dir.glob("*.samples.jsonl")):
        print(
            f"error: {run_dir} holds no run: no task's data could be loaded (see the warnings above)",
            file=sys.stderr,
        )
        return 2
    reports = [score_run(run_dir, p, workers) for p in protocols]
    (run_dir / "report.md").write_text(markdown(reports), encoding="utf-8")
    print(main_table(reports))
    print(f"\nreports: {run_dir}/report.md, " + ", ".join(f"report.{p}.json" for p in protocols))
    return 0


def _demo(args: argparse.Namespace) -> int:
    from tasks import synthetic
    from vgpo_eval.tiny import build_tiny_qwen2_5_vl

    print("offline demo: a tiny RANDOM-weight model on synthetic data; its accuracies are meaningless.")
    model = build_tiny_qwen2_5_vl(args.out / "model")
    data = synthetic.write(args.out / "data", n=args.n)
    code = main([
        "run", "--tasks", "all", "--model", str(model), "--backend", "hf", "--source", "local",
        "--data-dir", str(data), "--out", str(args.out / "run"), "--max-new-tokens", "48", "--batch-size", "8",
    ])  # fmt: skip
    print("(the numbers above come from random weights: the point is that every stage ran.)")
    return code


def _table(args: argparse.Namespace) -> int:
    from vgpo_eval.table import bar_chart, markdown, paper_rows, run_row

    try:
        runs = [run_row(run, args.protocol) for run in args.runs]
    except FileNotFoundError as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    paper = paper_rows()
    text = markdown(paper, runs)
    print(text)
    if args.out:
        args.out.write_text(text, encoding="utf-8")
    if args.png:
        bar_chart(paper, runs, args.png)
        print(f"chart: {args.png}")
    return 0
