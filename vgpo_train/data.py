"""Training data for TRL: vgpo tasks (ViRL39K by default) as a `datasets.Dataset` of conversations.

Each row: `prompt` (a user turn with one image slot per image and the question followed by the
paper's training suffix), `images` (PIL, resized into [min_pixels, max_pixels]), and the columns
the reward reads: `answer`, `choices`, `answer_type`, `precision`, plus `id`, the group key.
"""

from __future__ import annotations

from pathlib import Path

from vgpo_eval.prompts import load_images, user_text
from vgpo_eval.task import DataError, load


def training_dataset(task_name: str = "virl39k", source: str = "papo", data_dir: str | Path | None = None,
                     limit: int | None = None, prompt: str = "train", min_pixels: int = 262_144,
                     max_pixels: int = 4_194_304):  # fmt: skip
    """The task's samples as TRL rows; items whose images cannot be read are left out (and counted)."""
    import datasets

    from vgpo_tasks import TASKS

    if task_name not in TASKS:
        raise ValueError(f"unknown task {task_name!r}; known: {', '.join(TASKS)}")
    loaded = load(TASKS[task_name], source, data_dir, limit)
    rows, skipped = [], [*loaded.errors]
    for sample in loaded.samples:
        try:
            images = load_images(sample, min_pixels, max_pixels)
        except DataError as exc:
            skipped.append(str(exc))
            continue
        content = [{"type": "image"} for _ in images] + [{"type": "text", "text": user_text(sample, prompt)}]
        rows.append({
            "id": sample.id, "prompt": [{"role": "user", "content": content}], "images": images,
            "answer": sample.answer, "choices": list(sample.choices) if sample.choices else None,
            "answer_type": sample.answer_type, "precision": sample.precision,
        })  # fmt: skip
    if not rows:
        raise DataError(f"{task_name}: no usable training rows ({len(skipped)} skipped): {skipped[:3]}")
    return datasets.Dataset.from_list(rows), skipped


def drop_overlong(rows, processor, max_tokens: int):
    """The rows whose prompt, image tokens included, fits in `max_tokens` (the reference drops longer
    ones from the data), and how many were dropped."""

    def length(row) -> int:
        text = processor.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True)
        return processor(text=[text], images=row["images"] or None, return_tensors="pt")["input_ids"].shape[1]

    keep = [i for i, row in enumerate(rows) if length(row) <= max_tokens]
    return rows.select(keep), len(rows) - len(keep)
