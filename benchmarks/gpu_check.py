"""GPU acceptance check: run this first on a CUDA machine, after the install, before a long run.

    python benchmarks/gpu_check.py [--work DIR] [--steps 3] [--only NAME,NAME] [--timeout 900]

It needs nothing but the repository and the documented install (`pip install -e ".[train]"`, or the
`train-vllm` line for the vLLM check): no hub access, no downloads. A tiny random-weight Qwen2.5-VL
(`vgpo_eval.tiny`) and synthetic rows (`vgpo_tasks.synthetic`) are built offline into --work (default:
a temporary folder), and these checks run there, each in its own process (a crash or a hang is that
check's FAIL, not the script's), each printing one line `PASS|FAIL|SKIP <check>: <detail> (<seconds> s)`:

- train-refill-bf16: a few VGPO steps (`VGPOTrainer` with `grpo_args`, as `vgpo_train demo`) in bf16
  autocast on the GPU, with dynamic sampling (online filter + refill, the default): a reward keeps most
  groups mixed and the first group of every generation round constant, so every step refills. Checked:
  the advantages are on the GPU and finite (and not all zero), `vgpo/refill_rounds` is logged and
  shows a refill, psi and alpha (`vgpo/psi_min`..`vgpo/alpha_max`) are not all 1, loss and gradient
  norm are finite. Detail: seconds per optimiser step.
- train-vllm-colocate: the same with vLLM rollouts in colocate mode (`use_vllm`; one process with the
  torch.distributed variables TRL's colocate mode expects, RANK=0 WORLD_SIZE=1 ...; 20% of the GPU's
  memory, the model's context length); SKIP when vLLM is not installed.
- eval-hf-bf16: `python -m vgpo_eval run --backend hf` in bf16 on two synthetic tasks; checked: exit
  code 0 and every item scored. Detail: items per second (model load and scoring included).
- focus: `python -m vgpo_eval focus` on that run; checked: focus.json, focus.csv and focus.png written
  and responses measured.

Exit status: 0 every check passed or was skipped, 1 a check failed, 3 no CUDA device (nothing was
checked), 2 bad flags. `--cpu` runs the same checks on CPU in float32 (the vLLM one skipped): the
script's own test. Each check's output is kept in --work as <check>.log.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from importlib import metadata, util
from pathlib import Path

TRAIN_TASK, EVAL_TASKS = "virl39k", ("counting", "mathvista")
PIXELS = ("3136", "12544")  # the tiny processor's bounds: a 64x64 picture is 4 visual tokens
NO_CUDA = 3  # apart from 1 (a check failed) and 2 (argparse: bad flags)


class CheckFailed(Exception):
    """A check ran but its result is wrong."""


class Skipped(Exception):
    """The check cannot run here; the message says why."""


@dataclass
class Context:
    """What the checks share: the work folder (model/, data/, logs), the device, and the eval run."""

    work: Path
    cpu: bool
    steps: int
    timeout: float
    run: Path | None = None  # eval-hf-bf16's run folder, for focus
    eval_tried: bool = False

    @property
    def device(self) -> str:
        return "cpu" if self.cpu else "cuda"

    @property
    def dtype(self) -> str:
        return "float32" if self.cpu else "bfloat16"


# ---------------------------------------------------------------- the checks (each returns its detail)


def check_train_refill(ctx: Context) -> str:
    """A few VGPO steps with dynamic sampling, in a child process (`train`, below)."""
    return _train_child(ctx, "train-refill-bf16", vllm=False)


def check_train_vllm(ctx: Context) -> str:
    """The same steps with vLLM rollouts colocated in the training process."""
    if ctx.cpu:
        raise Skipped("vLLM rollouts need CUDA (--cpu)")
    if util.find_spec("vllm") is None:
        raise Skipped("vllm not installed (pip install -e '.[train-vllm]')")
    with socket.socket() as s:  # a free port for the one-process group
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {
        "RANK": "0",
        "LOCAL_RANK": "0",
        "WORLD_SIZE": "1",
        "MASTER_ADDR": "127.0.0.1",
        "MASTER_PORT": str(port),
    }
    return _train_child(ctx, "train-vllm-colocate", vllm=True, env=env)


def check_eval(ctx: Context) -> str:
    """`vgpo-eval run` with the hf backend on the synthetic tasks: exit 0 and every item scored."""
    out, ctx.eval_tried = ctx.work / "eval-run", True
    shutil.rmtree(out, ignore_errors=True)  # a fresh run, not a resumed one
    cmd = ["run", "--model", str(ctx.work / "model"), "--backend", "hf", "--tasks", ",".join(EVAL_TASKS),
           "--source", "local", "--data-dir", str(ctx.work / "data"), "--out", str(out), "--max-new-tokens", "32",
           "--min-pixels", PIXELS[0], "--max-pixels", PIXELS[1], "--dtype", ctx.dtype, "--batch-size", "8"]  # fmt: skip
    start = time.perf_counter()
    _vgpo_eval(ctx, cmd, "eval-hf-bf16")
    seconds = time.perf_counter() - start
    backend = json.loads((out / "config.json").read_text(encoding="utf-8"))["backend"]
    if not str(backend.get("device")).startswith(ctx.device) or backend.get("dtype") != ctx.dtype:
        raise CheckFailed(
            f"the run used {backend.get('device')} {backend.get('dtype')}, not {ctx.device} {ctx.dtype}"
        )
    items = sum(_lines(out / f"{task}.samples.jsonl") for task in EVAL_TASKS)
    scored = sum(_lines(out / f"{task}.scored.strict.jsonl") for task in EVAL_TASKS)
    if not items or scored != items:
        raise CheckFailed(f"{scored} scored responses for {items} items in {out}")
    ctx.run = out
    return f"{items / seconds:.2f} items/s ({items} items, model load and scoring included, {ctx.dtype} on {ctx.device})"


def check_focus(ctx: Context) -> str:
    """`vgpo-eval focus` on the eval run: its three outputs written, responses measured."""
    if ctx.run is None and ctx.eval_tried:
        raise Skipped("needs the eval-hf-bf16 run, which did not pass")
    if ctx.run is None:  # eval-hf-bf16 not selected: its run is made here first
        check_eval(ctx)
    _vgpo_eval(ctx, ["focus", "--run", str(ctx.run), "--model", str(ctx.work / "model")], "focus")
    out = ctx.run / "focus"
    missing = [name for name in ("focus.json", "focus.csv", "focus.png") if not (out / name).is_file()]
    if missing:
        raise CheckFailed(f"focus did not write {', '.join(missing)} in {out}")
    items = [
        json.loads(line) for line in (out / "focus.items.jsonl").read_text(encoding="utf-8").splitlines()
    ]
    measured = sum(bool(item.get("scores")) for item in items)
    if not measured:
        raise CheckFailed(
            f"no response measured: {items[0].get('error') if items else 'focus.items.jsonl is empty'}"
        )
    return f"{measured} of {len(items)} responses measured; focus.json, focus.csv, focus.png in {out}"


CHECKS: dict[str, Callable[[Context], str]] = {
    "train-refill-bf16": check_train_refill,
    "train-vllm-colocate": check_train_vllm,
    "eval-hf-bf16": check_eval,
    "focus": check_focus,
}


# ---------------------------------------------------------------- running them


def run_checks(ctx: Context, names: list[str], checks: dict[str, Callable[[Context], str]] = CHECKS) -> int:
    """Each named check, one line each; 1 if any failed, else 0."""
    failed = False
    for name in names:
        start = time.perf_counter()
        try:
            status, detail = "PASS", checks[name](ctx)
        except Skipped as exc:
            status, detail = "SKIP", str(exc)
        except Exception as exc:  # noqa: BLE001 - a failed check is a line, the others still run
            status, detail = "FAIL", _one_line(exc)
        failed |= status == "FAIL"
        print(f"{status} {name}: {detail} ({time.perf_counter() - start:.1f} s)", flush=True)
    return int(failed)


def _one_line(exc: BaseException) -> str:
    text = str(exc).strip().splitlines()[0] if str(exc).strip() else ""
    text = text if isinstance(exc, CheckFailed) else f"{type(exc).__name__}: {text}".rstrip(": ")
    return text[:500]


def _train_child(ctx: Context, name: str, vllm: bool, env: dict[str, str] | None = None) -> str:
    """Run `train` in a child process; its result (or its error) comes back in <name>.json."""
    result = ctx.work / f"{name}.json"
    result.unlink(missing_ok=True)
    cmd = [sys.executable, __file__, "--child", name, "--work", str(ctx.work), "--steps", str(ctx.steps)]
    rc = _run(cmd + ["--cpu"] * ctx.cpu, ctx.work / f"{name}.log", ctx.timeout, env)
    if not result.exists():
        raise CheckFailed(
            f"the training process exited {rc} without a result: {_tail(ctx.work / f'{name}.log')}"
        )
    outcome = json.loads(result.read_text(encoding="utf-8"))
    if "skip" in outcome:
        raise Skipped(outcome["skip"])
    if "error" in outcome:
        raise CheckFailed(outcome["error"])
    if rc != 0:  # a real run would exit the same way (teardown of vLLM, NCCL, DDP)
        raise CheckFailed(
            f"the steps passed but the process exited {rc} after them: {_tail(ctx.work / f'{name}.log')}"
        )
    return outcome["detail"]


def _vgpo_eval(ctx: Context, args: list[str], name: str) -> None:
    """`python -m vgpo_eval ARGS` in a child process; CheckFailed unless it exits 0."""
    log = ctx.work / f"{name}.log"
    rc = _run([sys.executable, "-m", "vgpo_eval", *args], log, ctx.timeout)
    if rc != 0:
        raise CheckFailed(f"vgpo-eval {args[0]} exited {rc}: {_tail(log)}")


def _run(cmd: list[str], log: Path, timeout: float, env: dict[str, str] | None = None) -> int:
    """The command's exit code, its output in `log`; killed with its process group after `timeout` s."""
    with open(log, "w", encoding="utf-8") as sink:
        proc = subprocess.Popen(cmd, stdout=sink, stderr=subprocess.STDOUT, env=os.environ | (env or {}),
                                start_new_session=True)  # fmt: skip
        try:
            return proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait()
            raise CheckFailed(f"timed out after {timeout:g} s (--timeout; log: {log})") from None


