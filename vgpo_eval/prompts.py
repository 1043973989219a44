"""Prompts: a Sample -> chat messages, and images resized into the paper's pixel bounds.

The paper's evaluation prompt (Qwen2.5-VL template, docs/protocol.md): system
"You are a helpful assistant."; user = the image(s), then the question, a space and the
instruction. The instruction is named by a variant: `lookback` (the default, Look-Back's
script, which the paper says it follows) or `train` (the training prompt suffix, the other
plausible choice). Backends render the messages with the processor's own chat template.
"""

from __future__ import annotations

import math
from typing import Any

from vgpo_eval.instructions import PROMPTS, SEPARATORS, SYSTEM  # noqa: F401 - re-exported
from vgpo_eval.task import DataError
from vgpo_eval.types import Sample

RAW = "raw"  # a judge's prompt: the question text is the whole user turn (no system message, instruction or image)
MIN_PIXELS = 262_144  # 512 * 512
MAX_PIXELS = 1_000_000  # evaluation; training allows up to 4,194,304


def user_text(sample: Sample, variant: str = "lookback") -> str:
    """The text of the user turn: the question, then the variant's separator (Look-Back's evaluation: a
    space; VGPO's training template: the stripped question and a blank line), then the instruction."""
    if variant == RAW:
        return sample.question
    if variant not in PROMPTS:
        raise ValueError(f"unknown prompt variant {variant!r}; choose one of {', '.join(PROMPTS)}")
    question = sample.question.strip() if variant == "train" else sample.question
    return f"{question}{SEPARATORS[variant]}{PROMPTS[variant]}"


def messages(sample: Sample, variant: str = "lookback", images: list[Any] | None = None) -> list[dict]:
    """Chat messages in the transformers format; `images` (loaded PIL images) replace the paths if given. The
    RAW variant is one plain user turn, as a text model's chat template (a verifier's) expects it."""
    if variant == RAW:
        return [{"role": "user", "content": sample.question}]
    content = [{"type": "image", "image": img} for img in (images if images is not None else sample.images)]
    content.append({"type": "text", "text": user_text(sample, variant)})
    return [
        {"role": "system", "content": [{"type": "text", "text": SYSTEM}]},
        {"role": "user", "content": content},
    ]


def fit_pixels(
    width: int, height: int, min_pixels: int = MIN_PIXELS, max_pixels: int = MAX_PIXELS
) -> tuple[int, int]:
    """The size Look-Back resizes an image to: scaled down into max_pixels, then up into min_pixels,
    aspect kept, each side truncated with int() (so 300x200 becomes 627x418); unchanged inside the bounds."""
    if width * height > max_pixels:
        scale = math.sqrt(max_pixels / (width * height))
        width, height = max(1, int(width * scale)), max(1, int(height * scale))
    if width * height < min_pixels:
        scale = math.sqrt(min_pixels / (width * height))
        width, height = max(1, int(width * scale)), max(1, int(height * scale))
    return width, height


def visual_tokens(width: int, height: int, min_pixels: int = 3136, max_pixels: int = 12_845_056, patch: int = 14,
                  merge: int = 2) -> tuple[int, int, int]:  # fmt: skip
    """(width, height, tokens) of an image after a Qwen2-VL / Qwen2.5-VL processor with these settings (its
    defaults here): each side rounded to a multiple of patch*merge, the area brought into the bounds."""
    unit = patch * merge
    w, h = max(unit, round(width / unit) * unit), max(unit, round(height / unit) * unit)
    if w * h > max_pixels:
        shrink = math.sqrt(width * height / max_pixels)
        w, h = (
            max(unit, math.floor(width / shrink / unit) * unit),
            max(unit, math.floor(height / shrink / unit) * unit),
        )
    elif w * h < min_pixels:
        grow = math.sqrt(min_pixels / (width * height))
        w, h = math.ceil(width * grow / unit) * unit, math.ceil(height * grow / unit) * unit
    return w, h, (w // unit) * (h // unit)


def load_images(sample: Sample, min_pixels: int = MIN_PIXELS, max_pixels: int = MAX_PIXELS) -> list:
    """The sample's images as RGB PIL images inside the pixel bounds; DataError naming the item if one is bad."""
    return [load_image(path, min_pixels, max_pixels, sample.id) for path in sample.images]


def load_image(path: str, min_pixels: int = MIN_PIXELS, max_pixels: int = MAX_PIXELS, item: str = "") -> Any:
    """One image as an RGB PIL image inside the pixel bounds; DataError naming the item if it is bad."""
    from PIL import Image

    try:
        with Image.open(path) as img:
            img = img.convert("RGB")
    except (OSError, ValueError) as exc:
        raise DataError(f"{item}: cannot read image {path}: {exc}") from exc
    size = fit_pixels(*img.size, min_pixels, max_pixels)
    return img if size == img.size else img.resize(size, Image.Resampling.BICUBIC)


def render(processor: Any, sample: Sample, variant: str = "lookback", images: list[Any] | None = None) -> str:
    """The prompt text through the processor's chat template, ready for generation; `images` (the loaded
    ones, when given) decide the image slots, so the text always matches the pixels sent with it."""
    chat = messages(sample, variant, images)
    return processor.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
