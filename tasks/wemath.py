"""WeMath (testmini): multi-step math problems with their one-step sub-problems, 1,740 rows.

Upstream: We-Math/We-Math, split testmini. Local: the repository's data/testmini.json with its
image folders; Look-Back's archive: wemath/testmini.json, images under wemath/images/. As in Look-Back's script the question is followed by the options and "Your final
answer must be one of A, B, C, or D."; golds are option letters. Besides accuracy WeMath has its
own four-dimensional metrics (IK, IG, CM, RM), computed from `meta` ID and key.
"""

from vgpo_eval.archive import Files
from vgpo_eval.rows import parse_choices, resolve_image
from vgpo_eval.task import Context, Source, Task
from vgpo_eval.types import Sample

SUFFIX = "\n\nOptions: {}\nYour final answer must be one of A, B, C, or D."


def to_sample(row: dict, ctx: Context) -> Sample:
    ident = f"{row['ID']}@{row['key']}"
    image = row.get("image") if ctx.image_root and row.get("image") else row.get("image_path")
    return Sample(
        id=f"wemath/{ident}",
        task="wemath",
        question=row["question"] + SUFFIX.format(row["option"]),
        answer=str(row["answer"]).strip(),
        images=(resolve_image(ctx, image, ident),) if image else (),
        answer_type="choice",
        choices=parse_choices(row["option"]),
        meta={
            "ID": row["ID"],
            "key": row["key"],
            "steps": row["key"].split("_")[0],
            "knowledge_concept": row.get("knowledge concept"),
        },
    )


TASK = Task(
    name="wemath",
    title="WeMath",
    suite="general",
    papo=Source("PAPO-Galaxy/PAPO_eval", "We_Math", images_zip="We-Math_We-Math_images.zip"),
    upstream=Source("We-Math/We-Math", "testmini"),
    from_upstream=to_sample,
    sizes={"papo": 1740, "upstream": 1740, "archive": 1740},
    archive=Files(images="wemath/images", field="image_path", rows="wemath/testmini.json"),
    local_files=("testmini.json", "items.jsonl"),
    breakdowns=("steps", "knowledge_concept"),
)
