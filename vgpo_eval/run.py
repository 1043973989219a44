"""Runs: generate responses for tasks into a run folder, resumably, then score and report them.

A run folder holds `config.json` (model, backend, decoding, data source, checker version, git
sha), `data_sources.json` (each task's dataset and the hub commit it resolved to), per task `<task>.samples.jsonl` (the items, so scoring never needs the data
again) and `<task>.responses.jsonl`, appended and flushed one line per response as it arrives.
Re-running the same command resumes: finished (item, index) pairs are skipped, a line cut off by
a crash is dropped, items that failed are tried again; the last record of a pair wins. Scoring
(`vgpo_eval.report`) reads these files only, under any protocol, without a GPU.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import os
import re
import subprocess
import sys
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vgpo_eval.backends import BACKENDS, Decoding, Request, error_responses
from vgpo_eval.prompts import load_images
from vgpo_eval.task import DataError, Task, actual_source, load, spec_for, unavailable
from vgpo_eval.types import Response, Sample

_SHARD = re.compile(r"\.responses\.shard-\d+-of-(\d+)\.jsonl$")
# fields that change what is generated: resuming a folder made with other values is refused
GENERATION_KEYS = ("model", "revision", "backend", "source", "sharegpt", "decoding")


@dataclass(frozen=True)
class RunConfig:
    """Everything a run depends on; saved as config.json."""

    model: str
    tasks: tuple[str, ...]
    out_dir: str
    backend: str = "auto"
    revision: str | None = None
    source: str = "papo"
    data_dir: str | None = None
    limit: int | None = None
    protocols: tuple[str, ...] = ("strict", "paper")
    decoding: Decoding = field(default_factory=Decoding)
    backend_options: dict[str, Any] = field(default_factory=dict)
    skip_missing: bool = True  # a task with no data under the source is skipped (False: stop first)
    sharegpt: str = "clean"  # how ShareGPT user turns are read (vgpo_eval.task.SHAREGPT)
    shard: tuple[int, int] | None = None  # (I, N): generate only the items shard_owner gives to I

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


def default_out_dir(model: str, source: str, decoding: Decoding) -> str:
    """runs/<model>-<source>-<prompt>-t<temperature>-k<samples>: the same command finds the same folder."""
    name = Path(model.rstrip("/")).name or "model"
    return f"runs/{name}-{source}-{decoding.prompt}-t{decoding.temperature:g}-k{decoding.samples}"


def run(config: RunConfig, tasks: list[Task], progress: bool = True) -> dict[str, list[str]]:
    """Generate every missing response of every task; returns the load errors per task.

    Everything that can be wrong with the data is found before the model loads: tasks with no
    data under the source (skipped with a line saying how to provide it, or an error when
    `skip_missing` is off), an unreachable hub, rows that cannot be read."""
    out = Path(config.out_dir)
    _check_resumable(out, config)
    not_run = {t.name: reason for t in tasks if (reason := unavailable(t, config.source, config.data_dir))}
    if not_run and not config.skip_missing:
        raise ValueError("; ".join(not_run.values()) + " (or leave out --require-all to skip such tasks)")
    tasks = [t for t in tasks if t.name not in not_run]
    for reason in not_run.values():
        print(f"not run: {reason}", file=sys.stderr)
    from vgpo_eval import hub

    hub.require(config.model if config.backend != "openai" else None, tasks, config.source, config.revision)
    loaded, load_errors, origins = [], {}, {}
    for task in tasks:
        try:
            data = load(task, config.source, config.data_dir, config.limit, config.sharegpt)
        except DataError as exc:  # this task's data is not there: say so, run the others
            not_run[task.name] = str(exc)
            print(f"not run: {exc}", file=sys.stderr)
            continue
        loaded.append(data)
        load_errors[task.name], origins[task.name] = data.errors, data.origin
        expected = task.sizes.get(actual_source(task, config.source))
        if expected and config.limit is None and len(data.samples) != expected:
            print(f"warning: {task.name}: {len(data.samples):,} items loaded, {config.source} should hold "
                  f"{expected:,}: its numbers will not compare with runs on the full set", file=sys.stderr)  # fmt: skip
    if not loaded:
        raise ValueError("no task has data to run (see the lines above)")
    out.mkdir(parents=True, exist_ok=True)
    write_jsonl(out / "not_run.json", [not_run], indent=True)
    backend = BACKENDS[config.backend](config.model, **_options(config))
    try:
        _write_config(out, config, backend, [d.task for d in loaded])  # loads the model
    except (OSError, ValueError) as exc:  # no such model, not a model, no network and no cache, ...
        raise ValueError(
            f"cannot load the model {config.model!r} ({config.backend}): {str(exc)[:400]}"
        ) from exc
    for data in loaded:
        task = data.task
        write_jsonl(out / f"{task.name}.samples.jsonl", [s.to_dict() for s in data.samples])
        path = responses_path(out, task.name, config.shard)
        done = {(r.sample_id, r.index) for r in read_responses(path).values() if r.error is None}
        mine = [
            s
            for s in data.samples
            if config.shard is None or shard_owner(s.id, config.shard[1]) == config.shard[0]
        ]
        todo = [(s, tuple(i for i in range(config.decoding.samples) if (s.id, i) not in done)) for s in mine]
        todo = [(s, idx) for s, idx in todo if idx]
        total = sum(len(idx) for _, idx in todo)
        if total:
            _generate(backend, todo, config.decoding, path, f"{task.name} ({total} to go)", progress)
    write_jsonl(out / "load_errors.json", [load_errors], indent=True)
    write_jsonl(out / "data_sources.json", [origins], indent=True)  # the dataset commits the rows came from
    return load_errors


def shard_owner(sample_id: str, count: int) -> int:
    """The shard (0 to count-1) that generates an item: a hash of its id, so the split is the same
    whatever the order of the rows and however often a shard is restarted."""
    return int(hashlib.sha256(sample_id.encode("utf-8")).hexdigest()[:12], 16) % count


def responses_path(out: Path, task: str, shard: tuple[int, int] | None) -> Path:
    """`<task>.responses.jsonl`, or `<task>.responses.shard-I-of-N.jsonl` for shard I of N."""
    return out / (
        f"{task}.responses.jsonl"
        if shard is None
        else f"{task}.responses.shard-{shard[0]}-of-{shard[1]}.jsonl"
    )


def shard_files(run_dir: Path, task: str) -> list[Path]:
    """Every responses file of a task in a run folder: the unsharded one and each shard's."""
    return sorted(p for p in run_dir.glob(f"{task}.responses*.jsonl") if p.name.split(".")[0] == task)


