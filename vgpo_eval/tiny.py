"""A tiny random-weight Qwen2.5-VL checkpoint, built offline in seconds.

Tests, the offline CPU demo and the trainer smoke tests need a real Qwen2.5-VL (same classes,
same processor, same chat template) but cannot download weights. This writes one: a byte-level
BPE tokenizer trained on a few built-in lines plus Qwen's special tokens, the Qwen2-VL image and
video processors with small pixel bounds (a 64x64 image is 16 patches, 4 tokens), and a
Qwen2.5-VL with text hidden 64 and vision hidden 32. It reloads with `AutoProcessor` and
`AutoModelForImageTextToText`.

    python -m vgpo_eval.tiny OUT_DIR [--layers N] [--seed S]
"""

from __future__ import annotations

import argparse
from pathlib import Path

SPECIAL_TOKENS = [
    "<|endoftext|>",
    "<|im_start|>",
    "<|im_end|>",
    "<|object_ref_start|>",
    "<|object_ref_end|>",
    "<|box_start|>",
    "<|box_end|>",
    "<|quad_start|>",
    "<|quad_end|>",
    "<|vision_start|>",
    "<|vision_end|>",
    "<|vision_pad|>",
    "<|image_pad|>",
    "<|video_pad|>",
]

# Qwen2.5-VL's own template (chat_template.json of Qwen/Qwen2.5-VL-7B-Instruct).
CHAT_TEMPLATE = (
    "{% set image_count = namespace(value=0) %}{% set video_count = namespace(value=0) %}"
    "{% for message in messages %}{% if loop.first and message['role'] != 'system' %}"
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n{% endif %}"
    "<|im_start|>{{ message['role'] }}\n"
    "{% if message['content'] is string %}{{ message['content'] }}<|im_end|>\n"
    "{% else %}{% for content in message['content'] %}"
    "{% if content['type'] == 'image' or 'image' in content or 'image_url' in content %}"
    "{% set image_count.value = image_count.value + 1 %}"
    "{% if add_vision_id %}Picture {{ image_count.value }}: {% endif %}"
    "<|vision_start|><|image_pad|><|vision_end|>"
    "{% elif content['type'] == 'video' or 'video' in content %}"
    "{% set video_count.value = video_count.value + 1 %}"
    "{% if add_vision_id %}Video {{ video_count.value }}: {% endif %}"
    "<|vision_start|><|video_pad|><|vision_end|>"
    "{% elif 'text' in content %}{{ content['text'] }}{% endif %}{% endfor %}<|im_end|>\n"
    "{% endif %}{% endfor %}{% if add_generation_prompt %}<|im_start|>assistant\n{% endif %}"
)

CORPUS = [
    "You are a helpful assistant. Answer the question about the image.",
    "What is the value of x in the figure? Choices: A. 30 B. 45 C. 60 D. 90",
    "<think> The angle sum of a triangle is 180 degrees, so x = 180 - 75 - 60 = 45. </think>",
    "The final answer is \\boxed{45}. Therefore the answer is B.",
    "Let f(x) = \\frac{1}{2}x^2 + 3x - 7, then f'(x) = x + 3 and \\sqrt{16} = 4.",
    "0 1 2 3 4 5 6 7 8 9 10 12.5 3.14 -2 100% 1/3 (1, 2) [0, 1]",
    "Hint: Please answer the question and provide the correct option letter at the end.",
    "The area of the circle is \\pi r^2 = 25\\pi cm^2, and the ratio is \\frac{a}{b}.",
    "Yes or no? How many objects are shown in the picture? Select the best answer.",
]


def _tokenizer(vocab_size: int = 400):
    """Byte-level BPE on CORPUS plus Qwen's special tokens, as a PreTrainedTokenizerFast."""
    from tokenizers import Tokenizer, decoders, models, pre_tokenizers, trainers
    from transformers import PreTrainedTokenizerFast

    bpe = Tokenizer(models.BPE())
    bpe.pre_tokenizer = pre_tokenizers.ByteLevel(add_prefix_space=False)
    bpe.decoder = decoders.ByteLevel()
    trainer = trainers.BpeTrainer(
        vocab_size=vocab_size,
        special_tokens=SPECIAL_TOKENS,
        initial_alphabet=pre_tokenizers.ByteLevel.alphabet(),
        show_progress=False,
    )
    bpe.train_from_iterator(CORPUS, trainer=trainer)
    return PreTrainedTokenizerFast(
        tokenizer_object=bpe,
        eos_token="<|im_end|>",
        pad_token="<|endoftext|>",
        unk_token=None,
        additional_special_tokens=SPECIAL_TOKENS[3:],
        chat_template=CHAT_TEMPLATE,
        model_max_length=4096,
        padding_side="left",
        clean_up_tokenization_spaces=False,
    )


