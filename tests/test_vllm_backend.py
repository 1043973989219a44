"""The vllm backend without vLLM: its pure parts against the tiny Qwen2.5-VL processor, the ImportError that
names the way out, and `generate` end to end against a fake `vllm` module (batching, index mapping, seeds,
failures). Nothing here proves it against a real vLLM engine."""

from __future__ import annotations

import json
import sys
import types
from types import SimpleNamespace

import pytest

from vgpo_eval import prompts
from vgpo_eval.backends import BACKENDS, Decoding, Request
from vgpo_eval.backends.vllm import VLLMBackend, build_inputs, sampling_kwargs, to_responses
from vgpo_eval.cli import main
from vgpo_eval.types import Sample
from vgpo_tasks import synthetic

IMAGE_SLOT = "<|vision_start|><|image_pad|><|vision_end|>"


def _image(size: tuple[int, int], color: tuple[int, int, int]):
    from PIL import Image

    return Image.new("RGB", size, color)


@pytest.fixture(scope="module")
def processor(tiny_model_dir):
    from transformers import AutoProcessor

    return AutoProcessor.from_pretrained(tiny_model_dir)


@pytest.fixture
def requests() -> list[Request]:
    """Five items: one image, two images, none, one image wanting responses 0..2, one more image."""
    return [
        Request(Sample("one", "t", "What is x?", "B", images=("a.png",)), [_image((64, 64), (200, 30, 90))]),
        Request(
            Sample("two", "t", "Which is greener?", "2", images=("b.png", "c.png")),
            [_image((96, 48), (20, 160, 40)), _image((48, 80), (9, 9, 250))],
        ),
        Request(Sample("none", "t", "What is 1/3 of 12?", "4")),
        Request(
            Sample("many", "t", "Count the cubes.", "3", images=("d.png",)),
            [_image((32, 32), (1, 2, 3))],
            (0, 1, 2),
        ),
        Request(Sample("last", "t", "Is it red?", "yes", images=("e.png",)), [_image((40, 40), (250, 0, 0))]),
    ]


# -- build_inputs ---------------------------------------------------------------------------------


@pytest.mark.parametrize("variant", ["lookback", "train"])
def test_build_inputs_prompt_is_the_rendered_chat_with_the_request_images(processor, requests, variant):
    inputs = build_inputs(requests, Decoding(prompt=variant), processor)
    assert len(inputs) == len(requests)
    for request, prompt in zip(requests, inputs, strict=True):
        assert prompt["prompt"] == prompts.render(processor, request.sample, variant, request.images)
        assert prompt["prompt"].count(IMAGE_SLOT) == len(request.images)
        assert prompts.PROMPTS[variant] in prompt["prompt"]
        if request.images:
            assert [id(i) for i in prompt["multi_modal_data"]["image"]] == [id(i) for i in request.images]
        else:
            assert "multi_modal_data" not in prompt


# -- sampling_kwargs ------------------------------------------------------------------------------

PAPER = {"temperature": 0.0, "top_p": 1.0, "max_tokens": 2048, "n": 1, "seed": 0}


@pytest.mark.parametrize(
    ("decoding", "indices", "expected"),
    [
        (Decoding(), (0,), PAPER),  # the paper's protocol: greedy, 2048 new tokens
        (Decoding(temperature=1.0, samples=8), tuple(range(8)), PAPER | {"temperature": 1.0, "n": 8}),  # avg@8
        (Decoding(samples=4), tuple(range(4)), PAPER),  # greedy K > 1: one output, copied to every index
        (Decoding(temperature=0.6, top_p=0.95, seed=7), (3, 4, 5), {"temperature": 0.6, "top_p": 0.95,
         "max_tokens": 2048, "n": 3, "seed": 10}),  # resumed: index i keeps seed 7 + i
        (Decoding(max_new_tokens=64), (0,), PAPER | {"max_tokens": 64}),
    ],
)  # fmt: skip
def test_sampling_kwargs(decoding, indices, expected):
    assert sampling_kwargs(decoding, indices) == expected


