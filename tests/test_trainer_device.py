"""Device correctness of the trainer's tensor path without a GPU (tests/standin_device.py).

On a GPU, TRL's generation output, the rewards and the focus scores live on the GPU; every tensor the
trainer makes from them (group ids, the online filter's mask, the refill merge, the advantages) must
live there too, or the first step fails ("Expected all tensors to be on the same device"). CPU tests
cannot see that. Here each generation round's output is moved to a stand-in device that enforces
CUDA's device rules, and the rest of the step runs on it; the values must equal a plain CPU run's.
"""

import pytest
import torch

pytest.importorskip("trl")

from standin_device import devices, outside, standin_mode, to_standin  # noqa: E402
from test_trainer import SMALL  # noqa: E402

from vgpo_train.advantage import token_advantages_from_scores  # noqa: E402
from vgpo_train.config import VGPOConfig  # noqa: E402
from vgpo_train.trainer import VGPOTrainer, grpo_args  # noqa: E402


def test_the_stand_in_refuses_what_cuda_refuses():
    """The stand-in itself: the mismatch of the issue fails, what CUDA accepts passes."""
    rewards = to_standin(torch.tensor([1.0, 0.0, 1.0, 1.0]))  # (B,)
    ids = torch.tensor([0, 0, 1, 1])  # (B,) on the CPU
    with standin_mode():
        with pytest.raises(RuntimeError, match="same device"):
            rewards.new_zeros(2).index_add_(0, ids, rewards)
        with pytest.raises(RuntimeError, match="same device"):
            torch.cat([rewards, torch.ones(2)])
        total = rewards.new_zeros(2).index_add_(0, ids.to(rewards.device), rewards)
        assert total.device == rewards.device and total.tolist() == [1.0, 2.0]
        assert rewards[ids].device == rewards.device  # CPU indices into a GPU tensor: allowed
        assert (rewards * torch.tensor(2.0)).device == rewards.device  # a 0-d CPU tensor is a scalar
        assert torch.tensor([3], device=rewards.device).device == rewards.device
        assert rewards.cpu().device.type == "cpu" and rewards.sum().item() == 3.0


@pytest.mark.parametrize("scope", ["rollout", "update"])
def test_the_advantage_maths_stays_on_the_rewards_device(scope):
    config = VGPOConfig(focus_scope=scope, global_batch=1)
    g = torch.Generator().manual_seed(0)
    scores = torch.rand(6, 5, generator=g)  # (B, T)
    mask = torch.ones(6, 5, dtype=torch.bool)
    mask[0, 3:] = False  # (B, T)
    has_image = torch.tensor([True] * 5 + [False])  # (B,)
    rewards = torch.tensor([1.0, 0.0, 1.0, 0.0, 0.0, 1.0])  # (B,)
    group_ids = torch.tensor([0, 0, 0, 1, 1, 1])  # (B,)
    expected, _ = token_advantages_from_scores(scores, mask, has_image, rewards, group_ids, config)
    with standin_mode():
        inputs = to_standin((scores, mask, has_image, rewards, group_ids))
        got, stats = token_advantages_from_scores(*inputs, config)
        assert devices((got, stats)) == {"meta"}
        assert torch.equal(got.cpu(), expected)


def _trainer(model_dir, rows, out, reward, **config):
    vgpo = VGPOConfig(**(SMALL | config))
    args = grpo_args(vgpo, str(out), max_steps=1, learning_rate=1e-5)
    trainer = VGPOTrainer(
        model=str(model_dir), reward_funcs=[reward], args=args, train_dataset=rows, vgpo=vgpo
    )
    trainer.model.train()
    return trainer


def _one_step(trainer, inputs, standin: bool):
    """The trainer's generation-and-advantage step on `inputs`, each round's output on the stand-in or not."""
    trainer._draws, trainer._metrics["train"] = 0, type(trainer._metrics["train"])(list)
    torch.manual_seed(0)
    if not standin:
        return trainer._generate_and_score_completions(inputs)
    one_round = trainer._one_round

    def on_standin(
        batch,
    ):  # TRL's generation and the model's forward run on the CPU; what they give, on the GPU
        with outside():
            return to_standin(one_round(batch))

    trainer._one_round = on_standin
    try:
        with standin_mode():
            return trainer._generate_and_score_completions(inputs)
    finally:
        del trainer._one_round


@pytest.mark.parametrize(
    "config",
    [{}, {"refill": False}, {"online_filter": False}, {"focus_scope": "update", "global_batch": 1}],
    ids=["refill", "filter-no-refill", "no-filter", "update-scope"],
)
def test_a_step_on_a_gpu_keeps_every_tensor_on_the_rewards_device(tiny_model_dir, dataset, tmp_path, config):
    """One prompt's rollouts all get reward 1 (filtered); the other's alternate. With refill (the
    default) a second round is drawn and merged: group ids, the filter, the merge and the advantages
    must all follow the rewards' device, and give the CPU run's values."""
    n = SMALL["num_generations"]
    inputs = [dataset[i] for i in range(2) for _ in range(n)]  # 2 prompts x n rollouts
    constant = inputs[0]["id"]

    def reward(completions, id, **columns):
        return [1.0 if key == constant else float(i % 2) for i, key in enumerate(id)]

    trainer = _trainer(tiny_model_dir, dataset, tmp_path / "out", reward, max_refill_rounds=3, **config)
    expected = _one_step(trainer, inputs, standin=False)
    rounds = trainer._metrics["train"].get("vgpo/refill_rounds", [1.0])
    got = _one_step(trainer, inputs, standin=True)
    assert devices({k: v for k, v in got.items() if torch.is_tensor(v)}) == {"meta"}, got.keys()
    assert got["advantages"].shape == expected["advantages"].shape
    assert torch.allclose(got["advantages"].cpu(), expected["advantages"], atol=1e-6)
    assert torch.equal(got["completion_mask"].cpu(), expected["completion_mask"])
    if not config:
        assert rounds[-1] > 1  # the refill path ran: a second round was merged
