"""The `vgpo-eval` (= `python -m vgpo_eval`) command line: the parser, with every flag value checked here,
before anything heavy loads. The commands themselves are in `vgpo_eval.commands`.

    vgpo-eval run --tasks all --model MuMing0102/VGPO-RL-7B
    vgpo-eval score responses.jsonl --protocol strict --out scored.jsonl
    vgpo-eval check "so the answer is \\boxed{0.5}" --answer "\\frac{1}{2}"
"""

from __future__ import annotations

import argparse
import importlib.util
import os
import re
import select
import sys
from pathlib import Path

from vgpo_eval.checker import PROTOCOLS
from vgpo_eval.instructions import PROMPTS
from vgpo_eval.task import DEFAULT_SOURCE, PROFILES, SHAREGPT, SOURCES

PROMPT_VARIANTS = tuple(PROMPTS)
BACKENDS = ("auto", "hf", "vllm", "openai")
_HUB_ID = re.compile(r"^[\w.-]+(/[\w.-]+)?$")

PROTOCOL_HELP = """\
protocols:
  strict  (default) the final committed answer, compared by value: numbers with the precision the
          gold states, units, percent, fractions, LaTeX expressions, option letters <-> option texts,
          tuples vs sets, intervals; a hedge or a truncated answer is wrong
  paper   the cascade the VGPO paper scored with (Look-Back): MathRuler, then math-verify, then
          "gold letter anywhere in the box" (lenient on purpose, for parity with the paper)
  papo    MathRuler's grade_answer on the last box (PAPO-Eval, EasyR1's math reward)
  verifier  strict first; what strict does not accept goes to a verifier model (CompassVerifier-3B by
          default: --verifier-model, --verifier-url for a server), which reads the question, the gold and
          the response; strict's verdict and rule stay recorded beside the model's (docs/checker.md)
"""
SCORING = (*PROTOCOLS, "verifier")  # the checker's protocols, and the one that asks a model


def _tasks_help() -> str:
    from vgpo_tasks import SUITES, TASKS

    suites = "\n".join(f"  {name:<17} {', '.join(members)}" for name, members in SUITES.items())
    return f"tasks: {', '.join(TASKS)}\nsuites:\n{suites}\n"


