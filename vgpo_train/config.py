"""Every hyper-parameter of a VGPO run, once, with the paper's value (docs/trainer.md) and its equation.

`VGPOConfig` is the single source of defaults: the command-line flags are generated from its
fields (`add_arguments` / `from_args`), the advantage functions read its VGPO fields, and the
trainer derives TRL's `GRPOConfig` from it (`vgpo_train.trainer.grpo_args`). The resolved config
is saved as `vgpo_config.json` in the output folder.
"""

from __future__ import annotations

import argparse
import dataclasses
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


def _f(default: Any, help: str) -> Any:
    return field(default=default, metadata={"help": help})


@dataclass(frozen=True)
class VGPOConfig:
    """VGPO's hyper-parameters (defaults: the paper's 7B run)."""

    # the four switches of the paper's ablation; all four off = plain GRPO
    intra: bool = _f(True, "intra-trajectory token re-weighting psi (Eq. 7-8)")
    inter: bool = _f(True, "inter-trajectory re-weighting alpha within a prompt's group (Eq. 9-11)")
    compensation: bool = _f(True, "visual attention compensation C = beta * p for late tokens (Eq. 5)")
    gate: bool = _f(True, "visual gate: compensate only the top-kappa tail tokens by focus (Eq. 6)")
    beta: float = _f(0.3, "compensation strength beta (Eq. 5)")
    gamma: float = _f(0.5, "the gate's tail starts at floor(gamma * T) (Eq. 6)")
    kappa: float = _f(0.2, "fraction of tail tokens the gate opens for, by focus (Eq. 6)")
    compensation_mode: str = _f("linear", "compensation shape: linear beta*p, exponential beta*p^k, step")
    compensation_power: float = _f(2.0, "k of the exponential compensation beta*p^k")
    step_ratio: float = _f(0.5, "where the step compensation starts, as a fraction of the response")
    eps: float = _f(1e-6, "epsilon of the GRPO advantage (r - mean) / (std + eps)")
    focus_scope: str = _f(
        "rollout",
        "what the focus min-max (step 4) runs over: rollout (the whole rollout batch) or update "
        "(each run of --global-batch groups); the reference's scope is smaller, a dynamic micro-batch on "
        "one GPU (docs/trainer.md)",
    )
    # policy loss (PPO clip, asymmetric, dual clip, token-mean, no KL)
    epsilon_low: float = _f(0.2, "PPO clip, lower side")
    epsilon_high: float = _f(0.28, "PPO clip, upper side (asymmetric, DAPO)")
    dual_clip: float = _f(3.0, "dual clip for negative advantages")
    kl_beta: float = _f(0.0, "KL coefficient; the paper's run uses none (no reference model)")
    importance_sampling: bool = _f(
        False,
        "TRL's vLLM importance-sampling correction (reweights and drops sequences); the paper's run has none",
    )
    # optimisation
    learning_rate: float = _f(1e-6, "AdamW learning rate")
    lr_scheduler: str = _f(
        "constant",
        "learning-rate schedule, as TRL names them: constant with no warm-up is the reference run's",
    )
    weight_decay: float = _f(0.01, "AdamW weight decay")
    max_grad_norm: float = _f(1.0, "gradient-norm clip")
    epochs: float = _f(2.0, "passes over the training prompts")
    # rollouts
    num_generations: int = _f(8, "rollouts per prompt (the group size n)")
    temperature: float = _f(1.0, "rollout temperature")
    top_p: float = _f(0.99, "rollout top-p")
    rollout_batch: int = _f(512, "prompts per rollout (generation) step, all processes together")
    global_batch: int = _f(128, "prompts per optimiser update, all processes together")
    per_device_batch: int = _f(
        4, "completions per device per forward/backward micro-batch (the reference's update micro-batch)"
    )
    max_prompt_length: int = _f(4096, "prompt tokens, image tokens included")
    max_completion_length: int = _f(2048, "response tokens")
    min_pixels: int = _f(262_144, "images are resized into [min_pixels, max_pixels]")
    max_pixels: int = _f(4_194_304, "images are resized into [min_pixels, max_pixels]")
    # data and reward
    filter_low: float = _f(0.01, "online filtering: drop groups whose mean accuracy is below this")
    filter_high: float = _f(0.99, "online filtering: drop groups whose mean accuracy is above this")
    online_filter: bool = _f(
        True, "drop groups whose mean accuracy is not strictly inside (filter_low, filter_high)"
    )
    refill: bool = _f(
        True,
        "DAPO dynamic sampling: draw and generate more prompts until the rollout batch is full of kept "
        "groups (off: filtered groups stay in the batch, masked out of the loss)",
    )
    max_refill_rounds: int = _f(
        -1, "extra generation rounds a rollout step may make to refill; -1: no cap (the reference run)"
    )
    # rollout engine (TRL's vLLM integration): sizes, not hyper-parameters; the README's 8-GPU command sets them
    use_vllm: bool = _f(
        False, "generate rollouts with vLLM (pip install -e '.[train-vllm]'), not transformers"
    )
    vllm_mode: str = _f(
        "colocate",
        "colocate: a vLLM engine inside every training process, sharing its GPU; server: a separate "
        "`trl vllm-serve` on other GPUs, at --vllm-server-url",
    )
    vllm_gpu_memory_utilization: float = _f(
        0.3, "fraction of each GPU's memory the colocated vLLM engine takes (weights + KV cache)"
    )
    vllm_tensor_parallel_size: int = _f(1, "GPUs one colocated vLLM engine spans (must divide the processes)")
    vllm_max_model_length: int = _f(
        0, "vLLM's context length; 0: --max-prompt-length + --max-completion-length"
    )
    vllm_enable_sleep_mode: bool = _f(
        False, "colocate: free vLLM's weights and KV cache during the update (more memory, slower step)"
    )
    vllm_server_url: str = _f("", "server mode: the `trl vllm-serve` URL (default: http://0.0.0.0:8000)")
    reward_protocol: str = _f("papo", "checker used as the reward: papo (the paper's), strict or paper")
    prompt: str = _f("train", "prompt suffix: train (the paper's training prompt) or lookback")
    seed: int = _f(42, "random seed")

    def rollout_max_length(self) -> int:
        """The rollout engine's context length: the flag, or a prompt and a response at their limits."""
        return self.vllm_max_model_length or self.max_prompt_length + self.max_completion_length

    def to_dict(self) -> dict[str, Any]:
        """Every field, the rollout context length resolved (what the run used)."""
        return dataclasses.asdict(self) | {"vllm_max_model_length": self.rollout_max_length()}

    def save(self, out_dir: str | Path, run: dict[str, Any] | None = None) -> Path:
        """`vgpo_config.json`: every field, plus `run` (model, its revision, the data and its revision)."""
        path = Path(out_dir) / "vgpo_config.json"
        path.parent.mkdir(parents=True, exist_ok=True)
        record = self.to_dict() | ({"run": run} if run is not None else {})
        path.write_text(json.dumps(record, indent=2), encoding="utf-8")
        return path


