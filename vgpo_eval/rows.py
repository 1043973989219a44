"""Row helpers shared by the task modules: ShareGPT rows, options written in question text, letters.

The exact rows of PAPO-Galaxy/PAPO_eval could not be inspected when this was written, so
`sharegpt_sample` is tolerant where the issue says rows may vary (an `<image>` placeholder in
the user turn, options written inside the question, the gold answer as the assistant turn,
one or several images, `role`/`content` or `from`/`value` keys) and raises `DataError`
naming the row on anything else.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from vgpo_eval.instructions import PROMPTS
from vgpo_eval.types import Sample

if TYPE_CHECKING:  # for the annotation only: `task` imports this module, never the reverse
    from vgpo_eval.task import Task

LETTERS = "ABCDEFGHIJ"
_IMAGE_TAG = re.compile(r"<image>|<image \d+>|<\|image_pad\|>")
_BOXED = re.compile(r"^\\boxed\{(.*)\}$", re.S)
# "A:40°" / "A. 40°" / "(A) 40°" / "A) 40°" at the start of a line or after ";"
_OPTION_LINE = re.compile(
    r"(?:^|\n|;)\s*\(?([A-J])\s*[:.)：]\s*(.*?)\s*(?=(?:\n|;)\s*\(?[A-J]\s*[:.)：]|$)", re.S
)
_CHOICES_BLOCK = re.compile(r"(?:Choices|Options)\s*:?\s*\n?(.*)$", re.S | re.I)


def cache_dir() -> Path:
    """Where extracted images and converted datasets live: $VGPO_CACHE, else ~/.cache/vgpo."""
    return Path(os.environ.get("VGPO_CACHE", Path.home() / ".cache" / "vgpo"))


class DataError(Exception):
    """A dataset, file or row that cannot be used; the message names the task and the item."""


@dataclass
class Context:
    """What a converter needs besides the row: the task, the row's position, where images live."""

    task: Task
    index: int
    image_root: Path | None = None
    cache: Path | None = None
    extra: dict[str, Any] = field(default_factory=dict)
    # local rows: the folder (--data-dir) every image path must resolve inside; None: any path
    inside: Path | None = None
    inside_name: str = "--data-dir"  # what that folder is, for the error

    def image(self, value: Any, name: str) -> str:
        """A local path for an image given as a path (relative to the image root), bytes or PIL image."""
        if value is None:
            raise DataError(f"{self.task.name} row {self.index}: no image")
        if isinstance(value, dict) and value.get("path") and not value.get("bytes"):
            value = value["path"]
        if isinstance(value, str | os.PathLike):
            return self.confined(self.joined(value), value)
        folder = (self.cache or Path(".")) / self.task.name / "images"
        folder.mkdir(parents=True, exist_ok=True)
        target = folder / f"{name.replace('/', '_')}.png"
        if not target.exists():
            _save_image(value, target)
        return str(target)

    def joined(self, value: str | os.PathLike) -> str:
        """An image path as given: absolute, or relative to the image root."""
        path = Path(value)
        return str(path if path.is_absolute() or self.image_root is None else self.image_root / path)

    def confined(self, path: str, value: Any) -> str:
        """`path`, when it resolves inside `inside` (links followed, so a link out of the folder is out); a
        row is untrusted input, and an image is sent to the model (or a server) as it is read."""
        if self.inside is None:
            return path
        resolved = Path(path).resolve()
        if resolved.is_relative_to(self.inside.resolve()):
            return path
        raise DataError(
            f"{self.task.name} row {self.index}: image {str(value)!r} is outside {self.inside_name} {self.inside} "
            f"(it resolves to {resolved}); pass --allow-outside-images to read it anyway"
        )


def _save_image(value: Any, target: Path) -> None:
    data = value.get("bytes") if isinstance(value, dict) else value
    if isinstance(data, bytes | bytearray):
        target.write_bytes(data)
    elif hasattr(data, "save"):
        data.save(target)
    else:
        raise DataError(f"cannot store an image of type {type(data).__name__} at {target}")