def _tail(log: Path) -> str:
    lines = [
        line.strip()
        for line in log.read_text(encoding="utf-8", errors="replace").splitlines()
        if line.strip()
    ]
    return f"{lines[-1][:400] if lines else 'no output'} (log: {log})"


def _lines(path: Path) -> int:
    return len(path.read_text(encoding="utf-8").splitlines()) if path.exists() else 0


# ---------------------------------------------------------------- the training child


def train(work: Path, steps: int, vllm: bool) -> str:
    """`steps` VGPO steps on the tiny model with dynamic sampling; raises CheckFailed on a wrong result."""
    import torch
    from transformers import AutoConfig, TrainerCallback

    from vgpo_train.config import VGPOConfig
    from vgpo_train.data import training_dataset
    from vgpo_train.trainer import VGPOTrainer, grpo_args

    n = 4  # rollouts per prompt
    rows, _ = training_dataset(
        TRAIN_TASK, "local", work / "data", min_pixels=int(PIXELS[0]), max_pixels=int(PIXELS[1])
    )
    context = AutoConfig.from_pretrained(work / "model").text_config.max_position_embeddings
    config = VGPOConfig(num_generations=n, rollout_batch=2, global_batch=2, per_device_batch=2 * n,
                        max_prompt_length=1024, max_completion_length=16, min_pixels=int(PIXELS[0]),
                        max_pixels=int(PIXELS[1]), learning_rate=1e-5, use_vllm=vllm, vllm_gpu_memory_utilization=0.2,
                        vllm_max_model_length=context)  # fmt: skip
    args = grpo_args(config, str(work / ("vllm-out" if vllm else "out")), max_steps=steps, save_strategy="no")
    cuda = torch.cuda.is_available()
    if cuda != args.bf16:
        raise CheckFailed(
            f"grpo_args set bf16={args.bf16} with CUDA {'available' if cuda else 'unavailable'}"
        )

    def reward(completions, **columns):  # a round's first group constant (filtered: a refill), the rest mixed
        return [0.0 if i < n else float(i % 2) for i in range(len(completions))]

    advantages, times = [], []

    class Recorded(VGPOTrainer):
        def _generate_and_score_completions(self, inputs):
            output = super()._generate_and_score_completions(inputs)
            advantages.append(output["advantages"].detach())
            return output

    class Clock(TrainerCallback):
        def on_step_begin(self, *a, **k):
            self.start = time.perf_counter()

        def on_step_end(self, *a, **k):
            times.append(time.perf_counter() - self.start)

    trainer = Recorded(model=str(work / "model"), reward_funcs=[reward], args=args, train_dataset=rows, vgpo=config,
                       callbacks=[Clock()])  # fmt: skip
    trainer.train()
    history = trainer.state.log_history
    trainer.close()
    _check_advantages(advantages, "cuda" if cuda else "cpu")
    _check_logs(history)
    # the first step warms up (kernels, the allocator, vLLM's first weight sync): timed apart
    later = times[1:] or times
    span = f"steps 2-{len(times)}" if len(times) > 2 else "step 2"
    timed = f"{span}; step 1 took {times[0]:.2f} s" if len(times) > 1 else "step 1, warm-up included"
    where = "float32 on cpu"
    if cuda:
        peak = torch.cuda.max_memory_allocated() / 2**30
        where = f"bf16 autocast on {torch.cuda.get_device_name()}, peak {peak:.2f} GiB"
    return f"{sum(later) / len(later):.3f} s/step ({timed}; {where}); {_summary(history)}"


