"""`python -m vgpo_train`: train a vision-language model with VGPO on TRL's GRPOTrainer.

    python -m vgpo_train demo --out runs/vgpo-demo          # offline, CPU, seconds: VGPO steps that train
    python -m vgpo_train --model Qwen/Qwen2.5-VL-7B-Instruct --train-data virl39k --output-dir runs/vgpo-7b
    accelerate launch --config_file vgpo_train/zero3.yaml -m vgpo_train --model ... --use-vllm \\
        --vllm-gpu-memory-utilization 0.5 --vllm-enable-sleep-mode        # 8 GPUs: pip install -e ".[train-vllm]"

Defaults are the paper's (vgpo_train.config); --no-intra --no-inter --no-compensation --no-gate
switch the four parts off (all four off = GRPO).
"""

from __future__ import annotations

import argparse
import importlib.util
import sys
from pathlib import Path

from vgpo_train.config import add_arguments, from_args


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["demo"]:  # a few steps that visibly train, offline (vgpo_train.demo)
        from vgpo_train.demo import main as demo

        return demo(argv[1:])
    parser = argparse.ArgumentParser(
        prog="vgpo-train", description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--model", required=True, help="hub id or local folder of the policy to train")
    parser.add_argument("--train-data", default="virl39k", help="a vgpo task name (default: virl39k)")
    parser.add_argument("--source", choices=("papo", "upstream", "local"), default="papo")
    parser.add_argument("--data-dir", type=Path, help="folder for --source local")
    parser.add_argument("--limit", type=int, help="at most this many training prompts")
    parser.add_argument(
        "--output-dir", type=Path, required=True, help="checkpoints, logs and vgpo_config.json"
    )
    parser.add_argument("--max-steps", type=int, default=-1, help="stop after this many optimiser steps")
    parser.add_argument(
        "--resume", action="store_true", help="resume from the last checkpoint in --output-dir"
    )
    parser.add_argument(
        "--reward-workers", type=int, default=4, help="processes that run the checker (default 4)"
    )
    parser.add_argument("--report-to", default="none",
                        help="where TRL logs: none (default), tensorboard, wandb, trackio, ... (comma-separated)")  # fmt: skip
    parser.add_argument(
        "--save-steps", type=int, default=50, help="checkpoint every this many steps (default 50)"
    )
    parser.add_argument("--save-total-limit", type=int, default=1,
                        help="keep the latest this many checkpoints; 0 keeps all. Default 1, as the reference run: "
                             "a 7B checkpoint with its optimiser state is about 115 GB (docs/trainer.md)")  # fmt: skip
    parser.add_argument("--eval-data", default="mmk12",
                        help="validation task, scored by the reward checker (default: mmk12, as the paper); none: no validation")  # fmt: skip
    parser.add_argument(
        "--eval-steps", type=int, default=50, help="validate every this many steps (default 50)"
    )
    parser.add_argument("--eval-limit", type=int, help="validate on at most this many prompts (default: all)")
    add_arguments(parser)
    args = parser.parse_args(argv)
    config = from_args(args)
    model = Path(args.model).expanduser()
    if (args.model.startswith((".", "/", "~")) or model.exists()) and not (model / "config.json").is_file():
        parser.error(f"--model {args.model}: no model folder there (no config.json)")
    if args.source == "local" and args.data_dir is None:
        parser.error("--source local needs --data-dir DIR")

    from accelerate import PartialState

    from vgpo_eval import hub
    from vgpo_eval.checker.rewards import trl_reward
    from vgpo_eval.task import DataError
    from vgpo_tasks import TASKS
    from vgpo_train.data import drop_overlong, training_dataset
    from vgpo_train.trainer import RefillError, VGPOTrainer, grpo_args

    state = PartialState()
    origin: dict = {}  # where the training rows came from, and the hub commit they resolved to
    validate = args.eval_data.lower() != "none"
    try:
        if validate and args.eval_data not in TASKS:
            raise ValueError(
                f"--eval-data {args.eval_data}: unknown task; known: {', '.join(TASKS)}, or none"
            )
        if args.eval_steps < 1:
            raise ValueError(f"--eval-steps {args.eval_steps}: must be at least 1")
        extra = {"max_steps": args.max_steps, "save_steps": args.save_steps,
                 "save_total_limit": args.save_total_limit or None, "report_to": args.report_to.split(",")}  # fmt: skip
        if validate:
            extra |= {"eval_strategy": "steps", "eval_steps": args.eval_steps, "num_generations_eval": 1}
        trl_args = grpo_args(config, str(args.output_dir), state.num_processes, **extra)
        if config.use_vllm and importlib.util.find_spec("vllm") is None:
            raise ValueError("--use-vllm: vLLM is not installed here; the training line installs it: "
                             "pip install -e \".[train-vllm]\"")  # fmt: skip
        wanted = [TASKS[name] for name in {args.train_data, args.eval_data} if name in TASKS]
        if wanted:
            hub.require(args.model, wanted, args.source)
        dataset, skipped = training_dataset(
            args.train_data,
            args.source,
            args.data_dir,
            args.limit,
            config.prompt,
            config.min_pixels,
            config.max_pixels,
            origin,
        )
        from transformers import AutoProcessor

        dataset, overlong = drop_overlong(
            dataset, AutoProcessor.from_pretrained(args.model), config.max_prompt_length
        )
        if overlong and state.is_main_process:
            print(f"{overlong} prompt(s) longer than --max-prompt-length {config.max_prompt_length} tokens "
                  "(image tokens included) left out, as the reference run does", file=sys.stderr)  # fmt: skip
        if len(dataset) < config.rollout_batch:
            raise ValueError(
                f"the training data has {len(dataset)} prompts, fewer than one rollout batch "
                f"(--rollout-batch {config.rollout_batch}): no step could run; lower --rollout-batch and --global-batch"
            )
        evaluation = None
        if validate:  # one sampled response per prompt, scored by the reward checker: eval_reward is accuracy
            try:
                evaluation, _ = training_dataset(args.eval_data, args.source, args.data_dir, args.eval_limit,
                                                 config.prompt, config.min_pixels, config.max_pixels)  # fmt: skip
            except DataError as exc:
                raise DataError(
                    f"--eval-data {args.eval_data}: {exc} (--eval-data none trains without validation)"
                ) from None
    except (DataError, ValueError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    if skipped and state.is_main_process:
        print(f"warning: {len(skipped)} training items left out, e.g. {skipped[0]}", file=sys.stderr)
    if state.is_main_process:
        config.save(args.output_dir, run_record(args, origin))
    trainer = VGPOTrainer(
        model=args.model, reward_funcs=[trl_reward(config.reward_protocol, workers=args.reward_workers)], args=trl_args,
        train_dataset=dataset, eval_dataset=evaluation, vgpo=config,
    )  # fmt: skip
    try:
        trainer.train(resume_from_checkpoint=True if args.resume else None)
    except RefillError as exc:  # raised on every process at the same round: they all stop here
        if state.is_main_process:
            from tqdm import tqdm

            tqdm.write(
                f"vgpo-train: error: {exc}", file=sys.stderr
            )  # on its own line, below the progress bar
        trainer.close()
        return 1
    trainer.save_model(str(args.output_dir / "final"))
    trainer.save_state()  # trainer_state.json: every logged step, eval_reward included
    if state.is_main_process:
        from vgpo_train.demo import summary

        print(f"vgpo-train: {summary(trainer.state.log_history)}", file=sys.stderr)
    trainer.close()  # without it a finished multi-process run can abort at exit and exit non-zero
    return 0


def run_record(args: argparse.Namespace, origin: dict | None = None) -> dict:
    """What the run trained and on what: the model and the revision it resolved to (the snapshot in the
    local hub cache; None for a plain folder), the training data's source and pinned revision."""
    import dataclasses

    from vgpo_eval.task import actual_source, spec_for
    from vgpo_tasks import TASKS

    revision = None
    try:
        from huggingface_hub import try_to_load_from_cache

        cached = try_to_load_from_cache(args.model, "config.json")
        if isinstance(cached, str) and "/snapshots/" in cached:
            revision = cached.split("/snapshots/")[1].split("/")[0]
    except (ImportError, ValueError):  # not a hub id (a local folder): no revision
        pass
    task = TASKS.get(args.train_data)
    source = actual_source(task, args.source) if task else args.source
    spec = spec_for(task, source) if task and source != "local" else None
    data = {"task": args.train_data, "source": source, "limit": args.limit,
            "data_dir": str(args.data_dir) if args.data_dir else None,
            **({"dataset": dataclasses.asdict(spec)} if spec else {}), "origin": origin or {}}  # fmt: skip
    return {"model": args.model, "model_revision": revision, "data": data}


def entry() -> None:
    """The `vgpo-train` console script."""
    sys.exit(main())


if __name__ == "__main__":
    sys.exit(main())
