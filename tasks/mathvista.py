"""MathVista (testmini): mathematical reasoning in visual contexts, 1,000 items.

Upstream: AI4Math/MathVista, split testmini (`query` holds the hint, question and lettered
choices; `decoded_image` the image). Local: the upstream repository's data/testmini.json (a dict
keyed by pid, no `query`: it is rebuilt the official way) with images/<pid>.jpg. As in
Look-Back's script, a multiple-choice gold becomes its option letter; a float answer keeps the
precision MathVista states for it. Look-Back's archive: these hub rows, with each picture read from
the archive's mathvista/<image> instead of the hub's decoded copy. Breakdowns: task, skills, context, grade.
"""

from vgpo_eval.archive import Files
from vgpo_eval.rows import LETTERS, letter_of
from vgpo_eval.task import Context, Source, Task
from vgpo_eval.types import Sample

HINTS = {
    "multi_choice": "Hint: Please answer the question and provide the correct option letter, e.g., A, B, C, D, at the end.",
    "integer": "Hint: Please answer the question requiring an integer answer and provide the final value, "
    "e.g., 1, 2, 3, at the end.",
    1: "Hint: Please answer the question requiring a floating-point number with one decimal place and provide "
    "the final value, e.g., 1.2, 1.3, 1.4, at the end.",
    2: "Hint: Please answer the question requiring a floating-point number with two decimal places and provide "
    "the final value, e.g., 1.23, 1.34, 1.45, at the end.",
    "list": "Hint: Please answer the question requiring a Python list as an answer and provide the final list, "
    "e.g., [1, 2, 3], [1.2, 1.3, 1.4], at the end.",
}
ANSWER_TYPES = {"integer": "number", "float": "number", "list": "list", "text": "choice"}


def build_query(row: dict) -> str:
    """MathVista's own prompt (hint, question with unit, lettered choices) for rows that lack `query`."""
    precision = int(row.get("precision") or 0)
    kind = "multi_choice" if row["question_type"] == "multi_choice" else row["answer_type"]
    hint = HINTS[precision if kind == "float" else kind]
    question = f"Question: {row['question']}" + (f" (Unit: {row['unit']})" if row.get("unit") else "")
    lines = [hint, question]
    if row.get("choices"):
        lines.append("Choices:\n" + "\n".join(f"({LETTERS[i]}) {c}" for i, c in enumerate(row["choices"])))
    return "\n".join(lines)


def to_sample(row: dict, ctx: Context) -> Sample:
    pid = str(row.get("pid") or row.get("_key"))
    name = f"mathvista/{pid}"
    multi_choice = row["question_type"] == "multi_choice"
    answer = letter_of(row["answer"], row["choices"], name) if multi_choice else str(row["answer"])
    image = row.get("decoded_image") or row.get("image")
    meta = row.get("metadata") or {}
    return Sample(
        id=name,
        task="mathvista",
        question=row.get("query") or build_query(row),
        answer=answer,
        images=(ctx.image(image, pid),) if image else (),
        answer_type="choice" if multi_choice else ANSWER_TYPES.get(row["answer_type"]),
        choices=tuple(row["choices"]) if multi_choice else None,
        precision=int(row["precision"]) if row["answer_type"] == "float" and row.get("precision") else None,
        meta={k: meta.get(k) for k in ("task", "skills", "context", "grade", "source", "category")}
        | {"question_type": row["question_type"], "answer_type": row["answer_type"], "unit": row.get("unit")},
    )


TASK = Task(
    name="mathvista",
    title="MathVista",
    suite="general",
    papo=Source("PAPO-Galaxy/PAPO_eval", "AI4Math_MathVista", images_zip="AI4Math_MathVista_images.zip"),
    upstream=Source("AI4Math/MathVista", "testmini"),
    from_upstream=to_sample,
    sizes={"papo": 1000, "upstream": 1000, "archive": 1000},
    archive=Files(images="mathvista", field="image"),  # rows from the hub, pictures from the archive
    local_files=("testmini.json", "items.jsonl"),
    breakdowns=("task", "skills", "context", "grade"),
)
