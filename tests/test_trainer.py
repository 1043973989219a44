"""The VGPO trainer on the tiny random Qwen2.5-VL, on CPU: two real steps, then a learning test."""

import json

import pytest
import torch

pytest.importorskip("trl")

from vgpo_tasks import synthetic  # noqa: E402
from vgpo_train.config import VGPOConfig  # noqa: E402
from vgpo_train.trainer import VGPOTrainer, grpo_args  # noqa: E402

SMALL = {"num_generations": 4, "rollout_batch": 2, "global_batch": 2, "per_device_batch": 4,
         "max_completion_length": 8, "min_pixels": 3136, "max_pixels": 12544}  # fmt: skip


def _trainer(model_dir, rows, out, reward, max_steps=2, **config):
    vgpo = VGPOConfig(**(SMALL | {"max_refill_rounds": 2} | config))  # a random model may never give a signal
    args = grpo_args(vgpo, str(out), max_steps=max_steps, learning_rate=1e-5)
    return VGPOTrainer(model=str(model_dir), reward_funcs=[reward], args=args, train_dataset=rows, vgpo=vgpo)


def test_two_steps_hand_token_advantages_to_the_loss(tiny_model_dir, dataset, tmp_path, monkeypatch):
    seen, means = [], []
    original = VGPOTrainer._compute_loss

    def spy(self, model, inputs):
        seen.append((inputs["advantages"].shape, inputs["completion_ids"].shape))
        means.append((inputs["advantages"].detach().float(), inputs["completion_mask"].float()))
        return original(self, model, inputs)

    monkeypatch.setattr(VGPOTrainer, "_compute_loss", spy)

    def reward(completions, **columns):  # half right, half wrong in every group: a learning signal
        return [float(i % 2) for i in range(len(completions))]

    trainer = _trainer(tiny_model_dir, dataset, tmp_path / "out", reward, online_filter=False)
    trainer.train()
    assert seen and all(adv == ids and len(adv) == 2 for adv, ids in seen)  # (B, T) per-token advantages
    # the completions table shows VGPO's advantages (each rollout's token mean), not TRL's
    last = [(a * m).sum(1) / m.sum(1) for a, m in means[-2:]]  # the last generation batch: 2 micro-batches
    table = sorted(trainer._logs["advantages"])
    assert table == pytest.approx(sorted(torch.cat(last).tolist()), abs=1e-5)
    logged = {k for entry in trainer.state.log_history for k in entry}
    for name in (
        "vgpo/focus_mean",
        "vgpo/focus_late_early_ratio",
        "vgpo/gate_pass_rate",
        "vgpo/psi_max",
        "vgpo/alpha_min",
    ):
        assert name in logged, name
    assert trainer.state.global_step == 2


def always_right(completions, **columns):
    return [1.0] * len(completions)


def test_online_filter_drops_groups_without_signal(tiny_model_dir, dataset, tmp_path):
    trainer = _trainer(tiny_model_dir, dataset, tmp_path / "out", always_right, refill=False)
    trainer.train()
    filtered = [e["vgpo/filtered_groups"] for e in trainer.state.log_history if "vgpo/filtered_groups" in e]
    assert filtered and all(n > 0 for n in filtered)


@pytest.mark.parametrize("cap", [-1, 3])
def test_a_round_that_keeps_no_group_stops_the_run_naming_the_reward(tiny_model_dir, dataset, tmp_path, cap):
    """A reward that is always 1 would make dynamic sampling generate forever (no cap, the default): the
    first round that keeps nothing stops the run, as the reference does, whatever the cap."""
    from vgpo_train.trainer import RefillError

    trainer = _trainer(tiny_model_dir, dataset, tmp_path / "out", always_right, max_refill_rounds=cap)
    with pytest.raises(RefillError) as error:
        trainer.train()
    message = str(error.value)
    assert "generation round 1 kept no group on any process" in message, message
    assert "0 had every rollout wrong" in message and "2 every rollout right" in message, message
    assert "with the reward always_right" in message and "--reward-protocol" in message, message
    assert trainer.state.global_step == 0


def test_the_cli_stops_with_one_line_when_no_group_is_kept(tiny_model_dir, tmp_path, monkeypatch, capsys):
    """A random model never answers right: with the `strict` reward every reward is 0. One line, exit 1."""
    from vgpo_train.__main__ import main

    monkeypatch.setenv("VGPO_CACHE", str(tmp_path / "cache"))
    data = synthetic.write(tmp_path / "data", ["virl39k"], n=2)
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in SMALL.items()]
    code = main(["--model", str(tiny_model_dir), "--train-data", "virl39k", "--source", "local", "--data-dir",
                 str(data), "--output-dir", str(tmp_path / "out"), "--max-steps", "1", "--eval-data", "none",
                 "--reward-protocol", "strict", *flags])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 1, err
    line = [x for x in err.splitlines() if x.startswith("vgpo-train: error:")]
    assert len(line) == 1 and "2 had every rollout wrong" in line[0] and "strict_accuracy" in line[0], err
    assert "Traceback" not in err
    assert not (tmp_path / "out" / "final").exists()


