"""Every check is bounded, and no response blocks a report or crashes a reward (issue 18, points 3-6).

Bounds are asserted in CPU seconds of the checking process and its guard helpers, with a wide
margin (a busy machine does not inflate CPU time the way it inflates wall time): each shape here
cost seconds to minutes before these fixes. The speed target itself (every input under 2 CPU
seconds, up to 10 MB) is printed by benchmarks/checker_adversarial.py.
"""

from __future__ import annotations

import time

import pytest

from vgpo_eval.checker import guard
from vgpo_eval.checker.protocols import INLINE_CHARS, PROTOCOLS, check
from vgpo_eval.checker.rewards import compute_score, easyr1_compute_score, reward, think_then_box, trl_reward
from vgpo_eval.types import Sample

CPU_BOUND = 5.0  # CPU seconds: far above what each shape costs now, far below what it cost before


def cpu_seconds(fn):
    """(result, CPU seconds of this process and of every guard helper while `fn` ran)."""
    guard.warm_up()
    helpers = {h: h.cpu() or 0.0 for h in list(guard._all)}
    start = time.process_time()
    result = fn()
    used = time.process_time() - start
    used += sum((h.cpu() or 0.0) - helpers.get(h, 0.0) for h in list(guard._all))
    return result, used


def sample(answer: str = "3", **fields) -> Sample:
    return Sample(id="b/1", task="t", question="", answer=answer, **fields)


@pytest.mark.parametrize("protocol", sorted(PROTOCOLS))
@pytest.mark.parametrize("newlines", [40_000, 200_000])
def test_a_box_then_a_revision_then_newlines_is_quick(protocol, newlines):
    text = "\\boxed{3} Wait, let me recheck." + "\n" * newlines
    verdict, used = cpu_seconds(lambda: check(text, sample(), protocol))
    assert not verdict.failed and used < CPU_BOUND


def test_newlines_just_under_the_inline_limit_are_quick():
    """The shape checked in the caller's own process: the pattern behind it is linear now."""
    text = "\\boxed{3} Wait, let me recheck." + "\n" * (INLINE_CHARS - 40)
    verdict, used = cpu_seconds(lambda: check(text, sample()))
    assert verdict.correct and used < 1.0


def test_ten_megabytes_end_with_a_verdict():
    for text in ("x" * 10_000_000, "\\boxed{3}" + " so" * 3_000_000, "{" * 5_000_000 + "}" * 5_000_000):
        verdict, used = cpu_seconds(lambda t=text: check(t, sample()))
        assert isinstance(verdict.correct, bool) and used < 2 * CPU_BOUND


def test_a_huge_precision_is_an_error_not_a_hang():
    with pytest.raises(ValueError, match="precision"):
        check("\\boxed{1.5}", sample("1.5", precision=10**9))
    with pytest.raises(ValueError, match="precision"):
        reward("\\boxed{1.5}", "1.5", precision=10**9)
    assert check("\\boxed{1.50}", sample("1.5", precision=2)).correct


def test_the_easyr1_format_reward_is_linear_and_equals_its_pattern():
    import random
    import re

    pattern = re.compile(r"<think>.*</think>.*\\boxed\{.*\}.*", re.S)
    rng = random.Random(0)
    parts = ["<think>", "</think>", "\\boxed{", "}", "x", "\n", "{", "<think", "boxed{"]
    for _ in range(20_000):
        text = "".join(rng.choice(parts) for _ in range(rng.randint(0, 7)))
        assert think_then_box(text) == bool(pattern.fullmatch(text)), text
    long = "<think>" + "</think>\\boxed{" * 3000  # 45 KB that never closes its box: seconds for the pattern
    (scores,), used = cpu_seconds(lambda: easyr1_compute_score([{"response": long, "ground_truth": "1"}]))
    assert scores["format"] == 0.0 and used < CPU_BOUND
    assert think_then_box(long + "}")


def test_a_unit_repeated_hundreds_of_times_is_a_verdict():
    text = "\\boxed{5" + " cm" * 500 + "}"
    verdict = check(text, sample("5"))
    assert verdict.rule == "number:boxed" and not verdict.correct
    assert check("\\boxed{5 cm}", sample("5")).correct


def test_an_exception_inside_a_check_is_an_error_verdict(monkeypatch):
    from vgpo_eval.checker import protocols

    def broken(text, s):
        raise RecursionError("deep")

    monkeypatch.setitem(protocols.PROTOCOLS, "strict", broken)
    verdict = check("\\boxed{3}", sample())
    assert (verdict.correct, verdict.rule, verdict.reward) == (False, "error:RecursionError", None)
    assert compute_score("t", "\\boxed{3}", "3")["timed_out"] is True


