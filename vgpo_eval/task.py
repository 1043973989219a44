"""Tasks: where a benchmark's rows come from, and how a row becomes a `Sample`.

A `Task` names up to four sources; `source=` picks one, or a profile that picks one per task:

- `papo`: the paper's evaluation data, the hub dataset PAPO-Galaxy/PAPO_eval (one split per
  benchmark, ShareGPT rows: `messages` with the question as user turn and the gold answer as
  assistant turn, `images` with file names inside the split's image zip);
- `upstream`: the benchmark's own hub dataset, which carries the fields for official breakdowns;
- `local`: a folder the user downloaded (`data_dir`), in the upstream repository's layout
  (JSON or JSONL rows plus image files) or in the ShareGPT layout;
- `archive`: Look-Back's evaluation archive (`vgpo_eval.archive`), the files its script reads, for the
  tasks it has loaders for (`Task.archive` says where); only through a profile.

Rows are converted by plain functions beside the task's data (`tasks/<name>.py`). A row that
cannot be converted raises `DataError` naming the task and the row; `load` collects those as
per-item errors instead of stopping, so one bad row never sinks a run.

Hub datasets are read with `datasets.load_dataset` (cached under HF_HOME, honouring
HF_HUB_OFFLINE); revisions are pinned by the `revision` field of a `Source` when known, and the
hub commit the rows resolved to is recorded by `run` in `data_sources.json`. Nothing here runs at import.
"""

from __future__ import annotations

import json
import os
import zipfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from vgpo_eval import archive
from vgpo_eval.rows import Context, DataError, cache_dir, sharegpt_sample
from vgpo_eval.types import Sample

SOURCES = ("lookback", "papo", "upstream", "local")
# A source profile takes each task from where one reference takes it (the others: from PAPO_eval).
# `lookback`: where Look-Back's evaluation script, which the VGPO paper follows, reads them: its own
# archive. `papo`: PAPO_eval, which has no GeoMath; the paper's GeoMath is Look-Back's file.
PROFILES = {
    "lookback": {"mathvista": "archive", "mathverse": "archive", "wemath": "archive", "geomath": "archive"},
    "papo": {"geomath": "archive"},
}
# the paper follows Look-Back's evaluation script: its data, PAPO_eval for the rest
DEFAULT_SOURCE = "lookback"
SHAREGPT = (
    "clean",
    "verbatim",
)  # ShareGPT user turns: cleaned (markers out, every image) or as Look-Back reads them


def actual_source(task: Task, source: str) -> str:
    """The source a task's rows come from under `source` (a profile names one per task); a hub copy named by
    VGPO_<TASK>_DATASET stands in for PAPO_eval's missing split."""
    own = PROFILES[source].get(task.name, "papo") if source in PROFILES else source
    return "papo" if source == "papo" and own == "archive" and _dataset_override(task) else own


PAPO_EVAL = "PAPO-Galaxy/PAPO_eval"


@dataclass(frozen=True)
class Source:
    """A hub dataset split (optionally a config, a pinned revision and an image zip in the repo)."""

    dataset: str
    split: str
    config: str | None = None
    revision: str | None = None  # None: the latest; `run` records the commit it resolved to
    images_zip: str | None = None


Convert = Callable[[dict, "Context"], Sample]


@dataclass(frozen=True)
class Task:
    """One benchmark: its sources, its row converters, its breakdown keys."""

    name: str
    title: str
    suite: str  # "general", "vision_dependent" or "train"
    upstream: Source | None
    from_upstream: Convert
    papo: Source | None = None
    from_papo: Convert | None = None  # default: `rows.sharegpt_sample`
    local_files: tuple[str, ...] = ()  # file names looked for in --data-dir, first found wins
    from_local: Convert | None = None  # default: from_upstream, or sharegpt for ShareGPT rows
    breakdowns: tuple[str, ...] = ()
    keep: Callable[[dict], bool] | None = None  # row filter applied to upstream/local rows
    # items expected per source, where known (PAPO_eval's sizes from its public loaders; a run warns
    # when it loads another count, since a different item set makes numbers incomparable)
    sizes: dict[str, int] = field(default_factory=dict)
    archive: archive.Files | None = None  # where Look-Back's evaluation archive holds it, if it does
    notes: str = ""


@dataclass
class Loaded:
    """The samples of one task, and the rows that could not be converted (with their errors)."""

    task: Task
    source: str
    samples: list[Sample]
    errors: list[str]
    origin: dict[str, Any] = field(default_factory=dict)  # dataset, split, revision asked for and resolved


