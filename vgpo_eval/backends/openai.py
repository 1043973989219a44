"""The OpenAI-compatible backend: Chat Completions against a server (`vllm serve`, SGLang, `transformers serve`).

The way to use vLLM from another environment: run `vllm serve MODEL` there, `--backend openai` here.
Each (item, response index) is one request, seed `decoding.seed + index`, `concurrency` in flight
(standard library only: urllib and a thread pool); responses are yielded as they complete.
Every body also carries vLLM's sampling fields beyond the OpenAI API at their neutral values
(`NEUTRAL_FIELDS`: repetition_penalty 1.0, top_k -1, min_p 0.0), so a `vllm serve` started without
`--generation-config vllm` cannot fill them in from the checkpoint's generation_config.json
(Qwen2.5-VL ships top_k=1, repetition_penalty=1.05): with temperature, top_p and max_tokens, every
sampling parameter vLLM takes from there is sent. A server that rejects unknown fields (`transformers
serve` answers 422) needs `run --no-extra-decoding-fields` (or `VGPO_OPENAI_EXTRA_FIELDS=0`, `extra_fields=False`):
then they are left out, config.json records `extra_decoding_fields: null`, and such a server's own
defaults apply.

The server is untrusted input, like a model's output. Each try has two limits: `timeout` (600 s) on
any one socket operation (idle), and `request_timeout` (600 s) on the whole try, connect to last byte,
so a server that trickles its reply a byte at a time cannot hold a request forever. A reply must be
JSON of at most 16 MiB whose first choice has a string `content`: `content: null`, no choices, or
content of another type is a failed request naming the server (an empty string is an answer: a model
may stop at once or hit `max_tokens` with nothing said). The API key comes only from the environment
(`OPENAI_API_KEY`): a base URL carrying credentials (`http://user:KEY@host/v1`) is refused, since URLs
are recorded in config.json and shown in errors; the key itself is never recorded, and is blanked out
of error texts (a server may echo it).

Failures: connection errors, timeouts (idle or the deadline), HTTP 429 and 5xx are retried with
exponential backoff (`backoff * 2**attempt`, at most 30 s); other 4xx and malformed replies are not.
A request that still fails yields error Responses, so the run goes on and a resumed run asks for the
item again.
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
import contextlib
import http.client
import io
import json
import os
import re
import socket
import threading
import time
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
# Each try's whole-request limit. A non-streaming server sends nothing until the last token, so today's
# 600 s idle limit already was an honest server's total: 2,048 new tokens at 3.5 tokens/s or more (a
# loaded vLLM server gives one request several times that), plus queueing and prefill.
REQUEST_TIMEOUT = 600.0  # seconds
MAX_REPLY = 16 * 2**20  # bytes; one completion of 2,048 tokens is a few KiB of JSON
# vLLM's (and SGLang's) sampling fields outside the OpenAI API, at their "off" values: top_k -1 is the value
# every vLLM version takes as disabled (older ones refuse 0), as does SGLang
NEUTRAL_FIELDS: dict[str, Any] = {"repetition_penalty": 1.0, "top_k": -1, "min_p": 0.0}
EXTRA_FIELDS_ENV = "VGPO_OPENAI_EXTRA_FIELDS"  # "0" (or false/no/off): leave NEUTRAL_FIELDS out of the body


class _Failed(Exception):
    """A request that cannot be answered; `unreachable` when the server could not even be connected to."""

    def __init__(self, what: str, retry: bool = True, unreachable: bool = False):
        super().__init__(what)
        self.retry, self.unreachable = retry, unreachable


def base_url_error(base_url: str) -> str | None:
    """Why `base_url` (one URL or several, comma-separated) cannot be used, or None. A URL carrying
    credentials (`http://user:KEY@host/v1`) is refused: URLs are recorded in config.json and shown in
    every error, so the key would leak; the message never repeats such a URL."""
    urls = [url.strip() for url in base_url.split(",") if url.strip()]
    if not urls:
        return "no server URL given"
    for n, url in enumerate(urls, 1):
        where = f"URL {n} of {len(urls)}" if len(urls) > 1 else "the URL"
        authority = re.split(r"[/?#]", url.split("://", 1)[-1], maxsplit=1)[0]
        if "@" in authority:
            return (f"the base URL carries credentials (user:password@ before the host, in {where}); remove "
                    "them and put the API key in the OPENAI_API_KEY environment variable")  # fmt: skip
        if not url.lower().startswith(("http://", "https://")):
            return f"{url!r} is not an http:// or https:// URL"
    return None


class _Deadline:
    """The wall-clock end of one try, connect to last byte. The idle `timeout` bounds each socket operation,
    but a server that sends a byte every few seconds keeps each of them short forever: a timer shuts the
    connection down when the deadline passes, which ends whatever send or read is blocked, headers included."""

    def __init__(self, seconds: float):
        self.at, self.cut = time.monotonic() + seconds, False
        self._timer: threading.Timer | None = None

    def arm(self, sock: socket.socket) -> None:
        """Called once the connection is up (a connect is bounded by the socket timeout, itself <= the deadline)."""
        self._timer = threading.Timer(max(self.at - time.monotonic(), 0.0), self._shut, (sock,))
        self._timer.daemon = True
        self._timer.start()

    def _shut(self, sock: socket.socket) -> None:
        self.cut = True
        with contextlib.suppress(OSError):  # already closed: the try ended as the timer fired
            sock.shutdown(socket.SHUT_RDWR)

    def disarm(self) -> None:
        if self._timer is not None:
            self._timer.cancel()

    def over(self) -> bool:
        """Cut, or past (a socket timeout the same instant as the deadline is the deadline)."""
        return self.cut or time.monotonic() >= self.at


class _Armed:
    """An http.client connection that hands its socket to its try's deadline once connected."""

    def __init__(self, *args: Any, deadline: _Deadline, **kwargs: Any):
        super().__init__(*args, **kwargs)
        self.deadline = deadline

    def connect(self) -> None:
        super().connect()
        self.deadline.arm(self.sock)


