"""Extraction as a table: (response, final committed answer, how it was found)."""

import pytest

from vgpo_eval.checker.extract import final_answer

TABLE = [
    ("\\boxed{5}", "5", "boxed"),
    ("\\fbox{5}", "5", "boxed"),
    ("\\boxed {\\frac{1}{2}}", "\\frac{1}{2}", "boxed"),
    ("\\boxed{\\boxed{5}}", "5", "boxed"),
    ("a \\boxed{3} then \\boxed{4}", "4", "boxed"),
    ("\\boxed{3} or \\boxed{4}", None, "hedge"),
    ("either \\boxed{3}, or maybe \\boxed{4}", None, "hedge"),
    ("\\boxed{3} and \\boxed{4}", "3, 4", "boxed"),
    ("\\boxed{4} or \\boxed{4}", "4", "boxed"),
    ("\\boxed{}", None, "empty"),
    ("so \\boxed{12", None, "truncated"),
    ("<think>so 12</think><answer>13</answer>", "13", "answer_tag"),
    ("<think>so 12</think><answer>13", "13", "answer_tag"),
    ("<answer>\\boxed{7}</answer>", "7", "answer_tag"),
    ("\\boxed{1} <answer>2</answer>", "2", "answer_tag"),
    ("<answer>2</answer> wait \\boxed{1}", "1", "boxed"),
    ("<think>\\boxed{5}</think>", "5", "boxed"),
    ("<think>the answer is 5", None, "truncated"),
    ("<think>x</think>The answer is 7.", "7", "cue"),
    ("Final Answer: The final answer is $\\frac{3}{4}$. I hope it is correct.", "\\frac{3}{4}", "cue"),
    ("The correct option is (D).", "D", "cue"),
    ("**Answer:** B", "B", "cue"),
    ("Therefore, the area of the triangle is $24$.", "24", "conclusion"),
    ("Thus the two roots are $1$ and $-2$", "1 and -2", "conclusion"),
    ("So the slope is 3/4.\n", "3/4", "conclusion"),
    ("Let me compute the base, which is 6 and the height is", None, "truncated"),
    ("B", "B", "last_line"),
    ("After counting: **7** blocks.", "7", "last_line"),
    ("I think it matches option C best.", "C", "last_line"),
    ("", None, "none"),
    ("The answer is 5<|im_end|>The answer is 6", "5", "cue"),
]


@pytest.mark.parametrize("response, answer, how", TABLE)
def test_final_answer(response, answer, how):
    found = final_answer(response)
    assert (found.answer, found.how) == (answer, how)
