"""The guard: hard time limits in a helper process, a shared budget per check, errors passed back."""

import time

import pytest

from vgpo_eval.checker import guard


def test_result_comes_back():
    assert guard.call("math", "sqrt", 16.0) == 4.0


def test_a_hang_is_cut_at_the_call_limit():
    start = time.perf_counter()
    with pytest.raises(guard.GuardTimeout):
        guard.call("time", "sleep", 30)
    assert time.perf_counter() - start < guard.CALL_LIMIT + 0.5
    assert guard.call("math", "sqrt", 9.0) == 3.0  # a fresh helper took over


def test_budget_is_shared_by_the_calls_of_one_check():
    start = time.perf_counter()
    with guard.deadline(0.3), pytest.raises(guard.GuardTimeout):
        guard.call("time", "sleep", 0.2)
        guard.call("time", "sleep", 0.2)
    assert time.perf_counter() - start < 0.8
    with guard.deadline(0.0), pytest.raises(guard.GuardTimeout, match="no time left"):
        guard.call("math", "sqrt", 1.0)


def test_errors_in_the_helper_are_reported():
    with pytest.raises(guard.GuardError, match="ValueError"):
        guard.call("math", "sqrt", -1.0)
