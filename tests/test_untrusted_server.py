"""The openai backend against servers that misbehave on purpose (`openai_server.scripted`, no model): a
server, like a model's output, is untrusted input. A reply with no text is a failed request (asked again
on resume), a server that trickles its reply is cut at the request deadline, odd fields and odd text
never reach the records raw, and the API key stays in the environment: never in a URL, config.json, an
error or another host's hands. Loopback only."""

from __future__ import annotations

import json
import time

import pytest
from openai_server import completion, json_reply, scripted

from vgpo_eval.backends import Decoding, Request
from vgpo_eval.backends import openai as backend_module
from vgpo_eval.backends.openai import OpenAIBackend
from vgpo_eval.cli import main
from vgpo_eval.types import Response, Sample
from vgpo_tasks import synthetic

KEY = "sk-test-0123456789abcdef"
ITEM = [Request(Sample("t/1", "t", "What is 1 + 1?", "2"))]


@pytest.fixture(autouse=True)
def _env(tmp_path, monkeypatch):
    """Loopback without proxies, a secret key in the environment (where keys belong), a private cache."""
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.setenv("OPENAI_API_KEY", KEY)
    monkeypatch.setenv("VGPO_CACHE", str(tmp_path / "cache"))


def ask(url: str, **options) -> Response:
    """The one response to ITEM from a backend on `url` (one retry, quick backoff)."""
    settings = {"concurrency": 1, "retries": 1, "backoff": 0.01, "timeout": 10.0} | options
    (response,) = OpenAIBackend("m", base_url=url, **settings).generate(ITEM, Decoding(max_new_tokens=4))
    return response


# --- a reply with no text is a failed request -------------------------------------------------------------


@pytest.mark.parametrize(
    "reply, says",
    [
        (completion(None), "choices[0].message.content is null, not text"),
        (completion([{"type": "text", "text": "2"}]), "choices[0].message.content is an array, not text"),
        (completion(2), "choices[0].message.content is a number, not text"),
        ({"object": "chat.completion", "choices": []}, "no choices[0].message.content (IndexError"),
        ({"object": "chat.completion"}, "no choices[0].message.content (KeyError"),
        ([1, 2], "no choices[0].message.content (TypeError"),
        ({"choices": [{"message": "2"}]}, "no choices[0].message.content (TypeError"),
    ],
)
def test_a_reply_without_text_is_a_failed_request_naming_the_server(reply, says):
    seen: list = []
    with scripted(lambda handler, body, n: json_reply(handler, reply), record=seen) as url:
        response = ask(url)
    assert response.text == "" and response.error is not None
    assert response.error.startswith(f"openai: malformed reply from {url}/chat/completions: {says}")
    assert len(seen) == 1  # malformed: not retried within the call (a resumed run asks again)


def test_empty_text_is_an_answer_and_odd_fields_are_dropped():
    """finish_reason "length" with "" said is the model's answer (wrong, not failed); usage and finish_reason
    of the wrong type are not recorded as they came."""
    with scripted(lambda h, b, n: json_reply(h, completion("", "length", {"completion_tokens": 4}))) as url:
        empty = ask(url)
    assert (empty.error, empty.text, empty.finish_reason, empty.tokens) == (None, "", "length", 4)
    odd = completion("2", {"why": "x"}, {"completion_tokens": "4"})
    with scripted(lambda h, b, n: json_reply(h, odd)) as url:
        response = ask(url)
    assert (response.error, response.text, response.finish_reason, response.tokens) == (None, "2", None, None)


def test_a_reply_with_no_text_is_asked_again_on_resume(tmp_path, capsys):
    """Through the command line: the first run records the null reply as a failed item (exit 1), the
    re-run asks for it again; config.json records --request-timeout and --allow-outside-images, never the key."""
    data = synthetic.write(tmp_path / "data", ["counting"], n=1)
    out = tmp_path / "run"
    seen: list = []

    def answer(handler, body, n):
        json_reply(handler, completion(None if n == 1 else "\\boxed{3}"))

    with scripted(answer, record=seen) as url:
        argv = ["run", "--tasks", "counting", "--model", "served", "--backend", "openai", "--base-url", url,
                "--source", "local", "--data-dir", str(data), "--out", str(out), "--protocols", "strict",
                "--workers", "1", "--request-timeout", "7.5", "--allow-outside-images"]  # fmt: skip
        assert main(argv) == 1
        first = (out / "counting.responses.jsonl").read_text()
        assert main(argv) == 0
    assert len(seen) == 2 and all(headers["Authorization"] == f"Bearer {KEY}" for _, headers, _ in seen)
    assert f"malformed reply from {url}/chat/completions" in first
    last = json.loads((out / "counting.responses.jsonl").read_text().splitlines()[-1])
    assert last["error"] is None and last["text"] == "\\boxed{3}"
    config_text = (out / "config.json").read_text()
    config = json.loads(config_text)
    assert config["run"]["backend_options"]["request_timeout"] == 7.5
    assert config["backend"]["request_timeout"] == 7.5 and config["run"]["allow_outside_images"] is True
    printed = capsys.readouterr()
    assert KEY not in config_text and KEY not in printed.out + printed.err


# --- the request deadline ---------------------------------------------------------------------------------


def _trickle(handler, head: bytes, stop) -> None:
    """Send `head`, then one byte every 50 ms for up to a minute (far past any deadline under test)."""
    handler.wfile.write(head)
    for _ in range(1200):
        if stop.wait(0.05):
            return
        handler.wfile.write(b"a")


