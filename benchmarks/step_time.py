"""Time of one optimisation step, VGPOTrainer vs TRL's GRPOTrainer, on the same tiny model and data.

Each trainer runs in its own process (so peak memory is its own): the tiny random Qwen2.5-VL,
synthetic ViRL39K rows, the same GRPOConfig (`vgpo_train.trainer.grpo_args`), a reward that mixes
right and wrong answers in every group. Printed: the mean step time of each after a warm-up step,
the VGPO/GRPO ratio (the target is VGPO adding at most 10%), and each process's peak resident memory,
for two shapes of run:

- `--updates 1` (a rollout feeds one update): TRL makes no log-prob forward before the update, so
  VGPO makes one of its own for the hidden states: its cost is that extra forward;
- `--updates 2` (a rollout feeds two updates, as the paper's 512-prompt rollout feeds four 128-prompt
  updates): TRL makes its old-log-prob forward and VGPO's hook rides it.

On a GPU machine the same script measures the hf generation + update path there.

    python benchmarks/step_time.py [--steps 6] [--generations 8] [--completion 32] [--updates 1 2]
"""

from __future__ import annotations

import argparse
import json
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path


def _reward(completions, **columns):
    return [float(i % 2) for i in range(len(completions))]


def run_one(kind: str, steps: int, generations: int, completion: int, updates: int = 1) -> dict:
    """Train `steps` steps with one trainer in this process; median step seconds and peak RSS."""
    from transformers import TrainerCallback
    from trl import GRPOTrainer

    from vgpo_eval.tiny import build_tiny_qwen2_5_vl
    from vgpo_tasks import synthetic
    from vgpo_train.config import VGPOConfig
    from vgpo_train.data import training_dataset
    from vgpo_train.trainer import VGPOTrainer, grpo_args

    tmp = Path(tempfile.mkdtemp())
    model = build_tiny_qwen2_5_vl(tmp / "model")
    rows, _ = training_dataset("virl39k", "local", synthetic.write(tmp / "data", ["virl39k"], n=8),
                               min_pixels=3136, max_pixels=12544)  # fmt: skip
    config = VGPOConfig(num_generations=generations, rollout_batch=2 * updates, global_batch=2, per_device_batch=2 * generations,
                        max_completion_length=completion, min_pixels=3136, max_pixels=12544, online_filter=False)  # fmt: skip
    args = grpo_args(config, str(tmp / "out"), max_steps=steps + updates, save_strategy="no")
    times: list[float] = []

    class Clock(TrainerCallback):
        def on_step_begin(self, *a, **k):
            self.start = time.perf_counter()

        def on_step_end(self, *a, **k):
            times.append(time.perf_counter() - self.start)

    common = {
        "model": str(model),
        "reward_funcs": [_reward],
        "args": args,
        "train_dataset": rows,
        "callbacks": [Clock()],
    }
    trainer = VGPOTrainer(**common, vgpo=config) if kind == "vgpo" else GRPOTrainer(**common)
    trainer.train()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {"step_s": statistics.mean(times[updates:]), "peak_mb": peak_mb}  # after the first rollout


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--steps", type=int, default=6)
    parser.add_argument("--generations", type=int, default=8)
    parser.add_argument("--completion", type=int, default=32, help="response tokens")
    parser.add_argument("--updates", type=int, nargs="+", default=[1, 2], help="updates per rollout")
    parser.add_argument("--only", choices=("vgpo", "grpo"), help=argparse.SUPPRESS)  # the child process
    args = parser.parse_args()
    if args.only:
        print(json.dumps(run_one(args.only, args.steps, args.generations, args.completion, args.updates[0])))
        return
    for updates in args.updates:
        results = {}
        for kind in ("grpo", "vgpo"):
            cmd = [sys.executable, __file__, "--only", kind, "--steps", str(args.steps), "--generations",
                   str(args.generations), "--completion", str(args.completion), "--updates", str(updates)]  # fmt: skip
            done = subprocess.run(cmd, capture_output=True, text=True, check=True)
            results[kind] = json.loads(done.stdout.strip().splitlines()[-1])
        g, v = results["grpo"], results["vgpo"]
        path = "VGPO's own forward" if updates == 1 else "on TRL's forward"
        print(f"{updates} update(s) per rollout ({path}):")
        print(f"  GRPOTrainer: {g['step_s'] * 1e3:8.1f} ms/step  peak {g['peak_mb']:7.0f} MB")
        print(f"  VGPOTrainer: {v['step_s'] * 1e3:8.1f} ms/step  peak {v['peak_mb']:7.0f} MB")
        print(f"  VGPO / GRPO: {v['step_s'] / g['step_s']:.2f}x step time, {v['peak_mb'] / g['peak_mb']:.2f}x peak "
              f"memory ({args.generations} rollouts x 2 prompts per update, {args.completion} tokens, "
              f"mean of {args.steps} steps)")  # fmt: skip


if __name__ == "__main__":
    main()
