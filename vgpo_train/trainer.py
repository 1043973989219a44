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
- online filtering is DAPO dynamic sampling, as the reference run: groups whose mean accuracy is not
  strictly inside (filter_low, filter_high) are dropped and more prompts are drawn and generated
  until every process holds its share of the rollout batch in groups that carry a signal
  (`refill`, capped by `max_refill_rounds`); filtered rows never reach the forward/backward of the
  update. Logged: `vgpo/refill_rounds`, `vgpo/refill_prompts`, `vgpo/groups_kept`,
  `vgpo/filtered_groups`, and `vgpo/refill_short` when the cap left filtered groups in the batch
  (masked out of the loss). With `--no-refill` filtered groups are masked out of the loss instead.

The loss is TRL's: PPO clip with epsilon 0.2 / 0.28 (`epsilon`, `epsilon_high`), the dual clip
3.0 as TRL's `delta` (a cap on the ratio that binds only for negative advantages), token-mean
over the batch (`loss_type="dapo"`), no KL (`beta=0`).
"""

from __future__ import annotations

import math
from itertools import accumulate
from typing import Any

import torch
from trl import GRPOConfig, GRPOTrainer
from trl.trainer.utils import split_pixel_values_by_grid, unsplit_pixel_values_by_grid

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
    if config.online_filter and config.refill and config.rollout_batch % world_size:
        raise ValueError(
            f"dynamic sampling refills whole groups per process: --rollout-batch {config.rollout_batch} must be a "
            f"multiple of the {world_size} processes (or pass --no-refill)"
        )
    if config.use_vllm:
        _check_rollout_engine(config, world_size)
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
        **vllm_args(config),
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


def _check_rollout_engine(config: VGPOConfig, world_size: int) -> None:
    """The vllm_* flags, checked before anything loads (each error names its flag)."""
    tp, fraction, length = (config.vllm_tensor_parallel_size, config.vllm_gpu_memory_utilization,
                            config.vllm_max_model_length)  # fmt: skip
    if not 0 < fraction <= 1:
        raise ValueError(
            f"--vllm-gpu-memory-utilization {fraction}: a fraction of the GPU's memory, in (0, 1]"
        )
    if tp < 1 or (config.vllm_mode == "colocate" and world_size % tp):
        raise ValueError(f"--vllm-tensor-parallel-size {tp}: must divide the {world_size} training processes "
                         "(each colocated engine spans that many of them)")  # fmt: skip
    if length and length < config.max_prompt_length + config.max_completion_length:
        raise ValueError(f"--vllm-max-model-length {length}: shorter than --max-prompt-length + "
                         f"--max-completion-length ({config.max_prompt_length + config.max_completion_length}); "
                         "long prompts would fail in vLLM")  # fmt: skip
    if config.vllm_server_url and config.vllm_mode != "server":
        raise ValueError("--vllm-server-url is for --vllm-mode server")


def vllm_args(config: VGPOConfig) -> dict[str, Any]:
    """TRL's rollout-engine settings from the config's vllm_* fields (none without --use-vllm)."""
    if not config.use_vllm:
        return {"use_vllm": False}
    args = {
        "use_vllm": True,
        "vllm_mode": config.vllm_mode,
        "vllm_gpu_memory_utilization": config.vllm_gpu_memory_utilization,
        "vllm_tensor_parallel_size": config.vllm_tensor_parallel_size,
        "vllm_max_model_length": config.rollout_max_length(),
        "vllm_enable_sleep_mode": config.vllm_enable_sleep_mode,
    }
    if config.vllm_server_url:
        args["vllm_server_base_url"] = config.vllm_server_url
    return args


# the model inputs besides ids and mask that TRL's own forward passes (the focus forward must match it)
MULTIMODAL_KEYS = ("pixel_values", "image_grid_thw", "num_images", "pixel_attention_mask", "image_sizes",
                   "token_type_ids", "mm_token_type_ids")  # fmt: skip


class RefillError(RuntimeError):
    """Dynamic sampling cannot fill the rollout batch: a generation round kept no group with a signal."""


class VGPOTrainer(GRPOTrainer):
    """GRPOTrainer whose advantages are VGPO's (B, T) token advantages."""

    def __init__(self, *args: Any, vgpo: VGPOConfig, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.vgpo = vgpo
        self._capture: list[torch.Tensor] | None = None
        self._rewards: torch.Tensor | None = None
        self._image_token_id = self.model.config.image_token_id
        self._draws = 0  # refill draws so far: seeds the next one, the same on every process

    def close(self) -> None:
        """End a run on every process: leave together, close the process group and let go of the wrapped
        model. Its DDP reducer keeps the process group, and so its gloo/NCCL threads, alive; left to Python's
        exit, they are torn down while the interpreter is half gone, and a finished run can abort (SIGABRT,
        'terminate called without an active exception') and exit non-zero."""
        self.accelerator.wait_for_everyone()
        self.accelerator.end_training()
        self.model_wrapped = self.model  # the DDP wrapper's last reference: its process group goes with it

    def _generate(self, prompts: list):
        """TRL's generation; in a batch mixing image and text-only prompts, TRL 1.16 hands the processor None
        for a text-only prompt's images, which it rejects: an empty list says the same and is accepted."""
        *head, images, tool_images = super()._generate(prompts)
        if images is not None and any(imgs is None for imgs in images):
            images = [imgs if imgs is not None else [] for imgs in images]
        return (*head, images, tool_images)

    def _calculate_rewards(self, inputs, prompts, completions, completion_ids_list):
        rewards = super()._calculate_rewards(inputs, prompts, completions, completion_ids_list)  # (B_all, F)
        self._rewards = rewards
        return rewards

    def _get_per_token_logps_and_entropies(
        self, model, input_ids, attention_mask, logits_to_keep, batch_size=None, **kwargs
    ):
        num_images = kwargs.get("num_images")
        if num_images is None or kwargs.get("image_grid_thw") is None or all(num_images):
            return self._logps_with_focus(
                model, input_ids, attention_mask, logits_to_keep, batch_size, **kwargs
            )
        # a batch mixing image and text-only prompts: TRL 1.16 hands the vision tower an empty pixel tensor
        # for a chunk without images, which fails; here such a chunk goes without pixel inputs
        size = batch_size or input_ids.size(0)
        images = [0, *accumulate(num_images)]  # images before each row
        patches = [0, *accumulate(kwargs["image_grid_thw"].prod(-1).tolist())]  # pixel rows before each image
        per_row = ("token_type_ids", "mm_token_type_ids")
        pixel_keys = ("pixel_values", "image_grid_thw", "num_images")
        parts = []
        for start in range(0, input_ids.size(0), size):
            end = min(start + size, input_ids.size(0))
            chunk = {k: v for k, v in kwargs.items() if k not in pixel_keys and k not in per_row}
            chunk |= {k: kwargs[k][start:end] for k in per_row if kwargs.get(k) is not None}
            first, last = images[start], images[end]
            if last > first:
                chunk |= {"pixel_values": kwargs["pixel_values"][patches[first] : patches[last]],
                          "image_grid_thw": kwargs["image_grid_thw"][first:last], "num_images": num_images[start:end]}  # fmt: skip
            parts.append(self._logps_with_focus(model, input_ids[start:end], attention_mask[start:end],
                                                logits_to_keep, None, **chunk))  # fmt: skip
        logps = torch.cat([p[0] for p in parts])
        entropies = torch.cat([p[1] for p in parts]) if parts[0][1] is not None else None
        aux = torch.stack([p[2] for p in parts]).mean() if parts[0][2] is not None else None
        return logps, entropies, aux

    def _logps_with_focus(self, model, input_ids, attention_mask, logits_to_keep, batch_size=None, **kwargs):
        """TRL's log-prob forward; inside the rollout step, the focus scores of every chunk are captured too."""
        if self._capture is None or model is not self.model:
            return super()._get_per_token_logps_and_entropies(
                model, input_ids, attention_mask, logits_to_keep, batch_size, **kwargs
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
                model, input_ids, attention_mask, logits_to_keep, batch_size, **kwargs
            )
        finally:
            handle.remove()

    def _generate_and_score_completions(self, inputs):
        if self.model.training and self.vgpo.online_filter and self.vgpo.refill:
            return self._refilled(inputs)
        output, scores, has_image, rewards = self._one_round(inputs)
        keys = [x.get("id") for x in inputs]
        output["advantages"] = self._vgpo_advantages(keys, output, scores, has_image, rewards)
        return output

    def _one_round(self, inputs: list[dict]) -> tuple[dict, torch.Tensor, torch.Tensor, torch.Tensor]:
        """TRL's generation and scoring of `inputs`, with the focus scores (B, T), whether each row has an
        image (B,) and this process's summed rewards (B,)."""
        self._capture = []
        try:
            output = super()._generate_and_score_completions(inputs)
            if not self._capture:  # TRL made no forward pass this step: make one for the hidden states
                self._forward_for_focus(output)
            captured = torch.cat(self._capture)[: output["completion_ids"].size(0)]  # (B, T + 1)
        finally:
            self._capture = None
        b = captured.size(0)
        weighted = self._rewards * self.reward_weights.to(self._rewards.device)  # (B_all, F)
        start = self.accelerator.process_index * b
        rewards = torch.nansum(weighted, dim=1)[start : start + b]  # (B,) this process's rows
        return output, captured[:, :-1], captured[:, -1], rewards

    def _refilled(self, inputs: list[dict]) -> dict:
        """DAPO dynamic sampling: generate, keep the groups with a signal, draw and generate more prompts
        until every process holds len(inputs) // n kept groups (whole groups: the rollout batch is a
        multiple of the processes), then compute the advantages over the kept batch."""
        acc, n = self.accelerator, self.num_generations
        ids = [x.get("id") for x in inputs]
        if len(ids) % n or any(ids[i] != ids[i - i % n] for i in range(len(ids))):
            raise ValueError(
                "dynamic sampling (refill) needs every process to hold whole groups: --rollout-batch must be a "
                f"multiple of the number of processes ({acc.num_processes}); or pass --no-refill"
            )
        target = len(ids) // n  # groups this process must bring to the update
        pieces, tables, have, rounds, filtered, batch = [], [], 0, 0, 0, inputs
        while True:
            output, scores, has_image, rewards = self._one_round(batch)
            all_rewards = acc.gather(rewards)  # (B_all,)
            tables.append(self._table_rows(all_rewards.numel()))  # the rows TRL just logged for this round
            keys = [f"{rounds}/{x.get('id')}" if x.get("id") is not None else None for x in batch]
            group_ids = self._group_ids(keys, all_rewards.numel(), all_rewards.device)  # (B_all,)
            kept = self._online_filter(all_rewards, group_ids)  # (B_all,)
            if not bool(kept.any()):  # the same verdict on every process: they all stop here together
                raise RefillError(self._nothing_kept(rounds, all_rewards, group_ids))
            filtered += torch.unique(group_ids[kept == 0]).numel()
            start = acc.process_index * len(batch)
            local = kept[start : start + len(batch)].bool().cpu()  # (B,) whole groups
            take = local.nonzero().flatten()[: (target - have) * n]  # rows of the first kept groups
            pieces.append((take, output, scores, has_image, rewards, keys))
            have += take.numel() // n
            rounds += 1
            short = int(acc.gather(torch.tensor([target - have], device=acc.device)).max())
            cap = self.vgpo.max_refill_rounds
            if short == 0 or (cap >= 0 and rounds > cap):
                break
            if acc.is_main_process and (rounds in (5, 10, 20, 50) or rounds % 100 == 0):
                print(
                    f"vgpo: refill round {rounds}: {short} group(s) still missing on some process", flush=True
                )
            batch = self._draw_prompts(target)
        if have < target:  # the cap was hit: complete with the last round's filtered groups, masked out below
            unused = torch.ones(len(batch), dtype=torch.bool)
            unused[pieces[-1][0]] = False
            extra = unused.nonzero().flatten()[: (target - have) * n]
            pieces[-1] = (torch.cat([pieces[-1][0], extra]), *pieces[-1][1:])
        from accelerate.utils import gather_object

        output, scores, has_image, rewards, keys = _merge_rounds(pieces, self.processing_class)
        b = len(inputs)
        kept_rows = gather_object([(r, acc.process_index * b + i) for r, piece in enumerate(pieces)
                                   for i in piece[0].tolist()])  # fmt: skip
        self._keep_table_rows(tables, kept_rows)
        output["advantages"] = self._vgpo_advantages(
            keys, output, scores, has_image, rewards, count_filtered=False
        )
        metrics = self._metrics["train"]
        metrics["vgpo/refill_rounds"].append(float(rounds))
        metrics["vgpo/refill_prompts"].append(float(target * acc.num_processes * rounds))
        metrics["vgpo/filtered_groups"].append(float(filtered))  # over every round
        metrics["vgpo/refill_short"].append(float(acc.gather(torch.tensor([target - have],
                                                                                        device=acc.device)).sum()))  # fmt: skip
        return output

    def _draw_prompts(self, prompts: int) -> list[dict]:
        """`prompts` more training rows for this process, each repeated n times: slices of one seeded
        permutation shared by the processes, so no two processes draw the same prompt in a round."""
        acc = self.accelerator
        g = torch.Generator().manual_seed(self.args.seed * 1_000_003 + self._draws)
        self._draws += 1
        order = torch.randperm(len(self.train_dataset), generator=g)
        mine = order[acc.process_index * prompts : (acc.process_index + 1) * prompts].tolist()
        return [self.train_dataset[i] for i in mine for _ in range(self.num_generations)]

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
        self, keys: list, output: dict, scores: torch.Tensor, has_image: torch.Tensor, rewards: torch.Tensor,
        count_filtered: bool = True,
    ):  # fmt: skip
        """(B, T) advantages of this process's rows, computed over the whole gathered batch.

        keys: this process's group keys (prompt ids), scores (B, T), has_image (B,), rewards (B,);
        count_filtered: log the groups filtered here (dynamic sampling counts them over its rounds).
        """
        acc = self.accelerator
        mask = output["completion_mask"].bool()  # (B, T)
        all_scores = acc.gather(acc.pad_across_processes(scores, dim=1))  # (B_all, T_max)
        all_mask = acc.gather(
            acc.pad_across_processes(mask.long(), dim=1)
        ).bool()  # (B_all, T_max) as ints: gloo cannot gather bools
        all_images = acc.gather(has_image).bool()  # (B_all,)
        all_rewards = acc.gather(rewards)  # (B_all,)
        group_ids = self._group_ids(keys, all_mask.size(0), all_rewards.device)  # (B_all,)
        advantages, stats = token_advantages_from_scores(
            all_scores, all_mask, all_images, all_rewards, group_ids, self.vgpo
        )
        kept = self._online_filter(all_rewards, group_ids)  # (B_all,)
        advantages = advantages * kept[:, None]  # (B_all, T_max)
        per_rollout = (advantages * all_mask).sum(1) / all_mask.sum(1).clamp_min(1)  # (B_all,) token mean
        self._table_advantages(per_rollout.tolist())
        start = acc.process_index * mask.size(0)
        local = advantages[start : start + mask.size(0), : mask.size(1)]  # (B, T)
        local_kept = kept[start : start + mask.size(0)]  # (B,)
        output["completion_mask"] = output["completion_mask"] * local_kept[:, None].to(
            output["completion_mask"].dtype
        )
        output["num_items_in_batch"] = acc.gather(output["completion_mask"].sum()).sum().clamp(min=1)
        self._log_stats(stats, kept if count_filtered else None, group_ids)
        return local

    # TRL's completions table (`_logs`: deques of the latest generation batch's rows) shows TRL's own
    # advantages; these put VGPO's there (each rollout's mean token advantage), and with refill keep only
    # the rows that reached the update.
    _TABLE = ("prompt", "completion", "images")

    def _table_rows(self, rows: int) -> dict:
        """The last `rows` rows of every column of the table: the round TRL just logged."""
        logs = self._logs
        return {
            **{k: list(logs[k])[-rows:] if len(logs[k]) >= rows else None for k in self._TABLE},
            "rewards": {k: list(v)[-rows:] for k, v in logs["rewards"].items()},
            "extra": {k: list(v)[-rows:] for k, v in logs["extra"].items()},
        }

    def _keep_table_rows(self, tables: list[dict], rows: list[tuple[int, int]]) -> None:
        """Rebuild the table from the rows (round, row of that round's gathered batch) that were kept."""
        logs = self._logs
        for key in self._TABLE:
            if all(t[key] is not None for t in tables):
                logs[key].clear()
                logs[key].extend(tables[r][key][i] for r, i in rows)
        for group in ("rewards", "extra"):
            for name, column in logs[group].items():
                if all(name in t[group] for t in tables):
                    column.clear()
                    column.extend(tables[r][group][name][i] for r, i in rows)
        logs["advantages"].clear()
        logs["advantages"].extend([0.0] * len(rows))  # replaced by VGPO's in _table_advantages

    def _table_advantages(self, values: list[float]) -> None:
        """The table's last len(values) advantages become VGPO's (0 for rows filtered out of the loss)."""
        column = getattr(self, "_logs", {}).get("advantages")
        if column is None or len(column) < len(values):
            return
        for i, value in enumerate(values, start=len(column) - len(values)):
            column[i] = value

    def _group_ids(self, keys: list, total: int, device: torch.device) -> torch.Tensor:
        """Group index of every row of the gathered batch from each process's keys (the dataset's `id`,
        required), on `device` (the rewards')."""
        from accelerate.utils import gather_object

        keys = gather_object(list(keys))
        missing = [i for i, key in enumerate(keys) if key is None or str(key) == ""]
        if missing or len(keys) != total:
            raise ValueError(
                f"training row {missing[0] if missing else '?'} has no 'id': VGPO groups rollouts by prompt id, "
                "so every training row needs one (a string unique per prompt)"
            )
        index = {key: i for i, key in enumerate(dict.fromkeys(map(str, keys)))}  # the same on every process
        return torch.tensor([index[str(key)] for key in keys]).to(device)  # (B_all,)

    def _nothing_kept(self, rounds: int, rewards: torch.Tensor, group_ids: torch.Tensor) -> str:
        """Why a generation round kept no group, for the error that stops the run."""
        index, groups = group_index(group_ids)  # (B_all,)
        mean = group_mean(rewards.float(), index, groups)  # (G,)
        low, high = int((mean <= self.vgpo.filter_low).sum()), int((mean >= self.vgpo.filter_high).sum())
        names = ", ".join(getattr(self, "reward_func_names", [])) or "?"
        return (
            f"dynamic sampling: generation round {rounds + 1} kept no group on any process: of its {groups} "
            f"groups, {low} had every rollout wrong (mean reward <= {self.vgpo.filter_low}) and {high} every "
            f"rollout right (>= {self.vgpo.filter_high}), with the reward {names}. A reward that is always 0 "
            "or always 1 is the likely cause: check the reward, its protocol (--reward-protocol) and the "
            "data's answers. The reference run stops here too; --no-refill keeps such groups, masked out"
        )

    def _online_filter(self, rewards: torch.Tensor, group_ids: torch.Tensor) -> torch.Tensor:
        """1.0 for rows whose group's mean accuracy is strictly inside (filter_low, filter_high), else 0.0
        (the reference's bounds: with n = 8 binary rewards, all-wrong and all-right groups go)."""
        if not self.vgpo.online_filter or not self.model.training:
            return torch.ones_like(rewards)
        index, groups = group_index(group_ids)  # (B_all,)
        mean = group_mean(rewards.float(), index, groups)[index]  # (B_all,)
        return ((mean > self.vgpo.filter_low) & (mean < self.vgpo.filter_high)).float()

    def _log_stats(
        self, stats: dict[str, torch.Tensor], kept: torch.Tensor | None, group_ids: torch.Tensor
    ) -> None:
        """The VGPO stats, and the filtered groups when `kept` is given."""
        mode = "train" if self.model.training else "eval"
        for name, value in stats.items():  # names already carry the "vgpo/" prefix
            self._metrics[mode][name].append(float(value))
        if kept is not None:
            groups = torch.unique(group_ids[kept == 0]).numel()
            self._metrics[mode]["vgpo/filtered_groups"].append(float(groups))
        if not math.isfinite(self._metrics[mode]["vgpo/focus_mean"][-1]):
            raise FloatingPointError("VGPO focus scores are not finite: check the model's hidden states")


