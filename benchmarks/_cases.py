"""Labelled checker cases ({response, ground_truth, choices, label}) as (row, Sample) pairs."""

from __future__ import annotations

import json
from pathlib import Path

from vgpo_eval.types import Sample

SHARED_CASES = Path(__file__).resolve().parents[2] / "shared" / "data" / "checker_cases.jsonl"


def load_cases(path: str | Path = SHARED_CASES) -> list[tuple[dict, Sample]]:
    with open(path, encoding="utf-8") as f:
        rows = [json.loads(line) for line in f if line.strip()]
    return [
        (
            r,
            Sample(
                id=r.get("id", ""), task="", question="", answer=r["ground_truth"], choices=r.get("choices")
            ),
        )
        for r in rows
    ]
