"""VGPO's token advantage against a slow loop oracle written from docs/trainer.md ("The algorithm, exactly").

The oracle walks rows and tokens in plain Python, the obvious way, and shares no code with
`vgpo_train`; every switch combination and compensation mode must agree with the vectorised
version to 1e-5 on ragged, shuffled, holed batches.

    python -m pytest -q tests/test_advantage.py
"""

from __future__ import annotations

import itertools
import math
from types import SimpleNamespace

import pytest

torch = pytest.importorskip("torch")

from vgpo_eval.focus import focus_scores, normalise, visual_prototype  # noqa: E402
from vgpo_train.advantage import (  # noqa: E402
    grpo_advantages,
    inter_weights,
    intra_weights,
    relative_positions,
    token_advantages,
    token_advantages_with_stats,
    visual_gate,
)

SWITCHES = list(itertools.product([False, True], repeat=4))
MODES = ["linear", "exponential", "step"]


def make_config(intra=True, inter=True, compensation=True, gate=True, mode="linear", **extra):
    fields = dict(beta=0.3, gamma=0.5, kappa=0.2, compensation_mode=mode, compensation_power=2.0)
    fields.update(step_ratio=0.5, eps=1e-6, **extra)
    return SimpleNamespace(intra=intra, inter=inter, compensation=compensation, gate=gate, **fields)


# ---------------------------------------------------------------- the oracle: loops, docs/trainer.md verbatim


def oracle_grpo(rewards, groups, eps):
    out = []
    for i in range(len(rewards)):
        members = [rewards[j] for j in range(len(rewards)) if groups[j] == groups[i]]
        mean = sum(members) / len(members)
        if len(members) > 1:
            std = math.sqrt(sum((x - mean) ** 2 for x in members) / (len(members) - 1))
        else:
            std = 0.0
        out.append((rewards[i] - mean) / (std + eps))
    return out


def oracle_cos(a, b):
    dot = sum(x * y for x, y in zip(a, b, strict=True))
    na = math.sqrt(sum(x * x for x in a))
    nb = math.sqrt(sum(y * y for y in b))
    return dot / (na * nb)


def oracle_minmax(values):
    lo, hi = min(values), max(values)
    if hi == lo:
        return [0.0 for _ in values]
    return [(v - lo) / (hi - lo) for v in values]


def oracle_compensation(p, cfg):
    if cfg.compensation_mode == "linear":
        return cfg.beta * p
    if cfg.compensation_mode == "exponential":
        return cfg.beta * p**cfg.compensation_power
    return cfg.beta * (1.0 if p >= cfg.step_ratio else 0.0)


def oracle_gate_row(w_row, cfg):
    """w_row: focus of the valid tokens of one rollout, in order. Returns 0/1 per valid token."""
    n = len(w_row)
    start = math.floor(cfg.gamma * n)
    tail = list(range(start, n))
    gate = [0] * n
    if not tail:
        return gate
    k = max(1, math.floor(cfg.kappa * len(tail)))
    kth = sorted((w_row[t] for t in tail), reverse=True)[k - 1]
    for t in tail:
        if w_row[t] >= kth:
            gate[t] = 1
    return gate


