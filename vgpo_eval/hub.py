"""The Hugging Face hub, asked once and quickly: is it reachable, and is what a run needs cached?

Without this, a machine with no network spends minutes in the libraries' retries before each
error. `run` probes the hub once (a few seconds at most) before it loads anything; when the hub
cannot be reached it either goes on from the local caches (switching the libraries to offline
mode, so they do not retry) or stops with one line that says what is missing and how to fix it.
"""

from __future__ import annotations

import os
import urllib.error
import urllib.request
from pathlib import Path

PROBE_TIMEOUT = 4.0  # seconds


def endpoint() -> str:
    return os.environ.get("HF_ENDPOINT", "https://huggingface.co").rstrip("/")


def unreachable() -> str | None:
    """Why the hub cannot be used now (offline mode, no connection), or None when it answers."""
    if os.environ.get("HF_HUB_OFFLINE", "").lower() in ("1", "true", "yes"):
        return "HF_HUB_OFFLINE is set"
    try:
        urllib.request.urlopen(urllib.request.Request(endpoint(), method="HEAD"), timeout=PROBE_TIMEOUT)
    except urllib.error.HTTPError:
        return None  # it answered
    except (urllib.error.URLError, OSError, ValueError) as exc:
        return f"{endpoint()} does not answer ({getattr(exc, 'reason', exc)})"
    return None


def is_local_model(model: str) -> bool:
    """Whether `model` names a folder (it exists, or is written as a path) rather than a hub id."""
    return Path(model).expanduser().exists() or model.startswith((".", "/", "~")) or os.sep + os.sep in model


def model_cached(model: str, revision: str | None = None) -> bool:
    """Whether a hub model's config is in the local cache (so it can load without the network)."""
    from huggingface_hub import try_to_load_from_cache

    return isinstance(try_to_load_from_cache(model, "config.json", revision=revision), str)


def go_offline() -> None:
    """Make the hub libraries use their caches without trying the network (set before they import)."""
    os.environ["HF_HUB_OFFLINE"] = "1"
    os.environ["HF_DATASETS_OFFLINE"] = "1"


def require(
    model: str | None, tasks: list, source: str, revision: str | None = None, data_dir: str | None = None
) -> None:
    """Probe the hub once when a hub model (None: no model) or a task's hub data is needed (Look-Back's
    archive too, unless `data_dir` is a copy of it); when it cannot be reached, go on from the caches
    (offline mode) or raise ValueError naming what is missing."""
    import sys

    from vgpo_eval import archive
    from vgpo_eval.task import actual_source, cached, spec_for

    model_from_hub = model is not None and not is_local_model(model)
    specs = {t.name: spec for t in tasks if (spec := spec_for(t, source)) is not None}
    in_archive = [t.name for t in tasks if actual_source(t, source) == "archive"] if data_dir is None else []
    if not (model_from_hub or specs or in_archive):
        return
    reason = unreachable()
    if reason is None:
        return
    missing: dict[str, list[str]] = {}
    if model_from_hub and not model_cached(model, revision):
        missing[model] = ["the model"]
    for task in tasks:
        own = actual_source(task, source)
        if task.name in specs and ("upstream" if own == "archive" else own) not in cached(task):
            missing.setdefault(specs[task.name].dataset, []).append(task.name)
    if in_archive and not archive.cached():
        missing[archive.REPO] = in_archive
    if missing:
        listed = "; ".join(f"{name} ({', '.join(users)})" for name, users in missing.items())
        raise ValueError(
            f"the Hugging Face hub cannot be reached ({reason}) and these are not in the local cache: {listed}. "
            "Connect once to download them, or use a local model folder and --source local --data-dir DIR "
            "(for Look-Back's archive: its eval_data folder as --data-dir; see `vgpo-eval list`)"
        )
    print(f"the hub cannot be reached ({reason}): using the cached copies", file=sys.stderr)
    go_offline()
