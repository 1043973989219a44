"""Dynamic sampling (refill) hands the loss exactly VGPO's advantages of the kept rows, and nothing else.

Two real refilled steps on CPU with the tiny random Qwen2.5-VL. The reward, by row position, makes the
first group of every generation round constant (filtered) and the second alternate 0/1 (kept), so each
step needs a second round and no round can keep nothing. The test re-derives which rows are kept from
the reward alone, recomputes `token_advantages` over them from an independent `output_hidden_states=True`
forward of each round with the weights that round saw (each round's own padding, merged to the widest
round, groups keyed by (round, prompt id)), and checks, row by row, that the loss receives exactly the kept
rows with exactly those advantages (atol 1e-5): rows permuted within a round, or a filtered row let
through, fail it.
"""

import pytest
import torch

pytest.importorskip("trl")

from test_trainer import _trainer  # noqa: E402

from vgpo_train.advantage import token_advantages  # noqa: E402
from vgpo_train.trainer import MULTIMODAL_KEYS, VGPOTrainer  # noqa: E402

N = 4  # rollouts per prompt (SMALL's num_generations); SMALL's rollout batch: 2 prompts = 8 rows per round
STEPS = 2


def reward_of_row(i: int) -> float:
    """Row i of a generation round: its first group always right (filtered), the others half right (kept)."""
    return 1.0 if i < N else float(i % 2)


def _clone(output: dict) -> dict:
    return {k: v.detach().clone() if torch.is_tensor(v) else v for k, v in output.items()}


def _key(prompt_ids, prompt_mask, completion_ids, pad_id) -> tuple:
    """A row's identity: its prompt tokens without the left padding, its completion without the right."""
    completion = completion_ids.tolist()
    while completion and completion[-1] == pad_id:
        completion.pop()
    return tuple(prompt_ids[prompt_mask.bool()].tolist()), tuple(completion)


def _kept_rows(ids: list, target: int, have: int) -> list[int]:
    """The rows a round contributes, from the reward alone: the first groups (by row order) whose mean
    reward is strictly inside (filter_low, filter_high) = (0.01, 0.99), up to the groups still missing."""
    rewards = torch.tensor([reward_of_row(i) for i in range(len(ids))])  # (B,)
    kept = [
        i
        for i, key in enumerate(ids)
        if 0.01 < rewards[[j for j, k in enumerate(ids) if k == key]].mean() < 0.99
    ]
    return kept[: (target - have) * N]


def _pad(t: torch.Tensor, width: int, left: bool) -> torch.Tensor:
    """(b, w, ...) -> (b, width, ...) with zeros (False) on the left or the right of dim 1."""
    pad = t.new_zeros((t.size(0), width - t.size(1), *t.shape[2:]))
    return torch.cat([pad, t] if left else [t, pad], dim=1)


def _expected_step(model, rounds: list, target: int, config, pad_id: int) -> tuple[dict, int, int]:
    """{row key: (advantages (T,), completion mask (T,))} of the kept rows of one step's rounds, by an
    independent forward of each round; also the rounds used and the groups they filled (of `target`)."""
    hidden_parts, image_parts, mask_parts, rewards, groups, keys, have = [], [], [], [], [], [], 0
    for r, (state, ids, out, _, _) in enumerate(rounds):
        rows = _kept_rows(ids, target, have)
        have += len(rows) // N
        model.load_state_dict(state)
        input_ids = torch.cat([out["prompt_ids"], out["completion_ids"]], dim=1)  # (B_r, P_r + T_r)
        attention = torch.cat([out["prompt_mask"], out["completion_mask"]], dim=1)  # (B_r, P_r + T_r)
        with torch.no_grad():  # the whole round, as the trainer's forward saw it
            hidden = model(input_ids=input_ids, attention_mask=attention, output_hidden_states=True,
                           **{k: out[k] for k in MULTIMODAL_KEYS if k in out}).hidden_states[-1]  # fmt: skip
        p = out["prompt_ids"].size(1)  # P_r: prompts left-padded to P_r, completions right-padded to T_r
        image = input_ids == model.config.image_token_id  # (B_r, P_r + T_r)
        image[:, p:] = False  # only the prompt's image tokens
        hidden_parts.append((hidden[rows, :p].float(), hidden[rows, p:].float()))  # (k, P_r, H), (k, T_r, H)
        image_parts.append(image[rows, :p])  # (k, P_r)
        mask_parts.append(out["completion_mask"][rows].bool())  # (k, T_r)
        rewards += [reward_of_row(i) for i in rows]
        groups += [f"{r}/{ids[i]}" for i in rows]  # groups keyed by (round, prompt id)
        keys += [(out["prompt_ids"][i], out["prompt_mask"][i], out["completion_ids"][i]) for i in rows]
        if have == target:
            break
    width_p = max(h.size(1) for h, _ in hidden_parts)  # the merged batch: prompts to the widest round's P
    width_t = max(h.size(1) for _, h in hidden_parts)  # and completions to the widest T
    hidden = torch.cat([torch.cat([_pad(hp, width_p, True), _pad(hc, width_t, False)], dim=1)
                        for hp, hc in hidden_parts])  # (B, P + T, H)  # fmt: skip
    image = torch.cat([_pad(_pad(i, width_p, True), width_p + width_t, False)
                       for i in image_parts])  # (B, P + T) no image token in the completions  # fmt: skip
    mask = torch.cat([_pad(m, width_t, False) for m in mask_parts])  # (B, T)
    index = {g: j for j, g in enumerate(dict.fromkeys(groups))}
    group_ids = torch.tensor([index[g] for g in groups])  # (B,)
    advantages = token_advantages(hidden, image, mask, torch.tensor(rewards), group_ids, config)  # (B, T)
    expected = {_key(*k, pad_id): (a, m) for k, a, m in zip(keys, advantages, mask, strict=True)}
    assert len(expected) == len(keys)  # every kept row is told apart by its tokens
    return expected, r + 1, have