def load(
    task: Task,
    source: str = DEFAULT_SOURCE,
    data_dir: str | Path | None = None,
    limit: int | None = None,
    sharegpt: str = "clean",
    allow_outside_images: bool = False,
) -> Loaded:
    """Read a task's rows from one source (or profile) and convert them; bad rows become errors, not crashes.
    `sharegpt` says how ShareGPT user turns become questions (SHAREGPT); rows from Look-Back's archive
    (GeoMath) are read verbatim, as Look-Back does. Under a profile that reads the archive, `data_dir` is a
    local copy of it (else it is downloaded). Local and archive rows' image paths must lie inside their folder
    (a row naming /etc/... or ../.. is an error) unless `allow_outside_images`."""
    if source not in SOURCES:
        raise DataError(f"{task.name}: unknown source {source!r}; choose one of {', '.join(SOURCES)}")
    if sharegpt not in SHAREGPT:
        raise DataError(
            f"{task.name}: unknown ShareGPT reading {sharegpt!r}; choose one of {', '.join(SHAREGPT)}"
        )
    source = actual_source(task, source)
    if source == "archive":  # Look-Back's own file, read as its script reads it: text as is, one image
        sharegpt = "verbatim"
        rows, root, convert = _archive_rows(task, data_dir)
        inside, inside_name = None if allow_outside_images else root, "Look-Back's archive"
        root = None  # the rows name their images in full, as Look-Back joins them: no search elsewhere
    else:
        rows, root, convert = _rows(task, source, data_dir)
        inside = Path(data_dir) if source == "local" and not allow_outside_images else None
        inside_name = "--data-dir"
    samples, errors = [], []
    shared = {"sharegpt": sharegpt}  # per-load state of the converters (their options, an image index)
    sharegpt = convert is (task.from_papo or sharegpt_sample)  # PAPO's rows are already the task's subset
    for index, row in enumerate(rows):
        if task.keep is not None and not sharegpt and not task.keep(row):
            continue
        if limit is not None and len(samples) >= limit:
            break
        try:
            samples.append(convert(row, Context(task, index, root, cache_dir(), shared, inside, inside_name)))
        except (DataError, KeyError, TypeError, ValueError) as exc:
            errors.append(f"{task.name} row {index}: {exc}" if not isinstance(exc, DataError) else str(exc))
    return Loaded(task, source, samples, errors, _origin(task, source, data_dir))


def _origin(task: Task, source: str, data_dir: str | Path | None) -> dict[str, Any]:
    """Where the rows came from, with the hub commit they resolved to when the hub can be asked."""
    if source == "local":
        return {"data_dir": str(data_dir)}
    if source == "archive":
        own = archive.root(data_dir)[1] | {"file": task.archive.rows, "images": task.archive.images}
        return own if task.archive.rows else {"archive": own} | _origin(task, "upstream", None)
    spec = spec_for(task, source)
    origin: dict[str, Any] = {"dataset": spec.dataset, "split": spec.split, "config": spec.config,
                              "revision": spec.revision, "resolved": None}  # fmt: skip
    if os.environ.get("HF_HUB_OFFLINE") != "1":
        try:
            from huggingface_hub import HfApi

            origin["resolved"] = HfApi().dataset_info(spec.dataset, revision=spec.revision, timeout=10).sha
        except Exception:  # noqa: BLE001 - no network or no such repo: recorded as unknown
            pass
    return origin


def _rows(
    task: Task, source: str, data_dir: str | Path | None
) -> tuple[Iterator[dict], Path | None, Convert]:
    if source == "local":
        if data_dir is None:
            raise DataError(f"{task.name}: the local source needs --data-dir")
        path = _find_local(task, Path(data_dir))
        rows = read_rows(path)
        first = next(iter(rows), {})
        sharegpt = isinstance(first, dict) and "messages" in first
        convert = task.from_local or ((task.from_papo or sharegpt_sample) if sharegpt else task.from_upstream)
        return iter(rows), path.parent, convert
    spec = spec_for(task, source)
    if spec is None:
        raise DataError(unavailable(task, source, data_dir))
    rows = _hub_rows(task, spec)
    root = _hub_images(task, spec) if spec.images_zip else None
    convert = (task.from_papo or sharegpt_sample) if source == "papo" else task.from_upstream
    return iter(rows), root, convert


def _archive_rows(task: Task, data_dir: str | Path | None) -> tuple[list[dict], Path, Convert]:
    """A task's rows as Look-Back's loader reads them from its archive (MathVista's from the upstream hub
    split), image names joined to the archive's folders."""
    if task.archive is None:
        raise DataError(f"{task.name}: Look-Back's evaluation archive does not hold it")
    eval_data, _ = archive.root(data_dir)
    if data_dir is not None and (problem := archive.missing(task.archive, data_dir)):
        raise DataError(f"{task.name}: {problem}")
    if task.archive.rows is None:
        raw, convert = _hub_rows(task, task.upstream), task.from_upstream
    else:
        raw = read_rows(eval_data / task.archive.rows)
        sharegpt = bool(raw) and isinstance(raw[0], dict) and "messages" in raw[0]
        convert = (task.from_papo or sharegpt_sample) if sharegpt else task.from_upstream
    return archive.rows(task.archive, eval_data, raw), eval_data, convert


def spec_for(task: Task, source: str) -> Source | None:
    """The hub split a task's rows come from under `source` (papo, upstream or a profile), or None when
    none is known; VGPO_<TASK>_DATASET="owner/name[:split]" names one for a task that has none."""
    source = actual_source(task, source)
    if source == "archive":  # the hub split whose rows the archive's images go with (MathVista)
        return task.upstream if task.archive and task.archive.rows is None else None
    spec = task.papo if source == "papo" else task.upstream if source == "upstream" else None
    return spec or (_dataset_override(task) if source in ("papo", "upstream") else None)