def oracle(hidden, image_mask, response_mask, rewards, group_ids, cfg):
    """A_{i,t} of docs/trainer.md steps 1-10, one row and one token at a time; (B, T) nested lists."""
    h, im, rm = hidden.tolist(), image_mask.tolist(), response_mask.tolist()
    r, g = rewards.tolist(), group_ids.tolist()
    B, S, T = len(h), len(h[0]), len(rm[0])
    adv_rollout = oracle_grpo(r, g, cfg.eps)
    valid = [[t for t in range(T) if rm[i][t]] for i in range(B)]
    has_image = [any(im[i]) for i in range(B)]
    s = {}  # (i, t) -> cosine, for valid tokens of rows with an image
    for i in range(B):
        if not has_image[i]:
            continue
        image_rows = [h[i][j] for j in range(S) if im[i][j]]
        proto = [sum(row[d] for row in image_rows) / len(image_rows) for d in range(len(h[i][0]))]
        for t in valid[i]:
            s[(i, t)] = oracle_cos(h[i][S - T + t], proto)
    lo, hi = (min(s.values()), max(s.values())) if s else (0.0, 0.0)
    w = [[0.0] * T for _ in range(B)]
    for (i, t), value in s.items():
        w[i][t] = (value - lo) / (hi - lo) if hi > lo else 0.0
    psi, w_hat = [[0.0] * T for _ in range(B)], [[0.0] * T for _ in range(B)]
    for i in range(B):
        n = len(valid[i])
        if n == 0:
            continue
        row = [w[i][t] for t in valid[i]]
        gate = oracle_gate_row(row, cfg)
        compensated = []
        for j in range(n):
            p = j / (n - 1) if n > 1 else 0.0
            c = oracle_compensation(p, cfg) if cfg.compensation else 0.0
            factor = gate[j] * c if cfg.gate else c
            compensated.append(row[j] * (1 + factor))
        scaled = oracle_minmax(compensated)
        mean = sum(scaled) / n
        for j, t in enumerate(valid[i]):
            w_hat[i][t] = scaled[j]
            psi[i][t] = min(2.0, max(0.1, 1 + (scaled[j] - mean))) if cfg.intra else 1.0
    phi = [sum(w_hat[i]) for i in range(B)]
    alpha = []
    for i in range(B):
        members = [j for j in range(B) if g[j] == g[i]]
        tilde = dict(zip(members, oracle_minmax([phi[j] for j in members]), strict=True))
        mean = sum(tilde.values()) / len(members)
        alpha.append(min(2.0, max(0.9, 1 + (tilde[i] - mean))) if cfg.inter else 1.0)
    return [[adv_rollout[i] * alpha[i] * psi[i][t] for t in range(T)] for i in range(B)]


# ---------------------------------------------------------------- random batches


def random_batch(seed, B=24, T=12, prompt=7, H=6, continuous_rewards=True):
    """Ragged, holed responses; shuffled non-adjacent groups (one of a single member); a row without image."""
    gen = torch.Generator().manual_seed(seed)
    S = T + prompt
    hidden = torch.randn(B, S, H, generator=gen, dtype=torch.float64)
    image_mask = torch.zeros(B, S, dtype=torch.bool)
    image_mask[:, 1 : 1 + torch.randint(1, prompt - 1, (1,), generator=gen).item()] = True
    image_mask[5] = False  # a row without image tokens
    lengths = torch.randint(1, T + 1, (B,), generator=gen)  # (B,)
    response_mask = torch.arange(T)[None, :] < lengths[:, None]  # (B, T)
    response_mask[2, 0] = False if lengths[2] > 2 else response_mask[2, 0]  # a row with a hole up front
    response_mask[3] = False
    response_mask[3, [1, 4, 5, 9]] = True  # holes in the middle
    response_mask[4] = False
    response_mask[4, T - 1] = True  # a single valid token
    ids = torch.tensor([3, 1, 3, 2, 1, 2, 7, 5, 5, 7, 3, 1, 2, 5, 7, 3, 1, 2, 5, 7, 9, 4, 4, 4])[:B]
    group_ids = ids[torch.randperm(B, generator=gen)]  # (B,) groups in any row order; 9 is alone
    if continuous_rewards:
        rewards = torch.rand(B, generator=gen, dtype=torch.float64)
    else:
        rewards = torch.randint(0, 2, (B,), generator=gen).to(torch.float64)
    return hidden, image_mask, response_mask, rewards, group_ids


def assert_matches_oracle(batch, cfg):
    got = token_advantages(*batch, cfg)
    want = torch.tensor(oracle(*batch, cfg), dtype=torch.float64)
    assert not torch.isnan(got).any()
    torch.testing.assert_close(got, want, rtol=1e-5, atol=1e-12)


