"""benchmarks/gpu_check.py, the GPU acceptance script, here without a GPU: its no-CUDA answer, a real
training check on CPU (--cpu), and a failing check reported as FAIL with a non-zero exit."""

import importlib.util
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[1] / "benchmarks" / "gpu_check.py"
LINE = re.compile(r"^(PASS|FAIL|SKIP) ([\w-]+): (.+) \((\d+\.\d) s\)$")


def _script(*args: str, timeout: float = 300) -> subprocess.CompletedProcess:
    env = os.environ | {"CUDA_VISIBLE_DEVICES": ""}  # no GPU, whatever the machine has
    return subprocess.run([sys.executable, str(SCRIPT), *args], capture_output=True, text=True, env=env,
                          timeout=timeout)  # fmt: skip


def _module():
    """The script as a module (registered first: its dataclass looks its module up in sys.modules)."""
    if "gpu_check_script" not in sys.modules:
        spec = importlib.util.spec_from_file_location("gpu_check_script", SCRIPT)
        sys.modules["gpu_check_script"] = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(sys.modules["gpu_check_script"])
    return sys.modules["gpu_check_script"]


def test_without_cuda_it_says_so_and_checks_nothing():
    pytest.importorskip("torch")
    done = _script("--only", "focus")
    assert done.returncode == 3, done.stderr
    (line,) = done.stdout.splitlines()
    assert line.startswith("no CUDA device: torch ") and line.endswith(
        "nothing was checked (--cpu runs the checks on CPU)"
    )


def test_a_training_check_passes_on_cpu(tmp_path):
    pytest.importorskip("trl")
    done = _script("--cpu", "--only", "train-refill-bf16", "--steps", "2", "--work", str(tmp_path))
    assert done.returncode == 0, done.stdout + done.stderr
    header, *lines = done.stdout.splitlines()
    assert header.startswith("gpu_check: torch ") and "trl " in header and "vllm" in header
    # the result lines, in order (a library may print its own line between them: DeepSpeed, when
    # installed, says on stdout that it found no GPU)
    results = [match.groups() for line in lines if (match := LINE.match(line))]
    assert [(status, name) for status, name, *_ in results] == [
        ("PASS", "setup"),
        ("PASS", "train-refill-bf16"),
    ]
    detail = results[1][2]
    assert re.match(r"\d+\.\d+ s/step ", detail) and "generation rounds per step 2/2" in detail
    assert (tmp_path / "train-refill-bf16.log").exists()


def test_a_failing_check_is_a_fail_line_and_exit_1(tmp_path, capsys):
    gpu_check = _module()

    def broken(ctx):
        raise RuntimeError("CUDA error: an illegal memory access\nmore lines")

    def wrong(ctx):
        raise gpu_check.CheckFailed("advantages not finite (NaN or inf)")

    def skipped(ctx):
        raise gpu_check.Skipped("vllm not installed")

    ctx = gpu_check.Context(tmp_path, cpu=True, steps=1, timeout=10)
    checks = {"ok": lambda ctx: "fine", "broken": broken, "wrong": wrong, "skipped": skipped}
    assert gpu_check.run_checks(ctx, ["ok", "skipped"], checks) == 0
    assert gpu_check.run_checks(ctx, list(checks), checks) == 1
    lines = capsys.readouterr().out.splitlines()
    assert [LINE.match(line).groups()[:3] for line in lines[2:]] == [
        ("PASS", "ok", "fine"),
        ("FAIL", "broken", "RuntimeError: CUDA error: an illegal memory access"),
        ("FAIL", "wrong", "advantages not finite (NaN or inf)"),
        ("SKIP", "skipped", "vllm not installed"),
    ]


def test_a_training_child_that_dies_is_a_fail(tmp_path):
    pytest.importorskip("trl")
    gpu_check = _module()
    ctx = gpu_check.Context(tmp_path, cpu=True, steps=1, timeout=60)  # no model in tmp_path: the child fails
    with pytest.raises(gpu_check.CheckFailed, match="Error"):
        gpu_check.check_train_refill(ctx)


def test_a_check_past_its_timeout_is_killed_and_fails(tmp_path):
    gpu_check = _module()
    with pytest.raises(gpu_check.CheckFailed, match="timed out after 1 s"):
        gpu_check._run([sys.executable, "-c", "import time; time.sleep(60)"], tmp_path / "log", timeout=1)
