"""Runs: generate responses for tasks into a run folder, resumably, then score and report them.

A run folder holds `config.json` (model, backend, decoding, data source, checker version, git
sha), `data_sources.json` (each task's dataset and the hub commit it resolved to), per task `<task>.samples.jsonl` (the items, so scoring never needs the data
again) and `<task>.responses.jsonl`, appended and flushed one line per response as it arrives.
Re-running the same command resumes: finished (item, index) pairs are skipped, items that failed
are tried again; the last record of a pair wins. Scoring (`vgpo_eval.report`) reads these files
only, under any protocol, without a GPU.

Any file of a run folder may be damaged, or still being written by another process, so readers
never change one: a malformed line is skipped and reported (the lines after it still count), and
a last line with no newline yet is not read. One process writes a responses file: `run` holds an
advisory lock on the folder (`.lock`; a shard, `.lock.shard-I-of-N`) while it generates, and only
that holder cuts off the unfinished last line a crash left, before it appends.
"""

from __future__ import annotations

import contextlib
import dataclasses
import hashlib
import json
import os
import re
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vgpo_eval.backends import BACKENDS, Decoding, Request, error_responses
from vgpo_eval.prompts import load_images
from vgpo_eval.score import json_text, parse_line
from vgpo_eval.task import DEFAULT_SOURCE, DataError, Task, actual_source, load, spec_for, unavailable
from vgpo_eval.types import Response, Sample

_SHARD = re.compile(r"\.responses\.shard-\d+-of-(\d+)\.jsonl$")
# fields that change what is generated: resuming a folder made with other values is refused
GENERATION_KEYS = ("model", "revision", "backend", "source", "sharegpt", "decoding")
_WARNED: set[tuple[str, tuple[str, ...]]] = set()  # malformed lines already reported by this process


MISSING_IMAGE = "missing image: "  # the error of an item whose image could not be read


class RunFolderError(ValueError):
    """A run folder's file cannot be read or written, or another run is writing the folder; the message
    names the file and says what to do."""


def _cannot(verb: str, path: Path, exc: OSError) -> RunFolderError:
    """The one line for a run file the OS would not let us read or write."""
    return RunFolderError(f"cannot {verb} {path}: {exc.strerror or exc}")