def _check_advantages(advantages: list, device: str) -> None:
    """Every rollout step's (B, T) advantages: on `device`, finite, and not all zero."""
    import torch

    if not advantages:
        raise CheckFailed("no rollout step ran")
    where = {a.device.type for a in advantages}
    if where != {device}:
        raise CheckFailed(f"advantages on {', '.join(sorted(where))}, not {device}")
    if not all(bool(torch.isfinite(a).all()) for a in advantages):
        raise CheckFailed("advantages not finite (NaN or inf)")
    if not any(bool(a.abs().gt(0).any()) for a in advantages):
        raise CheckFailed("every advantage is 0: the kept groups carried no signal")


def _check_logs(history: list[dict]) -> None:
    """The logged steps: a refill happened, loss and gradient norm finite, psi and alpha not all 1."""
    steps = [entry for entry in history if "vgpo/refill_rounds" in entry]
    if not steps:
        raise CheckFailed("vgpo/refill_rounds was not logged: dynamic sampling did not run")
    if max(entry["vgpo/refill_rounds"] for entry in steps) < 2:
        raise CheckFailed("no refill round: the first round's filtered group was never replaced")
    for key in ("loss", "grad_norm"):
        values = [entry[key] for entry in history if key in entry]
        if not values or not all(abs(v) < float("inf") for v in values):  # NaN fails the comparison too
            raise CheckFailed(f"{key} not finite or not logged: {values}")
    if max(entry.get("completions/mean_length", 0) for entry in steps) > 1:
        for name in ("psi", "alpha"):
            values = [entry.get(f"vgpo/{name}_{end}") for entry in steps for end in ("min", "max")]
            if None in values:
                raise CheckFailed(f"vgpo/{name}_min or vgpo/{name}_max was not logged")
            if all(abs(v - 1) < 1e-6 for v in values):
                raise CheckFailed(
                    f"{name} is 1 everywhere with responses longer than one token: no re-weighting"
                )