@pytest.mark.parametrize(
    "switches", SWITCHES, ids=lambda s: "".join("IiCG"[k] if on else "-" for k, on in enumerate(s))
)
@pytest.mark.parametrize("mode", MODES)
def test_matches_oracle_every_switch_and_mode(switches, mode):
    intra, inter, comp, gate = switches
    cfg = make_config(intra, inter, comp, gate, mode)
    for seed in range(3):
        assert_matches_oracle(random_batch(seed, continuous_rewards=seed != 2), cfg)


@pytest.mark.parametrize("gamma,kappa,beta", [(0.0, 1.0, 1.0), (0.3, 0.5, 0.8), (1.0, 0.2, 0.3)])
def test_matches_oracle_other_hyper_parameters(gamma, kappa, beta):
    cfg = make_config(gamma=0.0, kappa=0.0, beta=0.0)
    cfg.gamma, cfg.kappa, cfg.beta = gamma, kappa, beta
    assert_matches_oracle(random_batch(11, B=16, T=30), cfg)


def test_all_off_is_grpo():
    hidden, image_mask, response_mask, rewards, group_ids = random_batch(1)
    got = token_advantages(
        hidden, image_mask, response_mask, rewards, group_ids, make_config(False, False, False, False)
    )
    want = torch.tensor(oracle_grpo(rewards.tolist(), group_ids.tolist(), 1e-6), dtype=torch.float64)
    torch.testing.assert_close(got, want[:, None] * response_mask, rtol=1e-12, atol=0.0)


def test_weights_stay_in_their_clip_ranges():
    hidden, image_mask, response_mask, rewards, group_ids = random_batch(4, B=24, T=40)
    _, stats = token_advantages_with_stats(
        hidden, image_mask, response_mask, rewards, group_ids, make_config()
    )
    assert 0.1 <= stats["vgpo/psi_min"] <= stats["vgpo/psi_max"] <= 2.0
    assert 0.9 <= stats["vgpo/alpha_min"] <= stats["vgpo/alpha_max"] <= 2.0
    psi, w_hat = intra_weights(
        torch.rand(8, 40, dtype=torch.float64) * 5, torch.ones(8, 40, dtype=torch.bool)
    )
    assert psi.min() >= 0.1 and psi.max() <= 2.0
    alpha = inter_weights(w_hat, torch.ones(8, 40, dtype=torch.bool), torch.tensor([0, 1, 0, 1, 0, 1, 0, 1]))
    assert alpha.min() >= 0.9 and alpha.max() <= 2.0


def test_stats_are_zero_dim_tensors():
    _, stats = token_advantages_with_stats(*random_batch(0), make_config())
    assert set(stats) >= {"vgpo/focus_mean", "vgpo/focus_late_early_ratio", "vgpo/gate_pass_rate"}
    assert all(isinstance(v, torch.Tensor) and v.dim() == 0 and torch.isfinite(v) for v in stats.values())


def test_no_image_rows_and_single_tokens_give_no_nan():
    hidden, image_mask, response_mask, rewards, group_ids = random_batch(2)
    image_mask[:] = False  # no row has an image: every w is 0
    for cfg in (make_config(), make_config(mode="exponential"), make_config(gate=False)):
        got, stats = token_advantages_with_stats(hidden, image_mask, response_mask, rewards, group_ids, cfg)
        ratio = stats.pop(
            "vgpo/focus_late_early_ratio"
        )  # undefined without an image: NaN, which TRL's log skips
        assert torch.isfinite(got).all() and all(torch.isfinite(v) for v in stats.values()) and ratio.isnan()
        torch.testing.assert_close(
            got,
            torch.tensor(
                oracle(hidden, image_mask, response_mask, rewards, group_ids, cfg), dtype=torch.float64
            ),
        )
    one = torch.zeros(2, 5, dtype=torch.bool)
    one[:, 2] = True
    got = token_advantages(
        torch.randn(2, 9, 3),
        torch.ones(2, 9, dtype=torch.bool),
        one,
        torch.tensor([1.0, 0.0]),
        torch.tensor([0, 0]),
        make_config(),
    )
    assert torch.isfinite(got).all() and (got[~one] == 0).all()


