"""The demo's closing line and per-step lines (vgpo_train.demo), on hand-written log histories."""

from __future__ import annotations

import pytest

from vgpo_train.demo import summary, weight_ranges


def _step(step: int, reward: float, psi: tuple[float, float], alpha: tuple[float, float]) -> dict:
    return {"step": step, "grad_norm": 0.5 * step, "reward": reward, "learning_rate": 5e-3,
            "vgpo/psi_min": psi[0], "vgpo/psi_max": psi[1], "vgpo/psi_mean": 1.0,
            "vgpo/alpha_min": alpha[0], "vgpo/alpha_max": alpha[1], "vgpo/alpha_mean": 1.0}  # fmt: skip


def test_the_closing_line_gives_the_psi_and_alpha_ranges_over_the_run():
    history = [
        _step(1, 0.12, (0.41, 1.52), (0.9, 1.21)),
        _step(2, 0.2, (0.55, 1.73), (0.95, 1.1)),
        _step(3, 0.31, (0.6, 1.4), (0.9, 1.05)),
        {"step": 3, "train_runtime": 12.0, "train_loss": 0.1},  # the run's closing entry: no step, no weights
    ]
    assert weight_ranges(history) == {"psi": (0.41, 1.73), "alpha": (0.9, 1.21)}
    assert summary(history) == (
        "the weights changed: 3 of 3 steps had a non-zero gradient norm (largest 1.5); mean reward 0.12 -> 0.31; "
        "psi in [0.41, 1.73], alpha in [0.90, 1.21] (VGPO's reweighting at work; GRPO would be 1 and 1)"
    )


def test_the_closing_line_says_when_nothing_was_reweighted():
    """psi and alpha all 1 (one-token answers, or the four switches off): GRPO's advantages, said so."""
    line = summary([_step(1, 0.1, (1.0, 1.0), (1.0, 1.0)), _step(2, 0.4, (1.0, 1.0), (1.0, 1.0))])
    assert line.endswith("psi in [1.00, 1.00], alpha in [1.00, 1.00] (no token or rollout was reweighted: "
                         "GRPO's advantages)")  # fmt: skip
    assert "VGPO's reweighting" not in line


def test_the_closing_line_leaves_out_psi_and_alpha_when_they_were_not_logged():
    history = [{"grad_norm": 2.0, "reward": 0.1}, {"grad_norm": 1.0, "reward": 0.3}]
    assert weight_ranges(history) == {}
    assert summary(history) == (
        "the weights changed: 2 of 2 steps had a non-zero gradient norm (largest 2); mean reward 0.10 -> 0.30"
    )
    # psi logged, alpha not (or None, as TRL writes a value it could not compute): only psi
    partial = [{"grad_norm": 1.0, "reward": 0.1, "vgpo/psi_min": 0.5, "vgpo/psi_max": 1.5,
                "vgpo/alpha_min": None, "vgpo/alpha_max": None}]  # fmt: skip
    assert summary(partial).endswith(
        "; psi in [0.50, 1.50] (VGPO's reweighting at work; GRPO would be 1 and 1)"
    )


def test_the_closing_line_says_why_nothing_changed_whatever_psi_and_alpha():
    assert summary([]) == "no step ran: the data is smaller than one rollout batch"
    filtered = [_step(1, 1.0, (0.4, 1.6), (0.9, 1.2)) | {"grad_norm": 0.0}]
    assert summary(filtered).startswith("the weights did not change: every group was all right or all wrong")
    assert "psi" not in summary(filtered)


def test_the_step_line_gives_the_reward_and_the_ranges_of_psi_and_alpha():
    pytest.importorskip("transformers")
    from types import SimpleNamespace

    from vgpo_train.demo import step_lines

    lines = []
    callback = step_lines(lambda text, **_: lines.append(text))
    state = SimpleNamespace(is_world_process_zero=True, global_step=3, max_steps=8)
    callback.on_log(None, state, None, logs=_step(3, 0.25, (0.5, 1.6), (0.9, 1.1)))
    callback.on_log(None, state, None, logs={"train_runtime": 12.0})  # the run's closing entry: no line
    callback.on_log(None, state, None, logs={"reward": 0.5})  # no VGPO stats: the reward only
    assert lines == ["step 3/8: reward 0.25, psi [0.50, 1.60], alpha [0.90, 1.10]", "step 3/8: reward 0.50"]
