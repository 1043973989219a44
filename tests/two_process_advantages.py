"""Run under `accelerate launch --num_processes N --cpu`: the trainer's advantage step with real collectives.

Every process holds its share of one fixed batch of 12 rollouts (3 prompts x 4, rows interleaved so
each prompt's group is split across processes, completion lengths padded differently per process as
TRL pads each process's batch); the trainer's own `_vgpo_advantages` runs with a real Accelerator
(gather, pad across processes, gather_object of the ids). Process 0 writes every process's local
advantages, in row order, to the JSON file named on the command line; the test compares them with
one process on the whole batch.
"""

from __future__ import annotations

import json
import sys
import types
from collections import defaultdict

import torch
from accelerate import Accelerator
from accelerate.utils import gather_object

from vgpo_train.config import VGPOConfig
from vgpo_train.trainer import VGPOTrainer

ROWS, STEPS = 12, 7


def fixed_batch():
    """Scores (ROWS, STEPS), lengths (ROWS,), rewards (ROWS,), prompt ids: the same in every process."""
    g = torch.Generator().manual_seed(0)
    scores = torch.rand(ROWS, STEPS, generator=g) * 2 - 1  # raw cosines in [-1, 1]
    lengths = torch.randint(2, STEPS + 1, (ROWS,), generator=g)
    rewards = torch.tensor([1.0, 0.0, 0.0, 1.0, 1.0, 0.0, 1.0, 1.0, 0.0, 1.0, 0.0, 0.0])
    ids = [f"p{i % 3}" for i in range(ROWS)]  # p0 p1 p2 p0 ...: every group spans every process
    return scores, lengths, rewards, ids


def main() -> None:
    acc = Accelerator(cpu=True)
    print(f"process {acc.process_index} of {acc.num_processes}", file=sys.stderr)
    scores, lengths, rewards, ids = fixed_batch()
    per = ROWS // acc.num_processes
    rows = range(acc.process_index * per, (acc.process_index + 1) * per)
    width = int(lengths[list(rows)].max())  # this process's padding, as TRL pads each process's batch
    mask = torch.arange(width)[None, :] < lengths[list(rows)][:, None]  # (b, T_local)
    fake = types.SimpleNamespace(
        accelerator=acc, num_generations=4,
        vgpo=VGPOConfig(online_filter=False), model=types.SimpleNamespace(training=True),
        _metrics={"train": defaultdict(list), "eval": defaultdict(list)},
    )  # fmt: skip
    fake._group_ids = lambda inputs, total, device: VGPOTrainer._group_ids(fake, inputs, total, device)
    fake._online_filter = lambda r, g: VGPOTrainer._online_filter(fake, r, g)
    fake._log_stats = lambda stats, kept, groups: VGPOTrainer._log_stats(fake, stats, kept, groups)
    fake._table_advantages = lambda values: None
    output = {"completion_mask": mask.long()}
    local = VGPOTrainer._vgpo_advantages(
        fake,
        [ids[i] for i in rows],
        output,
        scores[list(rows), :width] * mask,
        torch.ones(per),
        rewards[list(rows)],
    )
    collected = gather_object([(i, local[k].tolist()) for k, i in enumerate(rows)])
    if acc.is_main_process:
        with open(sys.argv[1], "w", encoding="utf-8") as f:
            json.dump(sorted(collected), f)
    # leave together and close the process group: a process that exits while its gloo threads still run
    # aborts ("terminate called without an active exception") about one run in six on a busy machine
    acc.wait_for_everyone()
    acc.end_training()


if __name__ == "__main__":
    main()