@pytest.mark.parametrize("refill", [True, False])
def test_dynamic_sampling_refills_the_batch_with_groups_that_carry_a_signal(
    tiny_model_dir, dataset, tmp_path, monkeypatch, refill
):
    """One prompt of the four always gets reward 1 (its group is filtered). With refill, more prompts are
    drawn until each update holds full groups with a signal: no row of the loss is masked out, and
    the filtered rows never reach the forward/backward. Without it, filtered rows are masked (control).
    (One, not half: a round that drew only such prompts would keep nothing, which stops the run.)"""
    seen = []
    original = VGPOTrainer._compute_loss

    def spy(self, model, inputs):
        seen.append(inputs["completion_mask"].sum(1))  # (b,) tokens of each row the loss sees
        return original(self, model, inputs)

    monkeypatch.setattr(VGPOTrainer, "_compute_loss", spy)
    constant = set(sorted(dataset["id"])[:1])  # this prompt's groups never carry a signal

    def reward(completions, id, **columns):
        return [1.0 if key in constant else float(i % 2) for i, key in enumerate(id)]

    trainer = _trainer(tiny_model_dir, dataset, tmp_path / "out", reward, max_steps=3, refill=refill,
                       max_refill_rounds=50)  # fmt: skip
    trainer.train()
    rows = torch.cat(seen)
    logs = [e for e in trainer.state.log_history if "vgpo/filtered_groups" in e]
    assert rows.numel() == 3 * 8  # every update (two micro-batches of 4): the full 2 prompts x 4 rollouts
    table = list(trainer._logs["rewards"]["reward"])  # the completions table: the last update's rows
    if refill:
        assert bool((rows > 0).all()), rows  # full groups, none masked out
        assert len(table) == 8 and all(0 < sum(table[i : i + 4]) < 4 for i in (0, 4)), (
            table
        )  # no filtered group
        assert all(e["vgpo/refill_short"] == 0 for e in logs)
        assert any(e["vgpo/refill_rounds"] > 1 for e in logs), logs  # it had to draw more prompts
    else:
        assert bool((rows == 0).any())  # the control: filtered groups stay in the batch, masked


def test_cli_saves_the_resolved_config(tiny_model_dir, tmp_path, monkeypatch, capsys):
    from accelerate import Accelerator

    from vgpo_train.__main__ import main

    ended = []  # the run closes its process group: under torchrun a process that skips it can abort at exit
    monkeypatch.setattr(Accelerator, "end_training", lambda self: ended.append(1))
    monkeypatch.setenv("VGPO_CACHE", str(tmp_path / "cache"))
    data = synthetic.write(tmp_path / "data", ["virl39k", "mmk12"], n=2)
    out = tmp_path / "out"
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in SMALL.items()] + [
        "--eval-steps",
        "1",
        "--eval-limit",
        "2",
    ]
    code = main(["--model", str(tiny_model_dir), "--train-data", "virl39k", "--source", "local",
                 "--data-dir", str(data), "--output-dir", str(out), "--max-steps", "1", "--no-gate", "--no-refill", *flags])  # fmt: skip
    assert code == 0 and ended
    saved = json.loads((out / "vgpo_config.json").read_text())
    assert saved["gate"] is False and saved["intra"] is True and saved["beta"] == 0.3
    assert saved["run"]["model"] == str(tiny_model_dir) and saved["run"]["model_revision"] is None
    assert saved["run"]["data"]["task"] == "virl39k" and saved["run"]["data"]["data_dir"] == str(data)
    assert "vgpo-train: the weights" in capsys.readouterr().err  # a closing line: did it train, or why not
    history = json.loads((out / "trainer_state.json").read_text())["log_history"]
    assert any("eval_reward" in entry for entry in history)  # validated on MMK12 with the checker
    assert (out / "final" / "config.json").exists()


def test_hook_rides_trls_own_forward_when_it_makes_one(tiny_model_dir, dataset, tmp_path, monkeypatch):
    """A rollout reused over several updates makes TRL compute old log-probs: the focus comes from that pass."""
    own = []
    monkeypatch.setattr(VGPOTrainer, "_forward_for_focus", lambda self, output: own.append(1))

    def reward(completions, **columns):
        return [float(i % 2) for i in range(len(completions))]

    trainer = _trainer(
        tiny_model_dir, dataset, tmp_path / "out", reward, rollout_batch=4, online_filter=False
    )
    trainer.train()
    assert not own and any("vgpo/focus_mean" in e for e in trainer.state.log_history)


def test_mean_reward_rises_with_vgpo_on(tiny_model_dir, dataset, tmp_path):
    """The whole chain has the right sign: checker reward -> VGPO advantages -> TRL loss -> better policy.

    A toy environment: answers are one token restricted to the ten digits, the gold is "7", the reward
    is our strict checker. A fixed seed; the first step is chance level (about 0.1).
    """
    from transformers import AutoTokenizer

    from vgpo_eval.checker.rewards import trl_reward

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    digits = {tokenizer.convert_tokens_to_ids(d) for d in "0123456789"}
    suppress = [i for i in range(len(tokenizer)) if i not in digits]
    rows = dataset.map(lambda row: {"answer": "7"})
    vgpo = VGPOConfig(**(SMALL | {"num_generations": 16, "rollout_batch": 4, "global_batch": 4,
                                  "per_device_batch": 16, "max_completion_length": 1}),
                      reward_protocol="strict", online_filter=False)  # fmt: skip
    args = grpo_args(vgpo, str(tmp_path / "out"), max_steps=20, learning_rate=5e-3,
                     generation_kwargs={"suppress_tokens": suppress})  # fmt: skip
    trainer = VGPOTrainer(model=str(tiny_model_dir), reward_funcs=[trl_reward("strict")], args=args,
                          train_dataset=rows, vgpo=vgpo)  # fmt: skip
    trainer.train()
    rewards = [e["reward"] for e in trainer.state.log_history if "reward" in e]
    assert len(rewards) == 20
    assert sum(rewards[-5:]) / 5 > rewards[0] + 0.4, rewards


