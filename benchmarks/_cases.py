"""Rows for the checker benchmarks: `score`-format lines or labelled cases, as (row, Sample) pairs.

A row needs a response and a gold answer ("answer", or "ground_truth" as labelled cases name
it); choices, answer_type and precision are used when present. MathVista-style answer types
("integer", "float", ...) are hints the checker does not need: only "choice" is kept.
"""

from __future__ import annotations

import json
from pathlib import Path

from vgpo_eval.types import Sample

DEFAULT_CASES = Path(__file__).resolve().parent / "data" / "labelled.jsonl"


def load_cases(path: str | Path = DEFAULT_CASES) -> list[tuple[dict, Sample]]:
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [(row, _sample(row, n)) for n, row in enumerate(rows, 1)]


def _sample(row: dict, n: int) -> Sample:
    answer_type = row.get("answer_type")
    return Sample(
        id=str(row.get("id", n)),
        task=str(row.get("task") or row.get("benchmark") or ""),
        question="",
        answer=str(row["answer"] if "answer" in row else row["ground_truth"]),
        choices=row.get("choices"),
        answer_type=answer_type if answer_type in (None, "choice") else None,
        precision=row.get("precision"),
    )