def _summary(history: list[dict]) -> str:
    """Generation rounds, psi and alpha ranges over the logged steps."""
    steps = [entry for entry in history if "vgpo/refill_rounds" in entry]

    def span(name: str) -> str:
        low, high = min(e[f"vgpo/{name}_min"] for e in steps), max(e[f"vgpo/{name}_max"] for e in steps)
        return f"{name} [{low:.3g}, {high:.3g}]"

    rounds = "/".join(f"{entry['vgpo/refill_rounds']:g}" for entry in steps)
    return f"generation rounds per step {rounds}; {span('psi')}, {span('alpha')}"


def child(name: str, work: Path, steps: int) -> int:
    """The training check `name` in this process; its outcome goes to <work>/<name>.json."""
    outcome: dict[str, str]
    try:
        if name == "train-vllm-colocate":
            try:
                import vllm  # noqa: F401
            except Exception as exc:  # noqa: BLE001 - a broken vLLM install is a skip with its reason
                raise Skipped(f"import vllm failed: {_one_line(exc)}") from None
        outcome = {"detail": train(work, steps, vllm=name == "train-vllm-colocate")}
    except Skipped as exc:
        outcome = {"skip": str(exc)}
    except Exception as exc:  # noqa: BLE001 - reported by the parent as the check's FAIL line
        import traceback

        traceback.print_exc()
        outcome = {"error": _one_line(exc)}
    (work / f"{name}.json").write_text(json.dumps(outcome), encoding="utf-8")
    return 0 if "detail" in outcome else 1


