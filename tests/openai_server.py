"""A real OpenAI-compatible server for tests: Chat Completions answered by a transformers model on CPU.

The `openai` backend is tested against this instead of a mock: a standard library
`ThreadingHTTPServer` on 127.0.0.1 (any free port) that decodes the data-URL images, renders the
conversation with the checkpoint's own chat template and runs `generate` (greedy unless the body
asks for a temperature), one request at a time behind a lock. Options to misbehave:
`fail_first=N` answers HTTP 503 to the first N POSTs, `delay=S` waits S seconds before answering,
`record=[]` collects every POSTed body.

    with serve(tiny_model_dir, fail_first=2, record=bodies) as base_url:  # http://127.0.0.1:PORT/v1
        ...

`scripted(answer)` is a server with no model, for a server that misbehaves on purpose (tests of the
backend against untrusted servers): each POST is answered by `answer(handler, body, n)` (n counts the
POSTs from 1), which writes whatever it likes to the socket; `json_reply` is the honest answer.
"""

from __future__ import annotations

import base64
import contextlib
import functools
import io
import json
import sys
import threading
import time
import uuid
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any


@functools.lru_cache(maxsize=2)
def load(model_dir: str) -> tuple[Any, Any, threading.Lock]:
    """(processor, model, lock) of a checkpoint, loaded once per test session; the lock serializes generation."""
    from transformers import AutoModelForImageTextToText, AutoProcessor

    processor = AutoProcessor.from_pretrained(model_dir)
    model = AutoModelForImageTextToText.from_pretrained(model_dir).eval()
    return processor, model, threading.Lock()


def decode_image(url: str) -> Any:
    """A `data:image/...;base64,...` URL -> RGB PIL image."""
    from PIL import Image

    header, _, data = url.partition(",")
    if not (header.startswith("data:image/") and header.endswith(";base64")):
        raise ValueError(f"not a base64 image data URL: {header[:40]!r}")
    with Image.open(io.BytesIO(base64.b64decode(data, validate=True))) as image:
        return image.convert("RGB")


def conversation(messages: list[dict]) -> tuple[list[dict], list]:
    """OpenAI messages -> the transformers conversation, and its images in order of appearance."""
    chat, images = [], []
    for message in messages:
        content = message["content"]
        parts = [{"type": "text", "text": content}] if isinstance(content, str) else []
        for part in [] if isinstance(content, str) else content:
            if part["type"] == "image_url":
                images.append(decode_image(part["image_url"]["url"]))
                parts.append({"type": "image"})
            elif part["type"] == "text":
                parts.append({"type": "text", "text": part["text"]})
            else:
                raise ValueError(f"unsupported content part {part['type']!r}")
        chat.append({"role": message["role"], "content": parts})
    return chat, images


def complete(model_dir: str, body: dict, chat: list[dict], images: list) -> dict:
    """The Chat Completions reply to `body` (`chat`, `images` its messages): greedy unless a temperature is
    asked for (then seeded sampling); completion_tokens counts the eos, as vLLM does."""
    import torch

    processor, model, lock = load(model_dir)
    max_tokens, temperature = int(body.get("max_tokens") or 16), float(body.get("temperature") or 0.0)
    options: dict[str, Any] = {"max_new_tokens": max_tokens, "do_sample": temperature > 0}
    if temperature > 0:
        options |= {"temperature": temperature, "top_p": float(body.get("top_p", 1.0))}
    with lock, torch.inference_mode():
        text = processor.apply_chat_template(chat, add_generation_prompt=True, tokenize=False)
        inputs = processor(text=[text], images=images or None, return_tensors="pt")
        torch.manual_seed(int(body.get("seed") or 0))
        output = model.generate(**inputs, **options)
    prompt_tokens = inputs["input_ids"].shape[1]
    new = output[0, prompt_tokens:].tolist()
    eos = processor.tokenizer.eos_token_id
    stopped = eos in new
    new = new[: new.index(eos) + 1] if stopped else new
    return {
        "id": f"chatcmpl-{uuid.uuid4().hex}",
        "object": "chat.completion",
        "created": int(time.time()),
        "model": body.get("model", ""),
        "choices": [
            {
                "index": 0,
                "message": {
                    "role": "assistant",
                    "content": processor.tokenizer.decode(new, skip_special_tokens=True),
                },
                "finish_reason": "stop" if stopped else "length",
            }
        ],
        "usage": {
            "prompt_tokens": prompt_tokens,
            "completion_tokens": len(new),
            "total_tokens": prompt_tokens + len(new),
        },
    }