@dataclass(frozen=True)
class RunConfig:
    """Everything a run depends on; saved as config.json."""

    model: str
    tasks: tuple[str, ...]
    out_dir: str
    backend: str = "auto"
    revision: str | None = None
    source: str = DEFAULT_SOURCE
    data_dir: str | None = None
    limit: int | None = None
    protocols: tuple[str, ...] = ("strict", "paper")
    decoding: Decoding = field(default_factory=Decoding)
    backend_options: dict[str, Any] = field(default_factory=dict)
    skip_missing: bool = True  # a task with no data under the source is skipped (False: stop first)
    sharegpt: str = "clean"  # how ShareGPT user turns are read (vgpo_eval.task.SHAREGPT)
    allow_outside_images: bool = False  # local rows may name image files outside data_dir
    missing_image: str = "wrong"  # an item whose image cannot be read: counted wrong, or dropped (Look-Back)
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
    `skip_missing` is off), an unreachable hub, rows that cannot be read. One run at a time writes
    a folder (or a shard of it): another is refused (RunFolderError naming it), at once when the
    folder is there already, else as soon as this one has data to run."""
    out = Path(config.out_dir)
    lock = run_lock(out, config.shard) if out.is_dir() else None
    try:
        _check_resumable(out, config)
        loaded, load_errors, origins, not_run = _load_all(config, tasks)
        if lock is None:  # a new folder is made only once there is data to run
            try:
                out.mkdir(parents=True, exist_ok=True)
            except OSError as exc:
                raise RunFolderError(f"cannot make the run folder {out}: {exc.strerror}") from exc
            lock = run_lock(out, config.shard)
            _check_resumable(out, config)  # another run may have made it meanwhile
        write_jsonl(out / "not_run.json", [not_run], indent=True)
        backend = BACKENDS[config.backend](config.model, **_options(config))
        try:
            _write_config(out, config, backend, [d.task for d in loaded])  # loads the model
        except RunFolderError:
            raise
        except (OSError, ValueError) as exc:  # no such model, not a model, no network and no cache, ...
            raise ValueError(
                f"cannot load the model {config.model!r} ({config.backend}): {str(exc)[:400]}"
            ) from exc
        for data in loaded:
            _run_task(backend, data, config, out, progress)
        write_jsonl(out / "load_errors.json", [load_errors], indent=True)
        # the dataset commits the rows came from
        write_jsonl(out / "data_sources.json", [origins], indent=True)
        return load_errors
    finally:
        if lock is not None:
            lock.close()  # releases the lock (so does the process ending, however it ends)


def _load_all(config: RunConfig, tasks: list[Task]) -> tuple[list, dict, dict, dict]:
    """Every task's rows, read before the model loads: (loaded data, load errors, origins, not run)."""
    not_run = {t.name: reason for t in tasks if (reason := unavailable(t, config.source, config.data_dir))}
    if not_run and not config.skip_missing:
        raise ValueError("; ".join(not_run.values()) + " (or leave out --require-all to skip such tasks)")
    tasks = [t for t in tasks if t.name not in not_run]
    for reason in not_run.values():
        print(f"not run: {reason}", file=sys.stderr)
    from vgpo_eval import hub

    model = config.model if config.backend != "openai" else None
    hub.require(model, tasks, config.source, config.revision, config.data_dir)
    loaded, load_errors, origins = [], {}, {}
    for task in tasks:
        try:
            data = load(task, config.source, config.data_dir, config.limit, config.sharegpt,
                        config.allow_outside_images)  # fmt: skip
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
    return loaded, load_errors, origins, not_run


def _run_task(backend, data, config: RunConfig, out: Path, progress: bool) -> None:
    """Write a task's samples, then generate the responses its responses file still lacks."""
    task = data.task
    write_jsonl(out / f"{task.name}.samples.jsonl", [s.to_dict() for s in data.samples])
    path = responses_path(out, task.name, config.shard)
    _cut_unfinished_line(path)  # this process holds the lock: nobody else is writing that line
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