def test_refilled_advantages_given_to_the_loss_equal_an_independent_recomputation(
    tiny_model_dir, dataset, tmp_path, monkeypatch
):
    from transformers import AutoModelForImageTextToText

    rounds, losses = {}, {}  # by step: each round's capture; each micro-batch the loss received
    one_round, compute_loss = VGPOTrainer._one_round, VGPOTrainer._compute_loss

    def spy_round(self, inputs):
        state = {k: v.detach().clone() for k, v in self.model.state_dict().items()}  # weights the focus saw
        output, scores, has_image, rewards = one_round(self, inputs)
        rounds.setdefault(self.state.global_step, []).append(
            (state, [x["id"] for x in inputs], _clone(output), scores.clone(), rewards.clone())
        )
        return output, scores, has_image, rewards

    def spy_loss(self, model, inputs):
        keys = ("prompt_ids", "prompt_mask", "completion_ids", "completion_mask", "advantages")
        losses.setdefault(self.state.global_step, []).append({k: inputs[k].detach().clone() for k in keys})
        return compute_loss(self, model, inputs)

    monkeypatch.setattr(VGPOTrainer, "_one_round", spy_round)
    monkeypatch.setattr(VGPOTrainer, "_compute_loss", spy_loss)

    def reward(completions, **columns):
        return [reward_of_row(i) for i in range(len(completions))]

    trainer = _trainer(
        tiny_model_dir, dataset, tmp_path / "out", reward, max_steps=STEPS, max_refill_rounds=-1
    )
    trainer.train()

    assert sorted(rounds) == sorted(losses) == list(range(STEPS))
    model = AutoModelForImageTextToText.from_pretrained(tiny_model_dir).eval()
    tokenizer = getattr(trainer.processing_class, "tokenizer", trainer.processing_class)
    pad_id = tokenizer.pad_token_id  # what the trainer pads completions with
    target = trainer.vgpo.rollout_batch  # groups per update, one process
    varied = 0
    for step in range(STEPS):
        for _, ids, _, _, rewards in rounds[step]:  # the trainer's rewards are the reward function's
            assert rewards.tolist() == [reward_of_row(i) for i in range(len(ids))]
        expected, needed, filled = _expected_step(model, rounds[step], target, trainer.vgpo, pad_id)
        seen = []
        for batch in losses[step]:
            rows = zip(batch["prompt_ids"], batch["prompt_mask"], batch["completion_ids"],
                       batch["completion_mask"], batch["advantages"], strict=True)  # fmt: skip
            for prompt, prompt_mask, completion, mask, got in rows:  # (P,), (P,), (T,), (T,), (T,)
                key = _key(prompt, prompt_mask, completion, pad_id)
                if key not in expected:  # a row of a filtered group, or of a kept group left unused
                    pytest.fail(f"step {step}: the loss got a row that was not kept: completion {key[1]}")
                want, want_mask = expected[key]
                width = max(got.numel(), want.numel())
                got, want = _pad(got[None], width, False)[0], _pad(want[None], width, False)[0]  # (T,), (T,)
                assert torch.equal(_pad(mask[None].bool(), width, False), _pad(want_mask[None], width, False))
                assert torch.allclose(got, want, atol=1e-5), (step, key[1], (got - want).abs().max())
                values = want[want_mask]  # the row's valid tokens
                varied += int(values.numel() > 1 and bool(values.max() - values.min() > 1e-4))
                seen.append(key)
        assert sorted(seen) == sorted(expected), f"step {step}: the loss did not get each kept row once"
        assert filled == target and len(rounds[step]) == needed  # no round more or less than needed
    assert varied  # the focus reweights tokens: a row-permuted focus could not match by accident
    logs = [e for e in trainer.state.log_history if "vgpo/refill_rounds" in e]
    assert [e["vgpo/refill_rounds"] for e in logs] == [2.0] * STEPS  # every step drew a second round
    assert all(e["vgpo/refill_short"] == 0 for e in logs)