def test_the_reference_runs_learning_rate_is_constant(tmp_path):
    from vgpo_train.config import VGPOConfig
    from vgpo_train.trainer import grpo_args

    args = grpo_args(VGPOConfig(rollout_batch=2, global_batch=2, per_device_batch=16), str(tmp_path))
    assert (
        getattr(args.lr_scheduler_type, "value", args.lr_scheduler_type) == "constant"
        and args.warmup_steps == 0
    )


def test_focus_maths_is_float32_inside_bf16_autocast():
    import torch

    from vgpo_eval.focus import focus_scores

    g = torch.Generator().manual_seed(0)
    hidden = torch.randn(3, 40, 64, generator=g)  # (B, S, H)
    image = torch.zeros(3, 40, dtype=torch.bool)
    image[:, 2:12] = True
    response = torch.ones(3, 16, dtype=torch.bool)
    plain = focus_scores(hidden, image, response)
    with torch.autocast("cpu", dtype=torch.bfloat16):
        inside = focus_scores(hidden, image, response)
    assert inside.dtype == torch.float32 and torch.allclose(plain, inside, atol=1e-6)


def test_the_focus_forward_passes_every_multimodal_input():
    """Without mm_token_type_ids, Qwen2.5-VL's own forward falls back to 1-D positions (not M-RoPE)."""
    import types

    import torch

    from vgpo_train.trainer import MULTIMODAL_KEYS, VGPOTrainer

    seen = {}
    fake = types.SimpleNamespace(
        model="policy", args=types.SimpleNamespace(per_device_train_batch_size=2),
        _get_per_token_logps_and_entropies=lambda model, ids, mask, keep, **kw: seen.update(kw),
    )  # fmt: skip
    output = {"prompt_ids": torch.ones(2, 3, dtype=torch.long), "completion_ids": torch.ones(2, 2, dtype=torch.long),
              "prompt_mask": torch.ones(2, 3), "completion_mask": torch.ones(2, 2)}  # fmt: skip
    output |= {key: torch.zeros(1) for key in ("pixel_values", "image_grid_thw", "mm_token_type_ids")}
    VGPOTrainer._forward_for_focus(fake, output)
    assert {"pixel_values", "image_grid_thw", "mm_token_type_ids"} <= set(seen)
    assert "mm_token_type_ids" in MULTIMODAL_KEYS


def test_rows_without_an_id_are_rejected_by_name():
    import types

    import pytest
    import torch

    from vgpo_train.trainer import VGPOTrainer

    with pytest.raises(ValueError, match="training row 1 has no 'id'"):
        VGPOTrainer._group_ids(types.SimpleNamespace(), ["a", None], 2, torch.device("cpu"))
    ids = VGPOTrainer._group_ids(types.SimpleNamespace(), ["a", "b", "a"], 3, torch.device("cpu"))
    assert torch.equal(ids, torch.tensor([0, 1, 0]))


def test_data_smaller_than_one_rollout_batch_is_an_error(tiny_model_dir, tmp_path, monkeypatch, capsys):
    """The paper's 512-prompt rollout batch on 2 prompts would train 0 steps and still write a model."""
    from accelerate import Accelerator

    from vgpo_train.__main__ import main

    ended = []  # the run closes its process group: under torchrun a process that skips it can abort at exit
    monkeypatch.setattr(Accelerator, "end_training", lambda self: ended.append(1))
    monkeypatch.setenv("VGPO_CACHE", str(tmp_path / "cache"))
    data = synthetic.write(tmp_path / "data", ["virl39k"], n=2)
    code = main(["--model", str(tiny_model_dir), "--train-data", "virl39k", "--source", "local",
                 "--data-dir", str(data), "--output-dir", str(tmp_path / "out")])  # fmt: skip
    assert (
        code == 2
        and "2 prompts, fewer than one rollout batch (--rollout-batch 512)" in capsys.readouterr().err
    )
    assert not (tmp_path / "out" / "final").exists()