def test_permuting_rows_permutes_outputs():
    batch = random_batch(3)
    order = torch.randperm(len(batch[0]), generator=torch.Generator().manual_seed(0))
    for cfg in (make_config(), make_config(intra=False)):
        got = token_advantages(*(x[order] for x in batch), cfg)
        torch.testing.assert_close(got, token_advantages(*batch, cfg)[order], rtol=1e-12, atol=1e-14)


# ---------------------------------------------------------------- units


@pytest.mark.parametrize(
    "row,want",
    [
        ([1, 1, 1, 1, 1], [0, 0.25, 0.5, 0.75, 1]),
        ([1, 1, 1, 0, 0], [0, 0.5, 1, 0, 0]),
        ([0, 1, 0, 1, 1], [0, 0, 0, 0.5, 1]),
        ([0, 0, 1, 0, 0], [0, 0, 0, 0, 0]),
        ([0, 0, 0, 0, 0], [0, 0, 0, 0, 0]),
    ],
)
def test_relative_positions(row, want):
    got = relative_positions(torch.tensor([row], dtype=torch.bool), torch.float64)
    torch.testing.assert_close(got, torch.tensor([want], dtype=torch.float64))


@pytest.mark.parametrize(
    "w,mask,gamma,kappa,want",
    [
        # tail = t >= floor(0.5 * 6) = 3 (3 tokens), k = max(1, floor(0.2 * 3)) = 1: the single best
        ([0.9, 0.1, 0.3, 0.8, 0.5, 0.2], [1] * 6, 0.5, 0.2, [0, 0, 0, 1, 0, 0]),
        # a tie at the threshold: both pass
        ([0.9, 0.1, 0.3, 0.8, 0.8, 0.2], [1] * 6, 0.5, 0.2, [0, 0, 0, 1, 1, 0]),
        # k = floor(0.7 * 3) = 2; the 2nd largest (0.5) is tied: three pass, not the 0.5 before the tail
        ([0.9, 0.1, 0.5, 0.8, 0.5, 0.5], [1] * 6, 0.5, 0.7, [0, 0, 0, 1, 1, 1]),
        # all tail values equal: every candidate passes
        ([0.0, 0.0, 0.0, 0.0], [1] * 4, 0.5, 0.2, [0, 0, 1, 1]),
        # holes: valid tokens are positions 1, 2, 4, 5 (T_i = 4), tail = valid t >= 2 -> positions 4, 5
        ([0.9, 0.7, 0.6, 0.99, 0.1, 0.4], [0, 1, 1, 0, 1, 1], 0.5, 0.2, [0, 0, 0, 0, 0, 1]),
        # a single token: floor(0.5 * 1) = 0, the token is its own tail and passes
        ([0.0, 0.3, 0.0], [0, 1, 0], 0.5, 0.2, [0, 1, 0]),
        # no valid token: nothing passes
        ([0.5, 0.5], [0, 0], 0.5, 0.2, [0, 0]),
    ],
)
def test_visual_gate(w, mask, gamma, kappa, want):
    got = visual_gate(
        torch.tensor([w], dtype=torch.float64), torch.tensor([mask], dtype=torch.bool), gamma, kappa
    )
    assert got.tolist() == [[bool(x) for x in want]]


def test_grpo_single_member_group_and_row_order():
    rewards = torch.tensor([1.0, 0.0, 1.0, 0.5, 1.0, 0.0])
    group_ids = torch.tensor([3, 8, 1, 9, 8, 3])  # 9 alone; 1 alone; 3 and 8 non-adjacent pairs
    got = grpo_advantages(rewards, group_ids, 1e-6)
    torch.testing.assert_close(got, torch.tensor(oracle_grpo(rewards.tolist(), group_ids.tolist(), 1e-6)))
    assert got[3] == 0 and got[2] == 0
    # sample std of {1, 0} is sqrt(0.5): advantages are +-0.5 / sqrt(0.5) = +-0.7071
    torch.testing.assert_close(got[[0, 5]], torch.tensor([1.0, -1.0]) * math.sqrt(0.5), rtol=1e-5, atol=0)


