"""The OpenAI-compatible backend: Chat Completions against a server (`vllm serve`, SGLang, `transformers serve`).

The way to use vLLM from another environment: run `vllm serve MODEL` there, `--backend openai` here.
Each (item, response index) is one request, seed `decoding.seed + index`, `concurrency` in flight
(standard library only: urllib and a thread pool); responses are yielded as they complete.
Serve with `--generation-config vllm`, so the checkpoint's generation_config.json (Qwen2.5-VL ships
top_k=1, repetition_penalty=1.05) cannot fill in the sampling parameters this body leaves out.

Failures: connection errors, timeouts, HTTP 429 and 5xx are retried with exponential backoff
(`backoff * 2**attempt`, at most 30 s); other 4xx and malformed replies are not. A request that
still fails yields error Responses, so the run goes on and a resumed run asks for the item again.
One exception: when a request exhausts its retries on connection errors and no request of this
`generate` call has reached the server yet, the server is not there at all (a configuration
problem): `generate` raises ConnectionError naming base_url instead of failing every item.

Several servers (`base_url="URL1,URL2,..."`, e.g. vLLM replicas): each keeps `concurrency` requests
in flight, a request goes to the live server with the fewest in flight, and a server that cannot
be connected to is dropped for the rest of the call, its requests going to the others; only when
every server is gone do requests fail.
"""

from __future__ import annotations

import base64
import http.client
import io
import json
import os
import threading
import urllib.error
import urllib.request
from collections import Counter
from collections.abc import Iterable, Iterator
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from itertools import islice
from typing import Any

from vgpo_eval.backends import Decoding, Request, error_responses
from vgpo_eval.prompts import messages
from vgpo_eval.types import Response

MAX_BACKOFF = 30.0  # seconds


class _Failed(Exception):
    """A request that cannot be answered; `unreachable` when the server could not even be connected to."""

    def __init__(self, what: str, retry: bool = True, unreachable: bool = False):
        super().__init__(what)
        self.retry, self.unreachable = retry, unreachable


def image_part(image: Any) -> dict:
    """A PIL image as an OpenAI content part: a base64 PNG data URL (lossless)."""
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    url = "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")
    return {"type": "image_url", "image_url": {"url": url}}


def chat_messages(request: Request, variant: str) -> list[dict]:
    """The paper's prompt (`prompts.messages`) in the OpenAI format; the system message as a plain string."""
    out = []
    for message in messages(request.sample, variant, list(request.images)):
        parts = [image_part(p["image"]) if p["type"] == "image" else p for p in message["content"]]
        if message["role"] == "system":
            out.append({"role": "system", "content": "".join(p["text"] for p in parts)})
        else:
            out.append({"role": message["role"], "content": parts})
    return out


def _jobs(requests: Iterable[Request], variant: str) -> Iterator[tuple[Request, int, list[dict]]]:
    """(request, index, messages) for every response wanted; each request's images are encoded once."""
    for request in requests:
        chat = chat_messages(request, variant)
        for index in request.indices:
            yield request, index, chat


