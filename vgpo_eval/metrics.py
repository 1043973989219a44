"""Metrics of one task: accuracy, accuracy per breakdown value, and a benchmark's own official metrics.

Breakdown keys are named by the task (`Task.breakdowns`) and read from `Sample.meta`; a list value
(MathVista's skills, LogicVista's skill) counts the item once under each of its entries. WeMath
adds its four-dimensional scores (`vgpo_eval.wemath`). With several responses per item
(avg@K) every response counts, so accuracy is the mean over responses.

    task_metrics(task, [(sample, correct), ...]) -> {"accuracy": 71.3, "n": 1000, "breakdowns": {...}}
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from typing import Any

from vgpo_eval.task import Task
from vgpo_eval.types import Sample


def accuracy(correct: Iterable[bool]) -> tuple[float, int]:
    """Percent correct and the count."""
    values = list(correct)
    return (100.0 * sum(values) / len(values) if values else 0.0), len(values)


def breakdowns(
    keys: Iterable[str], scored: list[tuple[Sample, bool]]
) -> dict[str, dict[str, dict[str, float]]]:
    """{key: {value: {"accuracy": %, "n": count}}} for each breakdown key present in the samples' meta."""
    out: dict[str, dict[str, dict[str, float]]] = {}
    for key in keys:
        groups: dict[str, list[bool]] = defaultdict(list)
        for sample, correct in scored:
            value = sample.meta.get(key)
            for item in value if isinstance(value, list | tuple) else [value]:
                if item is not None:
                    groups[str(item)].append(correct)
        if groups:
            out[key] = {
                v: dict(zip(("accuracy", "n"), accuracy(c), strict=True)) for v, c in sorted(groups.items())
            }
    return out


def task_metrics(task: Task, scored: list[tuple[Sample, bool]]) -> dict[str, Any]:
    """Accuracy, breakdowns and official metrics of one task's scored responses."""
    acc, n = accuracy(correct for _, correct in scored)
    metrics: dict[str, Any] = {"accuracy": acc, "n": n, "breakdowns": breakdowns(task.breakdowns, scored)}
    if task.name == "wemath" and scored:
        from vgpo_eval.wemath import four_dimensional

        try:
            metrics["wemath"] = four_dimensional((s.meta["ID"], s.meta["key"], c) for s, c in scored)
        except (KeyError, ValueError) as exc:  # a partial run (--limit) has incomplete groups
            metrics["wemath"] = {"error": str(exc)}
    return metrics
