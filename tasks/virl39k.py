"""ViRL39K: the VGPO training set (39K verifiable multimodal problems).

The paper trains on PAPO's copy (PAPOGalaxy/PAPO_ViRL39K_train, EasyR1-style rows: problem,
answer, images); upstream is TIGER-Lab/ViRL39K. Used by `vgpo_train`, not by `run --tasks all`.
"""

from vgpo_eval.rows import problem_sample
from vgpo_eval.task import Context, Source, Task
from vgpo_eval.types import Sample


def to_sample(row: dict, ctx: Context) -> Sample:
    return problem_sample(row, ctx, meta_keys=("category", "source"))


TASK = Task(
    name="virl39k",
    title="ViRL39K",
    suite="train",
    papo=Source("PAPOGalaxy/PAPO_ViRL39K_train", "train"),
    from_papo=to_sample,
    upstream=Source("TIGER-Lab/ViRL39K", "train"),
    from_upstream=to_sample,
    local_files=("train.jsonl", "train.json", "train.parquet"),
)
