"""The openai backend against a real OpenAI-compatible server (tests/openai_server.py, the tiny Qwen2.5-VL on
CPU): end to end, the request body on the wire, and the failure handling (slow, flaky, down). Loopback only."""

from __future__ import annotations

import base64
import io
import json
import socket
import time

import pytest

pytest.importorskip("torch")
pytest.importorskip("transformers")

from openai_server import completion, json_reply, scripted, serve  # noqa: E402 - after the skips

from vgpo_eval import prompts  # noqa: E402
from vgpo_eval.backends import Decoding, Request  # noqa: E402
from vgpo_eval.backends.openai import EXTRA_FIELDS_ENV, OpenAIBackend  # noqa: E402
from vgpo_eval.cli import main  # noqa: E402
from vgpo_eval.types import Sample  # noqa: E402
from vgpo_tasks import synthetic  # noqa: E402

# vLLM's sampling fields at their off values: without them a `vllm serve` lacking `--generation-config vllm`
# fills them in from Qwen2.5-VL's generation_config.json (top_k 1, repetition_penalty 1.05)
NEUTRAL = {"repetition_penalty": 1.0, "top_k": -1, "min_p": 0.0}

SMALL = {"min_pixels": 56 * 56, "max_pixels": 112 * 112}  # the tiny processor's own bounds


@pytest.fixture(autouse=True)
def _no_proxy(monkeypatch):
    """urllib honours *_proxy variables; these tests talk to 127.0.0.1 directly, never through a proxy.
    The extra sampling fields are sent unless the environment turns them off: not here."""
    monkeypatch.setenv("no_proxy", "127.0.0.1,localhost")
    monkeypatch.setenv("NO_PROXY", "127.0.0.1,localhost")
    monkeypatch.delenv(EXTRA_FIELDS_ENV, raising=False)


@pytest.fixture
def samples(tmp_path) -> list[Sample]:
    """Three synthetic items: one image, two images (different sizes), none."""
    from PIL import Image

    paths = []
    for name, size, color in [
        ("a", (64, 64), (200, 30, 90)),
        ("b", (96, 48), (20, 160, 40)),
        ("c", (48, 80), (9, 9, 250)),
    ]:
        image = Image.new("RGB", size, color)
        image.paste((255, 255, 255), (8, 8, 24, 24))
        image.save(tmp_path / f"{name}.png")
        paths.append(str(tmp_path / f"{name}.png"))
    return [
        Sample("one", "t", "What is x? Choices: A. 30 B. 45", "B", images=(paths[0],)),
        Sample("two", "t", "Which image is greener?", "2", images=(paths[1], paths[2])),
        Sample("none", "t", "What is 1/3 of 12?", "4"),
    ]


def requests(samples: list[Sample], indices: tuple[int, ...] = (0,)) -> list[Request]:
    return [Request(s, prompts.load_images(s, **SMALL), indices) for s in samples]


def backend(base_url: str, **options) -> OpenAIBackend:
    return OpenAIBackend("tiny", base_url=base_url, **({"concurrency": 4, "timeout": 30.0} | options))


def closed_port_url() -> str:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}/v1"


def direct(model_dir, todo: list[Request], max_new_tokens: int) -> dict[str, str]:
    """The oracle: each prompt (transformers format) through the model directly, greedy; text by sample id."""
    import torch
    from transformers import AutoModelForImageTextToText, AutoProcessor

    processor = AutoProcessor.from_pretrained(model_dir)
    model = AutoModelForImageTextToText.from_pretrained(model_dir).eval()
    texts = {}
    for request in todo:
        chat = prompts.messages(request.sample, images=request.images)
        text = processor.apply_chat_template(chat, tokenize=False, add_generation_prompt=True)
        inputs = processor(text=[text], images=request.images or None, return_tensors="pt")
        with torch.inference_mode():
            output = model.generate(**inputs, max_new_tokens=max_new_tokens, do_sample=False)
        new = output[0, inputs["input_ids"].shape[1] :]  # (T,) generated tokens
        texts[request.sample.id] = processor.tokenizer.decode(new, skip_special_tokens=True)
    return texts


def test_end_to_end(tiny_model_dir, samples):
    todo = requests(samples, indices=(0, 1))
    with serve(tiny_model_dir) as url:
        responses = list(backend(url).generate(todo, Decoding(max_new_tokens=8)))
    by_key = {(r.sample_id, r.index): r for r in responses}
    assert len(responses) == len(by_key) == 6 and set(by_key) == {(s.id, i) for s in samples for i in (0, 1)}
    for r in responses:
        assert r.error is None and r.text and r.finish_reason in ("stop", "length") and 1 <= r.tokens <= 8
    for sample_id, expected in direct(tiny_model_dir, todo, 8).items():
        assert by_key[sample_id, 0].text == by_key[sample_id, 1].text == expected