# the string fields that take one of a few values: a wrong one is a parse error naming the flag
CHOICES = {
    "focus_scope": ("rollout", "update"),
    "compensation_mode": ("linear", "exponential", "step"),
    "reward_protocol": ("papo", "strict", "paper"),
    "prompt": ("train", "lookback"),
    "vllm_mode": ("colocate", "server"),
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """One flag per field: --beta 0.3 ...; booleans that default to on get --no-<name>."""
    for f in dataclasses.fields(VGPOConfig):
        flag = "--" + f.name.replace("_", "-")
        help_text = f"{f.metadata['help']} (default: {f.default})"
        if f.type in ("bool", bool):
            parser.add_argument(
                f"--no-{f.name.replace('_', '-')}" if f.default else flag,
                dest=f.name, action="store_false" if f.default else "store_true", help=help_text,
            )  # fmt: skip
        else:
            kind = {"int": int, "float": float, "str": str}[str(f.type)]
            parser.add_argument(flag, dest=f.name, type=kind, default=f.default, help=help_text,
                                choices=CHOICES.get(f.name))  # fmt: skip


def from_args(args: argparse.Namespace) -> VGPOConfig:
    """The config the parsed flags describe."""
    return VGPOConfig(**{f.name: getattr(args, f.name) for f in dataclasses.fields(VGPOConfig)})
