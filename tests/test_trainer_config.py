"""The paper run's settings: rollout-engine flags reach TRL and vgpo_config.json; wrong ones stop early."""

import importlib.util
import json

import pytest

pytest.importorskip("trl")

from vgpo_train.__main__ import main  # noqa: E402
from vgpo_train.config import VGPOConfig  # noqa: E402
from vgpo_train.trainer import grpo_args  # noqa: E402


def test_the_rollout_engine_flags_reach_trl(tmp_path):
    config = VGPOConfig(use_vllm=True, vllm_gpu_memory_utilization=0.5, vllm_enable_sleep_mode=True,
                        vllm_tensor_parallel_size=2)  # fmt: skip
    args = grpo_args(config, str(tmp_path), world_size=8)
    assert args.use_vllm and args.vllm_mode == "colocate"
    assert args.vllm_gpu_memory_utilization == 0.5 and args.vllm_enable_sleep_mode
    assert args.vllm_tensor_parallel_size == 2
    assert args.vllm_max_model_length == 4096 + 2048  # a prompt and a response at their limits
    assert args.vllm_importance_sampling_correction is False  # the paper's run has none
    server = grpo_args(
        VGPOConfig(use_vllm=True, vllm_mode="server", vllm_server_url="http://h:8000"), str(tmp_path)
    )
    assert server.vllm_mode == "server" and server.vllm_server_base_url == "http://h:8000"
    assert grpo_args(VGPOConfig(), str(tmp_path)).use_vllm is False


def test_the_paper_runs_batch_and_checkpoint_defaults(tmp_path):
    """Per-device micro-batch 4 (the reference's): 32 completions per micro-step on 8 GPUs divide both
    the rollout (512 x 8) and the update (128 x 8)."""
    args = grpo_args(VGPOConfig(), str(tmp_path), world_size=8)
    assert args.per_device_train_batch_size == 4
    assert args.gradient_accumulation_steps == 32 and args.steps_per_generation == 128


def test_the_config_records_the_rollout_context_it_used(tmp_path):
    saved = json.loads(VGPOConfig(max_completion_length=1024).save(tmp_path).read_text())
    assert saved["vllm_max_model_length"] == 4096 + 1024 and saved["vllm_mode"] == "colocate"
    assert (
        json.loads(VGPOConfig(vllm_max_model_length=9000).save(tmp_path).read_text())["vllm_max_model_length"]
        == 9000
    )


@pytest.mark.parametrize(
    "flags, named",
    [
        (["--vllm-gpu-memory-utilization", "1.5"], "--vllm-gpu-memory-utilization 1.5"),
        (["--vllm-tensor-parallel-size", "0"], "--vllm-tensor-parallel-size 0"),
        (["--vllm-max-model-length", "4000"], "--vllm-max-model-length 4000"),
        (["--vllm-server-url", "http://h:8000"], "--vllm-server-url is for --vllm-mode server"),
    ],
)
def test_a_wrong_rollout_setting_stops_before_anything_loads(tiny_model_dir, tmp_path, capsys, flags, named):
    code = main(["--model", str(tiny_model_dir), "--output-dir", str(tmp_path / "out"), "--use-vllm", *flags])
    err = capsys.readouterr().err
    assert code == 2 and named in err, err
    assert not (tmp_path / "out").exists()  # nothing written, no data read


def test_a_tensor_parallel_size_that_does_not_divide_the_processes_is_named(tmp_path):
    with pytest.raises(ValueError, match="--vllm-tensor-parallel-size 3: must divide the 8"):
        grpo_args(VGPOConfig(use_vllm=True, vllm_tensor_parallel_size=3), str(tmp_path), world_size=8)


@pytest.mark.skipif(importlib.util.find_spec("vllm") is not None, reason="vLLM is installed here")
def test_use_vllm_without_vllm_names_the_install_line(tiny_model_dir, tmp_path, capsys):
    code = main(["--model", str(tiny_model_dir), "--output-dir", str(tmp_path / "out"), "--use-vllm"])
    err = capsys.readouterr().err
    assert code == 2 and "vLLM is not installed" in err and ".[train-vllm]" in err, err
