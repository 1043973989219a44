"""The guard: CPU-time limits in warm helper processes, a shared budget per check, errors passed back,
and timeouts that say so (in the verdict's rule, and as a None reward)."""

import time

import pytest

from vgpo_eval.checker import guard, protocols
from vgpo_eval.checker.parse import clear_caches
from vgpo_eval.checker.rewards import compute_score, easyr1_compute_score, reward, trl_reward
from vgpo_eval.types import Sample

SPIN = "while True: pass"  # pure Python: the helper's CPU timer interrupts it


def test_result_comes_back():
    assert guard.call("math", "sqrt", 16.0) == 4.0


def test_a_runaway_call_is_cut_at_its_cpu_limit_and_the_helper_replaced():
    with pytest.raises(guard.GuardTimeout, match="CPU"):
        guard.call("builtins", "exec", SPIN, limit=0.3)
    assert guard.call("math", "sqrt", 9.0) == 3.0  # a fresh, warm helper took over


def test_code_stuck_in_c_is_killed_by_the_callers_cpu_watch():
    """A big-integer power never returns to the interpreter, so no signal lands: /proc does it."""
    start = time.monotonic()
    with pytest.raises(guard.GuardTimeout):
        guard.call("builtins", "pow", 7, 10**9, limit=0.2)
    assert time.monotonic() - start < 60  # CPU-bounded (limit + grace); generous for a busy machine
    assert guard.call("math", "sqrt", 4.0) == 2.0


def test_sleeping_is_not_a_timeout():
    """Wall-clock time is not the measure: a call that waits (as one on a busy machine does) finishes."""
    assert guard.call("time", "sleep", 0.5, limit=0.1) is None


def test_budget_is_shared_by_the_calls_of_one_check():
    with guard.budget(0.4), pytest.raises(guard.GuardTimeout):
        guard.call("builtins", "exec", "for _ in range(10**5): pass", limit=5)  # a little CPU
        guard.call("builtins", "exec", SPIN, limit=5)  # gets only what is left of the 0.4 s
    with guard.budget(0.0), pytest.raises(guard.GuardTimeout, match="no CPU time left"):
        guard.call("math", "sqrt", 1.0)


def test_errors_in_the_helper_are_reported():
    with pytest.raises(guard.GuardError, match="ValueError"):
        guard.call("math", "sqrt", -1.0)


def test_helpers_are_warm_before_their_first_call():
    """The first call of a fresh helper pays no import: its modules were loaded and run at start-up."""
    helper = guard._Helper()
    try:
        helper.wait_ready()
        used, ok = helper.run(
            "vgpo_eval.checker.reference", "math_verify_grade", ("\\frac{2}{4}", "0.5"), 5.0
        )
    finally:
        helper.kill()
    assert ok is True
    assert used < 0.5  # a cold helper spends seconds importing sympy and the LaTeX parser here


def _sample(answer="12"):
    return Sample(id="t/1", task="t", question="", answer=answer)


@pytest.mark.parametrize("protocol, rule", [("paper", "timeout:mathruler"), ("papo", "timeout:mathruler")])
def test_a_reference_timeout_is_a_timeout_verdict_not_a_wrong_answer(monkeypatch, protocol, rule):
    monkeypatch.setattr(protocols, "REFERENCE_LIMIT", 0.0)
    verdict = protocols.check("\\boxed{12}", _sample(), protocol)
    assert (verdict.correct, verdict.rule, verdict.timed_out, verdict.reward) == (False, rule, True, None)


def test_paper_keeps_the_letter_rule_when_math_verify_times_out(monkeypatch):
    """Look-Back's cascade goes on to the letter rule when math-verify gives up, and so does ours."""
    real = protocols._guarded
    monkeypatch.setattr(
        protocols, "_guarded", lambda name, *a: None if name == "math_verify_grade" else real(name, *a)
    )
    assert protocols.check("\\boxed{(B) 12}", _sample("B"), "paper").rule == "letter_in_box"
    assert protocols.check("\\boxed{13}", _sample(), "paper").rule == "timeout:math_verify"


def test_strict_timeout_in_the_symbolic_fallback(monkeypatch):
    clear_caches()  # a comparison made earlier in this process would not reach the helper
    monkeypatch.setattr(protocols, "STRICT_BUDGET", 0.0)
    sample = _sample("\\binom{5}{2}")  # outside `expr`: math-verify decides it
    verdict = protocols.check("\\boxed{10}", sample, "strict")
    assert verdict.rule == "timeout:symbolic" and verdict.reward is None
    monkeypatch.undo()
    assert protocols.check("\\boxed{10}", sample, "strict").rule == "expr:boxed"


def test_a_timed_out_check_is_retried_once(monkeypatch):
    calls = []

    def flaky(text, sample):
        calls.append(1)
        return (
            protocols.Verdict(False, "12", "timeout:mathruler")
            if len(calls) == 1
            else protocols.papo(text, sample)
        )

    monkeypatch.setitem(protocols.PROTOCOLS, "papo", flaky)
    assert protocols.check("\\boxed{12}", _sample(), "papo").correct
    assert len(calls) == 2


def test_rewards_of_a_timed_out_check_are_never_a_silent_zero(monkeypatch):
    monkeypatch.setattr(protocols, "REFERENCE_LIMIT", 0.0)
    assert reward("\\boxed{12}", "12", "papo") is None
    assert trl_reward("papo")(["\\boxed{12}"], answer=["12"]) == [None]  # TRL skips None
    assert compute_score("t", "\\boxed{12}", "12", {"protocol": "papo"}) == {"score": 0.0, "timed_out": True}
    assert (
        easyr1_compute_score([{"response": "\\boxed{12}", "ground_truth": "12"}], protocol="papo")[0][
            "timed_out"
        ]
        == 1.0
    )
