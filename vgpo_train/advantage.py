"""VGPO's per-token advantage: GRPO's rollout advantage reshaped by visual focus (docs/trainer.md steps 1, 5-10).

A_{i,t} = A_i * alpha_i * psi_{i,t}: A_i the GRPO advantage (step 1), psi the intra-trajectory weight
of token t (Eq. 7-8), alpha the inter-trajectory weight of rollout i within its prompt's group
(Eq. 9-11), both built from the compensated, gated visual focus w' (Eq. 5-6). Pure tensor functions,
no loops over batch or time; groups are found by prompt id, so rows may come in any order.

    adv = token_advantages(last_hidden, image_mask, response_mask, rewards, group_ids, config)

`config` is any object with bools `intra, inter, compensation, gate` and floats `beta, gamma, kappa`
(optional: `compensation_mode`, `compensation_power`, `step_ratio`, `eps`). The slow loop oracle of
every formula here lives in tests/test_advantage.py.
"""

from __future__ import annotations

from typing import Any

import torch

from vgpo_eval.focus import focus_scores, normalise

COMPENSATIONS = {
    "linear": lambda p, config: config.beta * p,
    "exponential": lambda p, config: config.beta * p.pow(getattr(config, "compensation_power", 2.0)),
    "step": lambda p, config: config.beta * (p >= getattr(config, "step_ratio", 0.5)).to(p.dtype),
}


def group_index(group_ids: torch.Tensor) -> tuple[torch.Tensor, int]:
    """Dense group index 0..G-1 of each row, whatever the ids and the row order."""
    unique, index = torch.unique(group_ids, return_inverse=True)  # (G,), (B,)
    return index, unique.numel()


def group_mean(values: torch.Tensor, index: torch.Tensor, groups: int) -> torch.Tensor:
    """Mean of `values` (B,) over each group -> (G,)."""
    total = values.new_zeros(groups).index_add_(0, index, values)  # (G,)
    count = torch.bincount(index, minlength=groups).to(values.dtype)  # (G,)
    return total / count  # (G,)


