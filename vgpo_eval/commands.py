"""What each `vgpo-eval` command does, once `vgpo_eval.cli` has parsed and checked its flags.

Every command returns its exit code: 0 done, 1 done but some items failed (the last lines say
how many and how to retry), 2 bad input or nothing to do (one line says why).
"""

from __future__ import annotations

import argparse
import json
import sys
import textwrap
from pathlib import Path
from typing import Any

from vgpo_eval.checker import PROTOCOLS


def _error(message: str) -> int:
    print(f"error: {message}", file=sys.stderr)
    return 2


def verifier_settings(args: argparse.Namespace) -> Any:
    """The verifier protocol's settings from the flags (run and score); ValueError on a bad --verifier-url, or
    when the verifier is a hub model that is not cached and the hub cannot be reached (one quick probe, not
    the libraries' retries: said before anything loads)."""
    from vgpo_eval import hub
    from vgpo_eval.backends.openai import base_url_error
    from vgpo_eval.verifier import Settings

    if args.verifier_url and (problem := base_url_error(args.verifier_url)):
        raise ValueError(f"--verifier-url: {problem}")
    wanted = "verifier" in (getattr(args, "protocols", None) or (getattr(args, "protocol", None),))
    if wanted and not args.verifier_url and not hub.is_local_model(args.verifier_model):
        reason = hub.unreachable()
        if reason is not None and not hub.model_cached(args.verifier_model, args.verifier_revision):
            raise ValueError(f"the verifier {args.verifier_model} is not in the local cache and the Hugging Face hub "
                             f"cannot be reached ({reason}): connect once to download it, or pass --verifier-model "
                             "FOLDER, or --verifier-url URL for a server running it")  # fmt: skip
        if reason is not None:
            hub.go_offline()  # cached: load it without the libraries trying the network
    return Settings(model=args.verifier_model, revision=args.verifier_revision, urls=args.verifier_url,
                    backend="openai" if args.verifier_url else args.verifier_backend, verify=args.verify,
                    timeout=args.verifier_timeout)  # fmt: skip


def score(args: argparse.Namespace) -> int:
    from vgpo_eval.score import score_file

    try:
        verifier = verifier_settings(args)
    except ValueError as exc:
        return _error(str(exc))
    if args.run_dir is not None:
        return report(args.run_dir, [args.protocol], args.workers, verifier=verifier)
    if args.input is None:
        return _error("give a JSONL file of responses to score (vgpo-eval score FILE), or --run DIR")
    if args.input.is_dir():
        return _error(f"{args.input} is a folder: to re-score a run folder, use --run {args.input}")
    if not args.input.is_file():
        return _error(f"no such file: {args.input}")
    out = args.out or args.input.with_name(f"{args.input.stem}.scored.{args.protocol}.jsonl")
    if args.protocol == "verifier":
        from vgpo_eval.verifier import score_file as verified_file

        summary = verified_file(args.input, out, verifier, args.workers)
    else:
        summary = score_file(args.input, out, args.protocol, args.workers)  # writes nothing for an empty file
    if not summary.scored and not summary.errors:
        return _error(f"{args.input} holds no responses (no line with text in it): nothing written")
    print(summary.render())
    print(f"scored lines written to {out}")
    if not summary.scored:  # the first bad line's reason names its line and field: "line 1: missing response"
        return _error(f"no line of {args.input} could be scored; {summary.first_error} (every line's error is in {out})")  # fmt: skip
    if summary.errors:
        print(f"{len(summary.errors)} line(s) of {args.input} could not be scored (first: {summary.first_error}): "
              "fix them and score again", file=sys.stderr)  # fmt: skip
        return 1
    from vgpo_eval.verifier import ERROR

    if unjudged := summary.rules.get(ERROR):
        print(f"{unjudged} response(s) could not be judged by the verifier (rule {ERROR} in {out}; strict's "
              "verdict kept): score again to retry them", file=sys.stderr)  # fmt: skip
        return 1
    return 0


