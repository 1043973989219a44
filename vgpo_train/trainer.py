"""VGPOTrainer: TRL's GRPOTrainer with VGPO's per-token advantages (docs/trainer.md, steps 1-11).

What VGPO adds to GRPO, and where:

- last-layer hidden states come from a forward hook on the language model's final norm, inside
  the no-grad forward TRL already makes for the old log-probs (or one made here when TRL makes
  none); the hook turns each chunk into (b, T) focus scores at once, so the (B, S, H) states of a
  whole generation batch are never kept, and `output_hidden_states=True` is never used;
- image positions come from the prompt part only (a random model can emit the image token);
- rewards are TRL's (our checkers, see `vgpo_eval.checker.rewards`), gathered across processes by TRL;
  focus scores and masks are gathered too, so the group-level steps (GRPO baseline, min-max
  normalisation, inter-trajectory alpha) see whole groups whatever process holds which rollout,
  and every process then keeps its own rows' (B, T) advantages for TRL's loss;
- groups are prompt ids (the dataset's `id` column), not row positions;
- online filtering (DAPO dynamic sampling): groups whose mean accuracy is outside
  [filter_low, filter_high] are masked out of the loss. EasyR1 instead re-samples prompts until
  the batch is full again; here the batch of that step is smaller (`vgpo/filtered_groups` logs it).

The loss is TRL's: PPO clip with epsilon 0.2 / 0.28 (`epsilon`, `epsilon_high`), the dual clip
3.0 as TRL's `delta` (a cap on the ratio that binds only for negative advantages), token-mean
over the batch (`loss_type="dapo"`), no KL (`beta=0`).
"""

from __future__ import annotations

import math
from typing import Any

import torch
from trl import GRPOConfig, GRPOTrainer

from vgpo_eval.focus import final_norm, focus_scores
from vgpo_train.advantage import group_index, group_mean, token_advantages_from_scores
from vgpo_train.config import VGPOConfig


def grpo_args(config: VGPOConfig, output_dir: str, world_size: int = 1, **overrides: Any) -> GRPOConfig:
    """TRL's GRPOConfig for a VGPO run: the paper's rollout and update batch sizes over `world_size` processes."""
    per_step = config.per_device_batch * world_size  # completions per micro-step, all processes
    rollout, update = (
        config.rollout_batch * config.num_generations,
        config.global_batch * config.num_generations,
    )
    if rollout % per_step or update % per_step or rollout % update:
        raise ValueError(
            f"batch sizes do not divide: rollout {rollout} and update {update} completions must be multiples of "
            f"per_device_batch x processes = {per_step}, and the rollout a multiple of the update"
        )
    cuda = torch.cuda.is_available()
    args = {
        "output_dir": output_dir,
        "per_device_train_batch_size": config.per_device_batch,
        "gradient_accumulation_steps": update // per_step,
        "steps_per_generation": rollout // per_step,
        "num_generations": config.num_generations,
        "temperature": config.temperature,
        "top_p": config.top_p,
        "max_completion_length": config.max_completion_length,
        "learning_rate": config.learning_rate,
        "lr_scheduler_type": config.lr_scheduler,
        "warmup_steps": 0,
        "weight_decay": config.weight_decay,
        "max_grad_norm": config.max_grad_norm,
        "num_train_epochs": config.epochs,
        "beta": config.kl_beta,
        "epsilon": config.epsilon_low,
        "epsilon_high": config.epsilon_high,
        "delta": config.dual_clip,
        "vllm_importance_sampling_correction": config.importance_sampling,
        "loss_type": "dapo",
        "num_iterations": 1,
        "seed": config.seed,
        "logging_steps": 1,
        "save_strategy": "steps",
        "save_steps": 50,
        "report_to": "none",
        "remove_unused_columns": False,
        "bf16": cuda,
        "use_cpu": not cuda,
    }
    return GRPOConfig(**(args | overrides))


# the model inputs besides ids and mask that TRL's own forward passes (the focus forward must match it)
MULTIMODAL_KEYS = ("pixel_values", "image_grid_thw", "num_images", "pixel_attention_mask", "image_sizes",
                   "token_type_ids", "mm_token_type_ids")  # fmt: skip