def test_sampled_responses_differ(tiny_model_dir, samples):
    """seed = decoding.seed + index, so the K samples of one item are K different draws."""
    with serve(tiny_model_dir) as url:
        todo = requests(samples[:1], indices=(0, 1, 2))
        responses = list(backend(url).generate(todo, Decoding(temperature=1.0, max_new_tokens=8, samples=3)))
    assert len(responses) == 3 and len({r.text for r in responses}) > 1


def test_requests_are_pulled_lazily(tiny_model_dir, samples):
    """At most 2 * concurrency requests are built ahead (their images held in memory); closing early is fine."""
    pulled = []

    def lazy():
        for request in requests(samples * 3):
            pulled.append(request)
            yield request

    with serve(tiny_model_dir) as url:
        responses = backend(url, concurrency=1).generate(lazy(), Decoding(max_new_tokens=2))
        assert next(responses).error is None and len(pulled) == 2
        responses.close()


def test_request_body(tiny_model_dir, samples):
    from PIL import Image

    bodies: list[dict] = []
    todo = requests(samples, indices=(0, 2))
    decoding = Decoding(temperature=0.7, top_p=0.9, max_new_tokens=3, seed=11, prompt="train")
    with serve(tiny_model_dir, record=bodies) as url:
        assert all(r.error is None for r in backend(url).generate(todo, decoding))
    assert len(bodies) == 6
    for request in todo:
        sent = [
            b for b in bodies if b["messages"][1]["content"][-1]["text"].startswith(request.sample.question)
        ]
        assert sorted(b["seed"] for b in sent) == [11, 13]
        for body in sent:
            assert {k: body[k] for k in ("model", "max_tokens", "temperature", "top_p", "n", *NEUTRAL)} == {
                "model": "tiny", "max_tokens": 3, "temperature": 0.7, "top_p": 0.9, "n": 1, **NEUTRAL,
            }  # fmt: skip
            system, user = body["messages"]
            assert system == {"role": "system", "content": "You are a helpful assistant."}
            assert user["role"] == "user" and len(user["content"]) == len(request.images) + 1
            assert user["content"][-1] == {"type": "text", "text": prompts.user_text(request.sample, "train")}
            for part, image in zip(user["content"], request.images, strict=False):
                assert part["type"] == "image_url"
                header, data = part["image_url"]["url"].split(",", 1)
                assert header == "data:image/png;base64"
                with Image.open(io.BytesIO(base64.b64decode(data))) as sent_image:
                    assert sent_image.format == "PNG" and sent_image.tobytes() == image.tobytes()


def test_describe_never_shows_the_key():
    described = OpenAIBackend("m", api_key="sk-secret", concurrency=3, request_timeout=90).describe()
    assert described == {
        "backend": "openai",
        "model": "m",
        "base_url": "http://127.0.0.1:8000/v1",
        "concurrency": 3,
        "request_timeout": 90,
        "extra_decoding_fields": NEUTRAL,
    }


def test_greedy_bodies_carry_the_neutral_sampling_fields():
    """The paper's greedy decoding, spelled out on the wire: temperature 0, top_p 1 and vLLM's extra fields
    at their off values, in every body (each index of each item), so no server default can fill them in."""
    seen: list = []
    todo = [Request(Sample(f"q{i}", "t", f"What is {i} + 1?", str(i + 1)), indices=(0, 1)) for i in range(3)]
    with scripted(lambda handler, body, n: json_reply(handler, completion("\\boxed{1}")), record=seen) as url:
        responses = list(backend(url).generate(todo, Decoding(max_new_tokens=5)))
    assert len(responses) == len(seen) == 6 and all(r.error is None for r in responses)
    for path, _, body in seen:
        assert path == "/v1/chat/completions"
        assert {k: v for k, v in body.items() if k not in ("messages", "seed")} == {
            "model": "tiny", "max_tokens": 5, "temperature": 0.0, "top_p": 1.0, "n": 1, **NEUTRAL,
        }  # fmt: skip
        assert type(body["top_k"]) is int and type(body["repetition_penalty"]) is float


@pytest.mark.parametrize("off", ["argument", "environment"])
def test_a_server_that_refuses_unknown_fields(monkeypatch, off):
    """Like `transformers serve` (HTTP 422 naming the keys it does not know): the error says how to leave the
    fields out; left out (by the argument or the environment), the server answers and describe() says so."""
    known = {"model", "messages", "max_tokens", "temperature", "top_p", "seed", "n"}

    def answer(handler, body, n):
        unexpected = sorted(set(body) - known)
        if unexpected:
            return json_reply(handler, {"detail": f"Unexpected keys in the request: {unexpected}"}, 422)
        json_reply(handler, completion("2"))

    item = [Request(Sample("s", "t", "What is 1 + 1?", "2"))]
    with scripted(answer) as url:
        (refused,) = backend(url, retries=1, backoff=0.01).generate(item, Decoding(max_new_tokens=4))
        assert refused.error.startswith(f"openai: HTTP 422 from {url}/chat/completions: ")
        assert "top_k" in refused.error and f"{EXTRA_FIELDS_ENV}=0" in refused.error
        if off == "environment":
            monkeypatch.setenv(EXTRA_FIELDS_ENV, "0")
        plain = backend(url, **({"extra_fields": False} if off == "argument" else {}))
        (answered,) = plain.generate(item, Decoding(max_new_tokens=4))
    assert (answered.error, answered.text) == (None, "2")
    assert plain.describe()["extra_decoding_fields"] is None


