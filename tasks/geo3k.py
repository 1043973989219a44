"""Geometry3K (test): 601 geometry problems with diagrams.

Upstream: hiyouga/geometry3k, split test (EasyR1-style rows: problem with an <image> tag, answer,
images), the copy PAPO and EasyR1 use. Local: rows in InterGPS's data.json form (problem_text,
choices, answer letter, image) or EasyR1 form. Breakdowns (InterGPS rows): graph and goal types.
"""

from vgpo_eval.rows import option_lines, problem_sample, resolve_image
from vgpo_eval.task import Context, Source, Task
from vgpo_eval.types import Sample


def to_sample(row: dict, ctx: Context) -> Sample:
    if "problem_text" not in row:
        return problem_sample(row, ctx)
    ident = str(row["id"])
    return Sample(
        id=f"geo3k/{ident}",
        task="geo3k",
        question=f"{row['problem_text']}\nChoices:\n{option_lines(row['choices'])}",
        answer=str(row["answer"]).strip(),
        images=(resolve_image(ctx, row["image"], ident),) if row.get("image") else (),
        answer_type="choice",
        choices=tuple(row["choices"]),
        meta={"graph": row.get("problem_type_graph"), "goal": row.get("problem_type_goal")},
    )


TASK = Task(
    name="geo3k",
    title="Geo3K",
    suite="general",
    papo=Source("PAPO-Galaxy/PAPO_eval", "hiyouga_geometry3k", images_zip="hiyouga_geometry3k_images.zip"),
    upstream=Source("hiyouga/geometry3k", "test"),
    from_upstream=to_sample,
    sizes={"papo": 601, "upstream": 601},
    local_files=("test.jsonl", "test.json", "items.jsonl"),
    breakdowns=("graph", "goal"),
)