def run_lock(out: Path, shard: tuple[int, int] | None):
    """Take the run folder's (or the shard's) writer lock, without waiting; returns the open lock file,
    whose closing (or the process ending) releases it. RunFolderError naming the holder when another
    run has it. The lock is `flock` (advisory): every `run` asks for it, readers need not."""
    import fcntl

    path = out / (".lock" if shard is None else f".lock.shard-{shard[0]}-of-{shard[1]}")
    try:
        # held open for the whole run; "a+" leaves a holder's note alone until the lock is ours
        f = open(path, "a+", encoding="utf-8")  # noqa: SIM115
    except OSError as exc:
        raise RunFolderError(f"cannot write to the run folder {out}: {exc.strerror} ({path})") from exc
    try:
        fcntl.flock(f, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        f.seek(0)
        holder = f.read().strip() or "another process"
        f.close()
        what = f"{out}" if shard is None else f"shard {shard[0]}/{shard[1]} of {out}"
        raise RunFolderError(
            f"{what} is being written by another run ({holder}); wait for it to end, or use another --out"
        ) from None
    except OSError as exc:  # a file system without locks (some network mounts): run, unguarded
        print(
            f"warning: cannot lock {path} ({exc.strerror}): make sure no other run writes {out}",
            file=sys.stderr,
        )
    f.truncate(0)  # the note says who holds it, for a run that is refused
    f.write(f"pid {os.getpid()} on {socket.gethostname()}, since {time.strftime('%Y-%m-%d %H:%M:%S %z')}\n")
    f.flush()
    return f


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


def read_run_responses(
    run_dir: Path, task: str, bad: dict[str, list[str]] | None = None
) -> dict[tuple[str, int], Response]:
    """The responses of a task from every shard of a run, a successful one winning over a failed one.
    Malformed lines are skipped: given `bad`, they are put there (file name -> "line N: why"),
    else a warning says so on stderr."""
    merged: dict[tuple[str, int], Response] = {}
    for path in shard_files(run_dir, task):
        found = scan_responses(path)
        if bad is None:
            _warn_bad_lines(path, found.bad)
        elif found.bad:
            bad[path.name] = found.bad
        for key, response in found.responses.items():
            if key not in merged or merged[key].error is not None:
                merged[key] = response
    return merged


def _generate(backend, todo: list, decoding: Decoding, path: Path, label: str, progress: bool) -> None:
    from tqdm import tqdm

    total = sum(len(idx) for _, idx in todo)
    failed: list[Response] = []
    requests = _requests(todo, decoding, failed)
    try:
        sink = open(path, "a", encoding="utf-8")  # noqa: SIM115 - closed by the with below
    except OSError as exc:
        raise _cannot("write", path, exc) from exc
    with sink, tqdm(total=total, desc=label, disable=not progress) as bar:
        for response in _chain(backend.generate(requests, decoding), failed):
            _append(sink, path, json_text(response.to_dict()) + "\n")  # any text a model sends can be written
            bar.update(1)
        _append(sink, path, "", sync=True)


def _append(sink, path: Path, line: str, sync: bool = False) -> None:
    """Append a line and flush it: a crash loses at most the line being written. An OSError here (a full
    disk) is a RunFolderError naming the file; only the writing is wrapped, a backend's errors are its own."""
    try:
        sink.write(line)
        sink.flush()
        if sync:
            os.fsync(sink.fileno())
    except OSError as exc:
        raise _cannot("write", path, exc) from exc


def _cut_unfinished_line(path: Path) -> None:
    """Cut a last line with no newline (a crash mid-line) off a responses file, so that the next append
    starts a line of its own instead of gluing a record onto the fragment; a whole record that only
    lacks its newline gets one. Only the holder of the file's run lock may call this: for anyone else
    the line may still be being written."""
    try:
        with open(path, "r+b") as f:
            end = _last_line_start(f)
            f.seek(end)
            tail = f.read()
            if not tail or tail.endswith(b"\n"):
                return
            try:
                _response(parse_line(tail, 0), 0)
            except ValueError:
                f.truncate(end)
                print(f"note: {path}: an unfinished last line ({len(tail)} bytes, from an interrupted run) "
                      "was cut off; its item is generated again", file=sys.stderr)  # fmt: skip
            else:
                f.write(b"\n")
    except FileNotFoundError:
        return
    except OSError as exc:
        raise _cannot("write", path, exc) from exc


def _last_line_start(f) -> int:
    """Where the last line of an open binary file starts (after its last newline but one at the very end),
    read back a block at a time: a line can be megabytes."""
    end = f.seek(0, os.SEEK_END)
    stop = end - 1  # a newline ending the file ends the last line, it does not start one
    while stop > 0:
        start = max(0, stop - 65536)
        f.seek(start)
        cut = f.read(stop - start).rfind(b"\n")
        if cut >= 0:
            return start + cut + 1
        stop = start
    return 0


def _requests(todo: list, decoding: Decoding, failed: list[Response]) -> Iterator[Request]:
    """Requests with their images loaded lazily; an item whose images fail goes to `failed` instead."""
    for sample, indices in todo:
        try:
            images = load_images(sample, decoding.min_pixels, decoding.max_pixels)
        except DataError as exc:  # kept, marked: scoring counts it wrong or drops it (--missing-image)
            failed.extend(error_responses(Request(sample, indices=indices), f"{MISSING_IMAGE}{exc}"))
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
    saved = read_json(out / "config.json")
    if saved is None:
        return
    if not isinstance(saved.get("run"), dict):
        raise RunFolderError(
            f"{out / 'config.json'} records no run settings: it is damaged; use another --out"
        )
    mine = json.loads(json.dumps(config.to_dict()))
    changed = [
        k for k in GENERATION_KEYS if saved["run"].get(k) != mine.get(k) and not _same_folder(k, saved, mine)
    ]
    if changed:
        raise ValueError(
            f"{out} holds a run made with other {', '.join(changed)}; use another --out (or delete that folder)"
        )


def _same_folder(key: str, saved: dict, mine: dict) -> bool:
    """A model recorded as a relative folder by an older run, and given in full now: the same model when
    the relative path names that folder from here."""
    old, new = saved["run"].get(key), mine.get(key)
    if key != "model" or not isinstance(old, str) or not isinstance(new, str) or Path(old).is_absolute():
        return False
    return Path(new).is_absolute() and Path(old).expanduser().resolve() == Path(new)


def _write_config(out: Path, config: RunConfig, backend, tasks: list[Task]) -> None:
    from vgpo_eval import __version__

    record = {
        "run": {k: v for k, v in config.to_dict().items() if k != "shard"},  # shards share one config
        "backend": backend.describe(),
        "datasets": {t.name: _dataset_record(t, config) for t in tasks},
        "vgpo_version": __version__,
        "checker": checker_fingerprint(),
        "git_sha": _git_sha(),
    }
    write_jsonl(out / "config.json", [record], indent=True)


def _dataset_record(task: Task, config: RunConfig) -> dict:
    """What config.json says a task's rows come from (the commit each resolved to: data_sources.json)."""
    own = actual_source(task, config.source)
    if own == "local":
        return {"data_dir": config.data_dir}
    if own != "archive":
        return dataclasses.asdict(spec_for(task, config.source))
    from vgpo_eval import archive

    where = (
        {"data_dir": config.data_dir}
        if config.data_dir
        else {"dataset": archive.REPO, "revision": archive.REVISION}
    )
    return {"archive": where | dataclasses.asdict(task.archive)} | (
        {"rows": dataclasses.asdict(spec_for(task, config.source))} if task.archive.rows is None else {}
    )


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


@dataclass
class ResponsesFile:
    """What a responses file holds, as read: the responses (the last record of an (item, index) pair
    winning), the malformed lines skipped ("line N: why"), and whether the last line was unfinished."""

    responses: dict[tuple[str, int], Response] = field(default_factory=dict)
    bad: list[str] = field(default_factory=list)
    unfinished: bool = False  # no newline yet: a writer mid-line, or a crash; not read, not an error


def scan_responses(path: Path) -> ResponsesFile:
    """Read a responses file without changing it (it may be damaged, or being appended to right now)."""
    found = ResponsesFile()
    try:
        f = open(path, "rb")  # noqa: SIM115 - closed below
    except FileNotFoundError:
        return found
    except OSError as exc:
        raise _cannot("read", path, exc) from exc
    with f:
        for n, line in enumerate(f, 1):
            if not line.endswith(b"\n"):  # what follows it is not there yet: stop at this consistent prefix
                found.unfinished = True
                break
            if not line.strip():
                continue
            try:
                response = _response(parse_line(line, n), n)
            except ValueError as exc:
                found.bad.append(str(exc))
                continue
            found.responses[(response.sample_id, response.index)] = response
    return found


def _response(record: dict, n: int) -> Response:
    """The Response a line records; ValueError naming the line if its fields are missing or of the wrong kind."""
    index = record.get("index", 0)
    if not isinstance(record.get("sample_id"), str) or not isinstance(record.get("text"), str):
        raise ValueError(f"line {n}: not a response (no sample_id or text string)")
    if not isinstance(index, int) or isinstance(index, bool) or index < 0:
        raise ValueError(f"line {n}: index {index!r} is not a whole number >= 0")
    if not isinstance(record.get("error"), str | None):
        raise ValueError(f"line {n}: error {record['error']!r} is not text")
    return Response.from_dict(record)


def read_responses(path: Path) -> dict[tuple[str, int], Response]:
    """The responses of a file, last record per (item, index) winning; the file is never changed.
    Malformed lines are skipped (a warning on stderr names them), an unfinished last line is not read."""
    found = scan_responses(path)
    _warn_bad_lines(path, found.bad)
    return found.responses


def _warn_bad_lines(path: Path, bad: list[str]) -> None:
    """One warning per file and set of bad lines, however often this process reads the file."""
    if not bad or (str(path), tuple(bad)) in _WARNED:
        return
    _WARNED.add((str(path), tuple(bad)))
    print(f"warning: {path}: {len(bad)} malformed line(s) skipped: {bad_line_numbers(bad)} "
          f"(first: {bad[0]})", file=sys.stderr)  # fmt: skip


def bad_line_numbers(bad: list[str]) -> str:
    """The numbers of malformed lines ("line N: why"), the first ten: "3, 7, 12 ..."."""
    numbers = [b.split(":", 1)[0].removeprefix("line ") for b in bad]
    return ", ".join(numbers[:10]) + (" ..." if len(numbers) > 10 else "")


def read_samples(path: Path) -> list[Sample]:
    """A run's `<task>.samples.jsonl`; RunFolderError naming the file and line if one cannot be read (the
    file is written whole, atomically, so a bad line means it was damaged: nothing is guessed)."""
    samples = []
    try:
        with open(path, "rb") as f:
            for n, line in enumerate(f, 1):
                if line.strip():
                    samples.append(_sample(parse_line(line, n), n))
    except OSError as exc:
        raise _cannot("read", path, exc) from exc
    except ValueError as exc:
        raise RunFolderError(
            f"{path} is damaged ({exc}): re-run the `run` command that made it to write it again"
        ) from exc
    return samples


def _sample(record: dict, n: int) -> Sample:
    if not all(isinstance(record.get(k), str) for k in ("id", "task", "answer")):
        raise ValueError(f"line {n}: not an item (no id, task or answer string)")
    try:
        return Sample.from_dict(record)
    except TypeError as exc:  # a field missing or of the wrong kind
        raise ValueError(f"line {n}: not an item ({exc})") from None


def read_json(path: Path) -> dict | None:
    """A run folder's JSON file (config.json, report.<protocol>.json, ...), None if it is not there;
    RunFolderError naming it if it cannot be read or holds no JSON object."""
    try:
        data = json.loads(path.read_bytes().decode("utf-8").removeprefix("\ufeff"))
    except FileNotFoundError:
        return None
    except OSError as exc:
        raise _cannot("read", path, exc) from exc
    except (ValueError, RecursionError) as exc:  # not UTF-8, not JSON, nested past the parser
        raise RunFolderError(f"{path} is damaged: not JSON ({str(exc)[:100]})") from None
    if not isinstance(data, dict):
        raise RunFolderError(f"{path} is damaged: not a JSON object")
    return data


def write_jsonl(path: Path, records: list[dict], indent: bool = False) -> None:
    """Write atomically (a temporary file, then rename), so a crash never leaves half a file.
    RunFolderError naming the file if it cannot be written (a read-only folder, a full disk)."""
    tmp = path.with_suffix(f"{path.suffix}.{os.getpid()}.tmp")  # one per process: shards write side by side
    try:
        with open(tmp, "w", encoding="utf-8") as f:
            if indent:
                f.write(json_text(records[0], indent=2, default=str))
            else:
                f.writelines(json_text(r) + "\n" for r in records)
        os.replace(tmp, path)
    except OSError as exc:
        with contextlib.suppress(OSError):  # the folder may not even let it be removed
            tmp.unlink()
        raise _cannot("write", path, exc) from exc
