"""The run browser: one self-contained HTML file to look at every item of a run (or several, side by side).

`vgpo-eval view RUN [--compare RUN2 ...] [--out FILE.html]` reads only the run folders (samples,
responses, scored files, reports, focus) and writes `view.html` (default: into RUN): the run's
table per protocol, per-task counts, then every item with filters (task, verdict, rule, protocols
that disagree, runs that disagree, text search, sort by length) and an item panel: the images as
the model saw them (small JPEG thumbnails, decoded only when shown), the exact prompt, the response
with the extracted answer marked, the gold, each protocol's verdict and rule, the focus curve.

Model output is untrusted: the data sits in a JSON script element (`<`, `>` and `&` escaped, so no
text can close it), the page builds the DOM with `textContent` only, and a Content-Security-Policy
lets only the page's own script (by its hash) run and only inline `data:` images load.
"""

from __future__ import annotations

import base64
import hashlib
import io
import json
from pathlib import Path
from typing import Any

from vgpo_eval.report import task_names
from vgpo_eval.run import read_json, read_run_responses, read_samples
from vgpo_eval.score import read_jsonl
from vgpo_eval.types import UNJUDGED

PAGE = Path(__file__).with_name("view_page.html")
THUMB = 256  # longest side of an embedded thumbnail, in pixels
FOCUS_POINTS = 20  # a focus curve is shown as this many bin means


def build(runs: list[Path], out: Path, thumb: int = THUMB) -> dict[str, int]:
    """Write the page for `runs` (the first is the main one) to `out`; returns its counts (items, images, bytes)."""
    data = collect(runs, thumb)
    html = render(data)
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(html, encoding="utf-8")
    return {"items": len(data["items"]), "images": len(data["images"]), "bytes": len(html.encode())}


def collect(runs: list[Path], thumb: int = THUMB) -> dict[str, Any]:
    """Everything the page shows, as plain data: runs (name, protocols, tables), items, thumbnails."""
    images: dict[str, str] = {}
    items: dict[tuple[str, int], dict] = {}
    metas = []
    for r, run in enumerate(runs):
        config = read_json(run / "config.json") or {}
        decoding = config.get("run", {}).get("decoding", {})
        found = sorted(p.name.split(".")[1] for p in run.glob("report.*.json"))
        protocols = sorted(found, key=lambda p: p != "strict")  # ours first: the default filter and counts
        metas.append({"name": run.name, "path": str(run), "model": config.get("run", {}).get("model"),
                      "protocols": protocols, "reports": {p: _table(read_json(run / f"report.{p}.json"))
                                                          for p in protocols}})  # fmt: skip
        focus = _focus(run)
        for task in task_names(run):
            verdicts = {p: _scored(run / f"{task}.scored.{p}.jsonl") for p in protocols}
            responses = read_run_responses(run, task)
            by_id: dict[str, list] = {}
            for (sample_id, index), response in responses.items():
                by_id.setdefault(sample_id, []).append((index, response))
            for sample in read_samples(run / f"{task}.samples.jsonl"):
                for index, response in sorted(by_id.get(sample.id, [(0, None)]), key=lambda x: x[0]):
                    key = (sample.id, index)
                    if key not in items:
                        items[key] = _item(sample, index, decoding, images, thumb)
                        items[key]["r"] = [None] * len(runs)
                    if response is not None:
                        items[key]["r"][r] = {
                            "t": response.text, "e": response.error, "n": response.tokens,
                            "f": response.finish_reason, "v": {p: verdicts[p].get(key) for p in protocols},
                            "c": focus.get(key),
                        }  # fmt: skip
    from vgpo_eval.checker.explain import rule_meaning

    rules = {(p, v[1]) for i in items.values() for r in i["r"] if r for p, v in r["v"].items() if v}
    meanings = {p: {rule: rule_meaning(rule, p) for q, rule in rules if q == p} for p, _ in rules}
    return {"runs": metas, "items": list(items.values()), "images": images, "rules": meanings}


