"""MMMU-Pro (standard, 10 options): college-level multi-discipline questions with images.

Upstream: MMMU/MMMU_Pro, config "standard (10 options)", split test (1,730 rows: question with
<image k> references, options as a list or its string form, image_1..image_7, answer letter).
The question is followed by its lettered options. Local: JSON/JSONL rows of the same fields.
Breakdowns: subject, difficulty.
"""

import ast

from vgpo_eval.rows import option_lines, resolve_image
from vgpo_eval.task import Context, DataError, Source, Task
from vgpo_eval.types import Sample


def to_sample(row: dict, ctx: Context) -> Sample:
    ident = str(row["id"])
    options = row["options"]
    if isinstance(options, str):
        try:
            options = ast.literal_eval(options)
        except (ValueError, SyntaxError) as exc:
            raise DataError(f"mmmu_pro/{ident}: options are not a list: {options[:80]!r}") from exc
    images = [row[f"image_{k}"] for k in range(1, 8) if row.get(f"image_{k}") is not None]
    return Sample(
        id=f"mmmu_pro/{ident}",
        task="mmmu_pro",
        question=f"{row['question'].strip()}\n{option_lines(options)}",
        answer=str(row["answer"]).strip(),
        images=tuple(resolve_image(ctx, img, f"{ident}_{k}") for k, img in enumerate(images, 1)),
        answer_type="choice",
        choices=tuple(str(o) for o in options),
        meta={
            "subject": row.get("subject"),
            "difficulty": row.get("topic_difficulty"),
            "setting": "standard-10",
        },
    )


TASK = Task(
    name="mmmu_pro",
    title="MMMU-Pro",
    suite="vision_dependent",
    papo=Source("PAPO-Galaxy/PAPO_eval", "MMMU_MMMU_Pro", images_zip="MMMU_MMMU_Pro_images.zip"),
    upstream=Source("MMMU/MMMU_Pro", "test", config="standard (10 options)"),
    from_upstream=to_sample,
    sizes={"papo": 1730, "upstream": 1730},
    local_files=("test.jsonl", "items.jsonl"),
    breakdowns=("subject", "difficulty"),
)
