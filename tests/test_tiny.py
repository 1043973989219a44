"""The tiny offline Qwen2.5-VL reloads with the Auto classes, formats chats, sees images and generates."""

from __future__ import annotations

import pytest

torch = pytest.importorskip("torch")
transformers = pytest.importorskip("transformers")

CONVERSATION = [
    {
        "role": "user",
        "content": [{"type": "image"}, {"type": "text", "text": "What is x? Answer in \\boxed{}."}],
    }
]


@pytest.fixture(scope="module")
def processor(tiny_model_dir):
    return transformers.AutoProcessor.from_pretrained(tiny_model_dir)


@pytest.fixture(scope="module")
def model(tiny_model_dir):
    return transformers.AutoModelForImageTextToText.from_pretrained(tiny_model_dir).eval()


@pytest.fixture(scope="module")
def inputs(processor):
    from PIL import Image

    text = processor.apply_chat_template(CONVERSATION, add_generation_prompt=True, tokenize=False)
    image = Image.new("RGB", (64, 64), (200, 30, 90))
    return processor(text=[text], images=[image], return_tensors="pt")


def test_reloads_as_qwen2_5_vl(model, processor):
    assert type(model).__name__ == "Qwen2_5_VLForConditionalGeneration"
    assert type(processor).__name__ == "Qwen2_5_VLProcessor"
    tok = processor.tokenizer
    assert model.config.image_token_id == tok.convert_tokens_to_ids("<|image_pad|>")
    assert model.config.video_token_id == tok.convert_tokens_to_ids("<|video_pad|>")
    assert model.config.vision_start_token_id == tok.convert_tokens_to_ids("<|vision_start|>")
    gen = model.generation_config
    assert gen.eos_token_id == tok.eos_token_id == tok.convert_tokens_to_ids("<|im_end|>")
    assert gen.pad_token_id == tok.pad_token_id == tok.convert_tokens_to_ids("<|endoftext|>")
    assert model.num_parameters() < 1_000_000


def test_chat_template(processor):
    text = processor.apply_chat_template(CONVERSATION, add_generation_prompt=True, tokenize=False)
    assert text == (
        "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
        "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>What is x? Answer in \\boxed{}.<|im_end|>\n"
        "<|im_start|>assistant\n"
    )


def test_special_tokens_are_single_ids(processor):
    tok = processor.tokenizer
    ids = tok("<|im_start|>user<|vision_start|><|image_pad|><|vision_end|><|im_end|>")["input_ids"]
    assert tok.convert_ids_to_tokens(ids[:1] + ids[-4:]) == [
        "<|im_start|>",
        "<|vision_start|>",
        "<|image_pad|>",
        "<|vision_end|>",
        "<|im_end|>",
    ]
    text = "<think> x = 45 </think> The answer is \\boxed{\\frac{1}{2}}."
    assert tok.decode(tok(text)["input_ids"]) == text


def test_processor_expands_image(processor, inputs):
    assert inputs["image_grid_thw"].tolist() == [[1, 4, 4]]  # 64x64 -> 56x56 -> 4x4 patches
    assert inputs["pixel_values"].shape == (16, 3 * 2 * 14 * 14)
    n_image_tokens = (inputs["input_ids"] == processor.tokenizer.convert_tokens_to_ids("<|image_pad|>")).sum()
    assert n_image_tokens == 16 // 4


def test_generate_on_cpu(model, inputs):
    with torch.no_grad():
        out = model.generate(**inputs, max_new_tokens=8, do_sample=False)
    prompt_len = inputs["input_ids"].shape[1]
    assert out.shape[0] == 1 and prompt_len < out.shape[1] <= prompt_len + 8
    assert torch.equal(out[:, :prompt_len], inputs["input_ids"])


def test_norm_hook_equals_last_hidden_state(model, inputs):
    captured = []
    handle = model.model.language_model.norm.register_forward_hook(lambda m, a, o: captured.append(o))
    try:
        with torch.no_grad():
            out = model(**inputs, output_hidden_states=True)
    finally:
        handle.remove()
    assert len(captured) == 1
    assert captured[0].shape == (1, inputs["input_ids"].shape[1], model.config.text_config.hidden_size)
    assert torch.allclose(captured[0], out.hidden_states[-1])


def test_same_seed_same_weights(tmp_path):
    from safetensors.torch import load_file

    from vgpo_eval.tiny import build_tiny_qwen2_5_vl

    a = load_file(build_tiny_qwen2_5_vl(tmp_path / "a", seed=3) / "model.safetensors")
    b = load_file(build_tiny_qwen2_5_vl(tmp_path / "b", seed=3) / "model.safetensors")
    c = load_file(build_tiny_qwen2_5_vl(tmp_path / "c", seed=4) / "model.safetensors")
    assert a.keys() == b.keys() and all(torch.equal(a[k], b[k]) for k in a)
    assert any(not torch.equal(a[k], c[k]) for k in a)


def test_layers_argument(tmp_path):
    from vgpo_eval.tiny import build_tiny_qwen2_5_vl

    config = transformers.AutoConfig.from_pretrained(build_tiny_qwen2_5_vl(tmp_path, layers=8))
    assert config.text_config.num_hidden_layers == 8