def sharegpt_sample(row: dict, ctx: Context) -> Sample:
    """A ShareGPT row (PAPO_eval, Look-Back's GeoMath) as a Sample."""
    name = f"{ctx.task.name} row {ctx.index}"
    messages = row.get("messages") or row.get("conversations")
    if not isinstance(messages, list) or not messages:
        raise DataError(f"{name}: no 'messages' list")
    turns = {_role(m, name): _content(m, name) for m in messages}
    if "user" not in turns or "assistant" not in turns:
        raise DataError(f"{name}: needs a user turn and an assistant turn, found {sorted(turns)}")
    images = row.get("images") or ([] if row.get("image") is None else [row["image"]])
    if not isinstance(images, list):
        raise DataError(f"{name}: 'images' must be a list, not {type(images).__name__}")
    meta = {k: v for k, v in row.items() if k not in ("messages", "conversations", "images", "image")}
    ident = str(row.get("id", ctx.index))
    if ctx.extra.get("sharegpt") == "verbatim":  # as Look-Back reads them: the text as is, the first image
        return _text_sample(
            ctx, ident, turns["user"], turns["assistant"], images[:1], meta, keep_markers=True
        )
    question, stripped = strip_instruction(turns["user"])
    if stripped:
        meta["stripped_instruction"] = stripped  # the prompt variant appends its own, once
    return _text_sample(ctx, ident, question, turns["assistant"], images, meta)


def strip_instruction(text: str) -> tuple[str, str | None]:
    """The user turn without a known instruction at its end (PAPO_eval's turns end with PAPO's), and the
    name of the variant removed; whitespace inside the instruction may differ from ours."""
    flat = " ".join(text.split())
    for name, instruction in PROMPTS.items():
        if flat.endswith(" ".join(instruction.split())):
            words = instruction.split()
            pattern = r"\s*" + r"\s+".join(map(re.escape, words)) + r"\s*$"
            return re.sub(pattern, "", text), name
    return text, None


def _text_sample(
    ctx: Context, ident: str, question: str, answer: str, images: list, meta: dict, keep_markers: bool = False
) -> Sample:
    """A Sample from a question text (image tags dropped unless kept, options parsed) and a gold answer text."""
    answer = gold_answer(answer)
    question = question if keep_markers else _IMAGE_TAG.sub("", question).strip()
    letters = is_letter_answer(answer)
    return Sample(
        id=f"{ctx.task.name}/{ident}",
        task=ctx.task.name,
        question=question,
        answer=answer,
        images=tuple(resolve_image(ctx, img, f"{ident}_{k}") for k, img in enumerate(images)),
        answer_type="choice" if letters else None,
        choices=parse_choices(question) if letters else None,
        meta=meta,
    )


def _role(message: dict, name: str) -> str:
    role = message.get("role", message.get("from")) if isinstance(message, dict) else None
    role = {"human": "user", "gpt": "assistant"}.get(role, role)
    if role not in ("system", "user", "assistant"):
        raise DataError(f"{name}: unknown message role {role!r}")
    return role


def _content(message: dict, name: str) -> str:
    content = message.get("content", message.get("value"))
    if isinstance(content, list):  # [{"type": "text", "text": ...}, {"type": "image"}]
        content = "".join(part.get("text", "") for part in content if isinstance(part, dict))
    if not isinstance(content, str):
        raise DataError(f"{name}: message content must be text")
    return content


def gold_answer(text: str) -> str:
    """The canonical gold from an assistant turn: stripped, unboxed, a bare option letter upper-cased."""
    answer = text.strip()
    m = _BOXED.match(answer)
    if m:
        answer = m.group(1).strip()
    m = re.fullmatch(r"\(?([A-Ja-j])\)?\.?", answer)
    return m.group(1).upper() if m else answer


def is_letter_answer(answer: str) -> bool:
    """ "C", or several letters "A, C" (multi-select)."""
    return bool(re.fullmatch(r"[A-J](?:\s*,\s*[A-J])*", answer))