# ---------------------------------------------------------------- main


def header(cpu: bool) -> str:
    """torch, the device and its bf16 support, and the library versions."""
    import torch

    if cpu:
        device = "device cpu (--cpu: float32, CUDA hidden, the vLLM check skipped)"
    else:
        bf16 = "yes" if torch.cuda.is_bf16_supported() else "no"
        device = (
            f"CUDA device {torch.cuda.get_device_name(0)} (CUDA {torch.version.cuda}), bf16 supported: {bf16}"
        )
    versions = []
    for package in ("transformers", "trl", "vllm"):
        try:
            versions.append(f"{package} {metadata.version(package)}")
        except metadata.PackageNotFoundError:
            versions.append(f"{package} not installed")
    return f"gpu_check: torch {torch.__version__}, {device}; {', '.join(versions)}"


def prepare(work: Path) -> None:
    """The tiny model and the synthetic rows, offline, into work/model and work/data."""
    from transformers.utils import logging

    from vgpo_eval.tiny import build_tiny_qwen2_5_vl
    from vgpo_tasks import synthetic

    logging.disable_progress_bar()
    build_tiny_qwen2_5_vl(work / "model")
    synthetic.write(work / "data", [TRAIN_TASK, *EVAL_TASKS], n=8)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument(
        "--work", type=Path, help="folder for the model, data, runs and logs (default: a temp dir)"
    )
    parser.add_argument(
        "--steps", type=int, default=3, help="optimiser steps per training check (default: 3)"
    )
    parser.add_argument("--only", help=f"comma-separated checks (default: all): {', '.join(CHECKS)}")
    parser.add_argument("--timeout", type=float, default=900, help="seconds per check (default: 900)")
    parser.add_argument("--cpu", action="store_true", help="run on CPU in float32 (tests the script itself)")
    parser.add_argument("--child", help=argparse.SUPPRESS)  # a training check's own process
    args = parser.parse_args(argv)
    names = args.only.split(",") if args.only else list(CHECKS)
    if args.steps < 1:
        parser.error("--steps: at least 1")
    if unknown := [name for name in names if name not in CHECKS]:
        parser.error(f"--only: unknown check {', '.join(unknown)}; the checks: {', '.join(CHECKS)}")
    if args.cpu:
        os.environ["CUDA_VISIBLE_DEVICES"] = ""  # before torch loads, here and in every child
    if args.child:
        return child(args.child, args.work, args.steps)
    import torch

    if not args.cpu and not torch.cuda.is_available():
        print(f"no CUDA device: torch {torch.__version__} sees none (torch.cuda.is_available() is False); nothing "
              "was checked (--cpu runs the checks on CPU)")  # fmt: skip
        return NO_CUDA
    # offline: nothing may come from the hub, and the project's cache stays in the work folder
    work = (args.work or Path(tempfile.mkdtemp(prefix="vgpo-gpu-check-"))).resolve()
    work.mkdir(parents=True, exist_ok=True)
    os.environ.update(HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1", TRANSFORMERS_OFFLINE="1",
                      VGPO_CACHE=str(work / "cache"), PYTHONUNBUFFERED="1")  # fmt: skip
    print(header(args.cpu), flush=True)
    ctx = Context(work, args.cpu, args.steps, args.timeout)
    if run_checks(ctx, ["setup"], {"setup": _prepared}):
        return 1
    return run_checks(ctx, names)


def _prepared(ctx: Context) -> str:
    prepare(ctx.work)
    return f"tiny Qwen2.5-VL in {ctx.work / 'model'}, synthetic {TRAIN_TASK}, {', '.join(EVAL_TASKS)} rows in {ctx.work / 'data'}"


if __name__ == "__main__":
    sys.exit(main())