@pytest.mark.parametrize("path, config", [("own forward", {}), ("TRL's forward", {"rollout_batch": 4})])
def test_advantages_given_to_the_loss_equal_an_independent_recomputation(
    tiny_model_dir, dataset, tmp_path, monkeypatch, path, config
):
    """End to end: the (B, T) advantages of one real step equal `token_advantages` recomputed from a separate
    forward of the same weights with output_hidden_states=True, whichever forward the focus rode on; the
    loss receives exactly those rows; and they vary within a rollout (the reweighting is not a no-op)."""
    import torch
    from transformers import AutoModelForImageTextToText

    from vgpo_train.advantage import token_advantages
    from vgpo_train.trainer import MULTIMODAL_KEYS

    batches, losses = [], []
    generate, compute_loss = VGPOTrainer._generate_and_score_completions, VGPOTrainer._compute_loss

    def spy_generate(self, inputs):
        state = {
            k: v.detach().clone() for k, v in self.model.state_dict().items()
        }  # the weights the focus saw
        output = generate(self, inputs)
        batches.append((state, [x["id"] for x in inputs], self._rewards.clone(),
                        {k: v.detach().clone() if torch.is_tensor(v) else v for k, v in output.items()}))  # fmt: skip
        return output

    def spy_loss(self, model, inputs):
        losses.append({k: inputs[k].detach().clone() for k in ("prompt_ids", "completion_ids", "advantages")})
        return compute_loss(self, model, inputs)

    monkeypatch.setattr(VGPOTrainer, "_generate_and_score_completions", spy_generate)
    monkeypatch.setattr(VGPOTrainer, "_compute_loss", spy_loss)

    def reward(completions, **columns):
        return [float(i % 2) for i in range(len(completions))]

    trainer = _trainer(
        tiny_model_dir, dataset, tmp_path / "out", reward, max_steps=1, online_filter=False, **config
    )
    trainer.train()
    state, ids, rewards, out = batches[0]
    model = AutoModelForImageTextToText.from_pretrained(tiny_model_dir).eval()
    model.load_state_dict(state)
    input_ids = torch.cat([out["prompt_ids"], out["completion_ids"]], dim=1)  # (B, S)
    attention = torch.cat([out["prompt_mask"], out["completion_mask"]], dim=1)  # (B, S)
    with torch.no_grad():
        hidden = model(
            input_ids=input_ids,
            attention_mask=attention,
            output_hidden_states=True,
            **{k: out[k] for k in MULTIMODAL_KEYS if k in out},
        ).hidden_states[-1]  # (B, S, H)
    image_mask = input_ids == model.config.image_token_id  # (B, S)
    image_mask[:, out["prompt_ids"].size(1) :] = False
    groups = {key: i for i, key in enumerate(dict.fromkeys(ids))}
    expected = token_advantages(
        hidden.float(), image_mask, out["completion_mask"].bool(), rewards.nansum(1),
        torch.tensor([groups[key] for key in ids]), trainer.vgpo,
    )  # fmt: skip
    assert torch.allclose(out["advantages"], expected, atol=1e-5), (out["advantages"] - expected).abs().max()
    mask = out["completion_mask"].bool()
    spread = [
        (row[m].max() - row[m].min()).item()
        for row, m in zip(out["advantages"], mask, strict=True)
        if m.sum() > 1
    ]
    assert max(spread) > 1e-4  # psi varies within a rollout
    rows = {(tuple(p.tolist()), tuple(c.tolist())): a for p, c, a in zip(out["prompt_ids"], out["completion_ids"], out["advantages"], strict=True)}  # fmt: skip
    for loss in losses:
        for p, c, a in zip(loss["prompt_ids"], loss["completion_ids"], loss["advantages"], strict=True):
            assert torch.equal(rows[(tuple(p.tolist()), tuple(c.tolist()))], a)  # the loss got these rows


def test_the_demo_trains_with_a_constant_learning_rate(tmp_path, capsys):
    """The demo trains with VGPO's weights at work (multi-token answers: psi and alpha move away from 1),
    prints one short line per step and ends on the closing line (TRL's per-step dictionaries are not printed),
    and leaves the libraries' progress bars as it found them."""
    import re

    from transformers.utils import logging as transformers_logging

    from vgpo_train.__main__ import main

    bars = transformers_logging.is_progress_bar_enabled()
    assert main(["demo", "--out", str(tmp_path / "demo"), "--steps", "2"]) == 0
    assert transformers_logging.is_progress_bar_enabled() == bars
    history = json.loads((tmp_path / "demo" / "train" / "trainer_state.json").read_text())["log_history"]
    steps = [e for e in history if "grad_norm" in e]
    assert len(steps) == 2 and {e["learning_rate"] for e in steps} == {5e-3}  # constant, no warm-up
    assert all(e["grad_norm"] > 0 for e in steps)
    assert {e["completions/mean_length"] for e in steps} == {4}
    lines = capsys.readouterr().out.strip().splitlines()
    assert [line.split(":")[0] for line in lines if line.startswith("step ")] == ["step 1/2", "step 2/2"]
    assert not any("'loss'" in line or "grad_norm" in line for line in lines)  # no TRL log dictionaries
    closing = lines[-1]
    assert closing.startswith("the weights changed: 2 of 2 steps"), closing
    found = re.search(r"psi in \[([\d.]+), ([\d.]+)\], alpha in \[([\d.]+), ([\d.]+)\]", closing)
    assert found, closing
    psi_low, psi_high, alpha_low, alpha_high = map(float, found.groups())
    assert psi_low < 0.95 and psi_high > 1.05, closing  # tokens reweighted within a rollout
    assert alpha_low >= 0.9 and alpha_high > 1.05, closing  # rollouts reweighted within a group (clip 0.9)
    assert "VGPO's reweighting at work" in closing


def test_the_demo_says_why_nothing_changed():
    from vgpo_train.demo import summary

    assert "no step ran" in summary([])
    assert "every group was all right or all wrong" in summary([{"grad_norm": 0.0, "reward": 1.0}])


