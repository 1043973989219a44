"""Synthetic datasets for every task, in each benchmark's real row schema, with pictures and known golds.

Tests and the offline CPU demo need rows for every task without network. This module draws small
pictures with PIL (shapes to count, bar charts, right triangles, triangles with labelled angles,
rectangles with labelled sides), computes each gold from the numbers it drew, and writes the rows
in the local layout the task's `local_files` names: the benchmark's upstream rows in its first
local file (`schema="upstream"`), or PAPO_eval's ShareGPT rows in its first .jsonl file
(`schema="papo"`), images beside; or, for the tasks Look-Back's evaluation archive holds, in that
archive's layout (`schema="lookback"`: out_dir is its eval_data folder, `Task.archive` says where each
task's rows and images go). `answers.json` maps each sample id to its gold. Write one schema per
folder (the task's first local file wins when both are there).

    python -m tasks.synthetic /tmp/synth --n 4 --schema upstream
    vgpo_eval.task.load(TASKS["counting"], "local", "/tmp/synth")
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial
from pathlib import Path

from PIL import Image

from vgpo_eval.rows import LETTERS
from vgpo_tasks import TASKS, resolve
from vgpo_tasks.figures import (
    Problem,
    angle_problem,
    bars_problem,
    count_problem,
    distractors,
    hypotenuse_problem,
    panels_picture,
    perimeter_problem,
    rectangle_picture,
    with_caption,
)

LOCAL_SCHEMAS = ("upstream", "papo")  # what --source local reads
SCHEMAS = (*LOCAL_SCHEMAS, "lookback")
VERSIONS = ("Text Dominant", "Text Lite", "Vision Intensive", "Vision Dominant", "Vision Only")
KEYED = ("mathvista", "logicvista")  # their upstream files are dicts keyed by the row id
MATHVISTA_META = {  # chart: True for a bar chart, False for a geometry diagram
    True: {"task": "figure question answering", "context": "bar chart", "skills": ["statistical reasoning"]},
    False: {
        "task": "geometry problem solving",
        "context": "geometry diagram",
        "skills": ["geometry reasoning"],
    },
}


@dataclass(frozen=True)
class Row:
    """One synthetic row: the upstream row, its pictures (relative path -> image), its id and gold."""

    upstream: dict
    images: dict[str, Image.Image]
    ident: str  # the id the task's converter gives the upstream row, after "<task>/"
    gold: str  # canonical: the option letter(s), else the value
    prompt: str  # the ShareGPT user turn


def _mathverse(rng: random.Random, n: int, versions: tuple[str, ...] = VERSIONS) -> list[Row]:
    """Triangle-angle problems, alternately multi-choice and free-form, cycling through `versions`."""
    rows = []
    for i in range(n):
        version, multi, problem = versions[i % len(versions)], i % 2 == 0, i + 1
        p, k = angle_problem(rng, 4 if multi else 0), VERSIONS.index(version) + 1
        choices = "\nChoices:\n" + "\n".join(f"{LETTERS[j]}:{o}" for j, o in enumerate(p.options or ()))
        text = {
            "Text Dominant": f"As shown in the figure, in triangle ABC, {p.given}. {p.question}",
            "Text Lite": f"In triangle ABC, {p.given.split(',')[0]}. {p.question}",
            "Vision Intensive": f"In triangle ABC, {p.question[0].lower()}{p.question[1:]}",
        }.get(version, p.question if version == "Vision Dominant" else "")
        question = text + (choices if multi and text else "")
        ask = "the correct option letter, e.g., A, B, C, D" if multi else "the final value, e.g., 1, 2.5, 300"
        cot = f"first conduct reasoning, and then answer the question and provide {ask}, at the end."
        lead = "Please" if text else "According to the question shown in the image, please"
        query = f"{lead} {cot}" + (f"\nQuestion: {question}" if text else "")
        image = p.image if text else with_caption(p.image, [p.question, choices[10:].replace("\n", "  ")])
        folder = "images_version_1-4" if k <= 3 else f"images_version_{k + 1}"
        row = {"sample_index": str(i * 5 + k), "problem_index": str(problem), "problem_version": version}
        row |= {"question": question, "image": f"{folder}/image_{problem}.png", "answer": p.gold}
        row |= {"question_type": "multi-choice" if multi else "free-form", "query_cot": query}
        row |= {"metadata": {"source": "synthetic", "subject": "Plane Geometry", "subfield": "Angle"}}
        prompt = question or p.question + (choices if multi else "")
        rows.append(Row(row, {f"images/{row['image']}": image}, row["sample_index"], p.gold, prompt))
    return rows


def _groups(n: int) -> list[int]:
    """Group sizes summing to n: whole 2-step (3 rows) and 3-step (4 rows) problems where possible."""
    for two in range(n // 3, -1, -1):
        if (n - 3 * two) % 4 == 0:
            return [3] * two + [4] * ((n - 3 * two) // 4)
    return [3] * (n // 3 + 1)  # n = 1, 2 or 5: the last group is cut short


def _wemath(rng: random.Random, n: int) -> list[Row]:
    """A rectangle per problem: length, width (and perimeter) as one-step questions, then the multi-step one."""
    rows = []
    for g, size in enumerate(_groups(n), 1):
        steps, width = size - 1, rng.randint(2, 3)
        length = width + 2 * rng.randint(1, 4)  # an even perimeter / 2: the square below has a whole side
        asks = [("length of", length), ("width of", width), ("perimeter of", 2 * (length + width))]
        square = ("side of a square with the same perimeter as", (length + width) // 2)
        asks = asks[:steps] + [asks[2] if steps == 2 else square]
        image, ID = rectangle_picture(length, width), f"{steps}steps_{g}"
        for j, (what, value) in enumerate(asks, 1):
            step, options = "multi" if j > steps else str(j), distractors(rng, value, 4, "{} cm")
            option = ";".join(f"{LETTERS[o]}. {t}" for o, t in enumerate(options)) + "; E. No correct answer"
            question = f"As shown in the diagram, the {what} the rectangle is ( ) cm."
            path, gold = f"{steps}steps/image/{g}-{step}.png", LETTERS[options.index(f"{value} cm")]
            row = {"ID": ID, "knowledge concept": "Perimeter of Rectangles", "question": question}
            row |= {"option": option, "answer": gold, "image_path": path, "key": f"{steps}steps_{step}"}
            rows.append(Row(row, {path: image}, f"{ID}@{row['key']}", gold, f"{question}\nOptions: {option}"))
    return rows[:n]


def _logicvista(rng: random.Random, n: int) -> list[Row]:
    """Panels A-D: which holds exactly k shapes, which hold squares (multi-select), the most; a count."""
    rows = []
    for i in range(n):
        counts = rng.sample(range(1, 5), 4)
        target, squares = rng.randint(1, 4), sorted(rng.sample(range(4), 2))
        contents = [["square" if p in squares else "circle"] * c for p, c in enumerate(counts)]
        exact = f"Which choice (A, B, C, or D) contains exactly {target} shapes?"
        asks = [
            (exact, LETTERS[counts.index(target)]),
            ("Which choices in the image (A-D) contain squares?", ", ".join(LETTERS[s] for s in squares)),
            None,
            ("Which choice (A, B, C, or D) contains the most shapes?", LETTERS[counts.index(4)]),
        ][i % 4]
        p = Problem(panels_picture(contents), *asks) if asks else count_problem(rng)
        row = {"imagename": f"v1_{i}.png", "question": p.question, "answer": p.value, "skill": ["inductive"]}
        row |= {"broad_capability": ["diagram"], "specific_capability": ["counting"]}
        rows.append(Row(row, {f"images/v1_{i}.png": p.image}, f"v1_{i}", p.value, p.question))
    return rows


def _row(name: str, p: Problem, i: int) -> Row:
    """A row of the tasks whose rows stand alone, in the task's upstream form, with its one picture."""
    image, ident = f"images/{name}_{i}.png", str(i)
    if name in ("counting", "geo3k"):  # EasyR1's form (BUAADreamer/clevr_count_70k, hiyouga/geometry3k)
        row = {"images": [image], "problem": f"<image>{p.prompt}", "answer": p.gold}
    elif name == "geomath":  # Look-Back's ShareGPT rows
        turns = [{"role": "user", "content": f"<image>{p.prompt}"}, {"role": "assistant", "content": p.gold}]
        row = {"messages": turns, "images": [image]}
    elif name == "mmk12":  # FanqingM/MMK12: one image, no tag in the question
        ident = f"mmk12_{i}"
        row = {"id": ident, "subject": "math", "question": p.prompt, "answer": p.gold, "image": image}
    elif name == "virl39k":
        category = "Non-Geo Math" if "How many" in p.question else "Geometric"
        row = {"question": f"<image>{p.prompt}", "answer": f"\\boxed{{{p.gold}}}", "image": [image]}
        ident = f"synthetic-{i}"
        row |= {"category": f"(GradeSchool) {category}", "source": "synthetic", "qid": ident}
    elif name == "mmmu_pro":
        question = p.question.replace("the image", "<image 1>").replace("bar?", "bar in <image 1>?")
        ident = f"test_Math_{i + 1}"  # the ShareGPT prompt keeps the question without the image reference
        row = {"id": ident, "question": question, "options": p.options, "answer": p.gold, "subject": "Math"}
        row |= {"topic_difficulty": "Easy", "img_type": "['Diagrams']", "image_1": image}
    else:  # MathVista's data/testmini.json: a dict keyed by pid; the converter builds the query
        chart, ident, image = "bar" in p.question, str(i + 1), f"images/{i + 1}.png"
        kind = "text" if p.options else "list" if "[" in p.value else "float" if "." in p.value else "integer"
        meta = {"source": "synthetic", "category": "math-targeted-vqa", "grade": "elementary school"}
        meta |= MATHVISTA_META[chart]
        row = {"question": p.question, "image": image, "choices": p.options, "unit": None, "pid": ident}
        row |= {"precision": 1 if kind == "float" else None, "answer": p.value, "answer_type": kind}
        row |= {"question_type": "multi_choice" if p.options else "free_form", "metadata": meta}
    return Row(row, {image: p.image}, ident, p.gold, p.prompt)


