"""The transformers backend: batched `generate` with left padding, CPU or GPU (bf16 on GPU).

The model is any image-text-to-text checkpoint `AutoModelForImageTextToText` can load (a hub id,
pinned with `revision`, or a local folder), or a text-only causal LM (a verifier such as
CompassVerifier, with its tokenizer); the prompt is rendered by the checkpoint's own processor (or
tokenizer) and chat template. With K samples per item each index k is generated with the seed
`decoding.seed + k`, so a resumed run regenerates exactly the missing ones. A batch that fails
is retried item by item; an item that still fails becomes an error Response.
"""

from __future__ import annotations

import contextlib
from collections.abc import Iterable, Iterator
from itertools import islice
from typing import Any

from vgpo_eval.backends import Decoding, Request, error_responses, load_processor
from vgpo_eval.prompts import render
from vgpo_eval.types import Response


class HFBackend:
    """transformers generate() over batches of requests."""

    name = "hf"

    def __init__(
        self, model: str, revision: str | None = None, device: str | None = None, dtype: str | None = None,
        batch_size: int = 8,
    ):  # fmt: skip
        self.model_id, self.revision, self.batch_size = model, revision, batch_size
        self.device, self.dtype = device, dtype
        self._model = self._processor = None

    def describe(self) -> dict[str, Any]:
        self._load()
        return {"backend": self.name, "model": self.model_id, "revision": self.revision, "device": self.device,
                "dtype": self.dtype, "batch_size": self.batch_size}  # fmt: skip

    def _load(self) -> None:
        if self._model is not None:
            return
        import torch
        from transformers import AutoModelForCausalLM, AutoModelForImageTextToText

        self.device = self.device or ("cuda" if torch.cuda.is_available() else "cpu")
        self.dtype = self.dtype or ("bfloat16" if self.device.startswith("cuda") else "float32")
        self._processor, vision = load_processor(self.model_id, self.revision)  # text-only: its tokenizer
        _tokenizer(self._processor).padding_side = "left"
        kind = AutoModelForImageTextToText if vision else AutoModelForCausalLM
        model = kind.from_pretrained(self.model_id, revision=self.revision, dtype=getattr(torch, self.dtype))
        self._model = model.to(self.device).eval()

    def generate(self, requests: Iterable[Request], decoding: Decoding) -> Iterator[Response]:
        self._load()
        requests = iter(requests)
        while batch := list(islice(requests, self.batch_size)):
            for index in sorted({i for r in batch for i in r.indices}):
                wanted = [r for r in batch if index in r.indices]
                yield from self._safe_batch(wanted, index, decoding)

    def _safe_batch(self, batch: list[Request], index: int, decoding: Decoding) -> Iterator[Response]:
        try:
            yield from self._batch(batch, index, decoding)
            return
        except Exception as exc:  # noqa: BLE001 - retried one by one below, then recorded per item
            if len(batch) == 1:
                yield from error_responses(
                    Request(batch[0].sample, indices=(index,)), f"hf: {type(exc).__name__}: {exc}"
                )
                return
        for request in batch:
            yield from self._safe_batch([request], index, decoding)

    def _batch(self, batch: list[Request], index: int, decoding: Decoding) -> list[Response]:
        import torch

        processor, model = self._processor, self._model
        texts = [render(processor, r.sample, decoding.prompt, r.images) for r in batch]
        images = {"images": pictures} if (pictures := [img for r in batch for img in r.images]) else {}
        inputs = processor(text=texts, **images, padding=True, return_tensors="pt").to(self.device)
        sampling = decoding.temperature > 0
        options = {"do_sample": sampling, "max_new_tokens": decoding.max_new_tokens}
        if sampling:
            options |= {"temperature": decoding.temperature, "top_p": decoding.top_p}
        torch.manual_seed(decoding.seed + index)
        with torch.inference_mode(), _quiet_generation_config(model):
            output = model.generate(**inputs, **options, pad_token_id=_tokenizer(processor).pad_token_id)
        new = output[:, inputs["input_ids"].shape[1] :]  # (B, T) generated tokens
        return [self._response(r.sample.id, index, row) for r, row in zip(batch, new, strict=True)]

    def _response(self, sample_id: str, index: int, tokens) -> Response:
        tokenizer = _tokenizer(self._processor)
        eos = set(_as_list(self._model.generation_config.eos_token_id)) | {tokenizer.eos_token_id}
        ids = tokens.tolist()
        stop = next((i for i, t in enumerate(ids) if t in eos), None)
        kept = ids if stop is None else ids[: stop + 1]
        text = tokenizer.decode(kept, skip_special_tokens=True)
        return Response(
            sample_id, text, index=index, tokens=len(kept), finish_reason="length" if stop is None else "stop"
        )


def _tokenizer(processor: Any) -> Any:
    """The tokenizer of a multimodal processor, or the tokenizer a text-only checkpoint loads as its processor."""
    return getattr(processor, "tokenizer", processor)


def _as_list(value) -> list:
    return [] if value is None else list(value) if isinstance(value, list | tuple) else [value]


@contextlib.contextmanager
def _quiet_generation_config(model):
    """Decode exactly as `Decoding` says: Qwen2.5-VL checkpoints ship top_k=1, top_p=0.001 and
    repetition_penalty=1.05 in generation_config.json, which would silently make sampling greedy
    and make this backend disagree with the others."""
    config = model.generation_config
    saved = {k: getattr(config, k, None) for k in ("temperature", "top_p", "top_k", "repetition_penalty")}
    for key in saved:
        setattr(config, key, None)
    try:
        yield
    finally:
        for key, value in saved.items():
            setattr(config, key, value)