def test_slow_server_gives_error_responses(tiny_model_dir, samples):
    bodies: list[dict] = []
    start = time.monotonic()
    with serve(tiny_model_dir, delay=5.0, record=bodies) as url:
        slow = backend(url, timeout=0.3, retries=1, backoff=0.05)
        responses = list(slow.generate(requests(samples[:2]), Decoding(max_new_tokens=4)))
    assert time.monotonic() - start < 3.0
    assert sorted((r.sample_id, r.index) for r in responses) == [("one", 0), ("two", 0)]
    for r in responses:
        assert r.text == "" and r.error.startswith("openai: timed out") and url in r.error
        assert "after 2 attempts" in r.error
    assert len(bodies) == 4  # two items, two attempts each


@pytest.mark.parametrize(
    "fail_first, path, retries, error, attempts",
    [
        (2, "", 3, None, 3),  # flaky: two 503s, then an answer
        (9, "", 1, "HTTP 503", 2),  # still overloaded after the retries: an error response, no raise
        (0, "/nope", 3, "HTTP 404", 1),  # other 4xx: no retry
    ],
)
def test_retries(tiny_model_dir, samples, fail_first, path, retries, error, attempts):
    bodies: list[dict] = []
    with serve(tiny_model_dir, fail_first=fail_first, record=bodies) as url:
        flaky = backend(url + path, retries=retries, backoff=0.01)
        (response,) = flaky.generate(requests(samples[:1]), Decoding(max_new_tokens=4))
    assert len(bodies) == attempts
    if error is None:
        assert response.error is None and response.text
    else:
        assert (
            response.error.startswith(f"openai: {error} from {url}{path}/chat/completions")
            and not response.text
        )


def test_server_down_raises(samples):
    url = closed_port_url()
    down = backend(url, retries=2, backoff=0.01)
    start = time.monotonic()
    with pytest.raises(ConnectionError, match="vllm serve tiny") as raised:
        list(down.generate(requests(samples), Decoding(max_new_tokens=4)))
    assert url in str(raised.value) and time.monotonic() - start < 2.0


def test_two_servers_share_the_work_and_one_dying_mid_run_loses_nothing(tiny_model_dir, samples):
    todo = requests(samples, indices=(0, 1, 2))  # 9 responses
    seen_a, seen_b = [], []
    with serve(tiny_model_dir, record=seen_a) as url_a:
        second = serve(tiny_model_dir, record=seen_b)
        url_b = second.__enter__()
        both = backend(f"{url_a},{url_b}", concurrency=1, backoff=0.01)
        out = []
        for response in both.generate(todo, Decoding(max_new_tokens=4)):
            out.append(response)
            if len(out) == 2:
                second.__exit__(None, None, None)  # one server stops mid-run
    assert len({(r.sample_id, r.index) for r in out}) == 9 and all(r.error is None for r in out), out
    assert seen_a and seen_b  # both took requests while both were up
    assert both.describe()["base_url"] == f"{url_a},{url_b}"


def test_every_server_down_is_one_clear_error(samples):
    both = backend(f"{closed_port_url()},{closed_port_url()}", retries=1, backoff=0.01)
    with pytest.raises(ConnectionError, match="no OpenAI-compatible server"):
        list(both.generate(requests(samples[2:]), Decoding(max_new_tokens=4)))


@pytest.mark.parametrize("flag", [False, True])
def test_config_json_records_the_fields_sent(tmp_path, monkeypatch, flag):
    """Through the command line: every body carries the fields, and config.json says they were sent; with
    `--no-extra-decoding-fields` none does, and config.json records null."""
    monkeypatch.setenv("VGPO_CACHE", str(tmp_path / "cache"))
    monkeypatch.delenv("VGPO_OPENAI_EXTRA_FIELDS", raising=False)
    data = synthetic.write(tmp_path / "data", ["counting"], n=2)
    seen: list = []
    with scripted(lambda handler, body, n: json_reply(handler, completion("\\boxed{3}")), record=seen) as url:
        argv = ["run", "--tasks", "counting", "--model", "served", "--backend", "openai", "--base-url", url,
                "--source", "local", "--data-dir", str(data), "--out", str(tmp_path / "run"),
                "--protocols", "strict", "--workers", "1", *(["--no-extra-decoding-fields"] if flag else [])]  # fmt: skip
        assert main(argv) in (0, 1)
    assert len(seen) == 2 and all(body["temperature"] == 0.0 for _, _, body in seen)
    assert all((NEUTRAL.keys() & body.keys()) == (set() if flag else NEUTRAL.keys()) for _, _, body in seen)
    config = json.loads((tmp_path / "run" / "config.json").read_text())
    assert config["backend"]["extra_decoding_fields"] == (None if flag else NEUTRAL)
    assert config["run"]["decoding"]["temperature"] == 0.0