class OpenAIBackend:
    """Concurrent Chat Completions requests with retries; no dependency beyond the standard library."""

    name = "openai"

    def __init__(
        self, model: str, base_url: str = "http://127.0.0.1:8000/v1", api_key: str | None = None,
        concurrency: int = 8, timeout: float = 600.0, retries: int = 4, backoff: float = 1.0,
    ):  # fmt: skip
        self.model = model
        self.servers = [url.strip().rstrip("/") for url in base_url.split(",") if url.strip()]
        self.base_url = ",".join(self.servers)
        self.api_key = api_key or os.environ.get("OPENAI_API_KEY") or "EMPTY"
        self.concurrency, self.timeout, self.retries, self.backoff = concurrency, timeout, retries, backoff
        self._lock, self._busy, self._dead = threading.Lock(), Counter(), set()

    def describe(self) -> dict[str, Any]:
        """What config.json records: never the API key."""
        return dict(backend=self.name, model=self.model, base_url=self.base_url, concurrency=self.concurrency)

    def _pick(self) -> str | None:
        """The live server with the fewest requests in flight (None when every server is gone)."""
        with self._lock:
            live = [url for url in self.servers if url not in self._dead]
            if not live:
                return None
            url = min(live, key=lambda u: self._busy[u])
            self._busy[url] += 1
            return url

    def body(self, chat: list[dict], decoding: Decoding, index: int) -> dict[str, Any]:
        """The Chat Completions request body of response `index`."""
        return {"model": self.model, "messages": chat, "max_tokens": decoding.max_new_tokens,
                "temperature": decoding.temperature, "top_p": decoding.top_p, "seed": decoding.seed + index,
                "n": 1}  # fmt: skip

    def generate(self, requests: Iterable[Request], decoding: Decoding) -> Iterator[Response]:
        jobs = _jobs(requests, decoding.prompt)
        reached, stop = threading.Event(), threading.Event()
        self._dead.clear()
        width = self.concurrency * len(self.servers)
        pool = ThreadPoolExecutor(width, thread_name_prefix="openai")
        pending: dict[Future, tuple[Request, int]] = {}
        try:
            while True:  # at most 2 * width requests built ahead, so images are loaded lazily
                for request, index, chat in islice(jobs, 2 * width - len(pending)):
                    future = pool.submit(self._complete, self.body(chat, decoding, index), reached, stop)
                    pending[future] = (request, index)
                if not pending:
                    return
                done, _ = wait(pending, return_when=FIRST_COMPLETED)
                for future in done:
                    request, index = pending.pop(future)
                    yield self._record(future, request, index, reached)
        finally:
            stop.set()  # in-flight retries give up at their next backoff
            pool.shutdown(wait=False, cancel_futures=True)

    def _record(self, future: Future, request: Request, index: int, reached: threading.Event) -> Response:
        try:
            reply = future.result()
            choice, usage = reply["choices"][0], reply.get("usage") or {}
            text = choice["message"].get("content") or ""
            return Response(request.sample.id, text, index=index, tokens=usage.get("completion_tokens"),
                            finish_reason=choice.get("finish_reason"))  # fmt: skip
        except _Failed as exc:
            if exc.unreachable and not reached.is_set():
                raise ConnectionError(
                    f"no OpenAI-compatible server at {self.base_url} ({exc}); start one, e.g. "
                    f"`vllm serve {self.model}`, or pass the server's URL with --base-url"
                ) from None
            error = f"openai: {exc}"
        except (KeyError, IndexError, TypeError, AttributeError) as exc:
            error = f"openai: malformed reply from {self.base_url}: {type(exc).__name__}: {exc}"
        return error_responses(Request(request.sample, indices=(index,)), error)[0]

    def _complete(self, body: dict, reached: threading.Event, stop: threading.Event) -> dict:
        """POST one body, retrying as the module docstring says; the parsed reply, or _Failed."""
        data, attempt = json.dumps(body).encode(), 0
        while True:
            server = self._pick()
            if server is None:
                raise _Failed(f"every server is gone ({self.base_url})", retry=False, unreachable=True)
            try:
                return self._post(f"{server}/chat/completions", data, reached)
            except _Failed as exc:
                failure = exc
            finally:
                with self._lock:
                    self._busy[server] -= 1
            if failure.unreachable and len(self.servers) > 1:
                with self._lock:
                    self._dead.add(server)  # gone for this call: its requests go to the others
                if len(self._dead) < len(self.servers):
                    continue
            if not failure.retry or attempt == self.retries:
                break
            if stop.wait(min(self.backoff * 2**attempt, MAX_BACKOFF)):
                raise _Failed(f"cancelled at {server}", retry=False)
            attempt += 1
        tries = f" after {attempt + 1} attempt{'s' * (attempt > 0)}" if failure.retry else ""
        raise _Failed(f"{failure}{tries}", failure.retry, failure.unreachable)

    def _post(self, url: str, data: bytes, reached: threading.Event) -> dict:
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"}
        try:
            request = urllib.request.Request(url, data, headers)
            with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                reached.set()
                return json.load(reply)
        except urllib.error.HTTPError as exc:
            reached.set()
            detail = exc.read(300).decode("utf-8", "replace").strip()
            retry = exc.code == 429 or exc.code >= 500
            raise _Failed(f"HTTP {exc.code} from {url}: {detail}", retry=retry) from None
        except urllib.error.URLError as exc:  # urllib wraps only the connect-and-send phase
            raise _Failed(f"cannot connect to {url}: {exc.reason}", unreachable=True) from None
        except (OSError, http.client.HTTPException) as exc:  # connected, then no (complete) answer in time
            reached.set()
            what = "timed out" if isinstance(exc, TimeoutError) else f"{type(exc).__name__}: {exc}"
            raise _Failed(f"{what} (timeout {self.timeout:g} s) at {url}") from None
        except ValueError as exc:
            reached.set()
            raise _Failed(f"reply from {url} is not JSON: {exc}", retry=False) from None
