"""Visual focus of a model's responses: the paper's "temporal visual forgetting" curve, as a measurement.

For every scored response of a run folder, one teacher-forced forward over prompt + response (no
generation) gives the VGPO focus score of each response token: the cosine of its last-layer hidden
state with the mean hidden state of the prompt's image tokens (`vgpo_eval.focus`, the trainer's
own formula, raw: not min-max normalised across a batch). The last-layer states come from a forward
hook on the final norm, never `output_hidden_states=True`. Per-item values are appended to
`focus.items.jsonl` (a re-run resumes); the aggregates are mean focus by relative position in the
response (bins), split by correct and incorrect under a protocol, the late/early ratio (mean of the
last third over the first third: the forgetting measure the trainer logs) and the share of tokens
above a threshold (sparsity).

    vgpo-eval focus --run runs/demo/run --model runs/demo/model --out runs/demo/focus
"""

from __future__ import annotations

import json
import math
from pathlib import Path
from typing import Any

BINS = 20


def bin_means(scores: list[float], bins: int = BINS) -> list[float | None]:
    """Mean score per relative-position bin: token t of T falls in bin floor(t / T * bins)."""
    sums, counts = [0.0] * bins, [0] * bins
    for t, score in enumerate(scores):
        k = min(bins - 1, t * bins // len(scores))
        sums[k] += score
        counts[k] += 1
    return [s / c if c else None for s, c in zip(sums, counts, strict=True)]


def late_early(scores: list[float]) -> float | None:
    """Mean focus of the last third of the response over that of the first third (1.0: no forgetting)."""
    third = len(scores) // 3
    if third == 0:
        return None
    early, late = sum(scores[:third]) / third, sum(scores[-third:]) / third
    return late / early if early > 0 else None


def aggregate(items: list[dict], bins: int = BINS, threshold: float = 0.2) -> dict[str, Any]:
    """Per task and correctness: the binned curve (mean and std across responses), late/early, sparsity."""
    out: dict[str, Any] = {}
    attention: dict[str, Any] = {}
    for item in items:
        if item.get("scores"):
            label = "correct" if item["correct"] else "incorrect"
            out.setdefault(item["task"], {}).setdefault(label, []).append(item["scores"])
            if item.get("attention"):
                attention.setdefault(item["task"], {}).setdefault(label, []).append(item["attention"])
    summary: dict[str, Any] = {}
    for task, groups in out.items():
        summary[task] = {}
        for label, responses in groups.items():
            curves = [bin_means(scores, bins) for scores in responses]
            mean, std = [], []
            for k in range(bins):
                values = [c[k] for c in curves if c[k] is not None]
                m = sum(values) / len(values) if values else None
                mean.append(m)
                std.append(math.sqrt(sum((v - m) ** 2 for v in values) / len(values)) if values else None)
            ratios = [r for r in map(late_early, responses) if r is not None]
            tokens = [s for scores in responses for s in scores]
            summary[task][label] = {
                "n": len(responses), "mean": mean, "std": std,
                "late_early": sum(ratios) / len(ratios) if ratios else None,
                "sparsity": sum(s > threshold for s in tokens) / len(tokens),
            }  # fmt: skip
            shares = attention.get(task, {}).get(label)
            if shares:  # --measure attention: the share of attention mass on the image, by position
                curves = [bin_means(x, bins) for x in shares]
                summary[task][label]["attention_mean"] = [
                    (sum(v) / len(v)) if (v := [c[k] for c in curves if c[k] is not None]) else None
                    for k in range(bins)
                ]
    return summary


def response_focus(
    model: Any, processor: Any, prompt: str, images: list, response: str, layers: list[int] | None = None
) -> list[float] | tuple[list[float], list[float]]:
    """Raw focus of each response token: one teacher-forced forward of prompt + response. With `layers`
    (the model loaded with eager attention), also each token's share of attention mass on the image
    tokens, averaged over those layers and the heads: (focus, attention)."""
    import torch

    from vgpo_eval.focus import final_norm, focus_scores

    inputs = processor(text=[prompt], images=images or None, return_tensors="pt")
    answer = processor.tokenizer(response, add_special_tokens=False, return_tensors="pt")["input_ids"]
    if answer.size(1) == 0:
        return []
    inputs["input_ids"] = torch.cat([inputs["input_ids"], answer], dim=1)  # (1, S)
    inputs["attention_mask"] = torch.ones_like(inputs["input_ids"])  # (1, S)
    if "mm_token_type_ids" in inputs:  # the response's tokens are text
        pad = torch.zeros_like(answer, dtype=inputs["mm_token_type_ids"].dtype)
        inputs["mm_token_type_ids"] = torch.cat([inputs["mm_token_type_ids"], pad], dim=1)
    image_mask = inputs["input_ids"] == model.config.image_token_id  # (1, S)
    image_mask[:, -answer.size(1) :] = False  # only the prompt's image tokens
    captured = []
    handle = final_norm(model).register_forward_hook(
        lambda module, args, output: captured.append(output.detach())
    )
    try:
        with torch.no_grad():
            output = model(**{k: v.to(model.device) for k, v in inputs.items()}, use_cache=False,
                           output_attentions=layers is not None)  # fmt: skip
    finally:
        handle.remove()
    response_mask = torch.ones(1, answer.size(1), dtype=torch.bool)  # (1, T)
    focus = focus_scores(captured[0].cpu(), image_mask, response_mask)[0].tolist()
    if layers is None:
        return focus
    steps = answer.size(1)
    shares = [
        output.attentions[layer][0, :, -steps:, :].float().cpu()[:, :, image_mask[0]].sum(-1).mean(0)  # (T,)
        for layer in layers
    ]
    return focus, (sum(shares) / len(shares)).tolist()


def batch_focus(model: Any, processor: Any, items: list[tuple[str, list, str]]) -> list[list[float]]:
    """`response_focus` of several (prompt, images, response) at once: sequences left-padded to one
    length, so every response ends at the last position; one forward for the batch."""
    import torch

    from vgpo_eval.focus import final_norm, focus_scores

    rows, pixels, grids, lengths = [], [], [], []
    for prompt, images, response in items:
        encoded = processor(text=[prompt], images=images or None, return_tensors="pt")
        answer = processor.tokenizer(response, add_special_tokens=False, return_tensors="pt")["input_ids"][0]
        types = encoded.get("mm_token_type_ids")
        rows.append((torch.cat([encoded["input_ids"][0], answer]),
                     None if types is None else torch.cat([types[0], torch.zeros_like(answer, dtype=types.dtype)])))  # fmt: skip
        pixels += [encoded["pixel_values"]] if "pixel_values" in encoded else []
        grids += [encoded["image_grid_thw"]] if "image_grid_thw" in encoded else []
        lengths.append(answer.numel())
    width, steps = max(ids.numel() for ids, _ in rows), max(lengths)
    pad = processor.tokenizer.pad_token_id or 0
    input_ids = torch.full((len(rows), width), pad, dtype=torch.long)  # (B, S) left-padded
    attention = torch.zeros_like(input_ids)  # (B, S)
    types = torch.zeros_like(input_ids) if rows[0][1] is not None else None
    for i, (ids, row_types) in enumerate(rows):
        input_ids[i, width - ids.numel() :], attention[i, width - ids.numel() :] = ids, 1
        if types is not None:
            types[i, width - ids.numel() :] = row_types
    inputs = {"input_ids": input_ids, "attention_mask": attention}
    inputs |= {"mm_token_type_ids": types} if types is not None else {}
    inputs |= {"pixel_values": torch.cat(pixels), "image_grid_thw": torch.cat(grids)} if pixels else {}
    response_mask = torch.zeros(len(rows), steps, dtype=torch.bool)  # (B, T) right-aligned responses
    image_mask = input_ids == model.config.image_token_id  # (B, S)
    for i, length in enumerate(lengths):
        response_mask[i, steps - length :] = True
        image_mask[i, width - length :] = False  # only the prompt's image tokens
    captured = []
    handle = final_norm(model).register_forward_hook(
        lambda module, args, output: captured.append(output.detach())
    )
    try:
        with torch.no_grad():
            model(**{k: v.to(model.device) for k, v in inputs.items()}, use_cache=False)
    finally:
        handle.remove()
    scores = focus_scores(captured[0].cpu(), image_mask, response_mask)  # (B, T)
    return [scores[i, steps - length :].tolist() if length else [] for i, length in enumerate(lengths)]


def analyse_run(
    run_dir: Path,
    model_dir: str,
    out: Path,
    protocol: str = "strict",
    limit: int | None = None,
    layers: list[int] | None = None,
    batch_size: int = 8,
) -> Path:
    """Focus of every scored response of a run (appending to out/focus.items.jsonl); returns that file."""
    import torch
    from tqdm import tqdm
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from vgpo_eval.prompts import load_images, render
    from vgpo_eval.run import read_run_responses, read_samples

    config = json.loads((run_dir / "config.json").read_text(encoding="utf-8"))["run"]
    decoding = config["decoding"]
    out.mkdir(parents=True, exist_ok=True)
    items_path = out / "focus.items.jsonl"
    done = {(r["id"], r["index"]) for r in _read(items_path)}
    processor = AutoProcessor.from_pretrained(model_dir)
    dtype = torch.bfloat16 if torch.cuda.is_available() else torch.float32
    eager = {"attn_implementation": "eager"} if layers is not None else {}  # attention weights need eager
    model = AutoModelForImageTextToText.from_pretrained(model_dir, dtype=dtype, **eager).eval()
    if torch.cuda.is_available():
        model = model.cuda()
    todo = []
    for samples_path in sorted(run_dir.glob("*.samples.jsonl")):
        task = samples_path.name.split(".")[0]
        verdicts = {
            (r["id"], r["index"]): bool(r.get("correct"))
            for r in _read(run_dir / f"{task}.scored.{protocol}.jsonl")
        }
        responses = read_run_responses(run_dir, task)
        samples = read_samples(samples_path)[:limit]
        todo += [(task, s, responses[(s.id, i)], verdicts.get((s.id, i)))
                 for s in samples for i in range(decoding["samples"])
                 if (s.id, i) in responses and responses[(s.id, i)].error is None and (s.id, i) not in done]  # fmt: skip
    with (
        open(items_path, "a", encoding="utf-8") as sink,
        tqdm(total=len(todo), desc="focus", unit="resp") as bar,
    ):
        for start in range(0, len(todo), batch_size if layers is None else 1):
            chunk = todo[start : start + (batch_size if layers is None else 1)]
            records, ready = [], []
            for task, sample, response, correct in chunk:
                record = {"id": sample.id, "index": response.index, "task": task, "correct": correct}
                try:
                    images = load_images(sample, decoding["min_pixels"], decoding["max_pixels"])
                    if not images:
                        raise ValueError("the prompt has no image: no visual focus to measure")
                    ready.append(
                        (
                            record,
                            (render(processor, sample, decoding["prompt"], images), images, response.text),
                        )
                    )
                except Exception as exc:  # noqa: BLE001 - one bad item is recorded, not a crash
                    record["error"] = f"{type(exc).__name__}: {exc}"[:300]
                records.append(record)
            _measure(model, processor, ready, layers)
            sink.writelines(json.dumps(record) + "\n" for record in records)
            sink.flush()
            bar.update(len(chunk))
    return items_path


def _measure(model: Any, processor: Any, ready: list[tuple[dict, tuple]], layers: list[int] | None) -> None:
    """Fill each record's scores (and attention): one batched forward, or item by item if that fails."""
    if layers is None and len(ready) > 1:
        try:
            for (record, _), scores in zip(
                ready, batch_focus(model, processor, [item for _, item in ready]), strict=True
            ):
                record["scores"] = scores
            return
        except Exception:  # noqa: BLE001 - find the item that breaks the batch, one at a time
            pass
    for record, (prompt, images, text) in ready:
        try:
            measured = response_focus(model, processor, prompt, images, text, layers)
            if layers is None:
                record["scores"] = measured
            else:
                record["scores"], record["attention"] = measured
        except Exception as exc:  # noqa: BLE001 - one bad item is recorded, not a crash
            record["error"] = f"{type(exc).__name__}: {exc}"[:300]


def write_outputs(items_path: Path, out: Path, model: str, threshold: float = 0.2) -> dict[str, Any]:
    """focus.json, a tidy focus.csv and focus.png from the per-item file."""
    import csv

    summary = aggregate([r for r in _read(items_path) if "scores" in r], threshold=threshold)
    (out / "focus.json").write_text(
        json.dumps({"model": model, "bins": BINS, "tasks": summary}, indent=2), encoding="utf-8"
    )
    with open(out / "focus.csv", "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["model", "task", "correct", "bin", "mean", "std", "n", "late_early", "sparsity"])
        for task, groups in summary.items():
            for label, g in groups.items():
                for k in range(BINS):
                    writer.writerow([model, task, label == "correct", k, g["mean"][k], g["std"][k], g["n"], g["late_early"], g["sparsity"]])  # fmt: skip
    plot([(model, summary)], out / "focus.png")
    return summary


def plot(runs: list[tuple[str, dict]], path: Path) -> None:
    """One panel per task: mean focus by relative position (a band of one std), correct solid, incorrect dashed."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    tasks = sorted({task for _, summary in runs for task in summary})
    columns = min(3, max(1, len(tasks)))
    rows = math.ceil(len(tasks) / columns) or 1
    fig, axes = plt.subplots(rows, columns, figsize=(4.2 * columns, 3.2 * rows), squeeze=False)
    xs = [(k + 0.5) / BINS for k in range(BINS)]
    for ax, task in zip(axes.flat, tasks, strict=False):
        for name, summary in runs:
            for label, style in (("correct", "-"), ("incorrect", "--")):
                g = summary.get(task, {}).get(label)
                if not g:
                    continue
                pts = [(x, m, s) for x, m, s in zip(xs, g["mean"], g["std"], strict=True) if m is not None]
                line = ax.plot(
                    [p[0] for p in pts], [p[1] for p in pts], style, label=f"{name} {label} (n={g['n']})"
                )[0]
                ax.fill_between([p[0] for p in pts], [p[1] - p[2] for p in pts], [p[1] + p[2] for p in pts],
                                color=line.get_color(), alpha=0.15)  # fmt: skip
        ax.set_title(task)
        ax.set_xlabel("relative position in the response")
        ax.set_ylabel("visual focus (cosine)")
        ax.legend(fontsize=6)
    for ax in list(axes.flat)[len(tasks) :]:
        ax.axis("off")
    fig.tight_layout()
    fig.savefig(path, dpi=110)
    plt.close(fig)


def markdown(summary: dict[str, Any]) -> str:
    """The report.md section: per task, late/early ratio and sparsity for correct and incorrect responses."""
    lines = [
        "## Visual focus",
        "",
        "| task | responses | late/early | tokens above threshold |",
        "|---|---|---|---|",
    ]
    for task, groups in summary.items():
        for label, g in groups.items():
            ratio = "-" if g["late_early"] is None else f"{g['late_early']:.3f}"
            lines.append(f"| {task} ({label}) | {g['n']} | {ratio} | {100 * g['sparsity']:.1f}% |")
    return (
        "\n".join(lines)
        + "\n\nFocus by relative position: focus.png, focus.csv (late/early < 1: focus fades).\n"
    )


def _read(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]