@pytest.mark.parametrize("processes", [1, 2])
def test_groups_split_across_processes_get_the_one_process_advantages(tmp_path, processes):
    """Two CPU processes (torchrun, gloo) whose groups are split between them give the advantages that one
    process computes on the whole batch, row for row, whatever each process's padding."""
    import os
    import subprocess
    import sys
    from pathlib import Path

    import torch

    from vgpo_train.advantage import token_advantages_from_scores

    sys.path.insert(0, str(Path(__file__).parent))
    from two_process_advantages import ROWS, STEPS, fixed_batch

    out = tmp_path / "advantages.json"
    script = Path(__file__).parent / "two_process_advantages.py"
    import socket

    with socket.socket() as sock:  # a free port for the processes to meet on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", str(processes), "--master_addr", "127.0.0.1",
           "--master_port", str(port), str(script), str(out)]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr[-2000:]
    assert f"of {processes}" in done.stderr  # really that many processes
    got = json.loads(out.read_text())
    scores, lengths, rewards, ids = fixed_batch()
    mask = torch.arange(STEPS)[None, :] < lengths[:, None]  # (ROWS, STEPS)
    groups = torch.tensor([int(i[1:]) for i in ids])
    expected, _ = token_advantages_from_scores(scores * mask, mask, torch.ones(ROWS, dtype=torch.bool), rewards, groups,
                                               VGPOConfig(online_filter=False))  # fmt: skip
    assert [i for i, _ in got] == list(range(ROWS))
    for i, row in got:
        n = int(lengths[i])
        assert torch.allclose(torch.tensor(row[:n]), expected[i, :n], atol=1e-6), i


def test_prompts_longer_than_the_limit_are_dropped_and_counted(tiny_model_dir, dataset):
    from transformers import AutoProcessor

    from vgpo_train.data import drop_overlong

    processor = AutoProcessor.from_pretrained(tiny_model_dir)
    kept, dropped = drop_overlong(dataset, processor, 10_000)
    assert (len(kept), dropped) == (len(dataset), 0)
    kept, dropped = drop_overlong(dataset, processor, 5)  # no prompt fits in 5 tokens
    assert (len(kept), dropped) == (0, len(dataset))


def test_refill_merges_rounds_of_different_widths_with_and_without_images():
    """Rows chosen from two rounds (one with an image per row, one text-only; different prompt and
    completion widths) become one generation output: prompts left-padded, completions right-padded,
    each row's image patches kept with it, text-only rows given no patches and zero type ids."""
    import types

    from vgpo_train.trainer import _merge_rounds

    pad = 9
    with_images = {
        "prompt_ids": torch.tensor([[1, 2, 3], [4, 5, 6]]), "prompt_mask": torch.ones(2, 3, dtype=torch.long),
        "completion_ids": torch.tensor([[7, 8], [10, 11]]), "completion_mask": torch.tensor([[1, 1], [1, 0]]),
        "pixel_values": torch.arange(40.0).view(8, 5), "image_grid_thw": torch.tensor([[1, 2, 2], [1, 2, 2]]),
        "num_images": [1, 1], "mm_token_type_ids": torch.tensor([[0, 1, 0], [0, 1, 1]]),
        "advantages": torch.zeros(2), "num_items_in_batch": torch.tensor(3),
    }  # fmt: skip
    text_only = {
        "prompt_ids": torch.tensor([[1, 2, 3, 4], [5, 6, 7, 8]]), "prompt_mask": torch.ones(2, 4, dtype=torch.long),
        "completion_ids": torch.tensor([[1, 2, 3], [4, 5, 6]]), "completion_mask": torch.ones(2, 3, dtype=torch.long),
        "advantages": torch.zeros(2), "num_items_in_batch": torch.tensor(6),
    }  # fmt: skip
    pieces = [
        (torch.tensor([1]), with_images, torch.tensor([[0.1, 0.2], [0.3, 0.4]]), torch.ones(2), torch.tensor([1.0, 0.0]), ["0/a", "0/a"]),
        (torch.tensor([0, 1]), text_only, torch.full((2, 3), 0.5), torch.zeros(2), torch.tensor([0.0, 1.0]), ["1/b", "1/b"]),
    ]  # fmt: skip
    merged, scores, has_image, rewards, keys = _merge_rounds(pieces, types.SimpleNamespace(pad_token_id=pad))
    assert merged["prompt_ids"].tolist() == [[pad, 4, 5, 6], [1, 2, 3, 4], [5, 6, 7, 8]]
    assert merged["prompt_mask"].tolist() == [[0, 1, 1, 1], [1, 1, 1, 1], [1, 1, 1, 1]]
    assert merged["completion_ids"].tolist() == [[10, 11, pad], [1, 2, 3], [4, 5, 6]]
    assert merged["completion_mask"].tolist() == [[1, 0, 0], [1, 1, 1], [1, 1, 1]]
    assert torch.equal(merged["pixel_values"], torch.arange(20.0, 40.0).view(4, 5))  # row 1's patches only
    assert merged["image_grid_thw"].tolist() == [[1, 2, 2]] and merged["num_images"] == [1, 0, 0]
    assert merged["mm_token_type_ids"].tolist() == [[0, 0, 1, 1], [0, 0, 0, 0], [0, 0, 0, 0]]
    assert "advantages" not in merged and "num_items_in_batch" not in merged  # recomputed after the merge
    assert torch.equal(scores, torch.tensor([[0.3, 0.4, 0.0], [0.5, 0.5, 0.5], [0.5, 0.5, 0.5]]))
    assert has_image.tolist() == [1.0, 0.0, 0.0] and rewards.tolist() == [0.0, 0.0, 1.0]
    assert keys == ["0/a", "1/b", "1/b"]


def test_refill_needs_whole_groups_per_process(tmp_path):
    with pytest.raises(ValueError, match="rollout-batch 6 must be a multiple of the 4 processes"):
        grpo_args(
            VGPOConfig(rollout_batch=6, global_batch=6, per_device_batch=4, num_generations=8),
            str(tmp_path),
            4,
        )


