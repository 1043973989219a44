"""The checkers as RL rewards, with the call signatures of TRL, verl and EasyR1.

A reward is exactly `check(text, sample, protocol).reward`: 1.0 or 0.0, or None when the
check reached its CPU time limit (a safety net realistic answers never reach). TRL skips a None
reward; verl and EasyR1 have no way to skip one, so their adapters report it in a `timed_out`
field beside a score of 0.0, never silently. These adapters only move arguments around. The
paper's reward is accuracy only (no format term), so EasyR1's `format_weight` defaults to 0 here.

TRL (`GRPOTrainer(reward_funcs=[...])`; dataset columns arrive as keyword lists)::

    from vgpo_eval.checker.rewards import trl_reward
    reward = trl_reward("strict")           # reads the "answer" column (and "choices", ...)

verl (`custom_reward_function.path=vgpo_eval/checker/rewards.py`, `name=compute_score`)::

    compute_score(data_source, solution_str, ground_truth, extra_info={"choices": [...]})
    # -> {"score": 1.0, "timed_out": False}

EasyR1 (`worker.reward.reward_function=vgpo_eval/checker/rewards.py:easyr1_compute_score`)::

    easyr1_compute_score([{"response": ..., "ground_truth": ...}, ...])
"""

from __future__ import annotations

import os
from collections.abc import Callable, Sequence
from typing import Any

from vgpo_eval.checker import guard
from vgpo_eval.checker.protocols import check
from vgpo_eval.types import Sample


def reward(text: str, answer: str, protocol: str = "strict", **hints: Any) -> float | None:
    """The reward of one response: 1.0 if the checker finds it correct, 0.0 if not, None if the
    check reached its time limit or failed. A response or gold that is not a string (None
    included) is a TypeError: a missing gold must never become the answer "None"."""
    if not isinstance(answer, (str, int, float)) or isinstance(answer, bool):
        raise TypeError(f"the gold answer must be a string (or a number), not {type(answer).__name__}")
    sample = Sample(
        id=str(hints.get("id", "")),
        task=str(hints.get("task") or hints.get("data_source") or ""),
        question="",
        answer=str(answer),
        choices=hints.get("choices"),
        answer_type=hints.get("answer_type"),
        precision=hints.get("precision"),
    )
    return check(text, sample, protocol).reward


def trl_reward(
    protocol: str = "strict", answer_column: str = "answer", workers: int = 0
) -> Callable[..., list[float | None]]:
    """A TRL reward function: `f(completions, **columns) -> list[float | None]`.

    Completions may be strings or conversations (the last message's content is judged). Rows
    without a gold answer, and checks that reached their time limit, get None, which TRL skips. Optional columns `choices`, `answer_type`
    and `precision` are used when the dataset has them. With `workers` > 1 the checks run in a
    pool of that many worker processes, kept for the life of the process.
    """

    def reward_func(completions: Sequence[Any], **columns: Any) -> list[float | None]:
        answers = columns.get(answer_column)
        if answers is None:
            raise KeyError(f"the dataset has no {answer_column!r} column for the {protocol} reward")
        jobs = [
            (_text(c), answers[i], protocol, {k: columns[k][i] for k in HINTS if columns.get(k) is not None})
            for i, c in enumerate(completions)
        ]
        todo = [job for job in jobs if job[1] is not None]
        parallel = workers > 1 and len(todo) > 1
        scores = iter(_pool(workers).map(_job, todo, chunksize=8) if parallel else map(_job, todo))
        return [None if job[1] is None else next(scores) for job in jobs]

    reward_func.__name__ = f"{protocol}_accuracy"
    return reward_func


HINTS = ("choices", "answer_type", "precision")
_POOLS: dict[int, Any] = {}


def _job(job: tuple) -> float | None:
    text, answer, protocol, hints = job
    return reward(text, answer, protocol, **hints)


def _pool(workers: int):
    """A process pool of `workers`, made once (starting processes would cost more than the checks)."""
    if workers not in _POOLS:
        from concurrent.futures import ProcessPoolExecutor

        _POOLS[workers] = ProcessPoolExecutor(
            workers, initializer=guard.exit_with_parent, initargs=(os.getpid(),)
        )
    return _POOLS[workers]


def _text(completion: Any) -> str:
    if isinstance(completion, str):
        return completion
    if isinstance(completion, list) and completion and isinstance(completion[-1], dict):
        content = completion[-1].get("content", "")
        if isinstance(content, list):  # multimodal message: join its text parts
            return "".join(str(part.get("text") or "") for part in content if isinstance(part, dict))
        if isinstance(content, str):
            return content
        raise TypeError(
            f"a message's content must be a string or a list of parts, not {type(content).__name__}"
        )
    raise TypeError(f"a completion must be a string or a list of messages, not {type(completion).__name__}")


def compute_score(
    data_source: str, solution_str: str, ground_truth: str, extra_info: dict | None = None
) -> dict[str, float | bool]:
    """verl's custom reward signature. `extra_info` may carry choices, answer_type, precision, protocol.

    Returns {"score", "timed_out"} (verl takes "score" as the reward and logs the other keys;
    "timed_out" is true whenever the check could not judge: a CPU limit or an `error:` verdict)."""
    info = dict(extra_info or {})
    protocol = info.pop("protocol", "strict")
    value = reward(solution_str, ground_truth, protocol, data_source=data_source, **info)
    return {"score": value or 0.0, "timed_out": value is None}


def easyr1_compute_score(
    reward_inputs: list[dict[str, Any]], format_weight: float = 0.0, protocol: str = "strict"
) -> list[dict[str, float]]:
    """EasyR1's batch reward signature: dicts with "response" and "ground_truth" in, scores out."""
    if not isinstance(reward_inputs, list):
        raise ValueError("use reward_type=batch: easyr1_compute_score takes a list of reward inputs")
    scores = []
    for item in reward_inputs:
        hints = {k: item[k] for k in ("choices", "answer_type", "precision") if item.get(k) is not None}
        value = reward(item["response"], item["ground_truth"], protocol, **hints)
        accuracy = value or 0.0
        fmt = 1.0 if think_then_box(item["response"]) else 0.0
        scores.append(
            {
                "overall": (1 - format_weight) * accuracy + format_weight * fmt,
                "format": fmt,
                "accuracy": accuracy,
                "timed_out": float(value is None),
            }
        )
    return scores


def think_then_box(text: str) -> bool:
    """EasyR1's format reward, `re.fullmatch(r"<think>.*</think>.*\\\\boxed\\{.*\\}.*", text, re.S)`,
    in one linear pass (the pattern backtracks for seconds on long responses): the text opens with
    <think>, and a </think>, then a \\boxed{, then a } follow in that order."""
    if not text.startswith("<think>"):
        return False
    close = text.find("</think>", len("<think>"))
    box = text.find("\\boxed{", close + len("</think>")) if close != -1 else -1
    return box != -1 and text.find("}", box + len("\\boxed{")) != -1
