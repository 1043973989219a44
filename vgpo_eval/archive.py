"""Look-Back's evaluation archive: the files its script reads, downloaded once from the hub and cached.

The VGPO paper follows Look-Back's evaluation script (ruiz-nju/Look-Back, `eval/main.py`), which
reads MathVerse, WeMath and GeoMath from its own files and MathVista's images from its own folder,
all published as the hub dataset ShuoY/Look-Back-eval (an archive its README unzips to
`eval/eval_data`). This module makes that folder available: from `--data-dir` when the user has
unzipped it, else from the hub (only the four benchmarks' folders, zips unpacked, under
`$VGPO_CACHE/lookback_eval/<commit>`), and then from that cache without the network. `Files`
(a task's `archive` field) says which file and image folder Look-Back's loader reads for it.

    python -m vgpo_eval list                      # the `lookback` column, and whether it is cached
    python -m vgpo_eval show wemath --source lookback
"""

from __future__ import annotations

import os
import shutil
import zipfile
from dataclasses import dataclass
from pathlib import Path, PurePosixPath
from typing import Any

from vgpo_eval.rows import DataError, cache_dir

REPO = "ShuoY/Look-Back-eval"
REVISION: str | None = None  # not pinned: the commit could not be looked up here; runs record the one used
# the folders of eval_data that Look-Back's loaders for our tasks read (its other benchmarks are not fetched)
FOLDERS = ("mathvista", "mathverse", "wemath", "GeoMath")


@dataclass(frozen=True)
class Files:
    """Where Look-Back's loader finds a task inside eval_data: its rows file (None: the upstream hub split, as
    for MathVista), the folder its image names are joined to, and the row field holding those names."""

    images: str
    field: str
    rows: str | None = None


_found: dict[tuple[str, str], tuple[Path, dict[str, Any]]] = {}  # (data_dir, cache) -> root, origin


def root(data_dir: str | Path | None = None) -> tuple[Path, dict[str, Any]]:
    """The eval_data folder and where it came from: `data_dir` as given, else the hub copy (downloaded
    once; the cached copy when the hub cannot be asked)."""
    key = (str(data_dir), str(_base()))
    if key not in _found:
        if data_dir is not None:
            _found[key] = (Path(data_dir), {"data_dir": str(data_dir)})
        else:
            sha = _download()
            _found[key] = (
                _eval_data(_base() / sha),
                {"dataset": REPO, "revision": REVISION, "resolved": sha},
            )
    return _found[key]


def missing(files: Files, data_dir: str | Path) -> str | None:
    """What a user's eval_data folder lacks for a task (its rows file, or its image folder), or None."""
    want = Path(data_dir) / (files.rows or files.images)
    if want.exists():
        return None
    return (f"{want} not found: under --source lookback, --data-dir is Look-Back's eval_data folder (its archive "
            f"{REPO} unzipped); leave --data-dir out to download it")  # fmt: skip


def cached() -> str | None:
    """The commit of a complete cached copy (the pinned one when REVISION is set), or None."""
    latest = _base() / "latest"
    sha = REVISION or (latest.read_text().strip() if latest.is_file() else None)
    return sha if sha and (_base() / sha / ".complete").is_file() else None


def rows(files: Files, eval_data: Path, rows_in: list[dict]) -> list[dict]:
    """The rows with each image name joined as Look-Back's loader joins it (eval_data/<images>/<name>; of a
    list, the first only), so the converters read exactly that file; MathVista's hub rows lose the
    decoded copy of the picture, since Look-Back reads the archive's file."""
    folder = eval_data / files.images
    out = []
    for row in rows_in:
        if not isinstance(row, dict):  # the converter reports it, naming the row
            out.append(row)
            continue
        value = row.get(files.field)
        value = value[0] if isinstance(value, list) and value else value
        joined = {files.field: [_join(folder, value)] if files.field == "images" else _join(folder, value)}
        out.append({k: v for k, v in row.items() if k != "decoded_image"} | joined)
    return out


