"""Accuracy and breakdowns, computed by hand on a handful of items."""

import pytest

from vgpo_eval.metrics import accuracy, breakdowns, task_metrics
from vgpo_eval.types import Sample
from vgpo_tasks import TASKS


def _s(i, **meta):
    return Sample(id=f"t/{i}", task="t", question="", answer="1", meta=meta)


def test_accuracy():
    assert accuracy([True, False, True, True]) == (75.0, 4)
    assert accuracy([]) == (0.0, 0)


def test_breakdowns_count_list_values_under_each_entry():
    scored = [
        (_s(1, version="Vision Only", skills=["algebra", "geometry"]), True),
        (_s(2, version="Vision Only", skills=["algebra"]), False),
        (_s(3, version="Text Lite", skills=[]), True),
        (_s(4, version=None), False),
    ]
    got = breakdowns(["version", "skills", "absent"], scored)
    assert got == {
        "version": {"Text Lite": {"accuracy": 100.0, "n": 1}, "Vision Only": {"accuracy": 50.0, "n": 2}},
        "skills": {"algebra": {"accuracy": 50.0, "n": 2}, "geometry": {"accuracy": 100.0, "n": 1}},
    }


def test_task_metrics_for_mathverse():
    scored = [
        (_s(1, problem_version="Vision Only", subject="Plane Geometry"), True),
        (_s(2, problem_version="Text Lite"), False),
    ]
    got = task_metrics(TASKS["mathverse"], scored)
    assert got["accuracy"] == pytest.approx(50.0) and got["n"] == 2
    assert got["breakdowns"]["problem_version"]["Vision Only"] == {"accuracy": 100.0, "n": 1}