class _HTTPConnection(_Armed, http.client.HTTPConnection):
    pass


class _HTTPSConnection(_Armed, http.client.HTTPSConnection):
    pass


class _Post(urllib.request.Request):
    """A POST carrying its try's deadline to the connection the handlers below open for it."""

    def __init__(self, url: str, data: bytes, headers: dict[str, str], deadline: _Deadline):
        super().__init__(url, data, headers)
        self.deadline = deadline


class _HTTPHandler(urllib.request.HTTPHandler):
    def http_open(self, req: _Post) -> http.client.HTTPResponse:
        return self.do_open(_HTTPConnection, req, deadline=req.deadline)


class _HTTPSHandler(urllib.request.HTTPSHandler):
    def https_open(self, req: _Post) -> http.client.HTTPResponse:
        return self.do_open(_HTTPSConnection, req, deadline=req.deadline)


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    """A redirect is an HTTP error: urllib would follow it with the Authorization header, to any host."""

    def redirect_request(self, *args: Any) -> None:
        return None


def _printable(text: str) -> str:
    """A server's text fit for an error line: no newlines or terminal escapes."""
    return "".join(c if c.isprintable() else " " for c in text).strip()


def reply_fields(reply: Any, url: str) -> tuple[str, int | None, str | None]:
    """(text, completion tokens, finish reason) of a Chat Completions reply; _Failed naming the server when
    it holds no text. `content: null` (a refusal, a tool call, a reasoning parser that kept every token) is
    no answer: stored as an empty one it would count as wrong and never be asked again. An empty string is
    an answer (the model stopped at once, or `finish_reason: length` with nothing said)."""
    try:
        choice = reply["choices"][0]
        content = choice["message"]["content"]
    except (KeyError, IndexError, TypeError) as exc:
        raise _Failed(f"malformed reply from {url}: no choices[0].message.content "
                      f"({type(exc).__name__}: {_printable(str(exc))[:80]})", retry=False) from None  # fmt: skip
    if not isinstance(content, str):
        kinds = {type(None): "null", list: "an array", dict: "an object", bool: "a boolean"}
        what = kinds.get(type(content), "a number")
        raise _Failed(
            f"malformed reply from {url}: choices[0].message.content is {what}, not text", retry=False
        )
    usage = reply.get("usage")
    tokens = usage.get("completion_tokens") if isinstance(usage, dict) else None
    tokens = tokens if isinstance(tokens, int) and not isinstance(tokens, bool) and tokens >= 0 else None
    finish = choice.get("finish_reason")
    return content, tokens, (_printable(finish)[:40] if isinstance(finish, str) else None)


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
        if isinstance(message["content"], str):  # a plain text turn (prompts.RAW) goes as it is
            out.append(message)
            continue
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
        request_timeout: float = REQUEST_TIMEOUT, extra_fields: bool | None = None,
    ):  # fmt: skip
        problem = base_url_error(base_url)
        if problem:
            raise ValueError(f"openai: {problem}")
        self.model = model
        self.servers = [url.strip().rstrip("/") for url in base_url.split(",") if url.strip()]
        self.base_url = ",".join(self.servers)
        self.api_key = (api_key or os.environ.get("OPENAI_API_KEY") or "").strip() or "EMPTY"
        # a newline in a header value makes http.client raise a ValueError that quotes the whole header
        if not (self.api_key.isascii() and self.api_key.isprintable()):
            raise ValueError(
                "openai: the API key (OPENAI_API_KEY) holds characters an HTTP header cannot carry"
            )
        self.concurrency, self.timeout, self.retries, self.backoff = concurrency, timeout, retries, backoff
        self.request_timeout = request_timeout
        if extra_fields is None:  # the environment decides; sent unless turned off there
            off = os.environ.get(EXTRA_FIELDS_ENV, "").strip().lower() in ("0", "false", "no", "off")
            extra_fields = not off
        self.extra_fields = dict(NEUTRAL_FIELDS) if extra_fields else {}
        self._lock, self._busy, self._dead = threading.Lock(), Counter(), set()
        self._opener = urllib.request.build_opener(_HTTPHandler, _HTTPSHandler, _NoRedirect)

    def describe(self) -> dict[str, Any]:
        """What config.json records: never the API key (nor a URL with credentials: refused above)."""
        return dict(backend=self.name, model=self.model, base_url=self.base_url, concurrency=self.concurrency,
                    request_timeout=self.request_timeout, extra_decoding_fields=self.extra_fields or None)  # fmt: skip

    def _redact(self, text: str) -> str:
        """`text` without the API key: a server (or a proxy) may echo the Authorization header in its error."""
        return text if self.api_key == "EMPTY" else text.replace(self.api_key, "<OPENAI_API_KEY>")

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
        """The Chat Completions request body of response `index` (with NEUTRAL_FIELDS unless turned off)."""
        return {"model": self.model, "messages": chat, "max_tokens": decoding.max_new_tokens,
                "temperature": decoding.temperature, "top_p": decoding.top_p, "seed": decoding.seed + index,
                "n": 1, **self.extra_fields}  # fmt: skip

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
            text, tokens, finish_reason = future.result()
            return Response(request.sample.id, text, index=index, tokens=tokens, finish_reason=finish_reason)
        except _Failed as exc:
            if exc.unreachable and not reached.is_set():
                raise ConnectionError(self._redact(
                    f"no OpenAI-compatible server at {self.base_url} ({exc}); start one, e.g. "
                    f"`vllm serve {self.model}`, or pass the server's URL with --base-url"
                )) from None  # fmt: skip
            error = self._redact(f"openai: {exc}")
        return error_responses(Request(request.sample, indices=(index,)), error)[0]

    def _complete(
        self, body: dict, reached: threading.Event, stop: threading.Event
    ) -> tuple[str, int | None, str | None]:
        """POST one body, retrying as the module docstring says; the reply's fields (reply_fields), or _Failed."""
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

    def _post(self, url: str, data: bytes, reached: threading.Event) -> tuple[str, int | None, str | None]:
        """One try, within `request_timeout` in all and `timeout` per socket operation."""
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {self.api_key}"}
        deadline = _Deadline(self.request_timeout)
        late = f"timed out (request deadline {self.request_timeout:g} s) at {url}"
        try:
            post = _Post(url, data, headers, deadline)
            with self._opener.open(post, timeout=min(self.timeout, self.request_timeout)) as reply:
                reached.set()
                body = reply.read(MAX_REPLY + 1)
        except urllib.error.HTTPError as exc:
            reached.set()
            try:
                detail = _printable(exc.read(300).decode("utf-8", "replace"))
            except (OSError, http.client.HTTPException):  # cut at the deadline, or the server hung up
                detail = "(no readable body)"
            retry = exc.code == 429 or exc.code >= 500
            if not retry and any(name in detail for name in self.extra_fields):
                detail += (
                    " (a server that refuses vLLM's sampling fields: re-run with --no-extra-decoding-fields "
                    f"or {EXTRA_FIELDS_ENV}=0)"
                )
            raise _Failed(f"HTTP {exc.code} from {url}: {detail}", retry=retry) from None
        except (OSError, http.client.HTTPException) as exc:
            # urllib wraps only the connect-and-send phase; the deadline's timer starts once connected
            if isinstance(exc, urllib.error.URLError) and not deadline.cut:
                raise _Failed(f"cannot connect to {url}: {exc.reason}", unreachable=True) from None
            reached.set()  # connected, then no (complete) answer in time
            if deadline.over():
                raise _Failed(late) from None
            what = f"{type(exc).__name__}: {_printable(str(exc))[:200]}"  # a bad status line is the server's text
            what = "timed out" if isinstance(exc, TimeoutError) else what
            raise _Failed(f"{what} (timeout {self.timeout:g} s) at {url}") from None
        finally:
            deadline.disarm()
        if deadline.cut:  # a reply without a length just ends when cut
            raise _Failed(late)
        if len(body) > MAX_REPLY:
            raise _Failed(f"reply from {url} is larger than {MAX_REPLY:,} bytes", retry=False)
        try:
            return reply_fields(json.loads(body), url)
        except (ValueError, RecursionError) as exc:  # RecursionError: JSON nested thousands deep
            raise _Failed(f"reply from {url} is not JSON: {exc}", retry=False) from None