def _cycle(name: str, *makers: Callable[[random.Random], Problem]):
    """n rows of a task whose rows stand alone, from problems made by `makers` in turn."""
    return lambda rng, n: [_row(name, makers[i % len(makers)](rng), i) for i in range(n)]


BARS = tuple(partial(bars_problem, ask=ask) for ask in ("label", "value", "list"))
ANGLE, X_ANGLE = partial(angle_problem, n_options=4), partial(angle_problem, unknown="x°")
BUILDERS: dict[str, Callable[[random.Random, int], list[Row]]] = {
    "mathvista": _cycle("mathvista", *BARS[:2], partial(hypotenuse_problem, form="float"), BARS[2]),
    "mathverse": _mathverse,
    "wemath": _wemath,
    "mmk12": _cycle("mmk12", count_problem, hypotenuse_problem, ANGLE, perimeter_problem),
    "geomath": _cycle("geomath", hypotenuse_problem, ANGLE, perimeter_problem),
    "geo3k": _cycle("geo3k", hypotenuse_problem, X_ANGLE, partial(hypotenuse_problem, form="sqrt")),
    "logicvista": _logicvista,
    "counting": _cycle("counting", partial(count_problem, mixed=True)),
    "mmmu_pro": _cycle(
        "mmmu_pro", partial(count_problem, n_options=10), partial(bars_problem, ask="label", n_options=10)
    ),
    "mathverse_v": partial(_mathverse, versions=VERSIONS[2:]),
    "virl39k": _cycle("virl39k", count_problem, hypotenuse_problem, ANGLE),
}