def check(args: argparse.Namespace) -> int:
    from vgpo_eval.checker import check as judge
    from vgpo_eval.types import Sample

    sample = Sample(
        id="cli", task="", question="", answer=args.answer, choices=args.choices, precision=args.precision
    )
    verdict = judge(args.response, sample, args.protocol)
    if args.explain:
        from vgpo_eval.checker.explain import explain

        print(explain(args.response, sample, args.protocol, verdict))
        return 0
    print(json.dumps(verdict.to_dict(), ensure_ascii=False))
    return 0


def list_tasks(args: argparse.Namespace) -> int:
    from vgpo_eval import archive
    from vgpo_eval.task import actual_source, cached
    from vgpo_tasks import SUITES, TASKS

    rows = [("task", "suite", "papo items", "lookback", "upstream", "items", "revision", "cached")]
    for task in TASKS.values():
        papo, upstream = task.sizes.get("papo"), task.sizes.get("upstream")
        pinned = all(spec.revision for spec in (task.papo, task.upstream) if spec) and (
            task.papo or task.upstream
        )
        rows.append((
            task.name, task.suite.replace("vision_dependent", "vision-dep."),
            f"{papo:,}" if papo else "?" if task.papo else "-", actual_source(task, "lookback"),
            task.upstream.dataset if task.upstream else "-",
            f"{upstream:,}" if upstream else "?" if task.upstream else "-",
            "pinned" if pinned else "unpinned", ", ".join(cached(task)) or "-",
        ))  # fmt: skip
    widths = [max(len(row[i]) for row in rows) for i in range(len(rows[0]))]
    for row in rows:
        print("  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip())
    print("\npapo: PAPO-Galaxy/PAPO_eval (one split per task; MMK12 and ViRL39K: PAPOGalaxy's own sets).")
    sha = archive.cached()
    line = (f"archive: Look-Back's evaluation files, {archive.REPO} ({', '.join(archive.FOLDERS)}; MathVista's rows "
            f"from {TASKS['mathvista'].upstream.dataset}), read by --source lookback (and GeoMath under papo); "
            + (f"cached, commit {sha[:12]}." if sha else "not cached: downloaded on first use."))  # fmt: skip
    print(textwrap.fill(line, 100, subsequent_indent="  "))
    print("items: expected per source; unpinned: the latest hub commit is used, and each run records it.")
    print("local files (--source local --data-dir DIR, or DIR/<task>/):")
    for task in TASKS.values():
        print(f"  {task.name:<12} {', '.join(task.local_files) or '-'}")
    print("\nsuites:")
    for name, members in SUITES.items():
        lines = textwrap.wrap(", ".join(members), 100 - 20)
        print(f"  {name:<17} " + ("\n" + " " * 20).join(lines))
    return 0


def _load_tasks(args: argparse.Namespace) -> dict:
    """{task name: samples} for the tasks named on the command line; bad rows are reported, not fatal."""
    from vgpo_eval import hub
    from vgpo_eval.task import load, unavailable
    from vgpo_tasks import resolve

    tasks = []
    for task in resolve(args.tasks):
        reason = unavailable(task, args.source, args.data_dir)
        if reason:
            print(f"skipped: {reason}", file=sys.stderr)
        else:
            tasks.append(task)
    hub.require(None, tasks, args.source, data_dir=args.data_dir)
    out = {}
    for task in tasks:
        loaded = load(task, args.source, args.data_dir, args.limit, args.sharegpt)
        for error in loaded.errors[:5]:
            print(f"warning: {error}", file=sys.stderr)
        if len(loaded.errors) > 5:
            print(f"warning: {task.name}: {len(loaded.errors) - 5} more bad rows", file=sys.stderr)
        out[task.name] = loaded.samples
    return out


def export_lmms_eval(args: argparse.Namespace) -> int:
    from vgpo_eval.lmms import export
    from vgpo_eval.task import DataError

    try:
        samples = _load_tasks(args)
    except (DataError, ValueError) as exc:
        return _error(str(exc))
    names = export(args.out_dir, samples, args.protocol, args.prompt)
    print(f"wrote {len(names)} lmms-eval tasks to {args.out_dir}: {', '.join(names)}")
    print(f"run: lmms-eval --include_path {args.out_dir} --tasks {','.join(names)} --model ...")
    return 0


def run(args: argparse.Namespace) -> int:
    from vgpo_eval.backends import Decoding
    from vgpo_eval.run import RunConfig, default_out_dir
    from vgpo_eval.run import run as generate
    from vgpo_tasks import resolve

    tasks = resolve(args.tasks)
    try:
        verifier = verifier_settings(args)  # checked before anything loads
    except ValueError as exc:
        return _error(str(exc))
    # the run folder records where the model and the data are in full: `focus`, `score` or a resumed run
    # from any other directory finds them again
    if args.data_dir is not None:
        args.data_dir = args.data_dir.expanduser().resolve()
    if args.backend != "openai" and Path(args.model).expanduser().is_dir():
        args.model = str(Path(args.model).expanduser().resolve())
    if args.samples > 1 and args.temperature == 0:
        print("warning: --samples > 1 with greedy decoding gives identical responses", file=sys.stderr)
    decoding = Decoding(
        temperature=args.temperature, top_p=args.top_p, max_new_tokens=args.max_new_tokens, samples=args.samples,
        seed=args.seed, min_pixels=args.min_pixels, max_pixels=args.max_pixels, prompt=args.prompt,
    )  # fmt: skip
    common = {"batch_size": args.batch_size, "dtype": args.dtype}
    options = {
        "hf": common,
        "auto": common,
        "vllm": common | {"tensor_parallel_size": args.tensor_parallel_size, "max_model_len": args.max_model_len,
                          "max_images": args.max_images, "data_parallel_size": args.data_parallel_size},
        "openai": {"concurrency": args.concurrency, "base_url": args.base_url,
                   "request_timeout": args.request_timeout,
                   **({"extra_fields": False} if getattr(args, "no_extra_decoding_fields", False) else {})},
    }[args.backend]  # fmt: skip
    out = args.out or Path(default_out_dir(args.model, args.source, decoding))
    config = RunConfig(
        model=args.model, tasks=tuple(t.name for t in tasks), out_dir=str(out), backend=args.backend,
        revision=args.revision, source=args.source, data_dir=str(args.data_dir) if args.data_dir else None,
        limit=args.limit, protocols=args.protocols, decoding=decoding, backend_options=options,
        skip_missing=not args.require_all, sharegpt=args.sharegpt, shard=args.shard,
        allow_outside_images=args.allow_outside_images, missing_image=args.missing_image,
    )  # fmt: skip
    try:
        load_errors = generate(config, tasks)
    except (ValueError, ImportError, ConnectionError) as exc:
        return _error(str(exc))
    for errors in load_errors.values():
        for error in errors[:3]:
            print(f"warning: {error}", file=sys.stderr)
    return report(out, list(args.protocols), args.workers, retry="re-run the same command to retry them",
                  verifier=verifier)  # fmt: skip


def report(
    run_dir: Path, protocols: list[str], workers: int | None, retry: str | None = None, verifier: Any = None
) -> int:
    """Score a run under `protocols`, then write report.md and results.csv from every protocol scored so far."""
    from vgpo_eval.report import main_table, markdown, score_run, write_results_csv
    from vgpo_eval.run import RunFolderError

    if not any(run_dir.glob("*.samples.jsonl")):
        return _error(f"{run_dir} holds no run: no task's data could be loaded (see the lines above)")
    try:  # a damaged file, a read-only folder: one line naming the file
        fresh = {p: score_run(run_dir, p, workers, verifier) for p in protocols}
        every = {p: fresh.get(p) or _saved(run_dir, p) for p in (*PROTOCOLS, "verifier")}  # each read once
        reports = [report for report in every.values() if report]
        (run_dir / "report.md").write_text(markdown(reports), encoding="utf-8", errors="backslashreplace")
        write_results_csv(run_dir, reports)
    except RunFolderError as exc:
        return _error(str(exc))
    except OSError as exc:
        return _error(f"cannot write {exc.filename or run_dir}: {exc.strerror or exc}")
    print(main_table([fresh[p] for p in protocols]))
    print(
        f"\nreports: {run_dir}/report.md, {run_dir}/results.csv, "
        + ", ".join(f"report.{p}.json" for p in protocols)
    )
    first = fresh[protocols[0]]
    failed = sum(len(t["generation_errors"]) for t in first["tasks"].values())
    unreadable = sum(len(t.get("missing_images", [])) for t in first["tasks"].values())
    not_run = first.get("not_run", {})
    if not_run:
        print(f"not run ({len(not_run)}): {', '.join(not_run)}; see report.md for how to provide their data")
    if unreadable:  # an item that cannot be shown to the model is a failure whichever way it is scored
        dropped = next(iter(first["tasks"].values())).get("missing_image_policy") == "drop"
        print(f"{unreadable} item(s) have an image that cannot be read and "
              f"{'are left out of the accuracy (--missing-image drop)' if dropped else 'count as wrong'}"
              " (listed in report.md)", file=sys.stderr)  # fmt: skip
    if failed:
        how = retry or "re-run the generating command to retry them"
        print(f"{failed} item(s) failed and count as wrong (listed in report.md); {how}", file=sys.stderr)
    unjudged = sum(
        len(t.get("verifier", {}).get("errors", [])) for r in fresh.values() for t in r["tasks"].values()
    )
    if unjudged:
        print(f"{unjudged} response(s) could not be judged by the verifier (listed in report.md; strict's verdict "
              "kept): score again to retry them", file=sys.stderr)  # fmt: skip
    return 1 if failed or unreadable or unjudged else 0


def _saved(run_dir: Path, protocol: str) -> dict | None:
    from vgpo_eval.run import read_json

    return read_json(run_dir / f"report.{protocol}.json")


def demo_run_argv(args: argparse.Namespace) -> list[str]:
    """Build the tiny model and synthetic data of `demo`; the `run` command line that evaluates them."""
    from vgpo_eval.tiny import build_tiny_qwen2_5_vl
    from vgpo_tasks import synthetic

    print("offline demo: a tiny RANDOM-weight model on synthetic data; its accuracies are meaningless.")
    model = build_tiny_qwen2_5_vl(args.out / "model")
    data = synthetic.write(args.out / "data", n=args.n)
    return [
        "run", "--tasks", "all", "--model", str(model), "--backend", "hf", "--source", "local",
        "--data-dir", str(data), "--out", str(args.out / "run"), "--max-new-tokens", "48", "--batch-size", "8",
    ]  # fmt: skip


def table(args: argparse.Namespace) -> int:
    from vgpo_eval.table import bar_chart, markdown, paper_rows, run_row, write_csv

    try:
        runs = [run_row(run, args.protocol) for run in args.runs]
    except FileNotFoundError as exc:
        return _error(str(exc))
    paper = paper_rows()
    text = markdown(paper, runs)
    print(text)
    for path, write in ((args.out, lambda p: p.write_text(text, encoding="utf-8")), (args.csv, lambda p: write_csv(paper, runs, p))):  # fmt: skip
        if path:
            path.parent.mkdir(parents=True, exist_ok=True)
            write(path)
            print(f"written: {path}")
    if args.png:
        bar_chart(paper, runs, args.png)
        print(f"chart: {args.png}")
    return 0


def view(args: argparse.Namespace) -> int:
    """Write the run browser (vgpo_eval.view) for RUN and any --compare runs."""
    from vgpo_eval.view import build

    runs = [args.run, *args.compare]
    for run in runs:
        if not any(run.glob("*.samples.jsonl")):
            return _error(f"{run} holds no <task>.samples.jsonl: not a run folder made by `vgpo-eval run`")
    out = args.out or args.run / "view.html"
    try:
        counts = build(runs, out, args.thumb)
    except OSError as exc:
        return _error(f"cannot write {out}: {exc}")
    print(f"written: {out} ({counts['items']:,} items, {counts['images']:,} images, {counts['bytes'] / 1e6:.1f} MB); "
          "open it in a browser (it needs no server)")  # fmt: skip
    return 0


def show(args: argparse.Namespace) -> int:
    """Print exactly what the model receives for one item: system and user text, where each image goes,
    each image's size after resizing and its visual tokens, and the gold answer."""
    from vgpo_eval import hub
    from vgpo_eval.prompts import SYSTEM, fit_pixels, user_text, visual_tokens
    from vgpo_eval.task import DataError, load
    from vgpo_tasks import TASKS

    try:
        # no hub: one line now, not the libraries' retries
        hub.require(None, [TASKS[args.task]], args.source, data_dir=args.data_dir)
        loaded = load(TASKS[args.task], args.source, args.data_dir, sharegpt=args.sharegpt)
    except (DataError, ValueError) as exc:
        return _error(str(exc))
    if not loaded.samples:
        return _error(f"{args.task}: no item could be read ({'; '.join(loaded.errors[:2])})")
    if not 0 <= args.index < len(loaded.samples):
        return _error(f"--index {args.index}: {args.task} has items 0 to {len(loaded.samples) - 1}")
    sample = loaded.samples[args.index]
    print(
        f"{sample.id}  (item {args.index} of {len(loaded.samples)}, source {args.source}, prompt {args.prompt})"
    )
    print(f"from: {_origin_line(loaded.origin)}")
    if sample.meta.get("stripped_instruction"):
        print(
            f"(the row's own {sample.meta['stripped_instruction']!r} instruction was removed: the prompt adds one)"
        )
    print(f"\n[system]\n{SYSTEM}\n\n[user]")
    for k, path in enumerate(sample.images, 1):
        print(f"<image {k}> {path}: {_image_line(path, args, fit_pixels, visual_tokens)}")
    print(user_text(sample, args.prompt))
    print(f"\n[gold] {sample.answer}" + (f"  (type {sample.answer_type})" if sample.answer_type else ""))
    for letter, text in zip("ABCDEFGHIJ", sample.choices or (), strict=False):
        print(f"  {letter}: {text}")
    return 0


def _origin_line(origin: dict) -> str:
    """Where `show`'s rows came from, in one line: a folder, or a hub dataset at the commit it resolved to."""
    if "data_dir" in origin:
        where = f"--data-dir {origin['data_dir']}"
    else:
        commit = (origin.get("resolved") or origin.get("revision") or "commit unknown")[:12]
        where = f"{origin.get('dataset')}@{commit}" + (
            f" split {origin['split']}" if origin.get("split") else ""
        )
    files = ", ".join(f"{k} {origin[k]}" for k in ("file", "images") if origin.get(k))
    extra = f"; images: {_origin_line(origin['archive'])}" if "archive" in origin else ""
    return where + (f" ({files})" if files else "") + extra


def _image_line(path: str, args: argparse.Namespace, fit_pixels, visual_tokens) -> str:
    from PIL import Image

    try:
        with Image.open(path) as img:
            width, height = img.size
    except OSError as exc:
        return f"cannot be read ({exc})"
    w, h = fit_pixels(width, height, args.min_pixels, args.max_pixels)
    pw, ph, tokens = visual_tokens(w, h)
    return (f"{width}x{height} -> {w}x{h} after resizing into [{args.min_pixels}, {args.max_pixels}] pixels; "
            f"the processor (its defaults) makes it {pw}x{ph}: {tokens} visual tokens")  # fmt: skip


def status(args: argparse.Namespace) -> int:
    """Per task: items, responses done, failed, and missing (by the shard that owns them)."""
    from vgpo_eval.report import missing_by_shard, task_names
    from vgpo_eval.run import RunFolderError, bad_line_numbers, read_run_responses, read_samples, shard_count

    names = task_names(args.run_dir)
    if not names:
        return _error(f"{args.run_dir} holds no run (no <task>.samples.jsonl)")
    shards = shard_count(args.run_dir)
    print(
        f"{'task':<12} {'items':>6} {'done':>6} {'failed':>6} {'missing':>8}  "
        + ("by shard" if shards else "")
    )
    incomplete = False
    bad: dict[str, list[str]] = {}  # responses file -> its malformed lines (skipped), listed below the table
    for name in names:
        try:
            samples = read_samples(args.run_dir / f"{name}.samples.jsonl")
            responses = read_run_responses(args.run_dir, name, bad)
        except RunFolderError as exc:
            return _error(str(exc))
        failed = sum(r.error is not None for r in responses.values())
        missing = missing_by_shard(samples, responses, shards)
        total = sum(map(len, missing.values()))
        incomplete |= bool(total or failed)
        owners = ", ".join(f"{k}: {len(v)}" for k, v in missing.items()) if shards and total else ""
        print(f"{name:<12} {len(samples):>6} {len(responses) - failed:>6} {failed:>6} {total:>8}  {owners}")
    for file, lines in bad.items():
        print(f"{file}: {len(lines)} malformed line(s) skipped: {bad_line_numbers(lines)} (first: {lines[0]})")  # fmt: skip
    return 1 if incomplete else 0


def focus(args: argparse.Namespace) -> int:
    """`vgpo-eval focus`: analyse a run's responses, or overlay several analyses (--compare)."""
    from vgpo_eval import analysis

    if args.compare:
        if args.out is None:
            return _error("--compare needs --out FOLDER for the overlaid figure")
        runs = []
        for folder in args.compare:
            path = folder / "focus.json"
            if not path.exists():
                return _error(
                    f"{folder} holds no focus.json: run `vgpo-eval focus --run RUN --out {folder}` first"
                )
            data = json.loads(path.read_text(encoding="utf-8"))
            runs.append((f"{data['model']} ({folder.name})", data["tasks"]))
        args.out.mkdir(parents=True, exist_ok=True)
        analysis.plot(runs, args.out / "focus_compare.png")
        print(f"written: {args.out / 'focus_compare.png'}")
        return 0
    if args.run is None:
        return _error("give --run RUN (a run folder made by `vgpo-eval run`), or --compare FOCUS_DIRS")
    config = (
        json.loads((args.run / "config.json").read_text(encoding="utf-8"))
        if (args.run / "config.json").exists()
        else {}
    )
    model = args.model or config.get("run", {}).get("model")
    if model is None:
        return _error(f"{args.run} records no model: give --model")
    if not args.model and _relative_path(model) and not Path(model).is_dir():
        return _error(f"{args.run} records the model as the relative path {model!r}, which is not a folder from "
                      f"here ({Path.cwd()}): run focus from where the run was made, or give --model")  # fmt: skip
    if not any(args.run.glob(f"*.scored.{args.protocol}.jsonl")):
        return _error(
            f"{args.run} is not scored under {args.protocol}: vgpo-eval score --run {args.run} --protocol {args.protocol}"
        )
    out = args.out or args.run / "focus"
    try:
        layers = [int(x) for x in args.layers.split(",")] if args.measure == "attention" else None
    except ValueError:
        return _error(f"--layers {args.layers!r}: give comma-separated layer indices, e.g. -1 or 0,-1")
    try:
        items = analysis.analyse_run(args.run, model, out, args.protocol, args.limit, layers, args.batch_size)
    except OSError as exc:  # a model folder or run file that cannot be read: one line, not a traceback
        return _error(f"focus on {args.run}: {exc}")
    lines = [line for line in items.read_text(encoding="utf-8").splitlines() if line.strip()]
    failed = sum(1 for line in lines if '"error"' in line)
    if lines and failed == len(lines):
        first = json.loads(lines[0]).get("error")
        return _error(f"no response of {args.run} could be analysed ({failed}; the first: {first}); "
                      f"every error is in {items}")  # fmt: skip
    summary = analysis.write_outputs(items, out, model, args.threshold)
    report = args.run / "report.md"
    if report.exists() and summary and out.resolve() == (args.run / "focus").resolve():
        # only the run's own analysis (the default --out) goes into the run's report, and never an empty one
        text = report.read_text(encoding="utf-8").split("\n## Visual focus", 1)[0].rstrip() + "\n\n"
        report.write_text(text + analysis.markdown(summary), encoding="utf-8")
    print(analysis.markdown(summary))
    print(f"written: {out / 'focus.json'}, {out / 'focus.csv'}, {out / 'focus.png'}")
    if failed:
        print(f"{failed} response(s) could not be analysed (their errors are in {items})", file=sys.stderr)
    return 0


def _relative_path(model: str) -> bool:
    """Whether a recorded model names a relative folder ("./tiny", "models/tiny"), not a hub id (owner/name)."""
    return not Path(model).is_absolute() and (model.startswith((".", "~")) or model.count("/") != 1)


COMMANDS = {"run": run, "score": score, "check": check, "list": list_tasks, "export-lmms-eval": export_lmms_eval,
            "table": table, "show": show, "status": status, "focus": focus, "view": view}  # fmt: skip