def _one_update(tiny_model_dir, dataset, out, reward, focus, **switches):
    """One real VGPO step (TRL's loss, plain SGD so the update is linear in the advantages) on two-digit
    answers: generation restricted to the ten digits, exactly 2 tokens. The focus scores are given by
    `focus(completion_ids, digit_ids) -> (B, T)`: the seam stands in for the model's visual focus, so the
    test controls what VGPO sees and checks what the update does with it. From a fixed seed every
    configuration samples the same rollouts. Returns the rollouts' digit pairs, their rewards and the
    change of each token's log-probability under the update, (B, 2)."""
    from transformers import AutoTokenizer

    from vgpo_train.trainer import MULTIMODAL_KEYS

    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    digits = [tokenizer.convert_tokens_to_ids(d) for d in "0123456789"]
    config = {"num_generations": 32, "rollout_batch": 4, "global_batch": 4, "per_device_batch": 32,
              "max_completion_length": 2, "online_filter": False, **switches}  # fmt: skip
    vgpo = VGPOConfig(**(SMALL | config))
    args = grpo_args(vgpo, str(out), max_steps=1, learning_rate=0.5, optim="sgd", max_grad_norm=1e9,
                     weight_decay=0.0, save_strategy="no",
                     generation_kwargs={"suppress_tokens": [i for i in range(len(tokenizer)) if i not in digits]})  # fmt: skip
    pairs, batches = [], []

    def scored(completions, **columns):
        pairs.extend(_two_digits(c) for c in completions)
        return [reward(a, b) for a, b in pairs[-len(completions) :]]

    trainer = VGPOTrainer(model=str(tiny_model_dir), reward_funcs=[scored], args=args, train_dataset=dataset,
                          vgpo=vgpo)  # fmt: skip
    original = trainer._vgpo_advantages

    def given_focus(keys, output, scores, has_image, rewards):
        batches.append(output)
        return original(keys, output, focus(output["completion_ids"], digits).to(scores), has_image, rewards)

    trainer._vgpo_advantages = given_focus

    def logps(batch):  # (B, 2) log-probabilities of the sampled tokens under the current weights
        with torch.no_grad():
            return trainer._get_per_token_logps_and_entropies(
                trainer.model, torch.cat([batch["prompt_ids"], batch["completion_ids"]], 1),
                torch.cat([batch["prompt_mask"], batch["completion_mask"]], 1), 2,
                **{k: batch[k] for k in MULTIMODAL_KEYS if k in batch},
            )[0]  # fmt: skip

    out.mkdir(parents=True, exist_ok=True)
    torch.save(trainer.model.state_dict(), out / "start.pt")
    trainer.train()
    batch = batches[0]
    after = logps(batch)
    trainer.model.load_state_dict(torch.load(out / "start.pt"))
    before = logps(batch)
    return pairs, torch.tensor([reward(a, b) for a, b in pairs]), after - before


def _two_digits(completion) -> tuple[str, str]:
    text = completion[0]["content"] if isinstance(completion, list) else completion
    return (text + "??")[0], (text + "??")[1]


GRPO = {"intra": False, "inter": False, "compensation": False, "gate": False}


def _ramp(ids, digits):  # (B, T) focus rising with the position
    return torch.arange(ids.size(1), dtype=torch.float32).expand(ids.size(0), -1) + 1.0


def test_psi_puts_the_update_where_the_focus_is(tiny_model_dir, dataset, tmp_path):
    """Intra-trajectory weights psi (Eq. 7-8) steer a real update: every response focuses on its second
    token (focus rising with the position), so psi gives the second token 1.5x and the first 0.5x the
    advantage. The reward pays half for a first digit 3 and half for a second digit 7. On the same
    rollouts, the share of the update's advantage-aligned log-probability gain that lands on the second
    token must be clearly larger than plain GRPO's. A constant psi gives GRPO's share; an inverted psi
    (the first token weighed more) a smaller one; a random psi about GRPO's."""

    def reward(a, b):
        return 0.5 * (a == "3") + 0.5 * (b == "7")

    def second_share(run):
        pairs, rewards, delta = run
        centred = (rewards - rewards.mean())[:, None]  # (B, 1) the sign of each rollout's advantage
        gain = (centred * delta).sum(0)  # (2,) advantage-aligned gain per position
        return float(gain[1] / gain.abs().sum())

    switches = {"intra": True, "inter": False, "compensation": False, "gate": False}
    vgpo = _one_update(tiny_model_dir, dataset, tmp_path / "vgpo", reward, _ramp, **switches)
    grpo = _one_update(tiny_model_dir, dataset, tmp_path / "grpo", reward, _ramp, **GRPO)
    assert vgpo[0] == grpo[0]  # the same rollouts: only the weighting differs
    assert second_share(vgpo) > second_share(grpo) + 0.15, (second_share(vgpo), second_share(grpo))


