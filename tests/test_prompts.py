"""The paper's evaluation prompt rendered through a real Qwen2.5-VL processor's chat template."""

from vgpo_eval.prompts import PROMPTS, SEPARATORS, render
from vgpo_eval.types import Sample

EXPECTED = (
    "<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n"
    "<|im_start|>user\n<|vision_start|><|image_pad|><|vision_end|>How many cubes are there?{separator}{instruction}<|im_end|>\n"
    "<|im_start|>assistant\n"
)


def test_render_snapshot(tiny_model_dir):
    from transformers import AutoProcessor

    processor = AutoProcessor.from_pretrained(tiny_model_dir)
    sample = Sample(
        id="c/1", task="counting", question="How many cubes are there?", answer="3", images=("x.png",)
    )
    for variant, instruction in PROMPTS.items():
        expected = EXPECTED.format(separator=SEPARATORS[variant], instruction=instruction)
        assert (
            render(processor, sample, variant) == expected
        )  # Look-Back: a space; VGPO's template: a blank line
