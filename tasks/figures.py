"""Pictures with known answers for the synthetic datasets: shapes to count, bar charts, right
triangles, triangles with labelled angles, rectangles with labelled sides, each a `Problem`
(picture, question, gold value, options). Used by `tasks.synthetic`.
"""

from __future__ import annotations

import math
import random
from dataclasses import dataclass

from PIL import Image, ImageDraw

from vgpo_eval.rows import LETTERS

KINDS = ("circle", "square", "triangle")
COLORS = ("red", "blue", "green", "orange", "purple", "brown")
FRUITS = ("apple", "pear", "plum", "fig", "kiwi", "lime", "date", "peach", "mango", "grape")
TRIPLES = ((3, 4), (6, 8), (5, 12), (8, 15), (9, 12))
LEGS = ((2, 3), (2, 5), (3, 5), (4, 5), (5, 6), (3, 8))  # a^2 + b^2 square-free: an irrational hypotenuse


@dataclass(frozen=True)
class Problem:
    """One picture, its question, its gold value (the option text for multiple choice), its options."""

    image: Image.Image
    question: str
    value: str
    options: list[str] | None = None
    given: str = ""  # the drawn data in words, for question versions that state it

    @property
    def gold(self) -> str:
        return LETTERS[self.options.index(self.value)] if self.options else self.value

    @property
    def prompt(self) -> str:
        """The question with its options written in, as a ShareGPT user turn carries it."""
        lines = [f"{LETTERS[i]}. {option}" for i, option in enumerate(self.options or ())]
        return self.question + ("\nChoices:\n" + "\n".join(lines) if lines else "")


def new_canvas(width: int = 160, height: int = 120) -> tuple[Image.Image, ImageDraw.ImageDraw]:
    image = Image.new("RGB", (width, height), "white")
    return image, ImageDraw.Draw(image)


def write_labels(draw: ImageDraw.ImageDraw, *labels: tuple[tuple[int, int], str]) -> None:
    for xy, text in labels:
        draw.text(xy, text, fill="black")