class Parser(argparse.ArgumentParser):
    """An argument parser whose errors are one line naming the command, the flag and the problem."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def main(argv: list[str] | None = None) -> int:
    """Parse, check and run one command; returns the exit code (130 after Ctrl-C; 141, as a shell reports a
    process ended by SIGPIPE, when the reader of its output went away: `vgpo-eval list | head -1`)."""
    try:
        try:
            code = _main(argv)
        except SystemExit:  # --help or a usage error: what argparse printed is flushed here too
            sys.stdout.flush()
            raise
        sys.stdout.flush()  # a reader that has gone shows here, not in the interpreter's exit
        return code
    except BrokenPipeError:
        if not _stdout_reader_gone():  # another pipe (a server's socket): a real error
            raise
        # Python's "Note on SIGPIPE": the rest of the output goes nowhere, and the exit is quiet
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 141


def _main(argv: list[str] | None) -> int:
    from vgpo_eval import commands

    if importlib.util.find_spec("vgpo_tasks") is None:  # run from a clone that was never installed
        print(
            "vgpo-eval: the task registry (package vgpo_tasks, the repository's tasks/ folder) is not "
            'installed; run `pip install -e ".[hf]"` in the repository first (see README.md)',
            file=sys.stderr,
        )
        return 2
    parser = build_parser()
    args = parser.parse_args(argv)
    check_run_args(parser.commands.choices.get(args.command, parser), args)
    try:
        if args.command == "focus" and args.run is None and args.compare is None and args.model:
            args.run = _generate_for_focus(args, main)
            if args.run is None:
                return 2
        if args.command == "demo":
            code = main(commands.demo_run_argv(args))
            if code in (0, 1):
                print("(the numbers above come from random weights: the point is that every stage ran.)")
            return code
        return commands.COMMANDS[args.command](args)
    except KeyboardInterrupt:
        print(
            "\ninterrupted: everything done so far is kept; re-run the same command to resume",
            file=sys.stderr,
        )
        return 130


def _stdout_reader_gone() -> bool:
    """Whether stdout is a pipe or socket whose reader has closed it (`| head -1` after its line)."""
    try:
        fd = sys.stdout.fileno()
    except (AttributeError, OSError, ValueError):  # replaced by an object without a file (a test's capture)
        return False
    if not hasattr(select, "poll"):  # Windows: assume the pipe was stdout
        return True
    poller = select.poll()
    poller.register(fd, select.POLLOUT)
    return any(events & (select.POLLERR | select.POLLHUP) for _, events in poller.poll(0))


def _generate_for_focus(args: argparse.Namespace, run_main) -> Path | None:
    """`focus` without --run: generate and score first, as `run` does, into OUT/run (None if that failed)."""
    out = (args.out or Path("runs/focus")) / "run"
    argv = ["run", "--tasks", args.tasks, "--model", args.model, "--source", args.source, "--backend", args.backend,
            "--out", str(out), "--max-new-tokens", str(args.max_new_tokens), "--protocols", args.protocol]  # fmt: skip
    argv += ["--data-dir", str(args.data_dir)] if args.data_dir else []
    argv += ["--limit", str(args.limit)] if args.limit else []
    args.out = args.out or Path("runs/focus")
    return out if run_main(argv) in (0, 1) else None


def entry() -> None:
    """The `vgpo-eval` console script."""
    sys.exit(main())


def build_parser() -> argparse.ArgumentParser:
    raw = argparse.RawDescriptionHelpFormatter
    parser = Parser(
        prog="vgpo-eval",
        description="Evaluate vision-language models on the VGPO paper's benchmarks with verifiable checkers "
        "(also: python -m vgpo_eval).",
        epilog=PROTOCOL_HELP,
        formatter_class=raw,
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    parser.commands = commands  # so a check made after parsing names its command
    _run_parser(commands.add_parser(
        "run", help="generate and score: the paper's evaluation of a model on tasks or suites",
        description="Generate responses for every item (resumable: re-run the same command after a crash "
        "or Ctrl-C), then score them under each protocol and print the paper-style table.",
        epilog=_run_epilog(), formatter_class=raw,
    ))  # fmt: skip
    _score_parser(commands.add_parser(
        "score", help="score a JSONL file of responses, or re-score a run folder (no GPU needed)",
        description="Score responses. Each input line: {id, response, answer, choices?, answer_type?, "
        "precision?, task?}; output lines add correct, extracted, rule, protocol.",
        epilog=PROTOCOL_HELP + "\nexamples:\n  vgpo-eval score preds.jsonl --out preds.scored.jsonl\n"
        "  vgpo-eval score --run runs/my-run --protocol papo", formatter_class=raw,
    ))  # fmt: skip
    one = commands.add_parser(
        "check", help="check one response against a gold answer, and say why",
        description="Check one response against a gold answer under a protocol; prints the verdict as one JSON "
        "line ({correct, extracted, rule}), or with --explain how it was reached.",
        epilog="exit status: 0 when the check ran, whatever the verdict: an incorrect answer exits 0 too (read "
        '"correct" in the output); 2 for a bad flag or value.',
    )  # fmt: skip
    one.add_argument("response", help="the response text")
    one.add_argument("--answer", required=True, help="the gold answer (an option letter for multiple choice)")
    one.add_argument("--choices", nargs="*", help="option texts, in letter order")
    one.add_argument("--precision", type=_count, help="decimals the gold answer is stated to")
    one.add_argument("--protocol", choices=sorted(PROTOCOLS), default="strict", help="(default: %(default)s)")
    one.add_argument("--explain", action="store_true",
                     help="say how the verdict was reached: the answer found and where, what each side parsed to, "
                     "the rule that decided (what you need to dispute a verdict)")  # fmt: skip
    commands.add_parser("list", help="list tasks and suites: sizes, sources, what is cached")
    show = commands.add_parser(
        "show", help="print exactly what the model receives for one item (text, images, visual tokens, gold)",
        description="Check the protocol item by item: the system and user text as sent, where each image goes, "
        "its size after resizing and its visual token count, and the gold answer.",
    )  # fmt: skip
    show.add_argument("task", choices=_task_names(), help="the task")
    show.add_argument("--source", choices=SOURCES, default=DEFAULT_SOURCE, help="(default: %(default)s)")
    show.add_argument(
        "--sharegpt", choices=SHAREGPT, default="clean", help="ShareGPT reading (default: %(default)s)"
    )
    show.add_argument("--data-dir", type=_existing_dir, help="folder for --source local (upstream or PAPO_eval-style "
                      "rows); with papo or lookback, a local copy of Look-Back's archive (its eval_data folder)")  # fmt: skip
    show.add_argument("--index", type=_count, default=0, help="which item, from 0 (default: %(default)s)")
    show.add_argument("--prompt", choices=PROMPT_VARIANTS, default="lookback", help="(default: %(default)s)")
    show.add_argument("--min-pixels", type=_positive, default=262_144, help="(default: %(default)s)")
    show.add_argument("--max-pixels", type=_positive, default=1_000_000, help="(default: %(default)s)")
    lmms = commands.add_parser(
        "export-lmms-eval", help="write our tasks as lmms-eval task definitions, scored by our checkers",
        description="Write DIR/vgpo_<task>.yaml + .jsonl for `lmms-eval --include_path DIR --tasks vgpo_<task>`.",
    )  # fmt: skip
    lmms.add_argument("out_dir", type=Path, help="folder to write the task definitions to")
    _data_arguments(lmms)
    lmms.add_argument(
        "--protocol", choices=sorted(PROTOCOLS), default="strict", help="(default: %(default)s)"
    )
    lmms.add_argument("--prompt", choices=PROMPT_VARIANTS, default="lookback", help="(default: %(default)s)")
    demo = commands.add_parser(
        "demo", help="the whole pipeline offline on CPU: a tiny random model on synthetic data of every task",
        description="Builds a tiny random-weight Qwen2.5-VL and synthetic data for every task, runs "
        "`run --tasks all` on them with the hf backend and prints the table. Accuracies are meaningless.",
    )  # fmt: skip
    demo.add_argument("--out", type=Path, default=Path("runs/demo"), help="where the model, data and run go (default: %(default)s)")  # fmt: skip
    demo.add_argument("--n", type=_positive, default=3, help="items per task (default: %(default)s)")
    view = commands.add_parser(
        "view", help="write one self-contained HTML page to look at every item: image, prompt, response, verdicts",
        description="Write a static HTML page (no server, no network) for a run: its table per protocol, per-task "
        "counts, every item with filters (task, verdict, rule, protocols or runs that disagree, text search, sort by "
        "length) and an item panel (the images as the model saw them, the prompt, the response with the answer read "
        "marked, the gold, each protocol's verdict and rule, the focus curve if `focus` ran). Model output is shown "
        "as text, never run.",
    )  # fmt: skip
    view.add_argument("run", type=_existing_dir, help="the run folder")
    view.add_argument("--compare", type=_existing_dir, nargs="+", default=[], metavar="RUN",
                      help="more run folders, shown side by side with RUN item by item")  # fmt: skip
    view.add_argument("--out", type=Path, help="the page to write (default: RUN/view.html)")
    view.add_argument("--thumb", type=_positive, default=256,
                      help="longest side of the embedded image thumbnails, in pixels (default: %(default)s)")  # fmt: skip
    focus = commands.add_parser(
        "focus", help="visual focus of a run's responses by position in the response (temporal forgetting)",
        description="Teacher-forced forward of each scored response of a run: per-token VGPO focus (cosine of the "
        "last-layer state with the image tokens' mean state), binned by relative position, split by correct and "
        "incorrect; writes focus.json, focus.csv, focus.png and a report.md section. --compare overlays runs.",
    )  # fmt: skip
    focus.add_argument("--run", type=_existing_dir,
                       help="the run folder whose responses are analysed (without it: generate first, as `run` does, "
                       "with --model, --tasks, --source ..., into OUT/run)")  # fmt: skip
    focus.add_argument("--model", help="the model (hub id or folder; default with --run: the run's)")
    focus.add_argument("--out", type=Path, help="output folder (default: RUN/focus)")
    focus.add_argument(
        "--protocol",
        choices=sorted(PROTOCOLS),
        default="strict",
        help="correct/incorrect by (default: %(default)s)",
    )
    focus.add_argument("--measure", choices=("focus", "attention"), default="focus",
                       help="attention: also each token's share of attention mass on the image tokens (eager attention)")  # fmt: skip
    focus.add_argument("--layers", default="-1",
                       help="with --measure attention: comma-separated layer indices, averaged (default: -1, the last)")  # fmt: skip
    focus.add_argument(
        "--batch-size", type=_positive, default=8, help="responses per forward pass (default: %(default)s)"
    )
    _data_arguments(focus)
    focus.add_argument(
        "--backend", choices=BACKENDS, default="auto", help="for generating first (default: %(default)s)"
    )
    focus.add_argument(
        "--max-new-tokens", type=_positive, default=2048, help="for generating first (default: %(default)s)"
    )
    focus.add_argument(
        "--threshold",
        type=float,
        default=0.2,
        help="focus above this counts as looking at the image (default: %(default)s)",
    )
    focus.add_argument(
        "--compare",
        type=_existing_dir,
        nargs="+",
        help="focus output folders to overlay in one figure (into --out)",
    )
    status = commands.add_parser(
        "status", help="per task: items done, failed and missing (with the owning shard)"
    )
    status.add_argument("run_dir", type=_existing_dir, help="a run folder")
    table = commands.add_parser(
        "table", help="the paper's reported numbers beside your runs, with deltas (markdown, CSV, PNG)",
        description="Compare runs with the numbers the VGPO paper reports (leaderboards/paper.json).",
    )  # fmt: skip
    table.add_argument(
        "runs", type=_existing_dir, nargs="*", help="run folders (each scored under --protocol)"
    )
    table.add_argument("--protocol", choices=sorted(SCORING), default="paper",
                       help="whose report to read (default: paper, the protocol the paper scored with)")  # fmt: skip
    table.add_argument("--out", type=Path, help="write the markdown here too")
    table.add_argument("--csv", type=Path, help="write the table as CSV here (one row per model x benchmark)")
    table.add_argument("--png", type=Path, help="write a bar chart here")
    return parser


def _run_epilog() -> str:
    return (
        _tasks_help()
        + "\n"
        + PROTOCOL_HELP
        + (
            "\nexamples:\n"
            "  vgpo-eval run --tasks all --model MuMing0102/VGPO-RL-7B\n"
            "  vgpo-eval run --tasks general --model Qwen/Qwen2.5-VL-7B-Instruct --backend vllm\n"
            "  vgpo-eval run --tasks mathvista --model my-model --backend openai --base-url http://127.0.0.1:8000/v1\n"
            "  vgpo-eval run --tasks all --model M --samples 8 --temperature 1.0   # avg@8, as PAPO reports\n"
            "\nexit codes: 0 done; 1 some items failed (re-run the same command to retry them); 2 bad input or\n"
            "nothing could be run; 130 interrupted (re-run to resume)."
        )
    )


def _run_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("--model", required=True, help="hub id (owner/name) or local folder; for openai, the served model name")  # fmt: skip
    p.add_argument("--revision", help="model revision to pin (a commit, branch or tag; default: latest)")
    p.add_argument("--backend", choices=BACKENDS, default="auto",
                   help="auto (default): vllm when installed with a GPU, else hf")  # fmt: skip
    _data_arguments(p)
    p.add_argument("--require-all", action="store_true",
                   help="stop before loading the model when a task has no data under --source (default: skip "
                   "such a task with a line saying how to provide it, so --tasks all runs everything there is)")  # fmt: skip
    p.add_argument("--protocols", type=_protocols, default=("strict", "paper"),
                   help="comma-separated scoring protocols (default: strict,paper)")  # fmt: skip
    p.add_argument("--out", type=Path, help="run folder (default: runs/<model>-<source>-<prompt>-t<T>-k<K>)")
    p.add_argument("--prompt", choices=PROMPT_VARIANTS, default="lookback",
                   help="instruction after the question: lookback (the paper's evaluation, default) or train")  # fmt: skip
    p.add_argument(
        "--samples", type=_positive, default=1, help="responses per item, scored as avg@K (default: 1)"
    )
    p.add_argument("--temperature", type=_non_negative, default=0.0, help="0 = greedy, the paper's protocol (default: 0)")  # fmt: skip
    p.add_argument(
        "--top-p", type=_probability, default=1.0, help="nucleus sampling mass, in (0, 1] (default: 1.0)"
    )
    p.add_argument(
        "--max-new-tokens", type=_positive, default=2048, help="tokens per response (default: 2048)"
    )
    p.add_argument("--min-pixels", type=_positive, default=262_144, help="images are resized to at least this many pixels (default: 262144)")  # fmt: skip
    p.add_argument("--max-pixels", type=_positive, default=1_000_000, help="... and at most this many (default: 1000000)")  # fmt: skip
    p.add_argument("--seed", type=int, default=0, help="sampling seed (default: 0)")
    p.add_argument(
        "--batch-size", type=_positive, help="hf: prompts per generate() call (default 8); vllm: per call"
    )
    p.add_argument("--concurrency", type=_positive, help="openai: requests in flight (default: 8)")
    p.add_argument("--base-url", help="openai: the server's /v1 URL, or several comma-separated (default: "
                   "http://127.0.0.1:8000/v1); no credentials in it: the API key goes in OPENAI_API_KEY")  # fmt: skip
    p.add_argument("--request-timeout", type=_positive_float,
                   help="openai: seconds one try of a request may take in all, connect to last byte (default: 600, "
                   "sized for 2,048 new tokens at 3.5 tokens/s or more; raise it with a larger --max-new-tokens)")  # fmt: skip
    p.add_argument("--no-extra-decoding-fields", action="store_true",
                   help="openai: leave vLLM's sampling fields (repetition_penalty 1.0, top_k -1, min_p 0.0) out of "
                   "the request, for a server that refuses unknown fields (transformers serve); its own defaults "
                   "then apply (recorded in config.json)")  # fmt: skip
    p.add_argument("--tensor-parallel-size", type=_positive, help="vllm: GPUs per model replica")
    p.add_argument("--data-parallel-size", type=_positive,
                   help="vllm: model replicas on this node (vLLM's data parallelism; 8 GPUs, a 7B model: 8)")  # fmt: skip
    p.add_argument("--shard", type=_shard,
                   help="I/N: generate only shard I (0 to N-1) of every task's items, a fixed split by item id; run "
                   "the N shards anywhere into one --out folder, then `vgpo-eval score --run` merges them")  # fmt: skip
    p.add_argument("--max-model-len", type=_count, default=8192,
                   help="vllm: the engine's context in tokens, prompt and response (default: 8192, as Look-Back; "
                   "0: the model's own, 128K for Qwen2.5-VL)")  # fmt: skip
    p.add_argument("--max-images", type=_positive, help="vllm: images per prompt (default: 8)")
    p.add_argument("--dtype", choices=("bfloat16", "float16", "float32", "bf16", "fp16", "fp32"),
                   help="hf/vllm: weights dtype (default: bf16 on GPU, fp32 on CPU for hf)")  # fmt: skip
    p.add_argument("--workers", type=_positive, help="scoring processes (default: one per core)")
    p.add_argument("--missing-image", choices=("wrong", "drop"), default="wrong",
                   help="an item whose image cannot be read: wrong (default: kept and counted wrong) or drop (left "
                   "out of the accuracy's denominator, as Look-Back does); listed in report.md either way, recorded")  # fmt: skip
    p.add_argument("--allow-outside-images", action="store_true",
                   help="--source local: let rows name image files outside --data-dir (absolute paths, '..', links "
                   "out of the folder); by default such an item is an error")  # fmt: skip
    _verifier_arguments(p)


def _score_parser(p: argparse.ArgumentParser) -> None:
    p.add_argument("input", type=Path, nargs="?", help="JSONL file of responses")
    p.add_argument("--run", dest="run_dir", type=_existing_dir, help="re-score a run folder instead (its scored files and reports)")  # fmt: skip
    p.add_argument(
        "--protocol", choices=sorted(SCORING), default="strict", help="checker protocol (default: strict)"
    )
    p.add_argument(
        "--out", type=Path, help="where to write the scored lines (default: INPUT.scored.PROTOCOL.jsonl)"
    )
    p.add_argument("--workers", type=_positive, default=None, help="worker processes (default: one per core)")
    _verifier_arguments(p)


def _verifier_arguments(p: argparse.ArgumentParser) -> None:
    from vgpo_eval.verifier import MODEL, VERIFY

    group = p.add_argument_group("the verifier protocol (a model judges what strict does not accept)")
    group.add_argument("--verifier-model", default=MODEL, help="hub id or folder, or the model name a server "
                       "serves (default: %(default)s)")  # fmt: skip
    group.add_argument(
        "--verifier-revision", help="the verifier's revision to pin (default: latest, recorded)"
    )
    group.add_argument("--verifier-url", help="OpenAI-compatible server(s) running the verifier, comma-separated "
                       "(default: load the model here with --verifier-backend)")  # fmt: skip
    group.add_argument("--verifier-backend", choices=("hf", "vllm"), default="hf",
                       help="where a local verifier runs, without --verifier-url (default: %(default)s)")  # fmt: skip
    group.add_argument("--verifier-timeout", type=_positive_float, default=120.0,
                       help="seconds a verifier server gets per request, retries aside (default: %(default)s)")  # fmt: skip
    group.add_argument("--verify", choices=VERIFY, default="negatives",
                       help="negatives (default): only the responses strict does not accept go to the model; "
                       "all: every response (to measure agreement)")  # fmt: skip


def _data_arguments(p: argparse.ArgumentParser) -> None:
    p.add_argument(
        "--tasks", type=_tasks, default="all", help="tasks or suites, comma-separated (default: all)"
    )
    p.add_argument("--source", choices=SOURCES, default=DEFAULT_SOURCE,
                   help="lookback (default, the paper's data): each task where Look-Back's evaluation script, "
                   "which the paper follows, takes it: MathVista, MathVerse, WeMath and GeoMath from its archive "
                   "ShuoY/Look-Back-eval (downloaded once), the rest from PAPO_eval; papo: PAPO's evaluation "
                   "data PAPO-Galaxy/PAPO_eval for every task it has (GeoMath from Look-Back's archive); "
                   "upstream: the benchmarks' own hub datasets; local: files in --data-dir")  # fmt: skip
    p.add_argument("--sharegpt", choices=SHAREGPT, default="clean",
                   help="ShareGPT rows (PAPO_eval, GeoMath): clean (default: <image> markers out, every image, "
                   "the row's own instruction removed) or verbatim (as Look-Back reads them: text as is, the "
                   "first image only); GeoMath from Look-Back's archive is always read verbatim")  # fmt: skip
    p.add_argument(
        "--data-dir",
        type=_existing_dir,
        help="folder holding the tasks' files (for --source local); with papo "
        "or lookback, an unzipped copy of Look-Back's archive (its eval_data folder), read instead of downloading",
    )
    p.add_argument("--limit", type=_positive, help="at most this many items per task (default: all)")


def check_run_args(parser: argparse.ArgumentParser, args: argparse.Namespace) -> None:
    """Checks that need several flags together; `parser.error` exits 2 with the usage line."""
    if getattr(args, "source", None) == "local" and getattr(args, "data_dir", None) is None:
        parser.error("--source local needs --data-dir DIR (the folder holding the tasks' files)")
    if getattr(args, "data_dir", None) is not None and not _reads_data_dir(args):
        if args.source in PROFILES:  # only the tasks the profile reads from Look-Back's archive read it
            parser.error(f"--data-dir is not read: under --source {args.source} only {_local_under(args.source)} "
                         "come from it (Look-Back's archive), and no task named does; add --source local to "
                         f"use the files in {args.data_dir}")  # fmt: skip
        parser.error(f"--data-dir is read only with --source local (--source {args.source} takes every task "
                     f"from the hub); add --source local to use the files in {args.data_dir}")  # fmt: skip
    if getattr(args, "command", None) != "run":
        return
    if args.base_url is not None:
        from vgpo_eval.backends.openai import base_url_error

        problem = base_url_error(args.base_url)  # never echoes a URL with credentials
        if problem:
            parser.error(f"--base-url: {problem}")
    if args.min_pixels > args.max_pixels:
        parser.error(f"--min-pixels ({args.min_pixels}) is larger than --max-pixels ({args.max_pixels})")
    if args.backend == "vllm" and 0 < args.max_model_len <= args.max_new_tokens:
        parser.error(f"--max-model-len {args.max_model_len} leaves no room for a prompt beside --max-new-tokens "
                     f"{args.max_new_tokens}; raise it, or pass 0 for the model's own")  # fmt: skip
    if args.backend != "openai":
        path = Path(args.model).expanduser()
        if args.model.startswith((".", "/", "~")) or path.exists():
            if not (path / "config.json").is_file():
                what = "does not exist" if not path.exists() else "holds no config.json (not a model folder)"
                parser.error(f"--model {args.model}: the folder {what}")
        elif not _HUB_ID.match(args.model):
            parser.error(f"--model {args.model!r} is neither a local folder nor a hub id (owner/name)")


def _reads_data_dir(args: argparse.Namespace) -> bool:
    """Whether a task the command names takes its rows from --data-dir under its --source (every task under
    `local`; under a profile such as `lookback`, the tasks it takes from a local folder)."""
    from vgpo_eval.task import actual_source
    from vgpo_tasks import TASKS, resolve

    tasks = [TASKS[args.task]] if getattr(args, "task", None) else resolve(getattr(args, "tasks", "all"))
    return any(actual_source(task, args.source) in ("local", "archive") for task in tasks)


def _local_under(source: str) -> str:
    return ", ".join(name for name, own in PROFILES.get(source, {}).items() if own != "papo") or "no task"


def _task_names() -> list[str]:
    from vgpo_tasks import TASKS

    return list(TASKS)


def _tasks(value: str) -> str:
    from vgpo_tasks import resolve

    try:
        resolve(value)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    if not value.strip(", "):
        raise argparse.ArgumentTypeError("no task named")
    return value


def _shard(value: str) -> tuple[int, int]:
    m = re.fullmatch(r"(\d+)/(\d+)", value.strip())
    if not m or not 0 <= int(m[1]) < int(m[2]):
        raise argparse.ArgumentTypeError(f"{value!r} is not I/N with 0 <= I < N (e.g. 0/4)")
    return int(m[1]), int(m[2])


def _protocols(value: str) -> tuple[str, ...]:
    names = tuple(p.strip() for p in value.split(",") if p.strip())
    unknown = [p for p in names if p not in SCORING]
    if unknown or not names:
        raise argparse.ArgumentTypeError(f"unknown protocol(s) {', '.join(unknown) or '(none)'}; choose from {', '.join(SCORING)}")  # fmt: skip
    return names


def _existing_dir(value: str) -> Path:
    path = Path(value).expanduser()
    if not path.is_dir():
        raise argparse.ArgumentTypeError(f"no such folder: {value}")
    return path


def _number(value: str, kind: type, test, what: str):
    try:
        number = kind(value)
    except ValueError:
        raise argparse.ArgumentTypeError(f"{value!r} is not {what}") from None
    if not test(number):
        raise argparse.ArgumentTypeError(f"{value!r} is not {what}")
    return number


def _positive(value: str) -> int:
    return _number(value, int, lambda n: n > 0, "a positive whole number")


def _count(value: str) -> int:
    return _number(value, int, lambda n: n >= 0, "a whole number >= 0")


def _non_negative(value: str) -> float:
    return _number(value, float, lambda x: x >= 0, "a number >= 0")


def _positive_float(value: str) -> float:
    return _number(value, float, lambda x: 0 < x < float("inf"), "a number > 0")


def _probability(value: str) -> float:
    return _number(value, float, lambda x: 0 < x <= 1, "a number in (0, 1]")