def _processor(tokenizer):
    """Qwen2.5-VL processor whose pixel bounds keep a 64x64 image to 4 merged tokens."""
    from transformers import Qwen2_5_VLProcessor, Qwen2VLImageProcessor, Qwen2VLVideoProcessor

    size = {"shortest_edge": 56 * 56, "longest_edge": 112 * 112}  # min_pixels 3136, max_pixels 12544
    kw = dict(size=size, patch_size=14, temporal_patch_size=2, merge_size=2)
    return Qwen2_5_VLProcessor(
        image_processor=Qwen2VLImageProcessor(**kw),
        tokenizer=tokenizer,
        video_processor=Qwen2VLVideoProcessor(**kw),
        chat_template=CHAT_TEMPLATE,
    )


def _config(tokenizer, layers: int):
    """Qwen2_5_VLConfig: text 64 wide, `layers` deep, 4 heads / 2 kv heads; vision 32 wide, depth 2."""
    from transformers import Qwen2_5_VLConfig

    ids = {t: tokenizer.convert_tokens_to_ids(t) for t in SPECIAL_TOKENS}
    text = dict(
        vocab_size=len(tokenizer),
        hidden_size=64,
        intermediate_size=128,
        num_hidden_layers=layers,
        num_attention_heads=4,
        num_key_value_heads=2,
        max_position_embeddings=4096,
        max_window_layers=layers,
        # head_dim 16: the three M-RoPE sections (time, height, width) must sum to 16 / 2
        rope_parameters={"rope_type": "default", "rope_theta": 1e6, "mrope_section": [2, 3, 3]},
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
    )
    vision = dict(
        depth=2,
        hidden_size=32,
        intermediate_size=64,
        num_heads=2,
        out_hidden_size=64,
        fullatt_block_indexes=[1],
        patch_size=14,
        spatial_merge_size=2,
        temporal_patch_size=2,
    )
    return Qwen2_5_VLConfig(
        text_config=text,
        vision_config=vision,
        image_token_id=ids["<|image_pad|>"],
        video_token_id=ids["<|video_pad|>"],
        vision_start_token_id=ids["<|vision_start|>"],
        vision_end_token_id=ids["<|vision_end|>"],
        bos_token_id=ids["<|endoftext|>"],
        eos_token_id=ids["<|im_end|>"],
        pad_token_id=ids["<|endoftext|>"],
        tie_word_embeddings=False,
    )


def build_tiny_qwen2_5_vl(out_dir: str | Path, seed: int = 0, layers: int = 2) -> Path:
    """Write a ~1 MB random Qwen2.5-VL (text hidden 64, `layers` layers, 4 heads, 2 kv heads, vision depth 2,
    hidden 32) with a byte-level BPE tokenizer carrying Qwen's special tokens, and its processor. Returns out_dir."""
    import torch
    from transformers import GenerationConfig, Qwen2_5_VLForConditionalGeneration

    out = Path(out_dir)
    tokenizer = _tokenizer()
    config = _config(tokenizer, layers)
    torch.manual_seed(seed)
    model = Qwen2_5_VLForConditionalGeneration(config).eval()
    model.generation_config = GenerationConfig(
        bos_token_id=config.text_config.bos_token_id,
        eos_token_id=config.text_config.eos_token_id,
        pad_token_id=config.text_config.pad_token_id,
        do_sample=False,
    )
    model.save_pretrained(out)
    _processor(tokenizer).save_pretrained(out)
    return out


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m vgpo_eval.tiny", description=__doc__.splitlines()[0])
    parser.add_argument("out_dir", help="folder to write the checkpoint into")
    parser.add_argument("--layers", type=int, default=2, help="text decoder layers (8+ for benchmarks)")
    parser.add_argument("--seed", type=int, default=0, help="torch seed for the random weights")
    args = parser.parse_args(argv)
    print(build_tiny_qwen2_5_vl(args.out_dir, seed=args.seed, layers=args.layers))


if __name__ == "__main__":
    main()