def shard_count(run_dir: Path) -> int | None:
    """N of the shard files in a run folder (None for an unsharded run)."""
    counts = {
        int(m.group(1)) for p in run_dir.glob("*.responses.shard-*.jsonl") if (m := _SHARD.search(p.name))
    }
    return max(counts) if counts else None


def read_run_responses(run_dir: Path, task: str) -> dict[tuple[str, int], Response]:
    """The responses of a task from every shard of a run, a successful one winning over a failed one."""
    merged: dict[tuple[str, int], Response] = {}
    for path in shard_files(run_dir, task):
        for key, response in read_responses(path).items():
            if key not in merged or merged[key].error is not None:
                merged[key] = response
    return merged


def _generate(backend, todo: list, decoding: Decoding, path: Path, label: str, progress: bool) -> None:
    from tqdm import tqdm

    total = sum(len(idx) for _, idx in todo)
    failed: list[Response] = []
    requests = _requests(todo, decoding, failed)
    with (
        open(path, "a", encoding="utf-8") as sink,
        tqdm(total=total, desc=label, disable=not progress) as bar,
    ):
        for response in _chain(backend.generate(requests, decoding), failed):
            sink.write(json.dumps(response.to_dict(), ensure_ascii=False) + "\n")
            sink.flush()  # a crash loses at most the line being written
            bar.update(1)
        os.fsync(sink.fileno())