@pytest.mark.parametrize(
    "head",
    [
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 100000\r\n\r\n",  # the body
        b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n",  # a body without a length
        b"HTTP/1.1 200 OK\r\nX-Slow: ",  # the headers themselves
    ],
    ids=["body", "unsized-body", "headers"],
)
def test_a_trickling_server_is_cut_at_the_request_deadline(head):
    seen: list = []
    start = time.monotonic()
    with scripted(lambda handler, body, n: _trickle(handler, head, handler.stopping), record=seen) as url:
        response = ask(url, request_timeout=0.5)  # each byte comes well within the 10 s idle timeout
        took = time.monotonic() - start
    assert response.text == "" and len(seen) == 2  # retried once, like a timeout
    assert response.error == (
        f"openai: timed out (request deadline 0.5 s) at {url}/chat/completions after 2 attempts"
    )
    assert 1.0 <= took < 2.5, took  # two tries of 0.5 s, not the minute the trickle would take


def test_the_deadline_bounds_a_server_that_says_nothing_too():
    """With the deadline below the idle timeout, a silent server is cut at the deadline (the socket timeout
    of each try is the smaller of the two)."""
    with scripted(lambda handler, body, n: handler.stopping.wait(60)) as url:
        start = time.monotonic()
        response = ask(url, request_timeout=0.3, retries=0)
        assert time.monotonic() - start < 1.5
    assert response.error.startswith(f"openai: timed out (request deadline 0.3 s) at {url}/chat/completions")


# --- odd replies never reach the records raw -------------------------------------------------------------


def test_a_reply_too_large_is_refused(monkeypatch):
    monkeypatch.setattr(backend_module, "MAX_REPLY", 1000)
    with scripted(lambda handler, body, n: json_reply(handler, completion("x" * 5000))) as url:
        response = ask(url)
    assert response.error == f"openai: reply from {url}/chat/completions is larger than 1,000 bytes"


def test_json_nested_too_deep_is_a_failed_request_not_a_crash():
    def answer(handler, body, n):
        data = b"[" * 200_000
        handler.send_response(200)
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    with scripted(answer) as url:
        response = ask(url)
    assert response.error.startswith(f"openai: reply from {url}/chat/completions is not JSON")


def test_a_servers_error_text_is_one_printable_line():
    def answer(handler, body, n):
        data = b"bad\x1b[2J\r\nrequest\x07"  # raw: a terminal escape, a line break, a bell
        handler.send_response(400)
        handler.send_header("Content-Type", "text/plain")
        handler.send_header("Content-Length", str(len(data)))
        handler.end_headers()
        handler.wfile.write(data)

    with scripted(answer) as url:
        response = ask(url)
    assert response.error == f"openai: HTTP 400 from {url}/chat/completions: bad [2J  request"


# --- credentials -----------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "base_url, where",
    [
        (f"http://user:{KEY}@127.0.0.1:9/v1", "in the URL)"),
        (f"http://127.0.0.1:9/v1, https://{KEY}@127.0.0.1:8/v1", "in URL 2 of 2)"),
        (f"user:{KEY}@127.0.0.1:9/v1", "in the URL)"),  # no scheme: still a userinfo part
    ],
)
def test_a_base_url_with_credentials_is_refused_before_anything_loads(base_url, where, tmp_path, capsys):
    data = synthetic.write(tmp_path / "data", ["counting"], n=1)
    out = tmp_path / "run"
    argv = ["run", "--tasks", "counting", "--model", "m", "--backend", "openai", "--base-url", base_url,
            "--source", "local", "--data-dir", str(data), "--out", str(out)]  # fmt: skip
    with pytest.raises(SystemExit) as exit_:
        main(argv)
    printed = capsys.readouterr()
    assert exit_.value.code == 2 and not out.exists()
    (line,) = printed.err.splitlines()
    assert "carries credentials" in line and where in line and "OPENAI_API_KEY" in line
    assert KEY not in printed.out + printed.err
    with pytest.raises(ValueError, match="OPENAI_API_KEY") as raised:  # and for the library too
        OpenAIBackend("m", base_url=base_url)
    assert KEY not in str(raised.value)


def test_a_key_the_server_echoes_is_blanked_out_of_errors():
    def answer(handler, body, n):
        json_reply(handler, {"error": f"invalid key in {handler.headers['Authorization']}"}, status=401)

    with scripted(answer) as url:
        response = ask(url)
    assert response.error == (
        f'openai: HTTP 401 from {url}/chat/completions: {{"error": "invalid key in Bearer <OPENAI_API_KEY>"}}'
    )


def test_a_redirect_is_not_followed_with_the_key():
    """urllib would follow a 302 with the Authorization header to any host: a redirect is an error instead."""
    elsewhere: list = []
    with scripted(lambda h, b, n: json_reply(h, completion("2")), record=elsewhere) as other:

        def answer(handler, body, n):
            handler.send_response(302)
            handler.send_header("Location", f"{other}/steal")
            handler.send_header("Content-Length", "0")
            handler.end_headers()

        with scripted(answer) as url:
            response = ask(url)
    assert response.error.startswith(f"openai: HTTP 302 from {url}/chat/completions") and not elsewhere


def test_a_key_a_header_cannot_carry_is_refused_without_showing_it(monkeypatch):
    """http.client's own error would quote the whole header, key included."""
    monkeypatch.setenv("OPENAI_API_KEY", KEY + "\nX-Injected: 1")
    with pytest.raises(ValueError, match="OPENAI_API_KEY") as raised:
        OpenAIBackend("m", base_url="http://127.0.0.1:9/v1")
    assert KEY not in str(raised.value)