def test_alpha_puts_the_update_on_the_rollouts_that_look(tiny_model_dir, dataset, tmp_path):
    """Inter-trajectory weights alpha (Eq. 9-11) steer a real update: rollouts whose focus varies get
    phi 1, flat ones phi 0, so alpha is about 2 - q for the first and max(0.9, 1 - q) for the others
    (q: the group's share of looking rollouts). Two second digits are right, 7 and 2, and only the 7s
    look. On the same rollouts, the update must raise the 7s' log-probability relative to the 2s' clearly
    more than GRPO does (which rewards both alike). A constant alpha gives GRPO's ratio; an inverted one
    favours the 2s; a random one about GRPO's."""

    def looks_when_seven(ids, digits):
        seven = (ids[:, 1] == digits[7])[:, None]  # (B, 1)
        return torch.where(seven, _ramp(ids, digits), torch.ones(ids.shape))

    def reward(a, b):
        return float(b in "72")

    def seven_over_two(run):
        pairs, rewards, delta = run
        second = [b for _, b in pairs]
        gain = {d: float(delta[[i for i, b in enumerate(second) if b == d], 1].mean()) for d in "72"}
        return gain["7"] / gain["2"]

    switches = {"intra": False, "inter": True, "compensation": False, "gate": False}
    vgpo = _one_update(tiny_model_dir, dataset, tmp_path / "vgpo", reward, looks_when_seven, **switches)
    grpo = _one_update(tiny_model_dir, dataset, tmp_path / "grpo", reward, looks_when_seven, **GRPO)
    assert vgpo[0] == grpo[0] and {"7", "2"} <= {b for _, b in vgpo[0]}
    assert seven_over_two(vgpo) > 1.5 * seven_over_two(grpo), (seven_over_two(vgpo), seven_over_two(grpo))


def test_missing_validation_data_is_named_with_its_flag(tiny_model_dir, tmp_path, monkeypatch, capsys):
    from vgpo_train.__main__ import main

    monkeypatch.setenv("VGPO_CACHE", str(tmp_path / "cache"))
    data = synthetic.write(tmp_path / "data", ["virl39k"], n=2)
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in SMALL.items()]
    code = main(["--model", str(tiny_model_dir), "--train-data", "virl39k", "--source", "local",
                 "--data-dir", str(data), "--output-dir", str(tmp_path / "out"), *flags])  # fmt: skip
    err = capsys.readouterr().err
    assert code == 2 and "--eval-data mmk12: mmk12:" in err and "--eval-data none" in err, err
    assert not (tmp_path / "out" / "final").exists()
    code = main(
        ["--model", str(tiny_model_dir), "--eval-data", "mmk13", "--output-dir", str(tmp_path / "out")]
    )
    assert code == 2 and "--eval-data mmk13: unknown task" in capsys.readouterr().err


def test_images_are_decoded_when_a_row_is_read_not_up_front(tiny_model_dir, tmp_path, monkeypatch):
    """Building the data and filtering long prompts read image headers only; a row's images are decoded
    when the trainer reads that row. The header-based prompt length equals the processor's count."""
    from transformers import AutoProcessor

    import vgpo_train.data as data

    decoded = []
    real = data.load_image
    monkeypatch.setattr(data, "load_image", lambda *a, **k: decoded.append(a[0]) or real(*a, **k))
    monkeypatch.setenv("VGPO_CACHE", str(tmp_path / "cache"))
    rows, _ = data.training_dataset("virl39k", "local", synthetic.write(tmp_path / "data", ["virl39k"], n=4),
                                    min_pixels=3136, max_pixels=12544)  # fmt: skip
    processor = AutoProcessor.from_pretrained(tiny_model_dir)
    rows, dropped = data.drop_overlong(rows, processor, 10_000)
    assert decoded == [] and dropped == 0
    row = rows[1]
    assert decoded == row["image_paths"] and row["images"][0].mode == "RGB"
    text = processor.apply_chat_template(row["prompt"], tokenize=False, add_generation_prompt=True)
    want = processor(text=[text], images=row["images"], return_tensors="pt")["input_ids"].shape[1]
    assert data.prompt_length(rows.with_format(None)[1], processor) == want


def test_dynamic_sampling_refills_on_two_processes(tiny_model_dir, tmp_path):
    """Two CPU processes (torchrun, gloo), each refilling its share of the rollout batch in lock-step:
    every update on both processes holds full groups with a signal, and refill rounds really ran. Closing
    the trainer stops the process group's threads on both (left running, they abort some exits)."""
    import os
    import socket
    import subprocess
    import sys
    from pathlib import Path

    data = synthetic.write(tmp_path / "data", ["virl39k"], n=6)
    with socket.socket() as sock:  # a free port for the processes to meet on
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    script = Path(__file__).parent / "two_process_refill.py"
    cmd = [sys.executable, "-m", "torch.distributed.run", "--nproc_per_node", "2", "--master_addr", "127.0.0.1",
           "--master_port", str(port), str(script), str(tiny_model_dir), str(data), str(tmp_path / "out")]  # fmt: skip
    env = {**os.environ, "OMP_NUM_THREADS": "1", "VGPO_CACHE": str(tmp_path / "cache")}
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=600, env=env)
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads((tmp_path / "out" / "result.json").read_text())
    assert result["processes"] == 2 and sorted(p for p, _ in result["seen"]) == [0, 1]
    for _, batches in result["seen"]:
        assert len(batches) == 3 and all(len(rows) == 4 and min(rows) > 0 for rows in batches), batches
    assert all(e["vgpo/refill_short"] == 0 for e in result["logs"]) and result["logs"]
    assert any(e["vgpo/refill_rounds"] > 1 for e in result["logs"]), result["logs"]
    # closed while Python is whole: no gloo thread left. torch 2.13 (the training line's, for vLLM 0.31)
    # keeps a finished DDP run's gloo threads past destroy_process_group whatever the caller drops (a plain
    # process group's go); there the exit code above is the check
    torch_version = tuple(int(x) for x in torch.__version__.split("+")[0].split(".")[:2])
    for rank in (0, 1) if sys.platform == "linux" and torch_version >= (2, 14) else ():
        threads = json.loads((tmp_path / "out" / f"threads.{rank}.json").read_text())
        assert threads and not [t for t in threads if "gloo" in t], threads


