"""Training data for TRL: vgpo tasks (ViRL39K by default) as a `datasets.Dataset` of conversations.

Each row: `prompt` (a user turn with one image slot per image and the question followed by the
paper's training suffix), `images` (PIL, resized into [min_pixels, max_pixels]), and the columns
the reward reads: `answer`, `choices`, `answer_type`, `precision`, plus `id`, the group key.

Images are decoded lazily: the dataset stores their paths (`image_paths`) and a transform decodes
and resizes a row's images when the trainer reads it, so no process decodes the ~39K training
images up front. Only each image's header is read when the data is built (unreadable ones are left
out and counted), and the prompt-length filter works from the header sizes.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from vgpo_eval.prompts import fit_pixels, load_image, user_text, visual_tokens
from vgpo_eval.task import DataError, load


class DecodeImages:
    """The dataset transform: a row's `image_paths` -> `images` (RGB PIL inside the pixel bounds)."""

    def __init__(self, min_pixels: int, max_pixels: int):
        self.min_pixels, self.max_pixels = min_pixels, max_pixels

    def __call__(self, batch: dict[str, list]) -> dict[str, list]:
        if "image_paths" not in batch:
            return batch
        images = [[load_image(path, self.min_pixels, self.max_pixels, str(key)) for path in paths]
                  for key, paths in zip(batch.get("id", [""] * len(batch["image_paths"])), batch["image_paths"],
                                        strict=True)]  # fmt: skip
        return {**batch, "images": images}


def training_dataset(task_name: str = "virl39k", source: str = "papo", data_dir: str | Path | None = None,
                     limit: int | None = None, prompt: str = "train", min_pixels: int = 262_144,
                     max_pixels: int = 4_194_304, origin: dict | None = None):  # fmt: skip
    """The task's samples as TRL rows (images decoded on access); items whose images cannot be read are
    left out (and counted). `origin`, when given, receives where the rows came from (dataset, split,
    the revision asked for and the hub commit it resolved to)."""
    import datasets
    from PIL import Image

    from vgpo_tasks import TASKS

    if task_name not in TASKS:
        raise ValueError(f"unknown task {task_name!r}; known: {', '.join(TASKS)}")
    loaded = load(TASKS[task_name], source, data_dir, limit)
    if origin is not None:
        origin.update(loaded.origin)
    rows, skipped = [], [*loaded.errors]
    for sample in loaded.samples:
        sizes = []
        try:
            for path in sample.images:
                with Image.open(path) as img:  # the header only: the pixels are decoded on access
                    sizes.append(fit_pixels(*img.size, min_pixels, max_pixels))
        except (OSError, ValueError) as exc:
            skipped.append(f"{sample.id}: cannot read image {path}: {exc}")  # load_image's wording
            continue
        content = [{"type": "image"} for _ in sizes] + [{"type": "text", "text": user_text(sample, prompt)}]
        rows.append({
            "id": sample.id, "prompt": [{"role": "user", "content": content}],
            "image_paths": [str(path) for path in sample.images], "image_sizes": [list(size) for size in sizes],
            "answer": sample.answer, "choices": list(sample.choices) if sample.choices else None,
            "answer_type": sample.answer_type, "precision": sample.precision,
        })  # fmt: skip
    if not rows:
        raise DataError(f"{task_name}: no usable training rows ({len(skipped)} skipped): {skipped[:3]}")
    return datasets.Dataset.from_list(rows).with_transform(DecodeImages(min_pixels, max_pixels)), skipped


def prompt_length(row: dict, processor: Any) -> int:
    """Tokens of the row's prompt as the processor builds it, image tokens included, from the images'
    sizes alone (no pixels decoded): each image slot of the chat text expands to its visual tokens."""
    text = processor.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True)
    ids = processor.tokenizer(text)["input_ids"]
    ip = processor.image_processor
    low = getattr(ip, "min_pixels", None) or ip.size["shortest_edge"]
    high = getattr(ip, "max_pixels", None) or ip.size["longest_edge"]
    extra = sum(
        visual_tokens(w, h, low, high, ip.patch_size, ip.merge_size)[2] - 1 for w, h in row["image_sizes"]
    )
    return len(ids) + extra


def drop_overlong(rows, processor, max_tokens: int):
    """The rows whose prompt, image tokens included, fits in `max_tokens` (the reference drops longer
    ones from the data), and how many were dropped. Reads no pixels."""
    raw = rows.with_format(None)  # the stored columns, without decoding the images
    keep = [i for i, row in enumerate(raw) if prompt_length(row, processor) <= max_tokens]
    return rows.select(keep), len(rows) - len(keep)
