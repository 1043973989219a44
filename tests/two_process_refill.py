"""Run under `torch.distributed.run --nproc_per_node 2`: VGPOTrainer with dynamic sampling on two CPU
processes (gloo). One prompt of the six always gets reward 1 (its group is filtered), so a process
that draws it refills in rounds, in lock-step with the other; every update must still hold full groups
with a signal on both processes. (One, not half: a round where every process drew such a prompt keeps
nothing, which stops the run.)

    python -m torch.distributed.run --nproc_per_node 2 tests/two_process_refill.py MODEL DATA OUT
Process 0 writes OUT/result.json: the rows the loss saw on every process and the logged refill stats;
every process writes OUT/threads.RANK.json: its native threads' names once the trainer is closed.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from accelerate.utils import gather_object

from vgpo_train.config import VGPOConfig
from vgpo_train.data import training_dataset
from vgpo_train.trainer import VGPOTrainer, grpo_args


def main() -> None:
    model, data, out = sys.argv[1], sys.argv[2], Path(sys.argv[3])
    rows, _ = training_dataset("virl39k", "local", data, min_pixels=3136, max_pixels=12544)
    constant = set(sorted(rows["id"])[:1])

    def reward(completions, id, **columns):
        return [1.0 if key in constant else float(i % 2) for i, key in enumerate(id)]

    config = VGPOConfig(num_generations=4, rollout_batch=2, global_batch=2, per_device_batch=4,
                        max_completion_length=6, min_pixels=3136, max_pixels=12544, max_refill_rounds=50)  # fmt: skip
    args = grpo_args(config, str(out), world_size=2, max_steps=3, learning_rate=1e-5, save_strategy="no")
    trainer = VGPOTrainer(model=model, reward_funcs=[reward], args=args, train_dataset=rows, vgpo=config)
    seen = []
    original = trainer._compute_loss

    def spy(model, inputs):
        seen.append(inputs["completion_mask"].sum(1).tolist())  # tokens of each row the loss sees
        return original(model, inputs)

    trainer._compute_loss = spy
    trainer.train()
    every = gather_object([(trainer.accelerator.process_index, seen)])
    logs = [e for e in trainer.state.log_history if "vgpo/refill_rounds" in e]
    if trainer.accelerator.is_main_process:
        (out / "result.json").write_text(json.dumps({"seen": every, "logs": logs,
                                                     "processes": trainer.accelerator.num_processes}))  # fmt: skip
    rank = trainer.accelerator.process_index
    trainer.close()
    # the native threads still running: the process group's gloo threads must be gone before Python exits
    if Path("/proc/self/task").is_dir():  # Linux
        threads = [(task / "comm").read_text().strip() for task in Path("/proc/self/task").iterdir()]
        (out / f"threads.{rank}.json").write_text(json.dumps(threads))


if __name__ == "__main__":
    main()
