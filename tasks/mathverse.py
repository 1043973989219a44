"""MathVerse (testmini): the same math problems in five versions from text-heavy to vision-only.

Upstream: AI4Math/MathVerse, config and split testmini (3,940 rows); the question is the row's
`query_cot`, as in Look-Back's script; multiple-choice options are parsed from the question
("Choices:\\nA:40°"). Local: the repository's testmini.json (or any JSON/JSONL of its rows) with
the images folder beside it; Look-Back's archive holds the same file (mathverse/testmini.json,
images under mathverse/images/). Breakdowns: problem version, subject, subfield.

`mathverse_v` (tasks/mathverse_v.py) is the vision-dependent subset.
"""

from vgpo_eval.archive import Files
from vgpo_eval.rows import is_letter_answer, parse_choices, resolve_image
from vgpo_eval.task import Context, Source, Task
from vgpo_eval.types import Sample


def to_sample(row: dict, ctx: Context) -> Sample:
    index = str(row["sample_index"])
    answer = str(row["answer"]).strip()
    multi_choice = row.get("question_type") == "multi-choice" or is_letter_answer(answer)
    image = row.get("image")
    meta = row.get("metadata") or {}
    return Sample(
        id=f"{ctx.task.name}/{index}",
        task=ctx.task.name,
        question=row.get("query_cot") or row["question"],
        answer=answer,
        images=(resolve_image(ctx, image, index),) if image else (),
        answer_type="choice" if multi_choice else None,
        choices=parse_choices(row["question"]) if multi_choice else None,
        meta={
            "problem_version": row.get("problem_version"),
            "problem_index": str(row.get("problem_index")),
            "subject": meta.get("subject"),
            "subfield": meta.get("subfield"),
            "source": meta.get("source"),
        },
    )


TASK = Task(
    name="mathverse",
    title="MathVerse",
    suite="general",
    papo=Source("PAPO-Galaxy/PAPO_eval", "AI4Math_MathVerse", images_zip="AI4Math_MathVerse_images.zip"),
    upstream=Source("AI4Math/MathVerse", "testmini", config="testmini"),
    from_upstream=to_sample,
    sizes={"papo": 2180, "upstream": 3940, "archive": 3940},
    archive=Files(images="mathverse/images", field="image", rows="mathverse/testmini.json"),
    local_files=("testmini.json", "items.jsonl"),
    breakdowns=("problem_version", "subject", "subfield"),
)
