"""CPU seconds each protocol spends on hostile inputs; the target is every check under 2 CPU seconds.

Inputs: the table of tests/test_robustness.py, then generated shapes: each of ~90 tokens that the
checker's patterns look for (newlines, "Wait,", braces, "answer is", letters, "or", CJK cues, ...)
repeated to just under the length checked in the caller's own process (`INLINE_CHARS`) and to
just over it, inside a few shells (a box before, a box after, an "answer is" lead, a <think>
block), against number, choice, multi-select, expression and precision golds; then shapes of
10 MB. CPU time is the checking process's own plus its guard helpers', so the figure does not move
with the machine's load. Printed per protocol: inputs, the slowest check that reached a verdict
and its input, and how many checks were stopped at their CPU limit instead (a visible `timeout:`
verdict; the helper that ran one is replaced, so its seconds are not in the slowest figure).

    python benchmarks/checker_adversarial.py [--quick]
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))

from test_robustness import ADVERSARIAL  # noqa: E402

from vgpo_eval.checker import PROTOCOLS, check, guard  # noqa: E402
from vgpo_eval.checker.protocols import INLINE_CHARS  # noqa: E402
from vgpo_eval.checker.rewards import easyr1_compute_score  # noqa: E402
from vgpo_eval.types import Sample  # noqa: E402

TOKENS = (
    "\n", " ", "\t", "Wait, ", "wait\n", "answer is ", "\\boxed{", "{", "}", "(", ")", "$", "**", "*", "A", "A, ",
    "(A) ", "A or ", "1,", "1 ", "1", "=", "= ", "x = 1 ", "Question", "Question ", "Q:", "<answer>", "</answer>",
    "<think>", "</think>", "or ", "and ", "1.", "1/", "-", "\\frac{", "\\sqrt{", "^", "^{", "_", "\\", "\\\\", ".",
    ". ", "...", "Final answer: ", "Answer:", "：", "答案", "选", "√", "°", "%", "€", "\\text{", "\\left(",
    "\\right)", "[", "]", "|", "&", "->", "→", "✔", "i.e. ", "Note: ", "between ", "at least ", "either ",
    "1 and ", "5 or 6 ", '"answer": ', '{"', "0", "1e", "1,000", "1'000", "one ", "half ", "2½", "#", "- ",
    "1. ", "**A**", "\\(", "\\[", "\u200b", "Ｃ", "π", "xy", "D (", "Option ", "The answer is (", "$\\boxed{",
    " cm", "\\approx ", "≈", "Wait, let me recheck.\n", "\\boxed{A} ", "\\boxed{1} ", "Both are plausible. ",
    "If x, \\boxed{2}. ", "the width is \\boxed{4} ", "<Answer>: ", "Answer: $LETTER\n", "5 (", "1 + ", "cents ",
    "\\boxed{3}\\sqrt{3}", "I made an error. ",
)  # fmt: skip
SHELLS = (
    ("", ""),
    ("\\boxed{3}", ""),
    ("", "\\boxed{3}"),
    ("The answer is ", ""),
    ("<think>", "</think>\\boxed{B}"),
)
GOLDS = (
    Sample(id="n", task="t", question="", answer="3"),
    Sample(id="c", task="t", question="", answer="B", choices=("1", "2", "3", "4")),
    Sample(id="m", task="t", question="", answer="A, C", choices=("p", "q", "r", "s")),
    Sample(id="e", task="t", question="", answer="x^2+1"),
    Sample(id="p", task="t", question="", answer="1.5", precision=1),
)
HUGE = (
    "x" * 10_000_000,
    "\\boxed{3} Wait, let me recheck." + "\n" * 10_000_000,
    "{" * 5_000_000 + "}" * 5_000_000,
    "\\boxed{" * 1_400_000,
    "\\boxed{" + "1" * 10_000_000 + "}",
    "The answer is " + "A or " * 2_000_000,
    "<answer>1 (" + "+" * 5_000_000 + "(x)</answer>",  # a value's breakdown that never closes
    "".join(
        f"\\boxed{{{i}}} maybe " for i in range(500_000)
    ),  # boxes offered as alternatives, by the thousand
)


def cases(quick: bool):
    yield from ((text, Sample(id="adv", task="t", question="", answer=gold)) for text, gold in ADVERSARIAL)
    for size in (INLINE_CHARS - 1, INLINE_CHARS + 1):
        for token in TOKENS[:: 8 if quick else 1]:
            body = token * (size // len(token) + 1)
            for before, after in SHELLS:
                text = (before + body)[: size - len(after)] + after
                yield from ((text, gold) for gold in GOLDS)
    yield from ((text, GOLDS[0]) for text in HUGE[: 2 if quick else None])


def cpu_of(fn) -> tuple[object, float]:
    """(result, CPU seconds of this process and its guard helpers while `fn` ran)."""
    helpers = {h: h.cpu() or 0.0 for h in list(guard._all)}
    start = time.process_time()
    result = fn()
    used = time.process_time() - start
    return result, used + sum((h.cpu() or 0.0) - helpers.get(h, 0.0) for h in list(guard._all))


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--quick", action="store_true", help="every 8th token, two 10 MB shapes")
    args = parser.parse_args()
    guard.warm_up()
    for protocol in PROTOCOLS:
        worst, count, timeouts, errors = (0.0, ""), 0, 0, 0
        for text, sample in cases(args.quick):
            verdict, used = cpu_of(lambda t=text, s=sample, p=protocol: check(t, s, p))
            count += 1
            timeouts += verdict.timed_out
            errors += verdict.failed and not verdict.timed_out
            if not verdict.failed:
                worst = max(worst, (used, f"{len(text):,} chars {text[:30]!r}"))
        print(f"{protocol:>7}: {count} inputs, slowest verdict {worst[0]:.3f} CPU s ({worst[1]}); "
              f"{timeouts} stopped at a CPU limit (verdict timeout:), {errors} errors")  # fmt: skip
    long = [{"response": "<think>" + "</think>\\boxed{" * 3000, "ground_truth": "1"}]
    _, used = cpu_of(lambda: easyr1_compute_score(long, format_weight=0.1))
    print(f" easyr1: the format reward on a 45 KB response, {used:.3f} CPU s")


if __name__ == "__main__":
    main()
