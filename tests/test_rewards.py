"""The reward adapters return exactly the checker's score, with each framework's call signature."""

import pytest

from vgpo_eval.checker.protocols import check
from vgpo_eval.checker.rewards import compute_score, easyr1_compute_score, reward, trl_reward
from vgpo_eval.types import Sample

CASES = [
    ("<think>3-4-5</think>\\boxed{C}", "C", ["3", "4", "5", "6"]),
    ("<think>3-4-5</think>\\boxed{5}", "C", ["3", "4", "5", "6"]),
    ("<think>3-4-5</think>\\boxed{4}", "C", ["3", "4", "5", "6"]),
    ("so \\boxed{0.5}", "\\frac{1}{2}", None),
    ("so \\boxed{BAD}", "A", None),
    ("<think>cut off", "12", None),
]


def _score(text, gold, choices, protocol):
    return check(text, Sample(id="", task="", question="", answer=gold, choices=choices), protocol).score


@pytest.mark.parametrize("protocol", ["strict", "paper", "papo"])
def test_trl_reward_is_the_checker_score(protocol):
    func = trl_reward(protocol)
    completions = [[{"role": "assistant", "content": text}] for text, _, _ in CASES]
    got = func(
        completions,
        answer=[g for _, g, _ in CASES],
        choices=[c for _, _, c in CASES],
        prompts=["p"] * len(CASES),
    )
    assert got == [_score(t, g, c, protocol) for t, g, c in CASES]
    assert func.__name__ == f"{protocol}_accuracy"


def test_trl_reward_plain_strings_and_missing_answers():
    func = trl_reward()
    assert func(["\\boxed{2}", "\\boxed{3}"], answer=["2", None]) == [1.0, None]
    with pytest.raises(KeyError, match="answer"):
        func(["\\boxed{2}"], solution=["2"])


@pytest.mark.parametrize("protocol", ["strict", "paper", "papo"])
def test_verl_compute_score_is_the_checker_score(protocol):
    for text, gold, choices in CASES:
        got = compute_score("vgpo/test", text, gold, extra_info={"choices": choices, "protocol": protocol})
        assert got == {"score": _score(text, gold, choices, protocol), "timed_out": False}


def test_easyr1_compute_score_is_the_checker_score():
    inputs = [{"response": t, "ground_truth": g, "choices": c, "response_length": 9} for t, g, c in CASES]
    got = easyr1_compute_score(inputs)
    assert [s["accuracy"] for s in got] == [_score(t, g, c, "strict") for t, g, c in CASES]
    assert [s["overall"] for s in got] == [s["accuracy"] for s in got]  # the paper: accuracy only
    weighted = easyr1_compute_score(inputs[:1], format_weight=0.1)[0]
    assert weighted == {"overall": pytest.approx(1.0), "format": 1.0, "accuracy": 1.0, "timed_out": 0.0}
    with pytest.raises(ValueError, match="batch"):
        easyr1_compute_score(inputs[0])


def test_reward_function():
    assert reward("\\boxed{7}", "7") == 1.0
    assert reward("\\boxed{7}", "8") == 0.0


def test_trl_reward_in_worker_processes_equals_in_process():
    texts = [t for t, _, _ in CASES] * 3
    answers = [g for _, g, _ in CASES] * 3
    choices = [c for _, _, c in CASES] * 3
    serial = trl_reward("strict")(texts, answer=answers, choices=choices)
    assert trl_reward("strict", workers=2)(texts, answer=answers, choices=choices) == serial
    assert trl_reward("strict", workers=2)(["\\boxed{2}", "x"], answer=["2", None]) == [1.0, None]


# Two different final answers: the last one is the gold, the earlier one another option or value. A policy
# rewarded for these learns to box every option, so each adapter must give 0 (issue 20).
HEDGES = [
    ("<think>side view vs top view</think>From the side it is \\boxed{A}; from above it must be \\boxed{C}.", "C",
     ["3", "4", "5", "6"]),
    ("<think>two cases</think>If P is inside, \\boxed{B}. If P is outside, \\boxed{C}.", "C", ["3", "4", "5", "6"]),
    ("<think>base?</think>With AB as base \\boxed{12}; with BC as base \\boxed{15}. Both are plausible.", "15", None),
]  # fmt: skip


@pytest.mark.parametrize("text, gold, choices", HEDGES)
def test_two_different_final_answers_earn_nothing_under_trl(text, gold, choices):
    func = trl_reward("strict")
    assert func([text], answer=[gold], choices=[choices]) == [0.0]
    assert func([[{"role": "assistant", "content": text}]], answer=[gold], choices=[choices]) == [0.0]


@pytest.mark.parametrize("text, gold, choices", HEDGES)
def test_two_different_final_answers_earn_nothing_under_verl(text, gold, choices):
    assert compute_score("vgpo/test", text, gold, extra_info={"choices": choices}) == {
        "score": 0.0,
        "timed_out": False,
    }


@pytest.mark.parametrize("text, gold, choices", HEDGES)
def test_two_different_final_answers_earn_nothing_under_easyr1(text, gold, choices):
    inputs = [{"response": text, "ground_truth": gold, "choices": choices, "response_length": 9}]
    assert (
        easyr1_compute_score(inputs)[0]["accuracy"] == 0.0
        and easyr1_compute_score(inputs)[0]["overall"] == 0.0
    )


@pytest.mark.parametrize("text, gold, choices", HEDGES)
def test_two_different_final_answers_earn_nothing_from_reward(text, gold, choices):
    assert reward(text, gold, choices=choices) == 0.0
