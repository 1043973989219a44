"""Rows for the checker benchmarks: `score`-format lines, labelled cases, or an R1-V counting log
(one JSON object with "results"), as (row, Sample) pairs.

A row needs a response and a gold answer ("answer", or "ground_truth" as labelled cases name
it); choices, answer_type and precision are used when present. MathVista-style answer types
("integer", "float", ...) are hints the checker does not need: only "choice" is kept.
"""

from __future__ import annotations

import json
from pathlib import Path

from vgpo_eval.types import Sample

DEFAULT_CASES = Path(__file__).resolve().parent / "data" / "labelled.jsonl"
LABELLED = sorted(  # every independently written set, in the order they were written
    DEFAULT_CASES.parent.glob("labelled*.jsonl"), key=lambda p: int(p.stem.partition("_")[2] or 1)
)


def load_cases(path: str | Path = DEFAULT_CASES) -> list[tuple[dict, Sample]]:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    try:
        whole = json.loads(text)
    except json.JSONDecodeError:  # JSON Lines
        whole = None
    if isinstance(whole, dict) and "results" in whole:
        rows = _r1v_log(whole)
    else:
        rows = [json.loads(line) for line in text.splitlines() if line.strip()]
    return [(row, _sample(row, n)) for n, row in enumerate(rows, 1)]


def _r1v_log(log: dict) -> list[dict]:
    """An R1-V counting evaluation log ({accuracy, results: [{question, ground_truth, model_output,
    extracted_answer}]}) as rows with its published verdict (the extracted integer equals the gold)."""
    return [
        {
            "id": f"r1v/{n}",
            "response": r["model_output"],
            "answer": str(r["ground_truth"]),
            "official_correct": r["extracted_answer"] == r["ground_truth"],
        }
        for n, r in enumerate(log["results"], 1)
    ]


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