def draw_shape(draw: ImageDraw.ImageDraw, kind: str, box: tuple[int, int, int, int], color: str) -> None:
    x0, y0, x1, y1 = box
    if kind == "circle":
        draw.ellipse(box, fill=color)
    elif kind == "square":
        draw.rectangle(box, fill=color)
    else:
        draw.polygon([((x0 + x1) // 2, y0), (x1, y1), (x0, y1)], fill=color)


def shapes_picture(rng: random.Random, kinds: list[str]) -> Image.Image:
    """Shapes in distinct cells of a 4x3 grid of 32 px, so that no two touch (at most 12)."""
    image, draw = new_canvas(128, 96)
    for kind, cell in zip(kinds, rng.sample(range(12), len(kinds)), strict=True):
        x, y = cell % 4 * 32 + 6, cell // 4 * 32 + 6
        draw_shape(draw, kind, (x, y, x + 20, y + 20), rng.choice(COLORS))
    return image


def panels_picture(contents: list[list[str]]) -> Image.Image:
    """Four panels labelled A-D, each holding up to four black shapes (LogicVista draws its options)."""
    image, draw = new_canvas(160, 62)
    for p, kinds in enumerate(contents):
        draw.rectangle((p * 40 + 2, 2, p * 40 + 38, 46), outline="black")
        write_labels(draw, ((p * 40 + 17, 48), LETTERS[p]))
        for j, kind in enumerate(kinds):
            x, y = p * 40 + 6 + j % 2 * 16, 6 + j // 2 * 20
            draw_shape(draw, kind, (x, y, x + 12, y + 12), "black")
    return image


def with_caption(image: Image.Image, lines: list[str]) -> Image.Image:
    """The picture with text lines below it (a question drawn into the image)."""
    out, draw = new_canvas(image.width, image.height + 12 * len(lines))
    out.paste(image)
    write_labels(draw, *(((4, image.height + 12 * j), line) for j, line in enumerate(lines)))
    return out


def distractors(rng: random.Random, gold: int, k: int, fmt: str = "{}", step: int = 1) -> list[str]:
    """k distinct positive multiples of `step` near the gold, the gold at a random position."""
    pool = [v * step for v in range(max(1, gold // step - k), gold // step + k + 1) if v * step != gold]
    values = rng.sample(pool, k - 1)
    values.insert(rng.randrange(k), gold)
    return [fmt.format(v) for v in values]


def count_problem(rng: random.Random, mixed: bool = False, n_options: int = 0) -> Problem:
    """k shapes; mixed: count every item, else count one kind among up to three distractors."""
    k, kind = rng.randint(2, 8), rng.choice(KINDS)
    if mixed:
        kinds = [rng.choice(KINDS) for _ in range(k)]
    else:
        kinds = [kind] * k + [rng.choice([x for x in KINDS if x != kind]) for _ in range(rng.randint(0, 3))]
    question = f"How many {'item' if mixed else kind}s are there in the image?"
    return Problem(
        shapes_picture(rng, kinds), question, str(k), distractors(rng, k, n_options) if n_options else None
    )


def bars_problem(rng: random.Random, ask: str, n_options: int = 4) -> Problem:
    """A bar chart of four fruits with distinct values written on the bars; ask: label, value or list."""
    labels, values = rng.sample(FRUITS[:6], 4), rng.sample(range(1, 10), 4)
    image, draw = new_canvas()
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        draw.rectangle((8 + i * 38, 100 - 8 * value, 32 + i * 38, 100), fill=COLORS[i])
        write_labels(draw, ((16 + i * 38, 88 - 8 * value), str(value)), ((8 + i * 38, 104), label))
    tallest = labels[values.index(max(values))]
    if ask == "label":
        options = labels + [f for f in rng.sample(FRUITS, len(FRUITS)) if f not in labels][: n_options - 4]
        return Problem(image, "Which fruit has the tallest bar?", tallest, rng.sample(options, n_options))
    if ask == "value":
        return Problem(image, "What is the value of the tallest bar?", str(max(values)))
    return Problem(image, "List the values of the bars from left to right.", str(values))


def hypotenuse_problem(rng: random.Random, form: str = "int") -> Problem:
    """A right triangle with its legs labelled; x is the hypotenuse (form: int, float or sqrt)."""
    a, b = rng.choice(TRIPLES if form == "int" else LEGS)
    c2 = a * a + b * b
    image, draw = new_canvas()
    draw.polygon([(30, 100), (130, 100), (30, 20)], outline="black")
    draw.rectangle((30, 92, 38, 100), outline="black")
    write_labels(draw, ((14, 54), str(a)), ((76, 104), str(b)), ((84, 50), "x"))
    value = {"int": str(math.isqrt(c2)), "float": f"{math.sqrt(c2):.1f}", "sqrt": f"\\sqrt{{{c2}}}"}[form]
    return Problem(image, "The legs of the right triangle are labelled. Find x, its hypotenuse.", value)


def angle_problem(rng: random.Random, n_options: int = 0, unknown: str = "?") -> Problem:
    """Triangle ABC with angles A and B labelled in degrees; the gold is angle C."""
    a, b = rng.sample(range(30, 80, 5), 2)
    image, draw = new_canvas()
    draw.polygon([(20, 100), (140, 100), (60, 20)], outline="black")
    write_labels(draw, ((8, 100), "A"), ((144, 100), "B"), ((56, 6), "C"), ((54, 32), unknown))
    write_labels(draw, ((32, 86), f"{a}°"), ((108, 86), f"{b}°"))
    c = 180 - a - b
    options = distractors(rng, c, n_options, "{}°", step=5) if n_options else None
    given = f"angle A = {a}°, angle B = {b}°"
    question = "Find the measure of angle C." if unknown == "?" else "Find x."
    return Problem(image, question, f"{c}°" if options else str(c), options, given)


def rectangle_picture(length: int, width: int) -> Image.Image:
    image, draw = new_canvas()
    height = max(16, round(70 * width / length))
    draw.rectangle((20, 30, 110, 30 + height), outline="black")
    write_labels(draw, ((50, 16), f"{length} cm"), ((114, 24 + height // 2), f"{width} cm"))
    return image


def perimeter_problem(rng: random.Random) -> Problem:
    length, width = rng.randint(4, 12), rng.randint(2, 3)
    question = "What is the perimeter of the rectangle, in cm?"
    return Problem(rectangle_picture(length, width), question, str(2 * (length + width)))