# -- to_responses ---------------------------------------------------------------------------------


def _completion(text: str, tokens: int, finish: str):
    return SimpleNamespace(text=text, token_ids=list(range(tokens)), finish_reason=finish)


@pytest.mark.parametrize(
    ("indices", "completions", "expected"),
    [
        ((0,), [("a", 3, "stop")], [(0, "a", 3, "stop")]),
        ((2, 5), [("x", 4, "stop"), ("y", 2048, "length")], [(2, "x", 4, "stop"), (5, "y", 2048, "length")]),
        (
            (0, 1, 2),
            [("g", 1, "stop")],
            [(0, "g", 1, "stop"), (1, "g", 1, "stop"), (2, "g", 1, "stop")],
        ),  # greedy
        ((0,), [("", 0, "length")], [(0, "", 0, "length")]),
    ],
)
def test_to_responses_maps_completion_k_to_index_k(indices, completions, expected):
    request = Request(Sample("s", "t", "q", "a"), indices=indices)
    output = SimpleNamespace(outputs=[_completion(*c) for c in completions])
    got = [(r.index, r.text, r.tokens, r.finish_reason) for r in to_responses(request, output)]
    assert got == expected
    assert all(r.sample_id == "s" and r.error is None for r in to_responses(request, output))


def test_to_responses_refuses_a_count_mismatch():
    request = Request(Sample("s", "t", "q", "a"), indices=(0, 1, 2))
    with pytest.raises(ValueError):
        to_responses(
            request, SimpleNamespace(outputs=[_completion("a", 1, "stop"), _completion("b", 1, "stop")])
        )


# -- without vLLM ---------------------------------------------------------------------------------


@pytest.mark.parametrize("make", [lambda: VLLMBackend("m"), lambda: BACKENDS["vllm"]("m", batch_size=4)])
def test_without_vllm_the_error_says_how_to_get_it(monkeypatch, make):
    monkeypatch.setitem(sys.modules, "vllm", None)  # `import vllm` fails even where it is installed
    with pytest.raises(ImportError, match=r"pip install 'vgpo\[vllm\]'") as info:
        make()
    assert "--backend openai" in str(info.value) and "vllm serve" in str(info.value)


# -- generate against a fake vllm -----------------------------------------------------------------


class FakeLLM:
    """Answers each prompt with n completions "<prompt length>#<k>"; fails a batch holding a BOOM item."""

    instances: list[FakeLLM] = []

    def __init__(self, **kwargs):
        self.kwargs, self.calls = kwargs, []
        FakeLLM.instances.append(self)

    def generate(self, inputs, params, use_tqdm=True):
        assert len(inputs) == len(params) and use_tqdm is False
        self.calls.append([(p["prompt"], s.kwargs) for p, s in zip(inputs, params, strict=True)])
        if any("BOOM" in p["prompt"] for p in inputs):
            raise ValueError("prompt too long")
        return [
            SimpleNamespace(outputs=[_completion(f"{len(p['prompt'])}#{k}", k + 1, ("stop", "length")[k % 2])
                                     for k in range(s.kwargs["n"])])
            for p, s in zip(inputs, params, strict=True)
        ]  # fmt: skip


class FakeSamplingParams:
    def __init__(self, **kwargs):
        self.kwargs = kwargs


@pytest.fixture
def fake_vllm(monkeypatch):
    module = types.ModuleType("vllm")
    module.LLM, module.SamplingParams, module.__version__ = FakeLLM, FakeSamplingParams, "0.0.fake"
    monkeypatch.setitem(sys.modules, "vllm", module)
    FakeLLM.instances = []
    return module


