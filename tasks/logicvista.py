"""LogicVista: logical reasoning on diagrams, 448 items; options are drawn inside the image.

Upstream: lscpku/LogicVista, split test. Local: the repository's data/dataset.json (a dict keyed
v1_0..v1_447) with data/images/. Golds are option letters, sometimes several ("A, C": the
whole set must match, the official rule), sometimes digits. Breakdowns: skill, capability.
"""

from vgpo_eval.rows import is_letter_answer, resolve_image
from vgpo_eval.task import Context, Source, Task
from vgpo_eval.types import Sample


def to_sample(row: dict, ctx: Context) -> Sample:
    ident = str(row.get("id") or row.get("_key") or row["imagename"].rsplit(".", 1)[0])
    answer = ", ".join(part.strip().upper() for part in str(row["answer"]).split(","))
    if not is_letter_answer(answer):
        answer = str(row["answer"]).strip()
    image = row.get("image") or (f"images/{row['imagename']}" if row.get("imagename") else None)
    return Sample(
        id=f"logicvista/{ident}",
        task="logicvista",
        question=row["question"],
        answer=answer,
        images=(resolve_image(ctx, image, ident),) if image else (),
        answer_type="choice" if is_letter_answer(answer) else None,
        meta={k: row.get(k) for k in ("skill", "broad_capability", "specific_capability")},
    )


TASK = Task(
    name="logicvista",
    title="LogicVista",
    suite="vision_dependent",
    papo=Source("PAPO-Galaxy/PAPO_eval", "lscpku_LogicVista", images_zip="lscpku_LogicVista_images.zip"),
    upstream=Source("lscpku/LogicVista", "test"),
    from_upstream=to_sample,
    sizes={"papo": 447, "upstream": 448},
    local_files=("dataset.json", "items.jsonl"),
    breakdowns=("skill", "broad_capability"),
)
