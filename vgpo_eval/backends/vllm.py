"""The vLLM backend: an in-process `vllm.LLM`, `batch_size` requests per `LLM.generate` call (GPU).

vLLM pins its own torch and transformers: install `vgpo[vllm]` in its own environment, or run
`vllm serve` there and `--backend openai` here. Prompts are the checkpoint's chat template
(`prompts.render`) with the request's images, already inside the pixel bounds. Sampling parameters are
always explicit, so generation_config.json's sampling defaults (Qwen2.5-VL: top_k=1,
repetition_penalty=1.05) never apply. K samples are one prompt with n=K, seed `decoding.seed +
indices[0]`: vLLM seeds child k with `seed + k`, so response i gets seed `decoding.seed + i` as in the
hf backend (when the missing indices are contiguous); greedy asks for one output, copied to every
index. A failing batch is halved until the failing items are found; each becomes an error Response.
The engine's context is `max_model_len` tokens, 8,192 by default as in Look-Back's engine (prompt,
images included, plus response; it also sizes the KV cache); 0 or None keeps the model's own
(128K for Qwen2.5-VL), and config.json then records null.
`build_inputs`, `sampling_kwargs` and `to_responses` are pure and run (and are tested) without vLLM.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from vgpo_eval.backends import Decoding, Request, error_responses
from vgpo_eval.prompts import render
from vgpo_eval.types import Response

MISSING = (
    "the vllm backend needs vLLM, which pins its own torch: install the vllm extra in its own environment: "
    "pip install 'vgpo[vllm]' (GPU machines), or use --backend openai against `vllm serve`"
)
MAX_MODEL_LEN = 8192  # tokens: Look-Back's engine (max_model_len=8192); 0 = the model's own


def build_inputs(requests: list[Request], decoding: Decoding, processor: Any) -> list[dict]:
    """vLLM prompts: the chat-template text and, when the item has any, its PIL images."""
    inputs = []
    for request in requests:
        prompt: dict[str, Any] = {
            "prompt": render(processor, request.sample, decoding.prompt, list(request.images))
        }
        if request.images:
            prompt["multi_modal_data"] = {"image": list(request.images)}
        inputs.append(prompt)
    return inputs


def sampling_kwargs(decoding: Decoding, indices: tuple[int, ...] = (0,)) -> dict[str, Any]:
    """`SamplingParams` arguments for the responses `indices` of one item (see the module docstring for seeds)."""
    n = len(indices) if decoding.temperature > 0 else 1
    return {"temperature": decoding.temperature, "top_p": decoding.top_p, "max_tokens": decoding.max_new_tokens,
            "n": n, "seed": decoding.seed + indices[0]}  # fmt: skip


def to_responses(request: Request, output: Any) -> list[Response]:
    """Responses from one `RequestOutput` (anything with `.outputs[k].text/.token_ids/.finish_reason`):
    completion k answers index `request.indices[k]`; a single (greedy) completion answers them all."""
    completions = list(output.outputs)
    if len(completions) == 1:
        completions *= len(request.indices)
    return [
        Response(request.sample.id, c.text, index=i, tokens=len(c.token_ids), finish_reason=c.finish_reason)
        for i, c in zip(request.indices, completions, strict=True)
    ]


def _import_vllm():
    try:
        import vllm
    except ImportError as exc:
        raise ImportError(MISSING) from exc
    return vllm


class VLLMBackend:
    """`vllm.LLM.generate` over batches of `batch_size` requests; the engine is built on first use."""

    name = "vllm"

    def __init__(
        self, model: str, revision: str | None = None, tensor_parallel_size: int = 1, dtype: str = "bfloat16",
        max_model_len: int | None = MAX_MODEL_LEN, batch_size: int = 256, max_images: int = 8,
        data_parallel_size: int = 1,
    ):  # fmt: skip
        if max_model_len is not None and (type(max_model_len) is not int or max_model_len < 0):
            raise ValueError(f"vllm: --max-model-len {max_model_len!r} is not a whole number >= 0 (0: the model's own)")  # fmt: skip
        self._vllm = _import_vllm()  # fail at construction, before a run folder is written
        self.model_id, self.revision, self.dtype = model, revision, dtype
        self.tensor_parallel_size, self.max_model_len = tensor_parallel_size, max_model_len or None
        self.data_parallel_size = (
            data_parallel_size  # vLLM's own data parallelism: engine replicas on one node
        )
        self.batch_size, self.max_images = batch_size, max_images
        self._llm = self._processor = None

    def describe(self) -> dict[str, Any]:
        return {"backend": self.name, "model": self.model_id, "revision": self.revision, "dtype": self.dtype,
                "tensor_parallel_size": self.tensor_parallel_size, "data_parallel_size": self.data_parallel_size,
                "max_model_len": self.max_model_len,
                "batch_size": self.batch_size, "max_images": self.max_images,
                "processor_pixels": "the processor's defaults", "vllm": getattr(self._vllm, "__version__", None)}  # fmt: skip

    def engine_kwargs(self, decoding: Decoding) -> dict[str, Any]:
        """The `vllm.LLM` arguments. Images arrive already resized into the decoding's pixel bounds (as
        Look-Back does); the processor keeps its own defaults (no `mm_processor_kwargs`), as in the
        paper's protocol: bounds passed there would re-resize about a third of the images. Videos are
        off, which shrinks what vLLM reserves for multimodal inputs when it profiles memory."""
        kwargs = {"model": self.model_id, "revision": self.revision, "tensor_parallel_size": self.tensor_parallel_size,
                  "dtype": self.dtype, "seed": decoding.seed, "limit_mm_per_prompt": {"image": self.max_images, "video": 0}}  # fmt: skip
        if self.max_model_len is not None:
            kwargs["max_model_len"] = self.max_model_len
        if self.data_parallel_size > 1:
            kwargs["data_parallel_size"] = self.data_parallel_size
        return kwargs

    def _load(self, decoding: Decoding) -> None:
        if self._llm is not None:
            return
        if self.max_model_len is not None and self.max_model_len <= decoding.max_new_tokens:
            raise ValueError(
                f"vllm: --max-model-len {self.max_model_len} leaves no room for a prompt beside --max-new-tokens "
                f"{decoding.max_new_tokens}; raise it (with --backend vllm), or pass 0 for the model's own"
            )
        from vgpo_eval.backends import load_processor

        # an image-text model's processor; a text-only checkpoint's (a verifier's) tokenizer
        self._processor, _ = load_processor(self.model_id, self.revision)
        self._llm = self._vllm.LLM(**self.engine_kwargs(decoding))

    def generate(self, requests: Iterable[Request], decoding: Decoding) -> Iterator[Response]:
        self._load(decoding)
        requests = iter(requests)
        while batch := list(islice(requests, self.batch_size)):
            for request in (r for r in batch if len(r.images) > self.max_images):
                yield from error_responses(
                    request, f"vllm: {len(request.images)} images > max_images {self.max_images}"
                )
            yield from self._batch([r for r in batch if len(r.images) <= self.max_images], decoding)

    def _batch(self, batch: list[Request], decoding: Decoding) -> list[Response]:
        if not batch:
            return []
        try:
            params = [self._vllm.SamplingParams(**sampling_kwargs(decoding, r.indices)) for r in batch]
            outputs = self._llm.generate(
                build_inputs(batch, decoding, self._processor), params, use_tqdm=False
            )
            return [
                response for r, out in zip(batch, outputs, strict=True) for response in to_responses(r, out)
            ]
        except Exception as exc:  # noqa: BLE001 - bisected below, then recorded per item
            if len(batch) == 1:
                return error_responses(batch[0], f"vllm: {type(exc).__name__}: {exc}")
        half = len(batch) // 2
        return self._batch(batch[:half], decoding) + self._batch(batch[half:], decoding)