def _put(path: Path, data: list | dict | Image.Image) -> None:
    """Write rows (.jsonl lines, or one .json document) or a picture, making the folder."""
    path.parent.mkdir(parents=True, exist_ok=True)
    if isinstance(data, Image.Image):
        data.save(path)
        return
    if path.suffix == ".jsonl":
        text = "".join(json.dumps(row, ensure_ascii=False) + "\n" for row in data)
    else:
        text = json.dumps(data, ensure_ascii=False, indent=1)
    path.write_text(text, encoding="utf-8")


def _write_upstream(name: str, rows: list[Row], folder: Path) -> dict[str, str]:
    for row in rows:
        for relative, image in row.images.items():
            _put(folder / relative, image)
    data = {r.ident: r.upstream for r in rows} if name in KEYED else [r.upstream for r in rows]
    _put(folder / TASKS[name].local_files[0], data)
    return {f"{name}/{r.ident}": r.gold for r in rows}


def _write_papo(name: str, rows: list[Row], folder: Path) -> dict[str, str]:
    lines = []
    for i, row in enumerate(rows):
        files = [f"{name}_{i}_{j}.png" for j in range(len(row.images))]
        for file, image in zip(files, row.images.values(), strict=True):
            _put(folder / file, image)
        user = {"role": "user", "content": "<image>" * len(files) + row.prompt}
        # MathVerse's version rides along (meta), as mathverse_v's row filter reads it on local rows
        keep = {k: row.upstream[k] for k in ("problem_version",) if k in row.upstream}
        lines.append({"messages": [user, {"role": "assistant", "content": row.gold}], "images": files} | keep)
    _put(folder / next(f for f in TASKS[name].local_files if f.endswith(".jsonl")), lines)
    return {f"{name}/{i}": row.gold for i, row in enumerate(rows)}