def parse_choices(question: str) -> tuple[str, ...] | None:
    """Option texts written in a question ("Choices:\\nA:40°\\nB:60°", "A. 300;B. 400"), in letter order."""
    block = _CHOICES_BLOCK.search(question)
    text = block.group(1) if block else question
    found = _OPTION_LINE.findall(text)
    letters = [letter for letter, _ in found]
    if len(found) < 2 or letters != list(LETTERS[: len(found)]):
        return None
    return tuple(option.strip() for _, option in found)


def letter_of(answer: str, choices: list[str] | tuple[str, ...], name: str) -> str:
    """The letter of the option whose text is `answer` (MathVista stores the text)."""
    for i, option in enumerate(choices):
        if str(option).strip() == str(answer).strip():
            return LETTERS[i]
    raise DataError(f"{name}: the answer {answer!r} is not one of its choices")


def problem_sample(row: dict, ctx: Context, meta_keys: tuple[str, ...] = ()) -> Sample:
    """An EasyR1-style row ({problem | question, answer, images | image}) as a Sample; ShareGPT rows too."""
    if "messages" in row or "conversations" in row:
        return sharegpt_sample(row, ctx)
    name = f"{ctx.task.name} row {ctx.index}"
    question = row.get("problem", row.get("question"))
    answer = row.get("answer", row.get("solution", row.get("ground_truth")))
    if not isinstance(question, str) or answer is None:
        raise DataError(f"{name}: needs a question ('problem' or 'question') and an 'answer'")
    images = row.get("images", row.get("image", row.get("image_path")))
    images = [] if images is None else images if isinstance(images, list) else [images]
    ident = str(row.get("id", row.get("pid", row.get("qid", ctx.index))))
    return _text_sample(ctx, ident, question, str(answer), images, {k: row[k] for k in meta_keys if k in row})


def resolve_image(ctx: Context, value, name: str) -> str:
    """A local image path: as given; relative to the image root, also without a leading "./data/images/"
    (PAPO_eval rows name paths from its repository root, its zips hold them from the images folder); or,
    failing that, the one file of that name under the root. Two files of that name: an error naming the row.
    The path found must lie inside `ctx.inside` when that is set (Context.confined)."""
    if not isinstance(value, str) or ctx.image_root is None:
        return ctx.image(value, name)
    path = ctx.joined(value)
    return ctx.confined(path if Path(path).exists() else _search(ctx, value, path), value)


def _search(ctx: Context, value: str, path: str) -> str:
    """Where an image path that is not at `path` is under the image root (see resolve_image); `path` if nowhere."""
    relative = Path(value.replace("\\", "/"))
    parts = [p for p in relative.parts if p not in (".", "")]
    for k in range(len(parts)):
        for base in (ctx.image_root, ctx.image_root / "images"):
            candidate = base.joinpath(*parts[k:])
            if candidate.is_file():
                return str(candidate)
    index = ctx.extra.get("by_name") or _index(ctx)
    found = index.get(relative.name, [])
    if len(found) > 1:
        raise DataError(
            f"{ctx.task.name} row {ctx.index}: image {value!r} is not at that path under {ctx.image_root}, "
            f"and {len(found)} files there are named {relative.name} ({', '.join(map(str, found[:3]))})"
        )
    return str(found[0]) if found else path


def _index(ctx: Context) -> dict[str, list[Path]]:
    """File name -> every path with that name under the image root (built once per load)."""
    index: dict[str, list[Path]] = {}
    for p in sorted(ctx.image_root.rglob("*")):
        if p.is_file():
            index.setdefault(p.name, []).append(p)
    ctx.extra["by_name"] = index
    return index


def option_lines(choices: list[str] | tuple[str, ...]) -> str:
    """ "A. first\\nB. second" for a question that lists its options."""
    return "\n".join(f"{LETTERS[i]}. {option}" for i, option in enumerate(choices))
