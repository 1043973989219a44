"""`python -m vgpo_train demo`: a few VGPO steps on CPU that visibly train, offline, in a minute or two.

A tiny random-weight Qwen2.5-VL (built offline) on synthetic ViRL39K-style rows whose gold answer
is "7"; generation is limited to one token among the ten digits, so a random policy is right about
one time in ten and most groups mix right and wrong answers: there is a learning signal. The reward
is the strict checker, as in a real run. The last line says whether the weights changed (the
gradient norm of each step, from `trainer_state.json`) and how the mean reward moved.

    python -m vgpo_train demo --out runs/vgpo-demo
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vgpo-train demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("runs/vgpo-demo"), help="(default: %(default)s)")
    parser.add_argument("--steps", type=int, default=8, help="optimiser steps (default: %(default)s)")
    args = parser.parse_args(argv)
    from transformers import AutoTokenizer

    from vgpo_eval.checker.rewards import trl_reward
    from vgpo_eval.tiny import build_tiny_qwen2_5_vl
    from vgpo_tasks import synthetic
    from vgpo_train.config import VGPOConfig
    from vgpo_train.data import training_dataset
    from vgpo_train.trainer import VGPOTrainer, grpo_args

    print("offline demo: a tiny RANDOM-weight model learning to answer 7 (one digit) with VGPO on CPU")
    model = build_tiny_qwen2_5_vl(args.out / "model")
    data = synthetic.write(args.out / "data", ["virl39k"], n=4)
    rows, _ = training_dataset("virl39k", "local", data, min_pixels=3136, max_pixels=12544)
    rows = rows.map(lambda row: {"answer": "7"})
    tokenizer = AutoTokenizer.from_pretrained(model)
    digits = {tokenizer.convert_tokens_to_ids(d) for d in "0123456789"}
    config = VGPOConfig(num_generations=16, rollout_batch=4, global_batch=4, per_device_batch=16,
                        max_completion_length=1, min_pixels=3136, max_pixels=12544, reward_protocol="strict",
                        max_refill_rounds=4)  # fmt: skip
    trl_args = grpo_args(config, str(args.out / "train"), max_steps=args.steps, learning_rate=5e-3,
                         generation_kwargs={"suppress_tokens": [i for i in range(len(tokenizer)) if i not in digits]})  # fmt: skip
    trainer = VGPOTrainer(model=str(model), reward_funcs=[trl_reward("strict")], args=trl_args, train_dataset=rows,
                          vgpo=config)  # fmt: skip
    trainer.train()
    trainer.save_state()
    print(summary(json.loads((args.out / "train" / "trainer_state.json").read_text())["log_history"]))
    return 0


def summary(history: list[dict]) -> str:
    """One line: whether the weights changed (non-zero gradient norms), or why not; the reward's move."""
    steps = [entry for entry in history if "grad_norm" in entry]
    rewards = [entry["reward"] for entry in steps if "reward" in entry]
    moved = [entry["grad_norm"] for entry in steps if entry["grad_norm"] and entry["grad_norm"] > 0]
    if not steps:
        return "no step ran: the data is smaller than one rollout batch"
    if not moved:
        return "the weights did not change: every group was all right or all wrong (filtered), so no gradient"
    return (f"the weights changed: {len(moved)} of {len(steps)} steps had a non-zero gradient norm "
            f"(largest {max(moved):.3g}); mean reward {rewards[0]:.2f} -> {rewards[-1]:.2f}")  # fmt: skip