def _join(folder: Path, value: Any) -> Any:
    """os.path.join as Look-Back writes it (an empty name gives the folder itself, which then cannot be read)."""
    return os.path.join(folder, value) if isinstance(value, str) else value


def _base() -> Path:
    return cache_dir() / "lookback_eval"


def _download() -> str:
    """Fetch the four folders of the archive at one commit (once) and return that commit."""
    offline = os.environ.get("HF_HUB_OFFLINE", "").lower() in (
        "1",
        "true",
        "yes",
    )  # as hub.unreachable reads it
    try:
        if offline:
            raise OSError("HF_HUB_OFFLINE is set")
        from huggingface_hub import HfApi

        info = HfApi().dataset_info(REPO, revision=REVISION, timeout=10)
    except Exception as exc:  # noqa: BLE001 - no network, no such repo: the cached copy, or one line
        sha = cached()
        if sha:
            return sha
        raise DataError(
            f"cannot reach {REPO} ({type(exc).__name__}: {str(exc)[:200]}) and no copy is cached under {_base()}: "
            "connect once to download it, or unzip it yourself and pass --data-dir DIR/eval_data"
        ) from exc
    sha, target = info.sha, _base() / info.sha
    if not (target / ".complete").is_file():
        try:
            _fetch(sha, [s.rfilename for s in info.siblings or ()], target)
        except (OSError, zipfile.BadZipFile, ValueError) as exc:  # network, disk, a damaged zip: one line
            raise DataError(f"cannot download {REPO}@{sha}: {type(exc).__name__}: {str(exc)[:300]}") from exc
        (target / ".complete").touch()
    (_base() / "latest").write_text(sha)
    return sha


def _fetch(sha: str, files: list[str], target: Path) -> None:
    """Download what holds the four folders: their files when the archive is stored unzipped, else the zips
    named after them (or every zip), unpacking only those folders."""
    from huggingface_hub import snapshot_download

    wanted = {f.lower() for f in FOLDERS}
    plain = any(wanted & {p.lower() for p in PurePosixPath(f).parts[:-1]} for f in files)
    zips = [f for f in files if f.lower().endswith(".zip")]
    named = [z for z in zips if PurePosixPath(z).stem.lower() in wanted]
    patterns = [f"*{folder}/*" for folder in FOLDERS] if plain else named or zips
    if not patterns:
        raise DataError(
            f"{REPO}@{sha} holds neither the folders {', '.join(FOLDERS)} nor a zip: {files[:10]}"
        )
    partial = target.with_name(target.name + ".partial")
    shutil.rmtree(partial, ignore_errors=True)  # an earlier attempt cut short
    snapshot_download(REPO, repo_type="dataset", revision=sha, allow_patterns=patterns, local_dir=partial)
    for archive in sorted(partial.rglob("*.zip")):
        _unzip(archive, archive.parent)
        archive.unlink()  # the unpacked folders are what is read; the zip would double the disk used
    shutil.rmtree(target, ignore_errors=True)
    partial.rename(target)


def _unzip(archive: Path, into: Path) -> None:
    """Unpack the members under one of the folders; zipfile drops absolute and ".." parts of member names,
    so nothing lands outside `into` whatever the archive says."""
    wanted = {f.lower() for f in FOLDERS}
    with zipfile.ZipFile(archive) as z:
        for member in z.infolist():
            parts = PurePosixPath(member.filename).parts
            if parts and parts[0] != "__MACOSX" and wanted & {p.lower() for p in parts[:-1]}:
                z.extract(member, into)


def _eval_data(folder: Path) -> Path:
    """The folder holding most of the four folders, at most three levels down (an archive may wrap them in
    `eval_data/` or more)."""
    best, score = None, 0
    level = [folder]
    for _ in range(4):
        for candidate in level:
            found = sum((candidate / name).is_dir() for name in FOLDERS)
            if found > score:
                best, score = candidate, found
        level = [d for c in level for d in sorted(c.iterdir()) if d.is_dir() and not d.name.startswith(".")]
    if best is None:
        raise DataError(
            f"{REPO}: none of the folders {', '.join(FOLDERS)} in the downloaded copy at {folder}"
        )
    return best