def _token_index(response_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Index t of each valid token within its response (holes in the mask allowed) and lengths T_i."""
    mask = response_mask.bool()
    t = mask.long().cumsum(1) - 1  # (B, T) index of each valid token
    n = mask.sum(1, keepdim=True)  # (B, 1) response lengths T_i
    return t, n


def _tail_candidates(response_mask: torch.Tensor, gamma: float) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 6 candidates: valid tokens with t >= floor(gamma * T_i); also the tail lengths (B, 1)."""
    t, n = _token_index(response_mask)  # (B, T), (B, 1)
    start = torch.floor(gamma * n.double()).long()  # (B, 1) float64 floor, as Python's math.floor
    candidate = response_mask.bool() & (t >= start)  # (B, T)
    return candidate, n - start  # (B, T), (B, 1)


def grpo_advantages(rewards: torch.Tensor, group_ids: torch.Tensor, eps: float = 1e-6) -> torch.Tensor:
    """Step 1: A_i = (r_i - mean_G r) / (std_G r + eps), std the sample (n-1) std; groups by id.

    rewards (B,), group_ids (B,) any ids in any row order -> (B,); a group of one gives 0.
    """
    rewards = rewards.to(torch.promote_types(rewards.dtype, torch.float32))  # (B,)
    index, groups = group_index(group_ids)  # (B,)
    deviation = rewards - group_mean(rewards, index, groups)[index]  # (B,)
    square = rewards.new_zeros(groups).index_add_(0, index, deviation.square())  # (G,)
    count = torch.bincount(index, minlength=groups).to(rewards.dtype)  # (G,)
    std = (square / (count - 1).clamp_min(1)).sqrt()  # (G,) 0 for a group of one
    return deviation / (std[index] + eps)  # (B,)


def relative_positions(response_mask: torch.Tensor, dtype: torch.dtype = torch.float32) -> torch.Tensor:
    """Step 5: p_{i,t} = t / (T_i - 1) over the valid tokens (0 first, 1 last; a 1-token response: 0).

    response_mask (B, T) -> (B, T) of `dtype`, 0 at padding; t counts valid tokens, so holes are fine.
    """
    t, n = _token_index(response_mask)  # (B, T), (B, 1)
    p = t.to(dtype) / (n - 1).clamp_min(1).to(dtype)  # (B, T)
    return torch.where(response_mask.bool(), p, torch.zeros_like(p))  # (B, T)


def compensation(positions: torch.Tensor, config: Any) -> torch.Tensor:
    """Eq. 5: C = beta * p (linear), beta * p^k (exponential), beta * [p >= step_ratio] (step).

    positions (B, T) -> (B, T); the mode is `config.compensation_mode` (default "linear").
    """
    mode = getattr(config, "compensation_mode", "linear")
    if mode not in COMPENSATIONS:
        raise ValueError(f"compensation_mode {mode!r} is not one of {sorted(COMPENSATIONS)}")
    return COMPENSATIONS[mode](positions, config)  # (B, T)


def visual_gate(w: torch.Tensor, response_mask: torch.Tensor, gamma: float, kappa: float) -> torch.Tensor:
    """Eq. 6: G_{i,t} = 1 for the top-kappa tail tokens by w, ties at the threshold included.

    Candidates are the valid tokens with t >= floor(gamma * T_i); k = max(1, floor(kappa * tail_len));
    a candidate passes when its w >= the k-th largest candidate w of its row.
    w (B, T), response_mask (B, T) -> (B, T) bool.
    """
    candidate, tail = _tail_candidates(response_mask, gamma)  # (B, T), (B, 1)
    k = torch.floor(kappa * tail.double()).long().clamp_min(1)  # (B, 1)
    ranked = w.masked_fill(~candidate, float("-inf")).sort(dim=1, descending=True).values  # (B, T)
    threshold = ranked.gather(1, (k - 1).clamp_max(w.shape[1] - 1))  # (B, 1) k-th largest candidate w
    return candidate & (w >= threshold)  # (B, T)


def _row_minmax(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Min-max of each row over its valid tokens; a row whose valid values are all equal -> zeros."""
    low = values.masked_fill(~mask, float("inf")).amin(1, keepdim=True)  # (B, 1)
    high = values.masked_fill(~mask, float("-inf")).amax(1, keepdim=True)  # (B, 1)
    spread = high - low  # (B, 1)
    ok = spread > 0  # (B, 1)
    scaled = (values - low) / torch.where(ok, spread, torch.ones_like(spread))  # (B, T)
    return torch.where(mask & ok, scaled, torch.zeros_like(scaled))  # (B, T)


def intra_weights(w_prime: torch.Tensor, response_mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Eq. 7-8: w_hat = per-rollout min-max of w'; psi = clip(1 + (w_hat - mean_t w_hat), 0.1, 2.0).

    w_prime (B, T), response_mask (B, T) -> (psi (B, T), w_hat (B, T)), both 0 at padding.
    """
    mask = response_mask.bool()
    w_hat = _row_minmax(w_prime, mask)  # (B, T)
    count = mask.sum(1, keepdim=True).clamp_min(1).to(w_hat.dtype)  # (B, 1)
    mean = w_hat.sum(1, keepdim=True) / count  # (B, 1) mean over valid tokens
    psi = (1 + (w_hat - mean)).clamp(0.1, 2.0)  # (B, T)
    return torch.where(mask, psi, torch.zeros_like(psi)), w_hat  # (B, T), (B, T)


def inter_weights(w_hat: torch.Tensor, response_mask: torch.Tensor, group_ids: torch.Tensor) -> torch.Tensor:
    """Eq. 9-11: phi_i = sum_t w_hat; phi_tilde = min-max of phi within the group of prompt q;
    alpha_i = clip(1 + (phi_tilde_i - mean_G phi_tilde), 0.9, 2.0).

    w_hat (B, T), response_mask (B, T), group_ids (B,) in any row order -> (B,).
    """
    index, groups = group_index(group_ids)  # (B,)
    phi = (w_hat * response_mask.to(w_hat.dtype)).sum(1)  # (B,)
    low = phi.new_full((groups,), float("inf")).scatter_reduce(0, index, phi, "amin")  # (G,)
    high = phi.new_full((groups,), float("-inf")).scatter_reduce(0, index, phi, "amax")  # (G,)
    spread = (high - low)[index]  # (B,)
    ok = spread > 0  # (B,) False when the group's phi are all equal
    tilde = torch.where(
        ok, (phi - low[index]) / torch.where(ok, spread, torch.ones_like(spread)), 0.0
    )  # (B,)
    return (1 + (tilde - group_mean(tilde, index, groups)[index])).clamp(0.9, 2.0)  # (B,)


def compensated_focus(
    w: torch.Tensor, response_mask: torch.Tensor, config: Any
) -> tuple[torch.Tensor, torch.Tensor]:
    """Step 7: w' = w * (1 + G * C); without the gate w * (1 + C); without compensation w' = w.

    w (B, T), response_mask (B, T) -> (w' (B, T), G (B, T) bool). G is computed even with the gate
    switched off, for the logged pass rate.
    """
    mask = response_mask.bool()
    gate = visual_gate(w, mask, config.gamma, config.kappa)  # (B, T) bool
    if not config.compensation:
        return w, gate
    c = compensation(relative_positions(mask, w.dtype), config)  # (B, T)
    boost = gate.to(w.dtype) * c if config.gate else c  # (B, T)
    return w * (1 + boost), gate  # (B, T), (B, T)


def token_advantages_with_stats(
    last_hidden: torch.Tensor,
    image_mask: torch.Tensor,
    response_mask: torch.Tensor,
    rewards: torch.Tensor,
    group_ids: torch.Tensor,
    config: Any,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Steps 1-10: A_{i,t} = A_i * alpha_i * psi_{i,t}, with the four ablation switches, and log stats.

    last_hidden (B, S, H) (the response is its last T positions; detached: advantages are constants),
    image_mask (B, S) bool, response_mask (B, T), rewards (B,), group_ids (B,) -> ((B, T), stats of
    0-d tensors). Rows without image tokens have w = 0 and are left out of the batch min-max.
    """
    mask = response_mask.bool()
    scores = focus_scores(last_hidden.detach(), image_mask, mask)  # (B, T)
    has_image = image_mask.bool().any(1)  # (B,)
    return token_advantages_from_scores(scores, mask, has_image, rewards, group_ids, config)


def scoped_normalise(
    scores: torch.Tensor, measured: torch.Tensor, group_ids: torch.Tensor, config: Any
) -> torch.Tensor:
    """Step 4 over the configured scope (`config.focus_scope`): "rollout" (default) min-max normalises over
    the whole batch given; "update" over each run of `config.global_batch` consecutive groups (groups in
    order of their ids), the size of one optimiser update. The reference's own scope is smaller: a dynamic
    micro-batch on one GPU (docs/trainer.md). scores, measured (B, T), group_ids (B,) -> (B, T)."""
    scope = getattr(config, "focus_scope", "rollout")
    if scope == "rollout":
        return normalise(scores, measured)  # (B, T)
    if scope != "update":
        raise ValueError(f"focus_scope {scope!r} is not 'rollout' or 'update'")
    index, groups = group_index(group_ids)  # (B,)
    chunk = index // config.global_batch  # (B,) which update-sized run of groups each row is in
    w = torch.zeros_like(scores)  # (B, T)
    for c in range(-(-groups // config.global_batch)):  # a handful of chunks per rollout batch
        rows = chunk == c  # (B,)
        w[rows] = normalise(scores[rows], measured[rows])
    return w


def token_advantages_from_scores(
    scores: torch.Tensor,
    response_mask: torch.Tensor,
    has_image: torch.Tensor,
    rewards: torch.Tensor,
    group_ids: torch.Tensor,
    config: Any,
) -> tuple[torch.Tensor, dict[str, torch.Tensor]]:
    """Steps 4-10 from raw focus scores s_{i,t} (B, T) (`focus.focus_scores`), for callers that compute
    them chunk by chunk and never hold all hidden states (the trainer's forward hook).

    response_mask (B, T), has_image (B,) bool, rewards (B,), group_ids (B,) -> ((B, T), stats).
    """
    mask = response_mask.bool()
    measured = mask & has_image.bool()[:, None]  # (B, T) rows with an image
    w = scoped_normalise(scores, measured, group_ids, config)  # (B, T)
    w_prime, gate = compensated_focus(w, mask, config)  # (B, T), (B, T) bool
    psi, w_hat = intra_weights(w_prime, mask)  # (B, T), (B, T)
    alpha = inter_weights(w_hat, mask, group_ids)  # (B,)
    psi = psi if config.intra else mask.to(w.dtype)  # (B, T)
    alpha = alpha if config.inter else torch.ones_like(alpha)  # (B,)
    a = grpo_advantages(rewards, group_ids, getattr(config, "eps", 1e-6)).to(w.dtype)  # (B,)
    advantages = a[:, None] * alpha[:, None] * psi  # (B, T) 0 at padding through psi
    return advantages, _stats(scores, w, measured, gate, psi, alpha, mask, config.gamma)


def token_advantages(
    last_hidden: torch.Tensor,
    image_mask: torch.Tensor,
    response_mask: torch.Tensor,
    rewards: torch.Tensor,
    group_ids: torch.Tensor,
    config: Any,
) -> torch.Tensor:
    """Step 10: the per-token advantage A_i * alpha_i * psi_{i,t}, (B, T), 0 at padding.

    Same arguments as `token_advantages_with_stats`. All four switches off = GRPO broadcast.
    """
    return token_advantages_with_stats(last_hidden, image_mask, response_mask, rewards, group_ids, config)[0]


def _masked_mean(values: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    return (values * mask).sum() / mask.sum().clamp_min(1)  # ()


def _masked_extremes(values: torch.Tensor, mask: torch.Tensor) -> tuple[torch.Tensor, torch.Tensor]:
    """Min and max over the masked entries; 0 and 0 when nothing is masked in."""
    any_ = mask.any()  # ()
    low = torch.where(any_, values.masked_fill(~mask, float("inf")).amin(), 0.0)  # ()
    high = torch.where(any_, values.masked_fill(~mask, float("-inf")).amax(), 0.0)  # ()
    return low, high


def _stats(scores, w, measured, gate, psi, alpha, mask, gamma) -> dict[str, torch.Tensor]:
    """Logging stats as 0-d tensors (no host sync). The focus and the forgetting ratio are on the raw
    cosines s (comparable across steps; w is min-max normalised per batch); gate pass rate, psi, alpha."""
    t, n = _token_index(mask)  # (B, T), (B, 1)
    late = measured & (t >= n // 2)  # (B, T) second half of each response
    early = measured & (t < n // 2)  # (B, T) first half
    candidate, _ = _tail_candidates(mask, gamma)  # (B, T)
    raw = scores.to(w.dtype)  # (B, T)
    late_mean, early_mean = _masked_mean(raw, late), _masked_mean(raw, early)  # (), ()
    psi_min, psi_max = _masked_extremes(psi, mask)  # (), ()
    return {
        "vgpo/focus_mean": _masked_mean(raw, measured),
        "vgpo/focus_early": early_mean,
        "vgpo/focus_late": late_mean,
        "vgpo/focus_late_early_ratio": torch.where(early_mean != 0, late_mean / early_mean, float("nan")),
        "vgpo/gate_pass_rate": _masked_mean(gate.to(w.dtype), candidate),
        "vgpo/psi_min": psi_min,
        "vgpo/psi_max": psi_max,
        "vgpo/psi_mean": _masked_mean(psi, mask),
        "vgpo/alpha_min": alpha.amin() if alpha.numel() else alpha.new_zeros(()),
        "vgpo/alpha_max": alpha.amax() if alpha.numel() else alpha.new_zeros(()),
        "vgpo/alpha_mean": alpha.mean() if alpha.numel() else alpha.new_zeros(()),
    }