def test_normalise_excludes_padding():
    scores = torch.tensor([[0.2, 0.6, -5.0], [0.4, 9.0, 9.0]])
    mask = torch.tensor([[1, 1, 0], [1, 0, 0]], dtype=torch.bool)
    got = normalise(scores, mask)
    torch.testing.assert_close(got, torch.tensor([[0.0, 1.0, 0.0], [0.5, 0.0, 0.0]]))
    assert (normalise(torch.full((2, 3), 0.7), torch.ones(2, 3, dtype=torch.bool)) == 0).all()
    assert (normalise(scores, torch.zeros(2, 3, dtype=torch.bool)) == 0).all()


def test_prototype_and_focus_without_image_are_zero():
    hidden = torch.randn(2, 6, 4, dtype=torch.float64)
    image_mask = torch.tensor([[0, 1, 1, 0, 0, 0], [0] * 6], dtype=torch.bool)
    proto = visual_prototype(hidden, image_mask)
    torch.testing.assert_close(proto[0], hidden[0, 1:3].mean(0))
    assert (proto[1] == 0).all()
    scores = focus_scores(hidden, image_mask, torch.tensor([[1, 1, 0], [1, 1, 1]], dtype=torch.bool))
    torch.testing.assert_close(
        scores[0, 0], torch.nn.functional.cosine_similarity(hidden[0, 3], proto[0], dim=0)
    )
    assert scores[0, 2] == 0 and (scores[1] == 0).all()


def test_logged_focus_is_the_raw_cosine_comparable_across_steps():
    """The logged focus and forgetting ratio are on the raw cosines, not the per-batch min-max (which is
    always in [0, 1] whatever the model does): a batch whose cosines all sit near 0.2 logs about 0.2."""
    from vgpo_train.advantage import token_advantages_from_scores

    g = torch.Generator().manual_seed(0)
    scores = 0.2 + 0.01 * torch.rand(4, 6, generator=g, dtype=torch.float64)  # (B, T)
    scores[:, 3:] -= 0.1  # the second half looks less: ratio about 0.5
    mask = torch.ones(4, 6, dtype=torch.bool)
    _, stats = token_advantages_from_scores(scores, mask, torch.ones(4, dtype=torch.bool),
                                            torch.tensor([1.0, 0.0, 1.0, 0.0]), torch.tensor([0, 0, 1, 1]),
                                            make_config())  # fmt: skip
    assert abs(float(stats["vgpo/focus_mean"]) - float(scores.mean())) < 1e-9
    assert 0.45 < float(stats["vgpo/focus_late_early_ratio"]) < 0.55


def test_the_update_scope_normalises_each_update_sized_run_of_groups_alone():
    """focus_scope="update" with one group per update equals computing each group on its own; the
    default rollout scope normalises across groups and differs."""
    from vgpo_train.advantage import token_advantages_from_scores

    g = torch.Generator().manual_seed(3)
    scores = torch.rand(8, 7, generator=g, dtype=torch.float64)  # (B, T)
    scores[4:] *= 3  # the second group's cosines sit higher: a batch-wide min-max squeezes the first's
    mask = torch.ones(8, 7, dtype=torch.bool)
    mask[1, 5:] = False
    images, rewards = torch.ones(8, dtype=torch.bool), torch.tensor([1.0, 0, 0, 1, 1, 1, 0, 0])
    groups = torch.tensor([0, 0, 0, 0, 1, 1, 1, 1])
    update = make_config(focus_scope="update", global_batch=1)
    got, _ = token_advantages_from_scores(scores, mask, images, rewards, groups, update)
    for rows in (slice(0, 4), slice(4, 8)):
        alone, _ = token_advantages_from_scores(scores[rows], mask[rows], images[rows], rewards[rows],
                                                groups[rows], make_config())  # fmt: skip
        torch.testing.assert_close(got[rows], alone)
    whole, _ = token_advantages_from_scores(scores, mask, images, rewards, groups, make_config())
    assert not torch.allclose(whole, got)
    with pytest.raises(ValueError, match="focus_scope 'minibatch'"):
        token_advantages_from_scores(
            scores, mask, images, rewards, groups, make_config(focus_scope="minibatch")
        )