def test_generate_batches_and_maps_indices(fake_vllm, tiny_model_dir, processor, requests):
    backend = VLLMBackend(str(tiny_model_dir), revision=None, batch_size=2)
    assert backend.describe()["vllm"] == "0.0.fake" and not FakeLLM.instances  # describe builds nothing
    decoding = Decoding(temperature=1.0, samples=3, seed=5)
    responses = list(backend.generate(requests, decoding))

    (llm,) = FakeLLM.instances
    assert [len(call) for call in llm.calls] == [2, 2, 1]
    assert llm.kwargs == {
        "model": str(tiny_model_dir), "revision": None, "tensor_parallel_size": 1, "dtype": "bfloat16", "seed": 5,
        "limit_mm_per_prompt": {"image": 8, "video": 0}, "max_model_len": 8192,  # Look-Back's engine
    }  # fmt: skip
    assert "mm_processor_kwargs" not in llm.kwargs  # the processor keeps its defaults, as Look-Back's engine
    assert [kw["n"] for call in llm.calls for _, kw in call] == [1, 1, 1, 3, 1]
    assert len(responses) == 7
    by_key = {(r.sample_id, r.index): r for r in responses}
    assert len(by_key) == len(responses)
    for request in requests:
        length = len(prompts.render(processor, request.sample, decoding.prompt, request.images))
        for k, index in enumerate(request.indices):
            response = by_key[(request.sample.id, index)]
            assert response.text == f"{length}#{k}"
            assert (response.tokens, response.finish_reason) == (k + 1, ("stop", "length")[k % 2])


def test_generate_greedy_copies_one_output_to_every_index(fake_vllm, tiny_model_dir, requests):
    backend = VLLMBackend(str(tiny_model_dir), max_model_len=4096)
    responses = list(backend.generate([requests[3]], Decoding(samples=3)))
    (llm,) = FakeLLM.instances
    assert llm.kwargs["max_model_len"] == 4096
    assert [kw["n"] for call in llm.calls for _, kw in call] == [1]
    assert [(r.index, r.error) for r in responses] == [(0, None), (1, None), (2, None)]
    assert len({r.text for r in responses}) == 1


def test_a_failing_item_becomes_an_error_and_the_rest_is_answered(fake_vllm, tiny_model_dir, requests):
    bad = Request(Sample("bad", "t", "BOOM", "0"))
    crowded = Request(Sample("crowded", "t", "q", "0", images=("a", "b")), [_image((8, 8), (0, 0, 0))] * 2)
    backend = VLLMBackend(str(tiny_model_dir), batch_size=8, max_images=1)
    responses = list(backend.generate([*requests[:2], bad, crowded, *requests[2:]], Decoding()))

    errors = {r.sample_id: r.error for r in responses if r.error}
    assert set(errors) == {"bad", "crowded", "two"}  # "two" has 2 images > max_images 1
    assert "ValueError: prompt too long" in errors["bad"] and "max_images" in errors["crowded"]
    answered = {(r.sample_id, r.index) for r in responses if not r.error}
    assert answered == {("one", 0), ("none", 0), ("many", 0), ("many", 1), ("many", 2), ("last", 0)}
    calls = FakeLLM.instances[0].calls
    assert [len(call) for call in calls] == [
        5,
        2,
        1,
        1,
        3,
    ]  # halved down to the failing item, the rest batched
    assert all(
        prompt.count(IMAGE_SLOT) <= 1 for call in calls for prompt, _ in call
    )  # crowded ones never sent


def test_one_engine_serves_every_decoding(fake_vllm, tiny_model_dir, requests):
    backend = VLLMBackend(str(tiny_model_dir))
    list(backend.generate(requests[:1], Decoding()))
    list(
        backend.generate(requests[1:2], Decoding(temperature=1.0, max_pixels=500_000))
    )  # images come resized
    assert len(FakeLLM.instances) == 1


def test_data_parallel_size_reaches_the_engine(fake_vllm, tiny_model_dir):
    backend = VLLMBackend(str(tiny_model_dir), data_parallel_size=8)
    assert backend.engine_kwargs(Decoding())["data_parallel_size"] == 8
    assert backend.describe()["data_parallel_size"] == 8
    assert "data_parallel_size" not in VLLMBackend(str(tiny_model_dir)).engine_kwargs(Decoding())


# -- max_model_len: Look-Back's 8,192 unless asked otherwise ------------------------------------------