# keys of TRL's generation output whose second dimension is the prompt (left-padded) or the completion
# (right-padded); per-row lists after `split_pixel_values_by_grid`; and what a round without images lacks
_PROMPT_SIDE = ("prompt_ids", "prompt_mask", "token_type_ids", "mm_token_type_ids")
_RECOMPUTED = ("advantages", "num_items_in_batch")


def _merge_rounds(
    pieces: list, processing_class: Any
) -> tuple[dict, torch.Tensor, torch.Tensor, torch.Tensor, list]:
    """One generation output from the chosen rows of several rounds: per piece (rows, TRL output, scores
    (B, T), has_image (B,), rewards (B,), keys). Prompts are left-padded and completions right-padded to
    the widest round; per-image tensors follow their rows."""
    tokenizer = getattr(processing_class, "tokenizer", processing_class)
    pad_id = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else 0
    chosen = []
    for rows, output, *rest in pieces:
        split = split_pixel_values_by_grid({k: v for k, v in output.items() if k not in _RECOMPUTED})
        b = output["completion_ids"].size(0)
        taken = {}
        for key, value in split.items():
            if torch.is_tensor(value) and value.dim() and value.size(0) == b:
                taken[key] = value[rows.to(value.device)]
            elif isinstance(value, list) and len(value) == b:
                taken[key] = [value[i] for i in rows.tolist()]
            else:
                raise ValueError(f"dynamic sampling cannot select the rows of the generation output {key!r}")
        chosen.append((taken, *(x[rows.to(x.device)] for x in rest[:3]), [rest[3][i] for i in rows.tolist()]))
    keys = sorted({key for taken, *_ in chosen for key in taken})
    merged = {}
    for key in keys:
        values = [taken.get(key) for taken, *_ in chosen]
        if any(v is None for v in values):
            values = [_missing(key, v, taken, values) for v, (taken, *_) in zip(values, chosen, strict=True)]
        if isinstance(values[0], list):
            merged[key] = [x for v in values for x in v]
        elif values[0].dim() == 2:
            fill = pad_id if key in ("prompt_ids", "completion_ids") else 0
            merged[key] = _pad_cat(values, fill, left=key in _PROMPT_SIDE)
        else:
            merged[key] = torch.cat(values)
    scores = _pad_cat([c[1] for c in chosen], 0, left=False)  # (B, T)
    merged = unsplit_pixel_values_by_grid(merged)
    return (merged, scores, torch.cat([c[2] for c in chosen]), torch.cat([c[3] for c in chosen]),
            [k for c in chosen for k in c[4]])  # fmt: skip


def _missing(key: str, value: Any, taken: dict, values: list) -> Any:
    """What a round without images stands for in a key other rounds have."""
    if value is not None:
        return value
    b = taken["completion_ids"].size(0)
    like = next(v for v in values if v is not None)
    if key == "num_images":
        return [0] * b
    if isinstance(like, list):  # per-row image tensors: none for these rows
        return [like[0].new_zeros((0, *like[0].shape[1:])) for _ in range(b)]
    if key in _PROMPT_SIDE:
        return like.new_zeros((b, taken["prompt_ids"].size(1)))
    raise ValueError(f"dynamic sampling: generation output {key!r} is missing from one round")


def _pad_cat(tensors: list[torch.Tensor], fill: float, left: bool) -> torch.Tensor:
    """Concatenate (b_k, T_k) tensors along rows, padding each to the widest T on the left or right."""
    width = max(t.size(1) for t in tensors)
    padded = []
    for t in tensors:
        pad = t.new_full((t.size(0), width - t.size(1)), fill)
        padded.append(torch.cat([pad, t] if left else [t, pad], dim=1))
    return torch.cat(padded)