def test_a_long_response_is_checked_whole_in_a_helper_with_the_same_verdict():
    filler = "Let me think about the figure once more. " * (INLINE_CHARS // 40 + 10)
    for text, gold, correct in (
        (filler + "So the answer is \\boxed{\\frac{1}{2}}.", "0.5", True),
        (filler + "\\boxed{A}", "B", False),
    ):
        for protocol in PROTOCOLS:
            assert len(text) > INLINE_CHARS
            verdict = check(text, sample(gold), protocol)
            assert verdict.correct is correct, (protocol, verdict)
            assert verdict == PROTOCOLS[protocol](text, sample(gold))


@pytest.mark.parametrize(
    "text, gold, correct",
    [
        ("\\boxed{10^{12}}", "10^{12}+1", False),
        ("\\boxed{10^{12}+1}", "10^{12}+1", True),
        ("\\boxed{2^{60}+1}", "2^{60}", False),
        ("\\boxed{2^{60}}", "1152921504606846976", True),
        ("\\boxed{\\frac{2^{61}}{2}}", "2^{60}", True),
        ("\\boxed{3^{40}-1}", "3^{40}", False),
        ("\\boxed{-2^2}", "-4", True),
        ("\\boxed{2^{-2}}", "0.25", True),
    ],
)
def test_integers_in_expression_form_compare_exactly(text, gold, correct):
    assert check(text, sample(gold)).correct is correct


def test_a_long_closed_box_is_read():
    digits = "1234567890" * 300
    assert check(f"\\boxed{{{digits}}}", sample(digits)).correct
    assert check(f"\\boxed{{{digits}}}", sample(digits), "paper").correct
    assert check("\\boxed{" + "1" * 3000, sample("1")).rule == "no_answer:truncated"


@pytest.mark.parametrize("bad", [None, 3, b"\\boxed{3}", ["\\boxed{3}"]])
def test_a_response_that_is_not_a_string_is_a_type_error(bad):
    with pytest.raises(TypeError, match="string"):
        check(bad, sample())
    with pytest.raises(TypeError, match="string"):
        reward(bad, "3")
    with pytest.raises(TypeError, match="string"):
        compute_score("t", bad, "3")
    with pytest.raises(TypeError, match="string"):
        easyr1_compute_score([{"response": bad, "ground_truth": "3"}])


def test_a_missing_gold_is_an_error_in_every_adapter():
    for call in (
        lambda: reward("\\boxed{None}", None),
        lambda: compute_score("t", "\\boxed{None}", None),
        lambda: easyr1_compute_score([{"response": "\\boxed{None}", "ground_truth": None}]),
        lambda: check("\\boxed{None}", Sample(id="b", task="t", question="", answer=None)),
    ):
        with pytest.raises(TypeError, match="gold"):
            call()
    assert trl_reward()(["\\boxed{None}"], answer=[None]) == [None]  # TRL: a row without gold is skipped
    assert reward("\\boxed{7}", 7) == 1.0  # a number column is a gold


def test_a_message_with_null_content_is_a_type_error_not_the_answer_none():
    with pytest.raises(TypeError, match="content"):
        trl_reward()([[{"role": "assistant", "content": None}]], answer=["None"])


def test_a_lone_surrogate_in_an_id_and_a_response_still_gives_a_report(tmp_path, capsys):
    """Ids and responses are data: a lone surrogate in them must not stop report.md or results.csv."""
    from vgpo_eval.cli import main
    from vgpo_eval.run import write_jsonl
    from vgpo_eval.types import Response

    item = Sample(id="counting/\ud800", task="counting", question="q", answer="3")
    failed = Sample(id="counting/\udfff", task="counting", question="q", answer="3")
    write_jsonl(tmp_path / "counting.samples.jsonl", [item.to_dict(), failed.to_dict()])
    responses = [Response(item.id, "\ud800 \\boxed{3}"), Response(failed.id, "", error="boom \udc80")]
    write_jsonl(tmp_path / "counting.responses.jsonl", [r.to_dict() for r in responses])
    assert main(["score", "--run", str(tmp_path), "--protocol", "strict"]) == 1  # a failed item: exit 1
    assert "counting/\\udfff" in (tmp_path / "report.md").read_text(encoding="utf-8")  # listed, escaped
    assert (tmp_path / "results.csv").exists()
