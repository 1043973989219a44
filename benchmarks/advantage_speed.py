"""Speed of VGPO's vectorised token advantage against the straightforward per-token loop, on CPU.

The loop below is the obvious row-by-row, token-by-token reading of docs/trainer.md steps 1-10 (the shape
of the public reference code's loops, on Python floats). Both run on one batch of B rollouts in
groups of n (shuffled group ids, ragged responses), the outputs are checked to agree, and the times
and their ratio are printed (medians of repeated runs) (target: >= 50x).

    python benchmarks/advantage_speed.py [--batch 64] [--steps 1024] [--prompt 256] [--hidden 64]
"""

from __future__ import annotations

import argparse
import math
import time
from types import SimpleNamespace

import torch

from vgpo_train.advantage import token_advantages


def _minmax(values: list[float]) -> list[float]:
    lo, hi = min(values), max(values)
    return [0.0] * len(values) if hi == lo else [(v - lo) / (hi - lo) for v in values]


def _grpo(rewards: list[float], groups: list[int], eps: float) -> list[float]:
    out = []
    for i, r in enumerate(rewards):
        members = [rewards[j] for j in range(len(rewards)) if groups[j] == groups[i]]
        mean = sum(members) / len(members)
        var = sum((x - mean) ** 2 for x in members) / (len(members) - 1) if len(members) > 1 else 0.0
        out.append((r - mean) / (math.sqrt(var) + eps))
    return out


def _focus(h: list, im: list, rm: list) -> list[list[float]]:
    """Steps 2-4 per token: cosine to the image prototype, min-max over the batch's valid tokens."""
    rows, seq, steps = len(h), len(h[0]), len(rm[0])
    s = [[None] * steps for _ in range(rows)]
    for i in range(rows):
        image = [h[i][j] for j in range(seq) if im[i][j]]
        if not image:
            continue
        v = [sum(x[d] for x in image) / len(image) for d in range(len(h[i][0]))]
        nv = math.sqrt(sum(x * x for x in v))
        for t in range(steps):
            if rm[i][t]:
                x = h[i][seq - steps + t]
                s[i][t] = sum(a * b for a, b in zip(x, v, strict=True)) / (
                    math.sqrt(sum(a * a for a in x)) * nv
                )
    flat = [x for row in s for x in row if x is not None]
    lo, hi = min(flat), max(flat)
    return [[0.0 if x is None or hi == lo else (x - lo) / (hi - lo) for x in row] for row in s]


def loop_advantages(hidden, image_mask, response_mask, rewards, group_ids, cfg) -> torch.Tensor:
    """docs/trainer.md steps 1-10, one rollout and one token at a time (all switches on, linear Eq. 5)."""
    rm, g = response_mask.tolist(), group_ids.tolist()
    a = _grpo(rewards.tolist(), g, cfg.eps)
    w = _focus(hidden.tolist(), image_mask.tolist(), rm)
    rows, steps = len(rm), len(rm[0])
    psi, phi = [[0.0] * steps for _ in range(rows)], []
    for i in range(rows):
        valid = [t for t in range(steps) if rm[i][t]]
        n, start = len(valid), math.floor(cfg.gamma * len(valid))
        tail = [w[i][t] for t in valid[start:]]
        kth = sorted(tail, reverse=True)[max(1, math.floor(cfg.kappa * len(tail))) - 1]
        compensated = []
        for j, t in enumerate(valid):
            gate = 1.0 if j >= start and w[i][t] >= kth else 0.0
            compensated.append(w[i][t] * (1 + gate * cfg.beta * (j / (n - 1) if n > 1 else 0.0)))
        w_hat = _minmax(compensated)
        mean = sum(w_hat) / n
        for j, t in enumerate(valid):
            psi[i][t] = min(2.0, max(0.1, 1 + w_hat[j] - mean))
        phi.append(sum(w_hat))
    out = [[0.0] * steps for _ in range(rows)]
    for i in range(rows):
        members = [j for j in range(rows) if g[j] == g[i]]
        tilde = dict(zip(members, _minmax([phi[j] for j in members]), strict=True))
        alpha = min(2.0, max(0.9, 1 + tilde[i] - sum(tilde.values()) / len(members)))
        for t in range(steps):
            out[i][t] = a[i] * alpha * psi[i][t]
    return torch.tensor(out, dtype=torch.float32)


def _median_time(run, repeats: int) -> tuple[float, torch.Tensor]:
    """Median wall time of `run` (robust to other processes on a shared CPU) and its last output."""
    times = []
    for _ in range(repeats):
        start = time.perf_counter()
        out = run()
        times.append(time.perf_counter() - start)
    return sorted(times)[len(times) // 2], out


def make_batch(batch: int, steps: int, prompt: int, hidden: int, group: int, seed: int = 0):
    gen = torch.Generator().manual_seed(seed)
    last_hidden = torch.randn(batch, prompt + steps, hidden, generator=gen)  # (B, S, H)
    image_mask = torch.zeros(batch, prompt + steps, dtype=torch.bool)  # (B, S)
    image_mask[:, 16 : prompt - 16] = True
    lengths = torch.randint(steps // 4, steps + 1, (batch,), generator=gen)  # (B,)
    response_mask = torch.arange(steps)[None, :] < lengths[:, None]  # (B, T)
    rewards = torch.randint(0, 2, (batch,), generator=gen).float()  # (B,)
    group_ids = torch.arange(batch // group).repeat_interleave(group)[torch.randperm(batch, generator=gen)]
    return last_hidden, image_mask, response_mask, rewards, group_ids


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--batch", type=int, default=64)
    parser.add_argument("--steps", type=int, default=1024, help="response length T")
    parser.add_argument("--prompt", type=int, default=256, help="prompt positions (S = T + prompt)")
    parser.add_argument("--hidden", type=int, default=64)
    parser.add_argument("--group", type=int, default=8, help="rollouts per prompt")
    parser.add_argument("--repeats", type=int, default=21, help="timed runs of the vectorised version")
    parser.add_argument("--loop-repeats", type=int, default=3, help="timed runs of the loop")
    args = parser.parse_args()
    cfg = SimpleNamespace(
        intra=True, inter=True, compensation=True, gate=True, beta=0.3, gamma=0.5, kappa=0.2
    )
    cfg.eps = 1e-6
    batch = make_batch(args.batch, args.steps, args.prompt, args.hidden, args.group)
    token_advantages(*batch, cfg)  # warm-up
    vectorised, fast = _median_time(lambda: token_advantages(*batch, cfg), args.repeats)
    looped, slow = _median_time(lambda: loop_advantages(*batch, cfg), args.loop_repeats)
    error = ((fast - slow).abs().max() / slow.abs().max()).item()
    print(f"B={args.batch} T={args.steps} S={args.steps + args.prompt} H={args.hidden} groups of {args.group}, "
          f"CPU, {torch.get_num_threads()} torch threads")  # fmt: skip
    print(
        f"median time: vectorised {vectorised * 1e3:.2f} ms   loop: {looped * 1e3:.0f} ms   ratio: {looped / vectorised:.0f}x"
    )
    print(f"max |difference| / max |loop| = {error:.1e}")


if __name__ == "__main__":
    main()