def _requests(todo: list, decoding: Decoding, failed: list[Response]) -> Iterator[Request]:
    """Requests with their images loaded lazily; an item whose images fail goes to `failed` instead."""
    for sample, indices in todo:
        try:
            images = load_images(sample, decoding.min_pixels, decoding.max_pixels)
        except DataError as exc:
            failed.extend(error_responses(Request(sample, indices=indices), str(exc)))
            continue
        yield Request(sample, images, indices)


def _chain(generated: Iterator[Response], failed: list[Response]) -> Iterator[Response]:
    for response in generated:
        while failed:
            yield failed.pop()
        yield response
    yield from failed


def _options(config: RunConfig) -> dict[str, Any]:
    options = {k: v for k, v in config.backend_options.items() if v is not None}
    if config.revision and config.backend != "openai":
        options["revision"] = config.revision
    return options


def _check_resumable(out: Path, config: RunConfig) -> None:
    saved_path = out / "config.json"
    if not saved_path.exists():
        return
    saved = json.loads(saved_path.read_text(encoding="utf-8"))
    mine = json.loads(json.dumps(config.to_dict()))
    changed = [k for k in GENERATION_KEYS if saved.get("run", {}).get(k) != mine.get(k)]
    if changed:
        raise ValueError(
            f"{out} holds a run made with other {', '.join(changed)}; use another --out (or delete that folder)"
        )


def _write_config(out: Path, config: RunConfig, backend, tasks: list[Task]) -> None:
    from vgpo_eval import __version__

    record = {
        "run": {k: v for k, v in config.to_dict().items() if k != "shard"},  # shards share one config
        "backend": backend.describe(),
        "datasets": {
            t.name: {"data_dir": config.data_dir}
            if actual_source(t, config.source) == "local"
            else dataclasses.asdict(spec_for(t, config.source))
            for t in tasks
        },  # fmt: skip
        "vgpo_version": __version__,
        "checker": checker_fingerprint(),
        "git_sha": _git_sha(),
    }
    write_jsonl(out / "config.json", [record], indent=True)


def checker_fingerprint() -> str:
    """A hash of the checker's source: two runs scored by the same checker show the same value."""
    import hashlib

    here = Path(__file__).resolve().parent / "checker"
    digest = hashlib.sha256()
    for path in sorted(here.glob("*.py")):
        digest.update(path.read_bytes())
    return digest.hexdigest()[:16]


def _git_sha() -> str | None:
    try:
        here = Path(__file__).resolve().parent
        done = subprocess.run(
            ["git", "rev-parse", "HEAD"], cwd=here, capture_output=True, text=True, timeout=5
        )
        return done.stdout.strip() or None
    except (OSError, subprocess.SubprocessError):
        return None


def read_responses(path: Path) -> dict[tuple[str, int], Response]:
    """The responses of a file, last record per (item, index) winning; a cut-off last line is removed."""
    if not path.exists():
        return {}
    out, keep = {}, 0
    with open(path, "rb") as f:
        for line in f:
            try:
                response = Response.from_dict(json.loads(line))
            except (json.JSONDecodeError, UnicodeDecodeError, TypeError):
                break  # a line cut off by a crash: everything after it is dropped
            if not line.endswith(b"\n"):
                break
            out[(response.sample_id, response.index)] = response
            keep += len(line)
    if keep != path.stat().st_size:
        with open(path, "r+b") as f:
            f.truncate(keep)
    return out


def read_samples(path: Path) -> list[Sample]:
    with open(path, encoding="utf-8") as f:
        return [Sample.from_dict(json.loads(line)) for line in f if line.strip()]


def write_jsonl(path: Path, records: list[dict], indent: bool = False) -> None:
    """Write atomically (a temporary file, then rename), so a crash never leaves half a file."""
    tmp = path.with_suffix(f"{path.suffix}.{os.getpid()}.tmp")  # one per process: shards write side by side
    with open(tmp, "w", encoding="utf-8") as f:
        if indent:
            json.dump(records[0], f, indent=2, ensure_ascii=False, default=str)
        else:
            f.writelines(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    os.replace(tmp, path)
