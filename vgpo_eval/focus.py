"""Visual focus of response tokens: how close each generated token is to the image (docs/trainer.md steps 2-4).

The prototype of a sequence is the mean last-layer hidden state over its image tokens; the focus of a
response token is the cosine between its hidden state and that prototype, min-max normalised over the
valid response tokens of the whole batch. Shared by the trainer (`vgpo_train.advantage`) and the
analysis of a run's responses, so the number a run logs and the number an analysis shows are one formula.

    s = focus_scores(last_hidden, image_mask, response_mask)      # (B, T)
    w = normalise(s, response_mask & image_mask.any(1, keepdim=True))
"""

from __future__ import annotations

import torch


def final_norm(model: torch.nn.Module) -> torch.nn.Module:
    """The norm after the language model's last layer (its output is hidden_states[-1])."""
    decoder = model.get_decoder() if hasattr(model, "get_decoder") else model
    if not hasattr(decoder, "norm"):
        raise ValueError(
            f"cannot find the final norm of {type(model).__name__}: VGPO needs last-layer hidden states"
        )
    return decoder.norm


def _compute_dtype(dtype: torch.dtype) -> torch.dtype:
    """At least float32: bf16 cosines and min-max would quantise the focus scores."""
    return torch.promote_types(dtype, torch.float32)


def visual_prototype(last_hidden: torch.Tensor, image_mask: torch.Tensor) -> torch.Tensor:
    """Step 2: v_i = mean of the last-layer hidden states at the image-token positions of sequence i.

    last_hidden (B, S, H), image_mask (B, S) bool -> (B, H); a row without image tokens gives zeros.
    """
    dtype = _compute_dtype(last_hidden.dtype)
    weights = image_mask.to(dtype).unsqueeze(1)  # (B, 1, S)
    total = torch.bmm(weights, last_hidden.to(dtype)).squeeze(1)  # (B, H) sum over image positions
    count = image_mask.sum(1, keepdim=True).clamp_min(1).to(dtype)  # (B, 1)
    return total / count  # (B, H)


def focus_scores(
    last_hidden: torch.Tensor, image_mask: torch.Tensor, response_mask: torch.Tensor
) -> torch.Tensor:
    """Step 3: s_{i,t} = cos(h_{i,t}, v_i), the response being the last T positions of the S.

    last_hidden (B, S, H), image_mask (B, S), response_mask (B, T) -> (B, T) in the compute dtype
    (>= float32); 0 at padding and on rows without image tokens.
    """
    with torch.autocast(last_hidden.device.type, enabled=False):  # float32 maths even inside bf16 autocast
        return _focus_scores(last_hidden, image_mask, response_mask)


def _focus_scores(
    last_hidden: torch.Tensor, image_mask: torch.Tensor, response_mask: torch.Tensor
) -> torch.Tensor:
    steps = response_mask.shape[1]
    dtype = _compute_dtype(last_hidden.dtype)
    prototype = visual_prototype(last_hidden, image_mask)  # (B, H)
    hidden = last_hidden[:, last_hidden.shape[1] - steps :, :].to(dtype)  # (B, T, H)
    dot = torch.einsum("bth,bh->bt", hidden, prototype)  # (B, T)
    norms = hidden.norm(dim=-1) * prototype.norm(dim=-1, keepdim=True)  # (B, T)
    cosine = dot / norms.clamp_min(torch.finfo(dtype).tiny)  # (B, T) zero vectors give 0, not NaN
    valid = response_mask.bool() & image_mask.bool().any(1, keepdim=True)  # (B, T)
    return torch.where(valid, cosine, torch.zeros_like(cosine))  # (B, T)


def normalise(scores: torch.Tensor, mask: torch.Tensor) -> torch.Tensor:
    """Step 4: w = min-max of the scores over ALL valid tokens of the batch (padding excluded).

    scores (B, T), mask (B, T) -> (B, T) in [0, 1]; all valid scores equal -> zeros; 0 where mask is off.
    """
    mask = mask.bool()
    low = scores.masked_fill(~mask, float("inf")).amin()  # () batch minimum over valid tokens
    high = scores.masked_fill(~mask, float("-inf")).amax()  # () batch maximum over valid tokens
    spread = high - low  # () -inf when nothing is valid
    ok = spread > 0  # () False when all equal or nothing valid
    scaled = (scores - low) / torch.where(ok, spread, torch.ones_like(spread))  # (B, T)
    return torch.where(mask & ok, scaled, torch.zeros_like(scaled))  # (B, T)
