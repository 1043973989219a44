"""The records that flow through the harness: Sample -> Response -> Verdict -> Result.

All are frozen dataclasses that round-trip through JSON (`to_dict` / `from_dict`), because
JSONL files are the boundary between generation and scoring (docs/architecture.md, "One sample,
from row to number"). Nothing here imports anything heavy.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import Any

ANSWER_TYPES = ("choice", "number", "expr", "text", "list")
UNJUDGED = ("timeout:", "error:")  # rule prefixes of a check that could not judge (Verdict.failed)


def _from_dict(cls, data: dict[str, Any]):
    """Build `cls` from a dict, ignoring unknown keys so old files keep loading."""
    names = {f.name for f in dataclasses.fields(cls)}
    return cls(**{k: v for k, v in data.items() if k in names})


@dataclass(frozen=True)
class Sample:
    """One benchmark item, canonical whatever its source.

    `answer` is the gold answer; for multiple choice it is the option letter (or letters,
    "A, C", for multi-select) and `choices` keeps the option texts in letter order.
    `answer_type` is a hint for the checker (one of ANSWER_TYPES, or None to infer);
    `precision` is the number of decimals the benchmark states for a float answer.
    """

    id: str
    task: str
    question: str
    answer: str
    images: tuple[str, ...] = ()
    answer_type: str | None = None
    choices: tuple[str, ...] | None = None
    precision: int | None = None
    meta: dict[str, Any] = field(default_factory=dict)

    def __post_init__(self):
        # JSON gives lists; keep the frozen record hashable-ish and uniform.
        object.__setattr__(self, "images", tuple(self.images))
        if self.choices is not None:
            object.__setattr__(self, "choices", tuple(self.choices))

    def to_dict(self) -> dict[str, Any]:
        d = dataclasses.asdict(self)
        d["images"] = list(self.images)
        d["choices"] = None if self.choices is None else list(self.choices)
        return d

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Sample:
        return _from_dict(cls, data)


@dataclass(frozen=True)
class Response:
    """One generated response: the k-th of n samples for a sample id."""

    sample_id: str
    text: str
    index: int = 0
    tokens: int | None = None
    finish_reason: str | None = None
    error: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Response:
        return _from_dict(cls, data)


@dataclass(frozen=True)
class Verdict:
    """What a checker decided: correct or not, the answer it judged, and the rule that decided."""

    correct: bool
    extracted: str | None
    rule: str

    @property
    def score(self) -> float:
        """1.0 if correct, else 0.0 (the accuracy this verdict adds to a report)."""
        return 1.0 if self.correct else 0.0

    @property
    def timed_out(self) -> bool:
        """Whether a safety-net CPU limit decided this verdict (rule "timeout:..."), not the answer."""
        return self.rule.startswith("timeout:")

    @property
    def failed(self) -> bool:
        """Whether the check could not judge the answer: a CPU limit ("timeout:...") or an exception
        inside the check ("error:..."); counted wrong, listed, and never a reward."""
        return self.rule.startswith(UNJUDGED)

    @property
    def reward(self) -> float | None:
        """The RL reward: the score, or None (TRL skips it) when the check timed out or failed."""
        return None if self.failed else self.score

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)


@dataclass(frozen=True)
class Result:
    """One scored line: a response, its gold answer, and the verdict under one protocol."""

    sample_id: str
    index: int
    protocol: str
    correct: bool
    extracted: str | None
    rule: str
    answer: str

    def to_dict(self) -> dict[str, Any]:
        return dataclasses.asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> Result:
        return _from_dict(cls, data)
