"""`python -m vgpo_train demo`: a few VGPO steps on CPU that visibly train, offline, in well under a minute.

A tiny random-weight Qwen2.5-VL (built offline) on synthetic ViRL39K-style rows whose gold answer
is "7". Every completion is 4 tokens: a digit, then three tokens each a digit or a line break
(generation is restricted to those eleven tokens, the end token excluded, with a +4 logit bias on
the line break so that the first digit often stands alone on its line). The reward is the strict
checker, as in a real run: it reads a bare first line as the answer, so "7" then a line break is
right whatever follows, and "73..." is not. A random policy is right about one time in twelve to
fifteen; with groups of 16 most groups mix right and wrong answers (dynamic sampling draws more
prompts for the others), so there is a learning signal, and the reward climbs (from about 0.06 to
0.8 in the default 8 steps) as the policy learns to open with "7" and a line break.

With several tokens per completion VGPO's weights are at work: psi (per token, from each token's
visual focus) and alpha (per rollout, within its group) move away from 1, where GRPO would have 1
and 1 (a one-token completion gives psi = 1, two tokens give alpha = 1). Each step prints one line
(its mean reward and the ranges of psi and alpha); the last line says whether the weights changed
(the gradient norm of each step, from `trainer_state.json`), how the mean reward moved and the psi
and alpha ranges over the run. `--verbose` prints TRL's own log instead (a progress bar and every
logged value of each step, with the libraries' warnings).

    python -m vgpo_train demo --out runs/vgpo-demo
"""

from __future__ import annotations

import argparse
import contextlib
import json
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

COMPLETION_TOKENS = 4  # a digit, then three digits or line breaks: enough for psi and alpha to vary
NEWLINE_BIAS = 4.0  # logit bias on the line break: P(line break) ~ 0.85 against the ten digits


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="vgpo-train demo", description=__doc__,
                                     formatter_class=argparse.RawDescriptionHelpFormatter)  # fmt: skip
    parser.add_argument("--out", type=Path, default=Path("runs/vgpo-demo"), help="(default: %(default)s)")
    parser.add_argument("--steps", type=int, default=8, help="optimiser steps (default: %(default)s)")
    noise = parser.add_mutually_exclusive_group()
    noise.add_argument("--quiet", action="store_true", help="one short line per step (the default)")
    noise.add_argument("--verbose", action="store_true",
                       help="TRL's own log: a progress bar and every logged value of each step")  # fmt: skip
    args = parser.parse_args(argv)
    print(f"offline demo: a tiny RANDOM-weight model learning to answer 7 ({COMPLETION_TOKENS}-token answers) "
          "with VGPO on CPU", flush=True)  # fmt: skip
    from vgpo_train.trainer import RefillError

    try:
        with _quiet(not args.verbose):
            history = _train(args.out, args.steps, args.verbose)
    except RefillError as exc:  # a generation round in which every group was all right or all wrong
        print(f"vgpo-train demo: error: {exc}", file=sys.stderr)
        return 1
    print(summary(history), flush=True)
    return 0


def _train(out: Path, steps: int, verbose: bool) -> list[dict]:
    """Build the model and the data, train `steps` steps; the run's log history."""
    from transformers import AutoTokenizer
    from transformers.trainer_callback import PrinterCallback, ProgressCallback

    from vgpo_eval.checker.rewards import trl_reward
    from vgpo_eval.tiny import build_tiny_qwen2_5_vl
    from vgpo_tasks import synthetic
    from vgpo_train.config import VGPOConfig
    from vgpo_train.data import training_dataset
    from vgpo_train.trainer import VGPOTrainer, grpo_args

    model = build_tiny_qwen2_5_vl(out / "model")
    data = synthetic.write(out / "data", ["virl39k"], n=4)
    rows, _ = training_dataset("virl39k", "local", data, min_pixels=3136, max_pixels=12544)
    rows = rows.map(lambda row: {"answer": "7"})
    tokenizer = AutoTokenizer.from_pretrained(model)
    digits = [tokenizer.convert_tokens_to_ids(d) for d in "0123456789"]
    (newline,) = tokenizer.encode("\n", add_special_tokens=False)
    allowed = {*digits, newline}
    generation = {
        "suppress_tokens": [i for i in range(len(tokenizer)) if i not in allowed],
        "begin_suppress_tokens": [newline],  # the first token is a digit
        "sequence_bias": [[[newline], NEWLINE_BIAS]],
    }
    config = VGPOConfig(num_generations=16, rollout_batch=4, global_batch=4, per_device_batch=16,
                        max_completion_length=COMPLETION_TOKENS, min_pixels=3136, max_pixels=12544,
                        reward_protocol="strict", max_refill_rounds=4)  # fmt: skip
    # no gradient checkpointing: on a tiny model the recomputation only costs time
    trl_args = grpo_args(config, str(out / "train"), max_steps=steps, learning_rate=5e-3,
                         generation_kwargs=generation, gradient_checkpointing=False)  # fmt: skip
    trainer = VGPOTrainer(model=str(model), reward_funcs=[trl_reward("strict")], args=trl_args, train_dataset=rows,
                          vgpo=config, callbacks=None if verbose else [step_lines()])  # fmt: skip
    if not verbose:  # TRL's progress bar and per-step dictionaries: the one-line steps replace them
        trainer.remove_callback(ProgressCallback)
        trainer.remove_callback(PrinterCallback)
    trainer.train()
    trainer.save_state()
    return json.loads((out / "train" / "trainer_state.json").read_text())["log_history"]