def _write_lookback(name: str, rows: list[Row], out: Path) -> dict[str, str]:
    """Rows and pictures where Look-Back's archive keeps them: each picture under the task's image folder by
    the name its row gives; the rows file, except MathVista's (its rows are the hub's)."""
    files = TASKS[name].archive
    if files is None:
        raise ValueError(f"{name}: Look-Back's evaluation archive does not hold it")
    for row in rows:
        value = row.upstream[files.field]
        (image,) = row.images.values()
        _put(out / files.images / (value[0] if isinstance(value, list) else value), image)
    if files.rows:
        _put(out / files.rows, [r.upstream for r in rows])
    return {f"{name}/{r.ident}": r.gold for r in rows}


def write(
    out_dir: str | Path,
    tasks: Iterable[str] | None = None,
    n: int = 4,
    schema: str = "upstream",
    seed: int = 0,
) -> Path:
    """Write n synthetic rows per task (every task, virl39k included, when None) under out_dir/<task>/.

    Tasks may also be suites ("all", "general"). Deterministic given seed. Returns out_dir.
    """
    if schema not in SCHEMAS:
        raise ValueError(f"unknown schema {schema!r}; choose one of {', '.join(SCHEMAS)}")
    spec = tasks if isinstance(tasks, str) else ",".join(TASKS if tasks is None else tasks)
    names, out, golds = [t.name for t in resolve(spec)], Path(out_dir), {}
    for name in names:
        rows = BUILDERS[name](random.Random(f"{seed}:{name}"), n)
        if schema == "lookback":
            golds |= _write_lookback(name, rows, out)
        else:
            golds |= (_write_upstream if schema == "upstream" else _write_papo)(name, rows, out / name)
    path = out / "answers.json"
    old = json.loads(path.read_text(encoding="utf-8")) if path.exists() else {}
    _put(path, {k: v for k, v in old.items() if k.split("/")[0] not in names} | golds)
    return out


def answers(out_dir: str | Path) -> dict[str, str]:
    """Sample id -> gold (option letters for multiple choice) of what `write` put in out_dir."""
    return json.loads((Path(out_dir) / "answers.json").read_text(encoding="utf-8"))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m tasks.synthetic", description=__doc__.split("\n\n")[0])
    parser.add_argument("out_dir", help="folder for the <task>/ folders and answers.json")
    parser.add_argument("--n", type=int, default=4, help="rows per task")
    parser.add_argument("--schema", choices=SCHEMAS, default="upstream",
                        help="upstream rows, PAPO_eval rows, or Look-Back's archive layout")  # fmt: skip
    parser.add_argument("--tasks", help="tasks and suites, comma-separated (default: every task)")
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args(argv)
    out = write(args.out_dir, args.tasks, args.n, args.schema, args.seed)
    print(f"wrote {args.n} {args.schema} rows per task under {out}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