def _item(sample, index: int, decoding: dict, images: dict[str, str], thumb: int) -> dict:
    from vgpo_eval.prompts import user_text

    variant = decoding.get("prompt") or "lookback"
    bounds = (decoding.get("min_pixels") or 262_144, decoding.get("max_pixels") or 1_000_000)
    keys = []
    for path in sample.images:
        if path not in images:
            images[path] = _thumbnail(path, bounds, thumb)
        keys.append(path)
    return {"id": sample.id, "task": sample.task, "k": index, "q": user_text(sample, variant),
            "gold": sample.answer, "choices": list(sample.choices or ()), "img": keys}  # fmt: skip


def _thumbnail(path: str, bounds: tuple[int, int], thumb: int) -> str:
    """'WxH sent|data:image/jpeg;base64,...' of the image as the model saw it (resized into the pixel bounds),
    shrunk to `thumb`; 'unreadable: reason|' when it cannot be opened."""
    from PIL import Image

    from vgpo_eval.prompts import fit_pixels

    try:
        with Image.open(path) as img:
            sent = fit_pixels(*img.size, *bounds)
            scale = min(1.0, thumb / max(sent))  # one resize, straight to the thumbnail of the sent picture
            small = img.convert("RGB").resize(
                (max(1, round(sent[0] * scale)), max(1, round(sent[1] * scale)))
            )
            buffer = io.BytesIO()
            small.save(buffer, "JPEG", quality=70)
    except Exception as exc:  # noqa: BLE001 - a missing or broken picture is shown as such
        return f"unreadable: {type(exc).__name__}: {str(exc)[:120]}|"
    return (
        f"{img.size[0]}x{img.size[1]}, sent as {sent[0]}x{sent[1]}|data:image/jpeg;base64,"
        + base64.b64encode(buffer.getvalue()).decode("ascii")
    )


def _scored(path: Path) -> dict[tuple[str, int], list]:
    """(id, index) -> [correct, rule, extracted] of a scored file (bad lines skipped: readers change nothing)."""
    out = {}
    if path.is_file():
        for _, record in read_jsonl(path):
            if isinstance(record, dict) and "id" in record:
                out[(record["id"], record.get("index", 0))] = [
                    bool(record.get("correct")), record.get("rule"), record.get("extracted")]  # fmt: skip
    return out


def _focus(run: Path) -> dict[tuple[str, int], list[float]]:
    """(id, index) -> the response's focus curve in FOCUS_POINTS bin means, from RUN/focus/focus.items.jsonl."""
    from vgpo_eval.analysis import bin_means

    path, out = run / "focus" / "focus.items.jsonl", {}
    if path.is_file():
        for _, record in read_jsonl(path):
            if isinstance(record, dict) and record.get("scores"):
                curve = bin_means(record["scores"], FOCUS_POINTS)
                out[(record["id"], record.get("index", 0))] = [
                    None if v is None else round(v, 4) for v in curve
                ]
    return out


def _table(report: dict | None) -> dict:
    """A report's accuracy per task, suite means, and per task the counts the summary shows."""
    if not report:
        return {}
    tasks = {}
    for name, task in report.get("tasks", {}).items():
        rules = {str(rule): n for rule, n in task.get("rules", {}).items()}
        tasks[name] = {
            "accuracy": task.get("accuracy"), "complete": task.get("complete"), "missing": task.get("missing", 0),
            "no_answer": sum(n for rule, n in rules.items() if rule.startswith("no_answer")),
            "failed": rules.get("generation_error", 0),
            "timed_out": sum(n for rule, n in rules.items() if rule.startswith(UNJUDGED)),
        }  # fmt: skip
    return {"tasks": tasks, "suites": report.get("suites", {})}


def render(data: dict) -> str:
    """The page: the template with the data in a JSON script element and a CSP naming the script's hash."""
    template = PAGE.read_text(encoding="utf-8")
    script = template.split("<script>", 1)[1].split("</script>", 1)[0]
    digest = base64.b64encode(hashlib.sha256(script.encode()).digest()).decode()
    payload = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    payload = payload.replace("&", "\\u0026").replace("<", "\\u003c").replace(">", "\\u003e")
    return template.replace("SCRIPT_HASH", digest, 1).replace("DATA_JSON", payload, 1)