def unavailable(task: Task, source: str, data_dir: str | Path | None) -> str | None:
    """Why `task` cannot be loaded from `source`, found without network or loading rows; None when
    it may be (a hub split that is known, or a local file that exists)."""
    source = actual_source(task, source)
    if source == "local":
        if data_dir is None:
            return f"{task.name}: --source local needs --data-dir"
        try:
            _find_local(task, Path(data_dir))
        except DataError as exc:
            return str(exc)
        return None
    if source == "archive":
        if task.archive is None:
            return f"{task.name}: Look-Back's evaluation archive does not hold it"
        return None if data_dir is None else archive.missing(task.archive, data_dir)
    if spec_for(task, source) is not None:
        return None
    files = f" holding {task.local_files[0]}" if task.local_files else ""
    return (
        f"{task.name}: no {source} source is known; provide it with --source local --data-dir DIR{files}, "
        f"or name a hub copy with VGPO_{task.name.upper()}_DATASET=owner/name[:split]"
    )


def cached(task: Task) -> list[str]:
    """Which of the task's hub sources are in the local caches (datasets' cache, our image cache)."""
    hub = Path(
        os.environ.get("HF_DATASETS_CACHE")
        or Path(os.environ.get("HF_HOME", Path.home() / ".cache" / "huggingface")) / "datasets"
    )
    found = []
    for label, spec in (("papo", task.papo), ("upstream", task.upstream)):
        if spec is None:
            continue
        stem = spec.dataset.replace("/", "___")
        in_hub = hub.is_dir() and any(p.name.lower().startswith(stem.lower()) for p in hub.iterdir())
        images_ok = spec.images_zip is None or (cache_dir() / "papo_eval" / spec.split / ".complete").exists()
        if in_hub and images_ok:
            found.append(label)
    if task.archive and archive.cached() and (task.archive.rows or "upstream" in found):
        found.append("archive")
    return found


def _dataset_override(task: Task) -> Source | None:
    """VGPO_<TASK>_DATASET="owner/name[:split]" names a hub copy for a task that has none."""
    value = os.environ.get(f"VGPO_{task.name.upper()}_DATASET")
    if not value:
        return None
    dataset, _, split = value.partition(":")
    return Source(dataset, split or "test")


def _find_local(task: Task, data_dir: Path) -> Path:
    # a folder per task (data_dir/<task>/...) first, so one --data-dir can serve every task
    candidates = [data_dir / task.name / n for n in task.local_files] + [
        data_dir / n for n in task.local_files
    ]
    for path in candidates:
        if path.is_file():
            return path
    wanted = ", ".join(task.local_files) or "(no local layout is defined)"
    raise DataError(f"{task.name}: none of {wanted} found in {data_dir} or {data_dir / task.name}")


def read_rows(path: Path) -> list[dict]:
    """Rows of a .json (a list, or a dict keyed by id), .jsonl or .parquet file."""
    if path.suffix == ".jsonl":
        with open(path, encoding="utf-8") as f:
            return [json.loads(line) for line in f if line.strip()]
    if path.suffix == ".parquet":
        import datasets

        return list(datasets.load_dataset("parquet", data_files=str(path), split="train"))
    with open(path, encoding="utf-8") as f:
        data = json.load(f)
    if isinstance(data, dict):
        return [{"_key": key, **row} if isinstance(row, dict) else row for key, row in data.items()]
    if isinstance(data, list):
        return data
    raise DataError(f"{path}: expected a list or a dict of rows")


def _hub_rows(task: Task, spec: Source) -> list[dict]:
    import datasets

    try:
        data = datasets.load_dataset(spec.dataset, spec.config, split=spec.split, revision=spec.revision)
    except Exception as exc:  # noqa: BLE001 - datasets raises many kinds; all mean "not available"
        offline = " (HF_HUB_OFFLINE is set: download it once with network, or use --source local)"
        raise DataError(
            f"{task.name}: cannot load {spec.dataset} split {spec.split}"
            f"{' config ' + spec.config if spec.config else ''}: {type(exc).__name__}: {str(exc)[:300]}"
            f"{offline if os.environ.get('HF_HUB_OFFLINE') == '1' else ''}"
        ) from exc
    return list(data)


def _hub_images(task: Task, spec: Source) -> Path:
    """Download and unpack the split's image zip once; return the folder the row paths are relative to."""
    target = cache_dir() / "papo_eval" / spec.split
    done = target / ".complete"
    if not done.exists():
        from huggingface_hub import hf_hub_download

        try:
            zipped = hf_hub_download(
                spec.dataset, spec.images_zip, repo_type="dataset", revision=spec.revision
            )
        except Exception as exc:  # noqa: BLE001
            raise DataError(
                f"{task.name}: cannot download {spec.images_zip} from {spec.dataset}: {exc}"
            ) from exc
        with zipfile.ZipFile(zipped) as z:
            z.extractall(target)
        done.touch()
    return target
