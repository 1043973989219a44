"""Generation backends: a list of prompts in, `Response`s out, the same records from every backend.

- `hf`: transformers `generate`, batched with left padding, CPU or GPU (bf16 on GPU);
- `vllm`: an in-process vLLM engine (GPU; the optional `vllm` extra, in its own environment);
- `openai`: any OpenAI-compatible server (`vllm serve`, SGLang, `transformers serve`);
- `auto`: vllm when it is importable and a GPU is present, else hf.

Every backend takes the same `Decoding` and `Request`s (a sample with its loaded images) and
yields `Response`s as they complete, in any order; the runner writes each one to disk at once.
A request that fails (an unreadable image, a server error after retries) yields a Response with
`error` set, so one bad item never stops a run.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any, Protocol

from vgpo_eval.prompts import MAX_PIXELS, MIN_PIXELS
from vgpo_eval.types import Response, Sample


@dataclass(frozen=True)
class Decoding:
    """How to generate. Defaults are the paper's evaluation protocol (docs/protocol.md): greedy, 2048 new tokens."""

    temperature: float = 0.0
    top_p: float = 1.0
    max_new_tokens: int = 2048
    samples: int = 1  # responses per item (avg@K); K > 1 needs temperature > 0
    seed: int = 0
    min_pixels: int = MIN_PIXELS
    max_pixels: int = MAX_PIXELS
    prompt: str = "lookback"  # prompt variant (vgpo_eval.prompts.PROMPTS)


@dataclass(frozen=True)
class Request:
    """One item to answer: the sample, its images (PIL, already inside the pixel bounds) and which
    response indices are still missing (a resumed run asks only for those)."""

    sample: Sample
    images: list = field(default_factory=list)
    indices: tuple[int, ...] = (0,)


class Backend(Protocol):
    """What the runner needs from a backend."""

    name: str

    def generate(self, requests: Iterable[Request], decoding: Decoding) -> Iterator[Response]:
        """One Response per (request, index), yielded as soon as it exists."""
        ...

    def describe(self) -> dict[str, Any]:
        """What to record in the run's config.json (model, revision, dtype, server...)."""
        ...


def _hf(model: str, **options: Any) -> Backend:
    from vgpo_eval.backends.hf import HFBackend

    return HFBackend(model, **options)


def _vllm(model: str, **options: Any) -> Backend:
    from vgpo_eval.backends.vllm import VLLMBackend

    return VLLMBackend(model, **options)


def _openai(model: str, **options: Any) -> Backend:
    from vgpo_eval.backends.openai import OpenAIBackend

    return OpenAIBackend(model, **options)


def _auto(model: str, **options: Any) -> Backend:
    import importlib.util

    import torch

    if importlib.util.find_spec("vllm") is not None and torch.cuda.is_available():
        return _vllm(model, **options)
    return _hf(model, **options)


BACKENDS: dict[str, Callable[..., Backend]] = {"hf": _hf, "vllm": _vllm, "openai": _openai, "auto": _auto}


def load_processor(model: str, revision: str | None = None) -> tuple[Any, bool]:
    """(the processor that renders a checkpoint's prompts, whether it reads images): an image-text model's
    processor, or a text-only checkpoint's tokenizer (a verifier such as CompassVerifier)."""
    from transformers import AutoConfig, AutoProcessor, AutoTokenizer

    vision = hasattr(AutoConfig.from_pretrained(model, revision=revision), "vision_config")
    return (AutoProcessor if vision else AutoTokenizer).from_pretrained(model, revision=revision), vision


def error_responses(request: Request, error: str) -> list[Response]:
    """The responses of a request that could not be answered: empty text, the error recorded."""
    return [Response(request.sample.id, "", index=i, error=error) for i in request.indices]
