"""MMK12 (test): K-12 math, physics, chemistry and biology problems with images.

The paper validates on PAPO's copy (PAPOGalaxy/PAPO_MMK12_test, EasyR1-style rows: problem,
answer, images); upstream is FanqingM/MMK12, split test. Breakdown: subject.
"""

from vgpo_eval.rows import problem_sample
from vgpo_eval.task import Context, Source, Task
from vgpo_eval.types import Sample


def to_sample(row: dict, ctx: Context) -> Sample:
    return problem_sample(row, ctx, meta_keys=("subject",))


TASK = Task(
    name="mmk12",
    title="MMK12",
    suite="general",
    papo=Source("PAPOGalaxy/PAPO_MMK12_test", "test"),
    from_papo=to_sample,
    upstream=Source("FanqingM/MMK12", "test"),
    from_upstream=to_sample,
    local_files=("test.jsonl", "test.json", "test.parquet", "items.jsonl"),
    breakdowns=("subject",),
    sizes={"papo": 2000},
)
