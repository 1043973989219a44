"""Counting: CLEVR-style object counting, the 200-row test split of BUAADreamer/clevr_count_70k.

Upstream rows are EasyR1-style (problem, answer, images). Local: the same, or R1-V's counting
rows (image_path, question, ground_truth), such as the SuperCLEVR 200-item file.
"""

from dataclasses import replace

from vgpo_eval.rows import problem_sample, sharegpt_sample
from vgpo_eval.task import Context, Source, Task
from vgpo_eval.types import Sample


def to_sample(row: dict, ctx: Context) -> Sample:
    return _counted(problem_sample(row, ctx))


def from_papo(row: dict, ctx: Context) -> Sample:
    return _counted(sharegpt_sample(row, ctx))


def _counted(sample: Sample) -> Sample:
    """A count is a number (a row with an option letter keeps its choice type)."""
    return sample if sample.answer_type == "choice" else replace(sample, answer_type="number")


TASK = Task(
    name="counting",
    title="Counting",
    suite="vision_dependent",
    papo=Source(
        "PAPO-Galaxy/PAPO_eval",
        "BUAADreamer_clevr_count_70k",
        images_zip="BUAADreamer_clevr_count_70k_images.zip",
    ),
    from_papo=from_papo,
    upstream=Source("BUAADreamer/clevr_count_70k", "test"),
    from_upstream=to_sample,
    sizes={"papo": 200, "upstream": 200},
    local_files=("test.jsonl", "superclevr_test200_counting_problems.jsonl", "items.jsonl"),
)