class VGPOTrainer(GRPOTrainer):
    """GRPOTrainer whose advantages are VGPO's (B, T) token advantages."""

    def __init__(self, *args: Any, vgpo: VGPOConfig, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.vgpo = vgpo
        self._capture: list[torch.Tensor] | None = None
        self._rewards: torch.Tensor | None = None
        self._image_token_id = self.model.config.image_token_id

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)  # (B_all, F)
        self._rewards = rewards
        return rewards

    def _get_per_token_logps_and_entropies(
        self, model, input_ids, attention_mask, logits_to_keep, *args, **kwargs
    ):
        if self._capture is None or model is not self.model:
            return super()._get_per_token_logps_and_entropies(
                model, input_ids, attention_mask, logits_to_keep, *args, **kwargs
            )
        prompt_len = input_ids.size(1) - logits_to_keep
        rows = {"start": 0}

        def hook(module, inputs, output):  # each forward chunk -> its (b, T) focus scores
            hidden = output[0] if isinstance(output, tuple) else output  # (b, S, H)
            b = hidden.size(0)
            ids = input_ids[rows["start"] : rows["start"] + b]  # (b, S)
            image_mask = ids == self._image_token_id  # (b, S)
            image_mask[:, prompt_len:] = False  # only the prompt's image tokens
            response_mask = attention_mask[rows["start"] : rows["start"] + b, prompt_len:].bool()  # (b, T)
            scores = focus_scores(hidden.detach(), image_mask, response_mask).float()  # (b, T)
            self._capture.append(torch.cat([scores, image_mask.any(1, keepdim=True).float()], dim=1))
            rows["start"] += b

        handle = final_norm(self.accelerator.unwrap_model(model)).register_forward_hook(hook)
        try:
            return super()._get_per_token_logps_and_entropies(
                model, input_ids, attention_mask, logits_to_keep, *args, **kwargs
            )
        finally:
            handle.remove()

    def _generate_and_score_completions(self, inputs):
        self._capture = []
        try:
            output = super()._generate_and_score_completions(inputs)
            if not self._capture:  # TRL made no forward pass this step: make one for the hidden states
                self._forward_for_focus(output)
            captured = torch.cat(self._capture)[: output["completion_ids"].size(0)]  # (B, T + 1)
        finally:
            self._capture = None
        scores, has_image = captured[:, :-1], captured[:, -1]  # (B, T), (B,)
        output["advantages"] = self._vgpo_advantages(inputs, output, scores, has_image)
        return output

    @torch.no_grad()
    def _forward_for_focus(self, output: dict) -> None:
        keys = (
            MULTIMODAL_KEYS  # all of them: without mm_token_type_ids Qwen2.5-VL falls back to 1-D positions
        )
        input_ids = torch.cat([output["prompt_ids"], output["completion_ids"]], dim=1)  # (B, S)
        attention_mask = torch.cat([output["prompt_mask"], output["completion_mask"]], dim=1)  # (B, S)
        self._get_per_token_logps_and_entropies(
            self.model, input_ids, attention_mask, output["completion_ids"].size(1),
            batch_size=self.args.per_device_train_batch_size, **{k: output[k] for k in keys if k in output},
        )  # fmt: skip

    def _vgpo_advantages(
        self, inputs: list[dict], output: dict, scores: torch.Tensor, has_image: torch.Tensor
    ):
        """(B, T) advantages of this process's rows, computed over the whole gathered batch."""
        acc = self.accelerator
        mask = output["completion_mask"].bool()  # (B, T)
        all_scores = acc.gather(acc.pad_across_processes(scores, dim=1))  # (B_all, T_max)
        all_mask = acc.gather(
            acc.pad_across_processes(mask.long(), dim=1)
        ).bool()  # (B_all, T_max) as ints: gloo cannot gather bools
        all_images = acc.gather(has_image).bool()  # (B_all,)
        rewards = torch.nansum(
            self._rewards * self.reward_weights.to(self._rewards.device), dim=1
        )  # (B_all,)
        group_ids = self._group_ids(inputs, all_mask.size(0)).to(all_mask.device)  # (B_all,)
        advantages, stats = token_advantages_from_scores(
            all_scores, all_mask, all_images, rewards, group_ids, self.vgpo
        )
        kept = self._online_filter(rewards, group_ids)  # (B_all,)
        advantages = advantages * kept[:, None]  # (B_all, T_max)
        start = acc.process_index * mask.size(0)
        local = advantages[start : start + mask.size(0), : mask.size(1)]  # (B, T)
        local_kept = kept[start : start + mask.size(0)]  # (B,)
        output["completion_mask"] = output["completion_mask"] * local_kept[:, None].to(
            output["completion_mask"].dtype
        )
        output["num_items_in_batch"] = acc.gather(output["completion_mask"].sum()).sum().clamp(min=1)
        self._log_stats(stats, kept, group_ids)
        return local

    def _group_ids(self, inputs: list[dict], total: int) -> torch.Tensor:
        """Prompt ids of every row of the gathered batch (the dataset's `id`, required)."""
        from accelerate.utils import gather_object

        keys = gather_object([x.get("id") for x in inputs])
        missing = [i for i, key in enumerate(keys) if key is None or str(key) == ""]
        if missing or len(keys) != total:
            raise ValueError(
                f"training row {missing[0] if missing else '?'} has no 'id': VGPO groups rollouts by prompt id, "
                "so every training row needs one (a string unique per prompt)"
            )
        index = {key: i for i, key in enumerate(dict.fromkeys(map(str, keys)))}  # the same on every process
        return torch.tensor([index[str(key)] for key in keys])  # (B_all,)

    def _online_filter(self, rewards: torch.Tensor, group_ids: torch.Tensor) -> torch.Tensor:
        """1.0 for rows whose group's mean accuracy is inside [filter_low, filter_high], else 0.0."""
        if not self.vgpo.online_filter or not self.model.training:
            return torch.ones_like(rewards)
        index, groups = group_index(group_ids)  # (B_all,)
        mean = group_mean(rewards.float(), index, groups)[index]  # (B_all,)
        return ((mean >= self.vgpo.filter_low) & (mean <= self.vgpo.filter_high)).float()

    def _log_stats(self, stats: dict[str, torch.Tensor], kept: torch.Tensor, group_ids: torch.Tensor) -> None:
        mode = "train" if self.model.training else "eval"
        for name, value in stats.items():  # names already carry the "vgpo/" prefix
            self._metrics[mode][name].append(float(value))
        groups = torch.unique(group_ids[kept == 0]).numel()
        self._metrics[mode]["vgpo/filtered_groups"].append(float(groups))
        if not math.isfinite(self._metrics[mode]["vgpo/focus_mean"][-1]):
            raise FloatingPointError("VGPO focus scores are not finite: check the model's hidden states")