class _Server(ThreadingHTTPServer):
    daemon_threads = True

    def handle_error(self, request, client_address) -> None:
        if not isinstance(sys.exc_info()[1], ConnectionError):  # a client that gave up is not an error here
            super().handle_error(request, client_address)


def _handler(model_dir: str, fail_first: int, delay: float, record: list | None, stop: threading.Event):
    """The request handler class, closed over the server's options and its request counter."""
    count = [0]
    count_lock = threading.Lock()

    class Handler(BaseHTTPRequestHandler):
        def log_message(self, format: str, *args: Any) -> None:  # quiet test output
            pass

        def reply(self, status: int, payload: dict) -> None:
            json_reply(self, payload, status)

        def error(self, status: int, message: str) -> None:
            self.reply(status, {"error": {"message": message, "type": "error", "code": status}})

        def do_GET(self) -> None:
            if self.path.rstrip("/") != "/v1/models":
                return self.error(404, f"no route {self.path}")
            self.reply(200, {"object": "list", "data": [{"id": Path(model_dir).name, "object": "model"}]})

        def do_POST(self) -> None:
            try:
                body = json.loads(self.rfile.read(int(self.headers.get("Content-Length") or 0)))
            except ValueError as exc:
                return self.error(400, f"body is not JSON: {exc}")
            with count_lock:
                count[0] += 1
                seen = count[0]
                if record is not None:
                    record.append(body)
            if seen <= fail_first:
                return self.error(503, f"overloaded (fail_first={fail_first}, request {seen})")
            if self.path != "/v1/chat/completions":
                return self.error(404, f"no route {self.path}")
            if stop.wait(delay):
                return  # shutting down: hang up without an answer
            try:
                chat, images = conversation(body["messages"])
            except (KeyError, TypeError, ValueError) as exc:
                return self.error(400, f"bad messages: {type(exc).__name__}: {exc}")
            try:
                answer = complete(model_dir, body, chat, images)
            except Exception as exc:  # noqa: BLE001 - reported to the client as a server error
                return self.error(500, f"generation failed: {type(exc).__name__}: {exc}")
            self.reply(200, answer)

    return Handler


@contextlib.contextmanager
def serve(
    model_dir: str | Path, fail_first: int = 0, delay: float = 0.0, record: list | None = None
) -> Iterator[str]:
    """Run the server on 127.0.0.1 (a free port) for the block; yields its base URL, `http://127.0.0.1:PORT/v1`."""
    model_dir = str(model_dir)
    load(model_dir)  # before listening, so no request pays for the load
    stop = threading.Event()
    server = _Server(("127.0.0.1", 0), _handler(model_dir, fail_first, delay, record, stop))
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        stop.set()  # delayed handlers return at once
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def json_reply(handler: BaseHTTPRequestHandler, payload: Any, status: int = 200) -> None:
    """Answer with `payload` as JSON (any value: the tests send malformed replies on purpose)."""
    data = json.dumps(payload).encode()
    handler.send_response(status)
    handler.send_header("Content-Type", "application/json")
    handler.send_header("Content-Length", str(len(data)))
    handler.end_headers()
    handler.wfile.write(data)


def completion(content: Any, finish_reason: Any = "stop", usage: Any = None) -> dict:
    """A Chat Completions reply whose one choice says `content` (any value, null included)."""
    reply = {"object": "chat.completion", "choices": [{"index": 0, "finish_reason": finish_reason,
             "message": {"role": "assistant", "content": content}}]}  # fmt: skip
    return reply | ({"usage": usage} if usage is not None else {})


@contextlib.contextmanager
def scripted(answer, record: list | None = None) -> Iterator[str]:
    """A model-free server on 127.0.0.1 for the block; `record` collects (path, headers, body) of each request.
    Yields the base URL; `answer(handler, body, n)` writes each reply (see the module docstring)."""
    count, lock, stop = [0], threading.Lock(), threading.Event()

    class Handler(BaseHTTPRequestHandler):
        stopping = stop  # for answers that trickle: they end when the server stops

        def log_message(self, format: str, *args: Any) -> None:
            pass

        def _handle(self, body: Any) -> None:
            with lock:
                count[0] += 1
                n = count[0]
                if record is not None:
                    record.append((self.path, dict(self.headers), body))
            with contextlib.suppress(ConnectionError):  # the client gave up: that is what some tests want
                answer(self, body, n)

        def do_POST(self) -> None:
            data = self.rfile.read(int(self.headers.get("Content-Length") or 0))
            self._handle(json.loads(data or b"null"))

        def do_GET(self) -> None:
            self._handle(None)

    server = _Server(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}/v1"
    finally:
        stop.set()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