@pytest.mark.parametrize(
    ("flag", "engine", "recorded"),
    [
        ([], 8192, 8192),  # the default: Look-Back's engine, not the model's 128K
        (["--max-model-len", "16384"], 16384, 16384),
        (["--max-model-len", "0"], None, 0),  # 0: the model's own (the engine gets no max_model_len)
    ],
)
def test_max_model_len_reaches_the_engine_and_config_json(fake_vllm, tiny_model_dir, tmp_path, monkeypatch,
                                                          flag, engine, recorded):  # fmt: skip
    """Through the command line: the flag (or its default) is what `vllm.LLM` receives and what config.json
    records, both in the run's backend options and in the backend's own settings (null: the model's own)."""
    monkeypatch.setenv("VGPO_CACHE", str(tmp_path / "cache"))
    data = synthetic.write(tmp_path / "data", ["counting"], n=2)
    out = tmp_path / "run"
    argv = ["run", "--tasks", "counting", "--model", str(tiny_model_dir), "--backend", "vllm", "--source", "local",
            "--data-dir", str(data), "--out", str(out), "--protocols", "strict", "--workers", "1", *flag]  # fmt: skip
    assert main(argv) in (0, 1)
    (llm,) = FakeLLM.instances
    assert llm.kwargs.get("max_model_len") == engine and ("max_model_len" in llm.kwargs) == (
        engine is not None
    )
    config = json.loads((out / "config.json").read_text())
    assert config["run"]["backend_options"]["max_model_len"] == recorded
    assert config["backend"]["max_model_len"] == engine


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (
            ["--max-model-len", "2048"],
            "--max-model-len 2048 leaves no room for a prompt beside --max-new-tokens 2048",
        ),
        (["--max-model-len", "4000", "--max-new-tokens", "4096"], "--max-model-len 4000 leaves no room"),
        (["--max-model-len", "-1"], "argument --max-model-len: '-1' is not a whole number >= 0"),
        (["--max-model-len", "8k"], "argument --max-model-len: '8k' is not a whole number >= 0"),
    ],
)
def test_a_max_model_len_too_small_is_refused_before_anything_loads(fake_vllm, tiny_model_dir, tmp_path, capsys,
                                                                    flags, says):  # fmt: skip
    argv = ["run", "--tasks", "counting", "--model", str(tiny_model_dir), "--backend", "vllm",
            "--out", str(tmp_path / "run"), *flags]  # fmt: skip
    with pytest.raises(SystemExit) as exited:
        main(argv)
    assert exited.value.code == 2 and says in capsys.readouterr().err
    assert not FakeLLM.instances and not (tmp_path / "run").exists()


def test_max_model_len_in_the_backend_itself(fake_vllm, tiny_model_dir, requests):
    """Without the command line (`--backend auto`, the Python API): the same default, 0 or None for the model's
    own, a negative value refused at once, and a context too small for --max-new-tokens refused before the
    engine is built."""
    assert VLLMBackend(str(tiny_model_dir)).engine_kwargs(Decoding())["max_model_len"] == 8192
    assert BACKENDS["vllm"](str(tiny_model_dir)).describe()["max_model_len"] == 8192
    for own in (0, None):
        backend = VLLMBackend(str(tiny_model_dir), max_model_len=own)
        assert "max_model_len" not in backend.engine_kwargs(Decoding())
        assert backend.describe()["max_model_len"] is None
    with pytest.raises(ValueError, match="--max-model-len -1 is not a whole number"):
        VLLMBackend(str(tiny_model_dir), max_model_len=-1)
    small = VLLMBackend(str(tiny_model_dir), max_model_len=1024)
    with pytest.raises(ValueError, match="--max-model-len 1024 leaves no room .* --max-new-tokens 2048"):
        list(small.generate(requests[:1], Decoding()))
    assert not FakeLLM.instances
    list(small.generate(requests[:1], Decoding(max_new_tokens=64)))
    assert FakeLLM.instances[0].kwargs["max_model_len"] == 1024