@contextlib.contextmanager
def _quiet(on: bool) -> Iterator[None]:
    """Without progress bars, library warnings and info messages (restored afterwards)."""
    if not on:
        yield
        return
    from datasets.utils import logging as datasets_logging
    from transformers.utils import logging as transformers_logging

    bars = (datasets_logging.is_progress_bar_enabled(), transformers_logging.is_progress_bar_enabled())
    verbosity = transformers_logging.get_verbosity()
    datasets_logging.disable_progress_bar()
    transformers_logging.disable_progress_bar()
    transformers_logging.set_verbosity_error()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", FutureWarning)  # transformers' own deprecations, not the user's
            yield
    finally:
        transformers_logging.set_verbosity(verbosity)
        if bars[0]:
            datasets_logging.enable_progress_bar()
        if bars[1]:
            transformers_logging.enable_progress_bar()


def step_lines(write: Any = print) -> Any:
    """A TrainerCallback that writes one line per logged step: `step 3/8: reward 0.25, psi [0.50, 1.60],
    alpha [0.90, 1.10]` (psi and alpha when logged)."""
    from transformers import TrainerCallback

    class StepLines(TrainerCallback):
        def on_log(self, args, state, control, logs=None, **kwargs):
            if state.is_world_process_zero and logs and "reward" in logs:
                write(f"step {state.global_step}/{state.max_steps}: {_step_text(logs)}", flush=True)

    return StepLines()


def _step_text(logs: dict) -> str:
    parts = [f"reward {logs['reward']:.2f}"]
    for name in ("psi", "alpha"):
        low, high = logs.get(f"vgpo/{name}_min"), logs.get(f"vgpo/{name}_max")
        if low is not None and high is not None:
            parts.append(f"{name} [{low:.2f}, {high:.2f}]")
    return ", ".join(parts)


def weight_ranges(history: list[dict]) -> dict[str, tuple[float, float]]:
    """The range of psi and of alpha over a run: min of `vgpo/<name>_min` .. max of `vgpo/<name>_max` over
    the logged entries; a name that was never logged is left out."""
    ranges = {}
    for name in ("psi", "alpha"):
        lows = [e[f"vgpo/{name}_min"] for e in history if e.get(f"vgpo/{name}_min") is not None]
        highs = [e[f"vgpo/{name}_max"] for e in history if e.get(f"vgpo/{name}_max") is not None]
        if lows and highs:
            ranges[name] = (min(lows), max(highs))
    return ranges


def summary(history: list[dict]) -> str:
    """One line: whether the weights changed (non-zero gradient norms), or why not; the reward's move; the
    ranges of psi and alpha over the run, when they were logged."""
    steps = [entry for entry in history if "grad_norm" in entry]
    rewards = [entry["reward"] for entry in steps if "reward" in entry]
    moved = [entry["grad_norm"] for entry in steps if entry["grad_norm"] and entry["grad_norm"] > 0]
    if not steps:
        return "no step ran: the data is smaller than one rollout batch"
    if not moved:
        return "the weights did not change: every group was all right or all wrong (filtered), so no gradient"
    line = (f"the weights changed: {len(moved)} of {len(steps)} steps had a non-zero gradient norm "
            f"(largest {max(moved):.3g})")  # fmt: skip
    if rewards:
        line += f"; mean reward {rewards[0]:.2f} -> {rewards[-1]:.2f}"
    ranges = weight_ranges(steps)
    if ranges:
        line += "; " + ", ".join(f"{name} in [{low:.2f}, {high:.2f}]" for name, (low, high) in ranges.items())
        if all(abs(low - 1) < 1e-6 and abs(high - 1) < 1e-6 for low, high in ranges.values()):
            line += " (no token or rollout was reweighted: GRPO's advantages)"
        else:
            line += " (VGPO's reweighting at work; GRPO would be 1 and 1)"
    return line