def test_a_batch_mixing_image_and_text_only_prompts_trains(tiny_model_dir, dataset, tmp_path, monkeypatch):
    """Text-only prompts have no focus (w = 0, left out of the min-max): their tokens all get the
    rollout's advantage, while image prompts' tokens are reweighted; the step runs through TRL."""
    seen = []
    original = VGPOTrainer._compute_loss

    def spy(self, model, inputs):
        seen.append({k: inputs[k].detach().clone() for k in ("prompt_ids", "advantages", "completion_mask")})
        return original(self, model, inputs)

    monkeypatch.setattr(VGPOTrainer, "_compute_loss", spy)
    text_only = set(sorted(dataset["id"])[::2])

    def strip(row):  # every other prompt loses its image
        if row["id"] not in text_only:
            return {}
        return {"image_paths": [], "image_sizes": [],
                "prompt": [{"role": "user", "content": [c for c in row["prompt"][0]["content"] if c["type"] == "text"]}]}  # fmt: skip

    rows = dataset.with_format(None).map(strip).with_transform(dataset._format_kwargs["transform"])

    def reward(completions, **columns):
        return [float(i % 2) for i in range(len(completions))]

    trainer = _trainer(tiny_model_dir, rows, tmp_path / "out", reward, max_steps=2, online_filter=False,
                       max_completion_length=8, num_generations=4, rollout_batch=4, global_batch=4, per_device_batch=4)  # fmt: skip
    trainer.train()
    image_id = trainer.model.config.image_token_id
    flat, varied = 0, 0
    for batch in seen:
        for ids, adv, mask in zip(
            batch["prompt_ids"], batch["advantages"], batch["completion_mask"], strict=True
        ):
            values = adv[mask.bool()]
            if values.numel() < 2 or values.abs().max() == 0:
                continue
            if (ids == image_id).any():
                varied += int(values.max() - values.min() > 1e-6)
            else:
                assert torch.allclose(values, values[:1].expand_as(values)), values  # no reweighting
                flat += 1
    assert flat and varied, (flat, varied)


@pytest.mark.parametrize("flag", ["--focus-scope", "--compensation-mode", "--reward-protocol", "--prompt"])
def test_a_wrong_choice_is_a_parse_error_naming_the_flag(flag, capsys):
    from vgpo_train.__main__ import main

    with pytest.raises(SystemExit) as stop:
        main(["--model", "m", "--output-dir", "o", flag, "minibatch"])
    assert stop.value.code == 2 and f"argument {flag}: invalid choice: 'minibatch'" in capsys.readouterr().err


def test_the_flag_choices_are_what_the_code_accepts():
    from vgpo_eval.checker.protocols import PROTOCOLS
    from vgpo_eval.instructions import PROMPTS
    from vgpo_train.advantage import COMPENSATIONS
    from vgpo_train.config import CHOICES

    assert set(CHOICES["compensation_mode"]) == set(COMPENSATIONS)
    assert set(CHOICES["reward_protocol"]) == set(PROTOCOLS)
    assert set(CHOICES["prompt"]) == set(PROMPTS)


def test_the_paper_run_through_the_hub_records_the_data_commit(tiny_model_dir, tmp_path, monkeypatch, capsys):
    """`vgpo-train` with the default source (papo) through a stand-in hub: ViRL39K to train, MMK12 to
    validate; vgpo_config.json records the dataset and the hub commit its rows resolved to."""
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    import fake_hub

    from vgpo_train.__main__ import main

    monkeypatch.setattr("accelerate.Accelerator.end_training", lambda self: None)
    monkeypatch.setenv("VGPO_CACHE", str(tmp_path / "cache"))
    fake_hub.install(monkeypatch, tmp_path / "hub")
    out = tmp_path / "out"
    flags = [f"--{k.replace('_', '-')}={v}" for k, v in SMALL.items()]
    code = main(["--model", str(tiny_model_dir), "--output-dir", str(out), "--max-steps", "1", "--eval-steps", "1",
                 "--eval-limit", "2", "--no-refill", *flags])  # fmt: skip
    assert code == 0, capsys.readouterr().err
    data = json.loads((out / "vgpo_config.json").read_text())["run"]["data"]
    assert data["source"] == "papo" and data["dataset"]["dataset"] == "PAPOGalaxy/PAPO_ViRL39K_train"
    assert data["origin"]["resolved"] == "0" * 40  # the stand-in hub's commit


def test_a_training_row_with_a_broken_image_is_left_out_by_name(tmp_path, monkeypatch):
    """An unreadable image leaves its row out, named, when the data is built; the other rows stay."""
    import vgpo_train.data as data

    monkeypatch.setenv("VGPO_CACHE", str(tmp_path / "cache"))
    rows, _ = data.training_dataset("virl39k", "local", synthetic.write(tmp_path / "data", ["virl39k"], n=3),
                                    min_pixels=3136, max_pixels=12544)  # fmt: skip
    broken = rows.with_format(None)[1]
    with open(broken["image_paths"][0], "wb") as f:  # the cached copy the rows point at
        f.write(b"not a picture")
    data_again, skipped = data.training_dataset("virl39k", "local", tmp_path / "data",
                                                min_pixels=3136, max_pixels=12544)  # fmt: skip
    assert len(data_again) == 2 and broken["id"] not in data_again["id"]
    assert len(skipped) == 1 and skipped[0].startswith(f"{broken['id']}: cannot read image"), skipped
