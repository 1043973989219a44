"""The `strict` protocol as a table: (response, gold, choices, expected verdict).

Rows are grouped by the rule they exercise; add a row for every real failure found.
"""

import pytest

from vgpo_eval.checker.protocols import check
from vgpo_eval.types import Sample

SQ = ["3", "4", "5", "6"]
SHAPES = ["Trapezoid", "Rhombus", "Circle", "Parallelogram"]
FRACS = ["1/4", "3/8", "5/8", "3/4"]
BARS = ["larger than", "equal to", "smaller than"]

NUMBERS = [
    ("\\boxed{3.50}", "3.5", None, True),
    ("\\boxed{3.5}", "3.50", None, True),
    ("\\boxed{3.49}", "3.5", None, True),  # rounded to the gold's stated precision (MathVista)
    ("\\boxed{3.44}", "3.5", None, False),
    ("\\boxed{35}", "3.5", None, False),
    ("\\boxed{1,234}", "1234", None, True),
    ("\\boxed{1{,}234}", "1234", None, True),
    ("\\boxed{1.2 \\times 10^{3}}", "1200", None, True),
    ("\\boxed{1.2e3}", "1200", None, True),
    ("\\boxed{-7}", "-7", None, True),
    ("\\boxed{7}", "-7", None, False),
    ("\\boxed{\\frac{3}{2}}", "1.5", None, True),
    ("\\boxed{1\\frac{1}{2}}", "1.5", None, True),
    ("\\boxed{0.67}", "\\frac{2}{3}", None, True),
    ("\\boxed{0.7}", "\\frac{2}{3}", None, False),
    ("\\boxed{\\frac{4}{6}}", "\\frac{2}{3}", None, True),
    ("\\boxed{12/5}", "2.4", None, True),
    ("\\boxed{1.0}", "1", None, True),
    ("\\boxed{1.5}", "1", None, False),
    ("\\boxed{42}", "24", None, False),
    ("\\boxed{\\$1,000}", "1000", None, True),
    ("\\boxed{1000 \\text{ dollars}}", "1000", None, True),
    ("\\boxed{\\text{twelve}}", "12", None, True),
    ("\\boxed{\\text{eleven}}", "12", None, False),
    ("\\boxed{2 \\cdot 6}", "12", None, True),
    ("\\boxed{2 \\cdot 7}", "12", None, False),
]
PERCENT_UNITS_DEGREES = [
    ("\\boxed{25\\%}", "0.25", None, True),
    ("\\boxed{0.25}", "25\\%", None, True),
    ("\\boxed{25}", "0.25", None, False),
    ("\\boxed{2.5 \\text{ cm}}", "2.5", None, True),
    ("\\boxed{25 \\text{ mm}}", "2.5 cm", None, True),
    ("\\boxed{2.5 \\text{ m}}", "2.5 cm", None, False),
    ("\\boxed{3 \\text{ hours}}", "180 minutes", None, True),
    ("\\boxed{3 \\text{ kg}}", "3 m", None, False),
    ("\\boxed{12 \\text{ cm}^2}", "12", None, True),
    ("\\boxed{90^\\circ}", "90", None, True),
    ("\\boxed{45 \\text{ degrees}}", "45°", None, True),
    ("\\boxed{\\frac{\\pi}{2}}", "90", None, True),  # a bare gold in degrees, answered in radians: one angle
    ("\\boxed{\\frac{\\pi}{2}}", "45", None, False),  # another angle
    ("\\boxed{\\pi}", "3", None, False),  # 180 degrees, and not 3 either
    ("\\boxed{m\\angle B = 40^\\circ}", "40", None, True),
]
EXPRESSIONS = [
    ("\\boxed{2\\sqrt{2}}", "\\sqrt{8}", None, True),
    ("\\boxed{\\frac{\\sqrt{3}}{2}}", "\\frac{1}{2}\\sqrt{3}", None, True),
    ("\\boxed{\\sqrt{3}/2}", "\\frac{\\sqrt{3}}{2}", None, True),
    ("\\boxed{0.866}", "\\frac{\\sqrt{3}}{2}", None, True),
    ("\\boxed{0.9}", "\\frac{\\sqrt{3}}{2}", None, False),
    ("\\boxed{12.57}", "4\\pi", None, True),
    ("\\boxed{12.6}", "4\\pi", None, False),
    ("\\boxed{4\\pi}", "4 \\pi", None, True),
    ("\\boxed{2x+1}", "1+2x", None, True),
    ("\\boxed{2x-1}", "2x+1", None, False),
    ("\\boxed{y = 2x + 1}", "2x+1", None, True),
    ("\\boxed{x^{2}}", "x^2", None, True),
    ("\\boxed{\\frac{1}{x}}", "x^{-1}", None, True),
    ("\\boxed{\\frac{1}{x}}", "x", None, False),
]
STRUCTURES = [
    ("\\boxed{(1, 2)}", "(1,2)", None, True),
    ("\\boxed{(2, 1)}", "(1,2)", None, False),
    ("\\boxed{x = 1, y = 2}", "(1,2)", None, True),
    ("\\boxed{2, 3}", "3, 2", None, True),
    ("\\boxed{x=2 \\text{ or } x=3}", "2, 3", None, True),  # listing both roots is not a hedge
    ("\\boxed{2 \\text{ and } 3}", "2, 3", None, True),
    ("\\boxed{2}", "2, 3", None, False),
    ("\\boxed{[1, 3)}", "[1,3)", None, True),
    ("\\boxed{(1, 3)}", "[1,3)", None, False),
    ("\\boxed{\\{2, 4\\}}", "\\{4, 2\\}", None, True),
    ("\\boxed{(2, 4)}", "\\{4, 2\\}", None, False),
    ("\\boxed{\\pm 3}", "3, -3", None, True),
    ("\\boxed{3}", "\\pm 3", None, False),
    ("\\boxed{b = 2, a = 1}", "a = 1, b = 2", None, True),
    ("\\boxed{b = 1, a = 2}", "a = 1, b = 2", None, False),
]
CHOICES = [
    ("\\boxed{B}", "B", SQ, True),
    ("\\boxed{(b)}", "B", SQ, True),
    ("The answer is option D.", "D", SQ, True),
    ("\\boxed{\\textbf{(D)}}", "D", SQ, True),
    ("\\boxed{4}", "B", SQ, True),
    ("\\boxed{4}", "C", SQ, False),
    ("\\boxed{E}", "B", SQ, False),  # not an option at all
    ("\\boxed{A}", "Trapezoid", SHAPES, True),
    ("\\boxed{trapezoid}", "A", SHAPES, True),
    ("\\boxed{A trapezoid}", "A", SHAPES, True),
    ("\\boxed{A circle}", "A", SHAPES, False),
    ("\\boxed{\\text{None of these}}", "D", SHAPES, False),
    ("\\boxed{0.375}", "B", FRACS, True),
    ("\\boxed{\\frac{3}{8}}", "3/8", FRACS, True),
    ("\\boxed{A, C}", "A, C", None, True),
    ("\\boxed{C, A}", "AC", None, True),
    ("\\boxed{A and C}", "A,C", None, True),
    ("\\boxed{A}", "A, C", None, False),
    ("\\boxed{A, B, C}", "A, C", None, False),
    ("So the answer is (C) 5.", "C", SQ, True),
    ("Final answer: B", "B", None, True),
    ("\\boxed{B}", "A", None, False),
]
GROWN_FROM_FAILURES = [  # rules found by an independent labelled set; rows rephrased here
    ("Reading the chart, the tallest bar is 7.\n\n**7**", "7", None, True),  # bold last line
    ("The area is computed below, so it is 9 or so.\n\n**9 square units**", "9", None, True),
    ("I would pick G: nothing else fits.", "G", list("ABCDEFGHIJ"), True),  # "I" is a pronoun here
    ("I would pick G: nothing else fits.", "I", list("ABCDEFGHIJ"), False),
    ("C and E belong to the first group.", "C, E", None, True),
    ("The answer is A, C, and D.", "A, C, D", None, True),
    ("answer: b, d", "B, D", None, True),
    ("So the answer is both A and B.", "A, B", None, True),
    ("The answer is 30, 40.", "C", ["3, 4", "4, 3", "30, 40", "40, 30"], True),  # exact option text wins
    ("\\boxed{Both A and C}", "B", ["Acute", "Both A and C", "Cannot tell"], True),
    ("\\boxed{25°}", "A", ["A: 25°", "B: 50°"], True),  # options that repeat their letter
    ("So r ≈ 4.47.", r"2\sqrt{5}", None, True),
    ("Total = 12 + 30 = 42 metres", "42", None, True),
    ("The rope is 1.2 km long.", "1200 metres", None, True),
    ("Answer: 10 m/s", "36 km/h", None, True),
    ("Answer: 10 m/s", "10 km/h", None, False),
    ("The hypotenuse is $\\sqrt{8}$ cm.", "2\\sqrt{2}", None, True),
    ("\\boxed{x \\ge 3}", "[3, \\infty)", None, True),
    ("\\boxed{x > 3}", "[3, \\infty)", None, False),
    ("The solution set is (−∞, 4).", "(-\\infty, 4)", None, True),
    ("Hence $-2 < x \\le 5$.", "(-2, 5]", None, True),
    ("Therefore $x < 0$ or $x > 2$.", "(-\\infty, 0) \\cup (2, \\infty)", None, True),
    ("Therefore $x < 0$ or $x > 2$.", "(2, \\infty)", None, False),
    ("The bearing of B from A is 120° T.", "120^\\circ T", None, True),
    ("So the ball rolls right.", "right", None, True),
    ("So the ball does not roll right.", "right", None, False),
    ("The clock shows 3:15.", "3:15", None, True),
    ("I count seven cars in the lot", "7", None, True),
    ("The blue curve has the largest area. No.", "No", ["Yes", "No"], True),
    ("Let me compute the width, which is 6 and the height is", "6", None, False),  # cut off
    ("The two towns are about 41.7 kilometres apart by road, i.e. $s \\approx 41.7$.", "41.7", None, True),
    ("\\boxed{305^\\circ}", "305 ^\\circ T", None, True),  # a true bearing's T
    ("Area = 3 × 4 = 12 m².", "A", ["12", "7", "14", "No correct answer"], True),
    ("\\boxed{0.25, 0.75}", "B", ["0.75 0.25", "0.25 0.75", "0.5 0.5"], True),  # ordered pair of an option
    (
        "Hence the correct statement is: the line is vertical.",
        "C",
        ["it is flat", "it rises", "the line is vertical"],
        True,
    ),
    ("$\\cos x = \\dfrac{\\sqrt3}{2}$", "B", ["\\frac{1}{2}", "\\frac{\\sqrt{3}}{2}"], True),
    ("m\\angle PQR = 45^{\\circ}", "B", ["30", "45", "60"], True),
    ("AB = 7", "7", None, True),
    ("Work it out step by step.\n\n**Answer**: 3.2 m/s²", "3.2", None, True),  # bold around the cue
    ("Final answer (speed): 12 m/s", "12 m/s", None, True),
    ("所以角度为 40°。\n故选 B。", "B", ["30°", "40°", "50°"], True),
    ("答案是 A", "A", None, True),
    ("Answer: V = 9 V", "9", None, True),
    ("\\boxed{250 \\text{ mA}}", "0.25 A", None, True),
    ("\\boxed{250 \\text{ mA}}", "0.25 V", None, False),
    ("\\boxed{7.2 \\times 10^{6} \\text{ J}}", "2 kWh", None, True),
    ("\\boxed{8 \\Omega}", "8 ohm", None, True),
    ("\\boxed{2.5 \\text{ g/cm}^3}", "2.5 \\times 10^{3} kg/m^3", None, True),
    ("So the force is 20 N (to the right).", "20", None, True),
    ("No, they are not equal.", "No", None, True),
    ("Yes, the left one is taller (about 9 vs 7).", "Yes", None, True),
    ("There seem to be about 8 to 9 cups on the shelf.", "8", None, False),  # a range is a hedge
    ("There were twelve eggs; after cooking 5 of them, seven are left.", "7", None, True),
    ("\\boxed{H_2SO_4}", "H2SO4", None, True),
    ("\\boxed{\\text{Bb}}", "BB", None, False),  # genotypes: case matters
    ("\\boxed{4\\sqrt{3}}", "6.93", None, True),  # a decimal gold, an exact answer that rounds to it
    ("\\boxed{4\\sqrt{3}}", "6.9", None, True),
    ("\\boxed{4\\sqrt{3}}", "6.94", None, False),
    ("It matches the description best (option G).", "G", list("ABCDEFGHIJ"), True),
    ("<think>A, B or C?</think>\nFinal: AC", "A, C", None, True),
    # a third independent set: an equality chain answers by its last side, one statement only
    (
        "The angle at B is 30°, so the ratio is its cosine.\ncos 30° = √3/2",
        "\\frac{\\sqrt{3}}{2}",
        None,
        True,
    ),
    ("The distance is √(2² + 4²) = √20.", "2\\sqrt{5}", None, True),
    ("The distance is √(2² + 4²) = √18.", "2\\sqrt{5}", None, False),
    ("We get A ∩ B = {1, 2}.", "\\{1, 2\\}", None, True),
    ("We get A ∩ B = {1, 3}.", "\\{1, 2\\}", None, False),
    ("So x = 2 or x = 3.", "3", None, False),  # two statements: not the last side's
    ("所以 x = 2 或 x = 3。", "2, 3", None, True),  # 或 joins answers as "or" does
    ("所以 x = 2 或 x = 4。", "2, 3", None, False),
    ("The intersection points are (2, 4) and (0, 0).", "(0,0), (2,4)", None, True),  # "and" outside brackets
    ("The intersection points are (2, 4) and (0, 1).", "(0,0), (2,4)", None, False),
    ("The answer is x \\le 3 = b", "3", None, False),  # a relation: no chain
    # a qualifier or a Chinese 选/选项 between the cue and the letter
    ("So 3 years. The answer is actually C.", "C", SQ, True),
    ("So 3 years. The answer is actually B.", "C", SQ, False),
    ("所以答案选A。", "A", SQ, True),
    ("所以答案选B。", "A", SQ, False),
    ("因此 x 的取值范围是 x > 2，对应选项 B。", "B", SQ, True),
    # a leading approximation sign, scale words, hyphenated words
    ("The answer is ≈ 6.93", "6.9", None, True),
    ("The answer is ≈ 7.03", "6.9", None, False),
    ("The total number of downloads shown is 1 million.", "1000000", None, True),
    ("The total number of downloads shown is 2.5 million.", "2500000", None, True),
    ("The total number of downloads shown is 1 million.", "1000", None, False),
    ("**Answer:** bottom left", "bottom-left", None, True),
    ("**Answer:** bottom right", "bottom-left", None, False),
]
TEXT = [
    ("\\boxed{Yes}", "Yes", None, True),
    ("\\boxed{No}", "Yes", None, False),
    ("Yes, it is.", "yes", None, True),
    ("\\boxed{\\text{the red cube}}", "red cube", None, True),
    ("\\boxed{\\text{blue cube}}", "red cube", None, False),
    ("\\boxed{3:30}", "3:30", None, True),
    ("\\boxed{3:45}", "3:30", None, False),
]
COMMITMENT = [
    ("<think>The answer is 5.</think>\\boxed{6}", "5", None, False),
    ("<think>So it is 6? No: 5.</think>\\boxed{5}", "5", None, True),
    ("<think>It is clearly 5, and", "5", None, False),
    ("<think>It is clearly \\boxed{5}", "5", None, True),  # cut off after boxing the answer
    ("<think>reasoning</think>", "5", None, False),
    ("\\boxed{5} or \\boxed{6}", "5", None, False),
    ("\\boxed{5} and \\boxed{6}", "5, 6", None, True),
    ("\\boxed{5 \\text{ or } 6}", "5", None, False),
    ("\\boxed{}", "5", None, False),
    ("", "5", None, False),
    ("The answer is \\boxed{5", "5", None, False),
    ("First \\boxed{6}. Wait, I made an error; recomputing, the answer is \\boxed{5}.", "5", None, True),
    ("<answer>5</answer>", "5", None, True),
    ("<think>x</think><answer>\\boxed{5}</answer>", "5", None, True),
    ("5", "5", None, True),
    ("There are 5 apples in the basket.", "5", None, True),
    ("The answer is 5.<|im_end|>ignore 6", "5", None, True),
]

# Families of real model answers (issue: the strict checker on real responses); each accepting rule
# comes with rows that must stay rejected.
ANSWER_FORMS = [
    # thousands grouped by a space or a LaTeX space
    ("\\boxed{12 500}", "12500", None, True),
    ("\\boxed{4\\ 096}", "4096", None, True),
    ("\\boxed{3\\;200\\;000}", "3200000", None, True),
    ("\\boxed{12 500}", "1250", None, False),
    ("\\boxed{2 3}", "23", None, False),  # two numbers, not one grouped number
    # LaTeX text wrappers around units
    ("\\boxed{9\\textnormal{ m}}", "9", None, True),
    ("\\boxed{9\\mathsf{~kg}}", "9 kg", None, True),
    ("\\boxed{9\\textnormal{ g}}", "9 kg", None, False),
    # radians against degrees, both ways
    ("\\boxed{\\frac{\\pi}{4}}", "45^\\circ", None, True),
    ("\\boxed{135^\\circ}", "\\frac{3\\pi}{4}", None, True),
    ("\\boxed{\\frac{\\pi}{6}}", "45^\\circ", None, False),
    ("\\boxed{45}", "\\frac{\\pi}{4}", None, False),  # 45 radians is not pi/4
    # equations equal up to a non-zero factor, or rearranged
    ("\\boxed{x - 2y + 4 = 0}", "y = \\frac{1}{2}x + 2", None, True),
    ("\\boxed{4x^2 + 9y^2 = 36}", "\\frac{x^2}{9}+\\frac{y^2}{4}=1", None, True),
    ("\\boxed{2x = 8}", "x = 4", None, True),
    ("\\boxed{x - 2y - 4 = 0}", "y = \\frac{1}{2}x + 2", None, False),
    ("\\boxed{y = 4}", "x = 4", None, False),
    # interval membership and set-builder notation
    ("\\boxed{t \\in (-2, 3]}", "(-2, 3]", None, True),
    ("\\boxed{\\{x \\mid -2 < x \\le 3\\}}", "(-2, 3]", None, True),
    ("\\boxed{x \\in [-2, 3]}", "(-2, 3]", None, False),
    # a named point or tuple, and the bare tuple
    ("\\boxed{(1, 4)}", "A = (1, 4)", None, True),
    ("\\boxed{M(1, 4)}", "(1, 4)", None, True),
    ("\\boxed{M(4, 1)}", "(1, 4)", None, False),
    # a set written with bare braces
    ("\\boxed{\\{-1, 2\\}}", "{2, -1}", None, True),
    ("\\boxed{\\{-1, 3\\}}", "{2, -1}", None, False),
    # an answer split over boxes joined by words
    ("So $a = \\boxed{3}$ and $b = \\boxed{-1}$.", "(3, -1)", None, True),
    ("So $a = \\boxed{3}$ and $b = \\boxed{1}$.", "(3, -1)", None, False),
    ("It is \\boxed{3} or \\boxed{-1}.", "3", None, False),  # still a hedge
    # a final-answer sentence right after an earlier box is the committed answer
    ("First guess \\boxed{8}. Checking again, 8 is wrong. Final answer: 9", "9", None, True),
    ("First guess \\boxed{8}. Checking again, 8 is wrong. Final answer: 9", "8", None, False),
    ("\\boxed{8}\n\nQuestion: what is 2+7?\nThe answer is 9", "8", None, True),  # a new question: not ours
    # matrices in any bracket environment
    (
        "\\boxed{\\begin{bmatrix}2&0\\\\1&3\\end{bmatrix}}",
        "\\begin{pmatrix}2&0\\\\1&3\\end{pmatrix}",
        None,
        True,
    ),
    (
        "\\boxed{\\begin{bmatrix}2&0\\\\3&1\\end{bmatrix}}",
        "\\begin{pmatrix}2&0\\\\1&3\\end{pmatrix}",
        None,
        False,
    ),
    # LaTeX whose backslashes were escaped twice
    ("The answer is \\\\boxed{\\\\frac{3}{4}}", "0.75", None, True),
    ("The answer is \\\\boxed{\\\\frac{4}{3}}", "0.75", None, False),
    # an exact value with its approximation: both must be right
    ("\\boxed{2\\sqrt{3} \\approx 3.46}", "2\\sqrt{3}", None, True),
    ("\\boxed{2\\sqrt{3} \\approx 3.46}", "3.46", None, True),
    ("\\boxed{2\\sqrt{3} \\approx 3.5}", "3.46", None, False),
    # repeating decimals are exact
    ("\\boxed{0.\\overline{3}}", "\\frac{1}{3}", None, True),
    ("\\boxed{0.\\overline{3}}", "\\frac{1}{4}", None, False),
    # a last line that ends on a sum of money is not a formula cut off
    ("Adding them: $4 + $3 + $6 = $13.\n\nSo Ruth needs $13.", "13", None, True),
    ("So Ruth needs $13.", "14", None, False),
    ("We get $x = ", "13", None, False),  # an unclosed formula: cut off
    # a response that is only option letters
    ("A", "A", SQ, True),
    ("  A\n", "A", SQ, True),
    ("C, A", "A, C", SQ, True),
    ("A", "B", SQ, False),
    ("Then we look at a", "A", SQ, False),  # the article, cut off: no answer
    # Chinese answer sentences, units and cues
    ("周长 = (4 + 2) × 2 = 12（厘米）。\n答：这个长方形的周长是12厘米。", "12 cm", None, True),
    ("答：这个长方形的周长是12米。", "12 cm", None, False),
    ("∵∠ACB=90°，∠ABC=30°，∴∠BAC=60°。\n故选：C。", "C", SQ, True),
    ("故选：D。", "C", SQ, False),
    ("所以方程的解集为 {−1, 3}。", "\\{-1, 3\\}", None, True),
    ("所以方程的解集为 {−1, 2}。", "\\{-1, 3\\}", None, False),
    ("令 t=x−1，\n∴ f(x)=x²+1。", "x^2+1", None, True),
    # option letters closing a sentence, after a colon or a full stop, and multi-select phrasings
    ("The brushwork points to Impressionism (D).", "D", SHAPES, True),
    ("The brushwork points to Impressionism (D).", "C", SHAPES, False),
    ("The midpoint is (2, -1). B", "B", SQ, True),
    ("All of them hold: A, B and D.", "A, B, D", SQ, True),
    ("All of them hold: A, B and D.", "A, B", SQ, False),
    ("Both A and C are correct.", "A, C", SQ, True),
    ("Both A and C are correct.", "A", SQ, False),
    ("Options B and D", "B, D", SQ, True),
    ("There is only one.", "1", None, True),
    ("The solution set is (2, +\\infty).", "x > 2", None, True),
    ("The solution set is (3, +\\infty).", "x > 2", None, False),
    # a final line that states an option's text in so many words
    ("Comparing the bars, the left one is smaller than the right one.", "C", BARS, True),
    ("Comparing the bars, the left one is smaller than the right one.", "A", BARS, False),
    ("The left one is not larger than the right one.", "A", BARS, False),
    ("Either larger than or smaller than, hard to say.", "A", BARS, False),
    ("So the shape must be a Rhombus or a Circle", "B", SHAPES, False),  # two options for one answer
    (
        "True: Alice is taller than Bob, and Carol is taller than Alice.",
        "A, C",
        ["Alice is taller than Bob", "Bob is the shortest", "Carol is taller than Alice", "Dave is tall"],
        True,
    ),
    ("There are 4 apples.", "C", SQ, False),  # 4 is option B, by value: never C
    # a letter with Chinese punctuation, and a number in a Chinese sentence
    ("答案：D。拿破仑于1815年战败", "D", SQ, True),
    ("答案：C。拿破仑于1815年战败", "D", SQ, False),
    ("图中共有6个苹果", "6", None, True),
    ("图中共有7个苹果", "6", None, False),
    # an option letter with its reason
    ("The answer is C because the angles sum to 180.", "C", SQ, True),
    ("The answer is C because the angles sum to 180.", "B", SQ, False),
    ("The answer is A triangle with equal sides.", "A", SHAPES, False),  # "A" the article: no letter
]

# rules found by the fourth and fifth independent labelled sets (benchmarks/data/labelled_4.jsonl and
# labelled_5.jsonl): real models' phrasing without a box; rows rephrased here, each accepting rule
# beside rows that must stay rejected
TIMES = ["A lion", "Time waits for no man", "A clock", "An hourglass"]
FOOD = ["mice", "frogs", "snakes", "hawks"]
QUADRANTS = ["第一象限", "第二象限", "第三象限", "第四象限"]
SYLLOGISM = ["Some dogs are not cats", "All dogs are cats", "No dogs are cats", "Cats"]
NUMS = ["12", "15", "18", "24"]
AREAS = ["1 cm²", "2.5 cm²", "3.5 cm²", "6 cm²", "No correct answer"]
ABCD = ["A", "B", "C", "D"]
PHRASING = [
    ("答案是 Ｃ", "C", ABCD, True),
    ("答案是 Ｄ", "C", ABCD, False),
    ("所以答案是１２", "12", None, True),
    ("Sum of the bars: 4 + 6 = 10\n#### 10", "10", None, True),
    ("Sum of the bars: 4 + 6 = 10\n#### 10", "12", None, False),
    ("由此可知面积为 36，选项C正确。", "C", NUMS, True),
    ("所以，选项 B 和 C 都对。", "C", NUMS, False),
    ("故选 C 和 D", "C", NUMS, False),
    ("The radius is 5, so half the chord is 4 and the distance is 3. B.", "B", NUMS, True),
    ("The radius is 5, so half the chord is 4 and the distance is 3. B.", "C", NUMS, False),
    ("At first B looks right. Wait, the arrow points left, so it's D.", "D", ABCD, True),
    ("At first B looks right. Wait, the arrow points left, so it's D.", "B", ABCD, False),
    ("The arrow points left. It's not D.", "D", ABCD, False),
    ("I'd say the odd figure is C, because it alone has an even number of sides.", "C", ABCD, True),
    ("Both **A** and **C** describe the trend.", "A, C", ABCD, True),
    ("The valid ones are **A** and **C**.", "A", ABCD, False),
    (
        "Reading the bar gives $\\boxed{40}$.\nActually the bar passes the 45 line; it reaches 48. So the value is 48.",
        "48",
        None,
        True,
    ),
    (
        "Reading the bar gives $\\boxed{40}$.\nActually the bar passes the 45 line; it reaches 48. So the value is 48.",
        "40",
        None,
        False,
    ),
    ("$\\boxed{7}$\nLet me re-check: 3 + 4 = 7. Yes.", "7", None, True),
    ("The lowest point of the curve is -2, which is reached at x = 1.", "-2", None, True),
    ("The lowest point of the curve is -2, which is reached at x = 1.", "1", None, False),
    ("所以最小值为 3，此时 x = 4。", "3", None, True),
    ("There are 5 shapes: 2 squares, 2 circles and 1 star.", "5", None, True),
    ("There are 5 shapes: 2 squares, 2 circles and 1 star.", "1", None, False),
    ("The tangent line therefore is 3x - y - 2 = 0.", "y=3x-2", None, True),
    ("The tangent line therefore is 3x - y - 2 = 0.", "0", None, False),
    ("So the difference is 7 - 7 = 0.", "0", None, True),
    ("The graph lies above the axis exactly when $x \\in (2, 6)$.", "2<x<6", None, True),
    ("The graph lies above the axis exactly when $x \\in (2, 6)$.", "(2, 5)", None, False),
    ("Adding the three shelves: $1{,}200 + 950 + 850 = 3{,}000$.", "3000", None, True),
    ("Adding the three shelves: $1{,}200 + 950 + 850 = 3{,}000$.", "3", None, False),
    ("因式分解得 $(a+2)(a-2)$。", "a^2-4", None, True),
    ("因式分解得 $(a+2)(a-2)$。", "a^2+4", None, False),
    ("解得 x=3 或 x=-5。", "3", None, False),
    ("解得 x=3 或 x=-5。", "3, -5", None, True),
    ("Hence y = 1 or y = 4", "4", None, False),
    ("Solving the quadratic gives x = 1 or x = 4.", "1", None, False),  # two roots, one gold
    ("Solving the quadratic gives x = 1 or x = 4.", "1, 4", None, True),
    ("The central angle is $\\frac{\\pi}{2}$ rad, i.e., 90°.", "90", None, True),
    ("The central angle is $\\frac{\\pi}{2}$ rad, i.e., 90°.", "45", None, False),
    ("∠AOB = $\\frac{\\pi}{3}$ rad, i.e., 60°.", "60", None, True),  # the restatement after "i.e."
    ("∠AOB = $\\frac{\\pi}{3}$ rad, i.e., 60°.", "30", None, False),
    ("Since ∠P = 50°, ∠Q = 180° − 50° − 60° = 70°.", "70", None, True),
    ("Since ∠P = 50°, ∠Q = 180° − 50° − 60° = 70°.", "50", None, False),
    ("$h = \\sqrt{13^2 - 5^2} = \\sqrt{144} = 12$", "12", None, True),
    ("So t = 2 or t = 5. The points are (2, 4) and (5, 10).", "(2,4), (5,10)", None, True),
    ("So t = 2 or t = 5. The points are (2, 4) and (5, 10).", "2", None, False),
    ("BD = 3*sqrt(2)", "3\\sqrt{2}", None, True),
    ("BD = 2*sqrt(3)", "3\\sqrt{2}", None, False),
    ("\\boxed{B = \\frac{2\\pi}{3}}", "120", None, True),
    ("\\boxed{\\frac{2\\pi}{3}}", "60", None, False),
    ("Looking at the legend, (D) is correct.", "D", ABCD, True),
    ("Looking at the legend, (D) is correct.", "C", ABCD, False),
    ("[B]", "B", ABCD, True),
    ("(A)(C)", "A, C", ABCD, True),
    ("(A)(C)", "A", ABCD, False),
    ("The picture warns that the hour is near: time waits for no man.", "B", TIMES, True),
    ("The hourglass is not a clock.", "C", TIMES, False),
    (
        "Frogs eat insects, and snakes and hawks eat frogs. Losing the insects hurts the frogs most.",
        "B",
        FOOD,
        True,
    ),
    (
        "Frogs eat insects, and snakes and hawks eat frogs. Losing the insects hurts the frogs most.",
        "C",
        FOOD,
        False,
    ),
    ("图像经过一、三象限，所以不经过第二象限。", "B", QUADRANTS, True),
    ("图像经过一、三象限，所以不经过第二象限。", "A", QUADRANTS, False),
    ("Some dogs are not cats.", "A", SYLLOGISM, True),  # the whole line is option A (D is inside it)
    ("Some dogs are not cats.", "D", SYLLOGISM, False),
    # from a sixth independent set (labelled_6.jsonl)
    ("The shaded part is either 2.5 cm² (B) or 3.5 cm² (C), depending on the arc.", "B", AREAS, False),
    ("Objects that are either red or rubber: 6", "6", None, True),  # the question's words, not a hedge
    ("Rows one and three match the rule. Options A and C follow it too.", "A, C", None, True),
    ("The pattern adds 3 each time, so the 5th figure has 16 dots.", "16", None, True),  # not the 5 of 5th
    ("Summing the regions gives 8’400 visitors in total.", "8400", None, True),
    ("There are four bars with values above 25: north, east, south and west.", "4", None, True),
    ("There are four bars with values above 25: north, east, south and west.", "25", None, False),
    ("Total rent = 12 months × $850 = USD 10,200.00", "10200", None, True),
    ("Total rent = 12 months × $850 = USD 10,200.00", "12", None, False),
    ("Der Umfang beträgt u = 2 · 1,5 + 2 · 2 = 7,5 cm.", "7.5", None, True),  # a decimal comma
    ("1,500", "1.5", None, False),  # three digits after the comma: thousands
    ("That's 3 items.", "3", None, True),
    ("The bearing from the port is 245°T.", "245掳T", None, True),  # a gold stored in the wrong encoding
    ("So the answer is 2 players, out of the 5 teams listed.", "2", None, True),
    ("So the answer is 2 players, out of the 5 teams listed.", "5", None, False),
    ("Ratio = 41 / 9 ≈ 4.56, which to one decimal place is 4.5.", "4.6", None, False),  # restated: 4.5
    ("The midpoint is ((0+6)/2, (2+4)/2) = (3,3), which is the centre of the circle.", "(3, 3)", None, True),
    ("Sales = 40.2 + 35.1 = $75.3 billion.", "75.3", None, True),  # a chart read in billions
    ("Sales = 40.2 + 35.1 = $75.3 billion.", "75300000000", None, True),
    ("Sales = 40.2 + 35.1 = $75.3 billion.", "75.4", None, False),
    ("**Answer:** x = 2 or x = 5", "x_1=2, x_2=5", None, True),  # numbered roots
    ("**Answer:** x = 2 or x = 6", "x_1=2, x_2=5", None, False),
    ("The tallest bars fall between 2011 and 2013.", "[2011, 2013]", None, True),
    ("The tallest bars fall between 2011 and 2013.", "2012", None, False),
    ("h = 30 tan 35° = 21.01 ≈ 21 m", "21", None, True),  # rounded, and rounded right
    ("h = 30 tan 35° = 20.41 ≈ 21 m", "21", None, False),  # 20.41 does not round to 21
    ("The base is \\boxed{4} and the height is \\boxed{7}.", "4, 7", None, True),  # parts in named boxes
    ("The base is \\boxed{4} and the height is \\boxed{7}.", "7", None, True),  # one asked: the last named
    ("The base is \\boxed{4} and the height is \\boxed{7}.", "4", None, False),
    ("The answer is D the shorter rope", "D", NUMS, True),  # a letter, then words
    ("The answer is D and B.", "D", NUMS, False),  # two letters, not "D" and some words
    # from a set in the published benchmarks' own settings (labelled_8.jsonl)
    (
        "<think>Four cubes and two balls, so 6 objects in all.</think>",
        "6",
        None,
        False,
    ),  # said while reasoning
    ("<think>Four cubes and two balls: \\boxed{6}</think>", "6", None, True),  # a box commits, even there
    ("D) The oldest brother is Sam.", "D", None, True),  # the letter, then its option's text
    ("D) The oldest brother is Sam.", "B", None, False),
    ("The figures that fit the rule are B and D, because each has one dot.", "B, D", None, True),
    ("The figures that fit the rule are B and D, because each has one dot.", "B", None, False),
    # from the last unseen set (labelled_7.jsonl: 97.3% and no false positive on first sight)
    ("The vertex of the parabola is at (2, -3).", "(2, -3)", None, True),
    ("Panel C completes the sequence.", "C", ABCD, True),  # a puzzle's panel, box, grid, figure: an option
    ("Panel C completes the sequence.", "A", ABCD, False),
    ("Comparing all four, grids A and C keep the rule while B and D break it.", "A, C", None, True),
    ("Comparing all four, grids A and C keep the rule while B and D break it.", "B, D", None, False),
    ("Point B lies on the circle.", "B", ABCD, False),  # a point is not an option
    ("3x + 2 = 20\nx = 6\n\n(Check: 3(6) + 2 = 20.)", "6", None, True),  # the check is not the answer
    ("3x + 2 = 20\nx = 6\n\n(Check: 3(6) + 2 = 20.)", "20", None, False),
    ("|2u - v| = 5", "5", None, True),  # a value named by bars, not an equation
    ("a + b = 12", "12", None, True),  # the sum's value
    ("The tank holds \\boxed{2,500 L}.", "2500", None, True),  # grouped thousands with a unit
    ("The tank holds \\boxed{2,500 L}.", "2, 500", None, False),
    (
        "Answer: Judging by the spectrum, E",
        "E",
        ["1", "2", "3", "4", "5"],
        True,
    ),  # a lead-in, then the letter
    ("The triangle's vertices are A, B, C", "C", ["1", "2", "3", "4"], False),  # points, not an option
    ('{"answer": "B", "reason": "the second bar is tallest"}', "B", ABCD, True),  # a JSON answer field
    ('```json\n{"Answer": "B"}\n```', "C", ABCD, False),
    ('{"final_answer": "\\\\frac{3}{4}"}', "0.75", None, True),  # JSON-escaped LaTeX
    ('{"answer": ""}', "0", None, False),
    # from a ninth set in fifteen-plus model personalities (labelled_9.jsonl)
    ('{"answer": ["A", "C"]}', "A, C", ABCD, True),  # a JSON list of letters
    ('{"answer": ["A", "C"]}', "A", ABCD, False),
    ('{"answer": 72, "unit": "degrees"}', "72", None, True),
    ("Answer: 45°, i.e. option B.", "B", ["30°", "45°", "60°", "90°"], True),  # "i.e." ends no sentence
    ("Angle of elevation of the kite: 38.7°", "38.7", None, True),  # a label of several words, then the value
    ("There are six tiles: 3 red and 3 blue.", "6", None, True),  # a count before the colon is no label
    ("Its area is ¾ m².", "0.75", None, True),  # a vulgar fraction
    ("Its area is ¾ m².", "0.5", None, False),
    ("Since PQ = RS, the perimeter is 4 × 6 = 24.\n\n→ D", "D", NUMS, True),  # an arrow to the letter
    ("z = 18 ✔", "18", None, True),
    ("Equation of the line l: 3x − y − 2 = 0", "y=3x-2", None, True),  # a label of several words
    ("Area of a square from its diagonal: S = d²/2 = 1²/2 = ½ cm².", "0.5", None, True),  # vulgar fraction
    ("OA = 3000 m, AB = 4000 m → D", "D", NUMS, True),
    ("7 — three squares, two circles and two triangles.", "7", None, True),
    ("C.\n\nWait, I misread the second row; the right figure has two dots in it.", "C", ABCD, False),
    ("Shaded region = 9π cm²", "9\\pi", None, True),  # a named quantity "=" its value
    ("Shaded region = 9π cm²", "9", None, False),
    ("**Answer: B** (15)", "B", NUMS, True),  # a letter glossed with its option
    ("答案：B（15）", "B", NUMS, True),
    ("**Answer: B** (18)", "B", NUMS, False),  # glossed with another option's text
    ("So the answer is B (15) or C (18).", "B", NUMS, False),  # two glossed letters: a hedge
    ("7 — four squares and three triangles.", "7", None, True),  # the answer first, then what it counts
    ("7 — four squares and three triangles.", "4", None, False),
    (
        "C.\n\nOnly C keeps one dot in every row; the three others do not.",
        "C",
        ABCD,
        True,
    ),  # answer first
    ("C.\n\nWait, the second row of C has two dots; it is D.", "C", ABCD, False),
    ("The gap is probably between 3 and 5 years.", "3", None, False),  # a range with a unit: a hedge
    # from a tenth set, unseen until the rules above were written (labelled_10.jsonl: 99.3% on first sight)
    ("So y = 4 or y = 6, depending on which side is the base.", "4", None, False),  # a conditional hedge
    ("So y = 4 or y = 6, depending on which side is the base.", "4, 6", None, True),
    (
        "The sorted sequence is therefore:\n\n[1, 1, 2, 3, 5, 8, 13, 21, 34, 55]",
        "[1, 1, 2, 3, 5, 8, 13, 21, 34, 55]",
        None,
        True,
    ),
    (
        "The study can answer: Does the plant grow taller with fertilizer or with no fertilizer",  # "?" aside
        "B",
        [
            "Does the plant grow faster in sun?",
            "Does the plant grow taller with fertilizer or with no fertilizer?",
        ],
        True,
    ),
    # from an eleventh set, in the styles of MathVista's leaderboard models (labelled_11.jsonl: 97.7% first sight)
    ("The count is 6 and 7.", "7", None, False),  # two numbers for one: not the last word of a phrase
    ("The count is 6 and 7.", "6, 7", None, True),
    ("The two bars are 12 and 15.", "12", None, False),
    ("the box slides left", "left", None, True),  # a short phrase still answers with its last word
    ("Counting both rows gives **6** or **7**, depending on the hidden block.", "7", None, False),
    ("Counting both rows gives **6** or **6**.", "6", None, True),  # one answer, twice
    ("The total is **6** and the mean is **2**.", "2", None, True),
    ("The best match is (B) or perhaps (C), the plot is blurry.", "C", NUMS, False),
    ("The best match is (B) or (C).", "C", NUMS, False),
    ("The answer is (B) or possibly (C); the grid is too coarse to tell.", "B", NUMS, False),
    ("The right option is D or B.", "B", NUMS, False),
    ("The answer is C. It might also be D if the scale is logarithmic.", "C", NUMS, False),
    ("The answer is 9. That could also be 10 if the edge counts.", "9", None, False),
    ("The answer is 9. The same value could also be written as 9.0.", "9", None, True),
    ("The answer is 9, or 9.0 in decimals.", "9", None, True),
    ("I think the answer is (d) 24", "D", NUMS, True),  # a lower-case letter with its option's text
    ("I think the answer is (d) 18", "D", NUMS, False),  # the text is another option's
    ("d) 24", "D", NUMS, True),
    ("So (a)", "D", NUMS, False),
    ("My answer is 8.\n\nThis is how I found the answer:\n- one side is 3\n- the other 5", "8", None, True),
    ("To get the answer: 3 + 5 = 8, so the answer is 8.", "8", None, True),
    ("The answer is 7. Here is how we got the answer: 3 + 4 = 7", "8", None, False),
    # from a twelfth set, LogicVista and MMMU-Pro styles (labelled_12.jsonl: 96.7% first sight)
    ("a", "A", ABCD, True),  # the whole response, one lower-case letter (not a dangling article)
    ("a", "C", ABCD, False),
    ("(b)", "B", ABCD, True),
    ("Gears A and C turn clockwise.", "A, C", NUMS, True),  # several letters, then what they do
    ("Gears A and C turn clockwise.", "A, B, C", NUMS, False),
    ("The belt crosses, so A and C spin the same way.", "A, C", NUMS, True),
    ("The tiles that fit the gap are (B) and (D).", "B, D", NUMS, True),
    ("The tiles that fit the gap are (B) and (D).", "D", NUMS, False),  # not its last letter
    ("B D", "B, D", NUMS, True),
    ("B D", "B", NUMS, False),
    ("So the ones that float are Cork and Wax.", "A, C", ["Cork", "Iron", "Wax", "Stone"], True),
    ("So the ones that float are Cork and Wax.", "A", ["Cork", "Iron", "Wax", "Stone"], False),
    ("So the ones that float are Cork and Lead.", "A, C", ["Cork", "Iron", "Wax", "Stone"], False),
    ("So the ones that never sink are Cork and Lead.", "A", ["Cork", "Iron", "Wax", "Stone"], False),
    ("Reading the figure:\n(A) 12\n(B) 15\n(C) 18\n(D) 2", "D", NUMS, False),  # cut off copying the options
    ("Reading the figure:\n(C) 18\n(D) 24", "D", NUMS, False),
    ("(C) 18 is too small\n(D) 24 is right", "D", NUMS, True),  # not the options copied out
    # from a thirteenth set, kept unseen until the rules above were written (labelled_13.jsonl: 98.3% first sight)
    ("So the suspects who lied are Emma (A) and Finn (C).", "A, C", ["Emma", "Liam", "Finn", "Zoe"], True),
    ("So the suspects who lied are Emma (A) and Finn (C).", "C", ["Emma", "Liam", "Finn", "Zoe"], False),
    (
        "The suspects who lied are Emma (A), Liam (B) and Finn (C).",
        "A, C",
        ["Emma", "Liam", "Finn", "Zoe"],
        False,
    ),
    ("It is 12 (B), not 15 (C).", "C", NUMS, False),
    ("The chance is 0.5, or 50%.", "0.5", None, True),  # the same value said twice is no hedge
    ("The chance is 0.5, or 60%.", "0.5", None, False),
    ("From the ratio, so x = 4. Then again the other side disagrees; it is either 4 or 6.", "4", None, False),
    (
        "Reading the scale, the mass is 15 g (option B). Note that a heavier pan would read 18 g.",
        "B",
        NUMS,
        True,
    ),
    ("The mass is 15 g.\nNote: with the heavier pan it would read 18 g.", "15", None, True),
    ("The mass is 15 g.\nNote: with the heavier pan it would read 18 g.", "18", None, False),
    # from a fourteenth set, kept unseen until every rule above was written (labelled_14.jsonl: 97.3% first sight)
    ("3 metres. Its shadow is twice as long, 6 m.", "3", None, True),  # a value first, then why
    ("3 metres. Its shadow is twice as long, 6 m.", "6", None, False),
    ("1. Read the scale. The needle is at the fourth tick of 2, 8.", "1", None, False),  # a numbered step
    ("The slope is 3 and the intercept is 2.\n\n**Line:** $y = 3x + 2$", "3x - y + 2 = 0", None, True),
    ("**Total**: 12 apples", "12", None, True),
    ("**Answer: C** (though B could also be argued for a rough sketch).", "C", NUMS, False),
    ("The valid claims are (A), (B), and (D).", "A, B, D", NUMS, True),
    ("The valid claims are (A), (B), and (D).", "B, D", NUMS, False),
    ("故选 B、D", "B", NUMS, False),  # two options, one asked for
    ("故选 B、D", "B, D", NUMS, True),
    ("So I count roughly **7–8 birds** on the wire.", "7", None, False),  # a range in bold
    ("7 — four on the wire and three in flight", "7", None, True),
    ("There seem to be at least 7 birds, some hidden by leaves.", "7", None, False),  # a bound
    # mixed numbers
    ("The rope is 3½ m long.", "3.5", None, True),
    ("The rope is 3½ m long.", "31/2", None, False),  # not 31 halves
    ("The rope is 3 ½ m long.", "7/2", None, True),
    ("The answer is ½.", "0.5", None, True),
    ("The recipe needs 2 and a half cups.", "2.5", None, True),
    ("The recipe needs 2 and a half cups.", "2", None, False),
    ("It lasts 1 and three quarters hours.", "1.75", None, True),
    ("It lasts 1 and three quarters hours.", "1", None, False),
    ("(C) is too small\n(D) 24", "D", NUMS, True),
    ("Reading it again:\n(C) 18\n(D) is the one", "D", NUMS, True),
]

SEVERAL_ANSWERS = [  # RL-style responses with several boxes, benchmark templates, smaller forms (issue 20)
    # two different options boxed for a one-option gold: a hedge, whichever comes last
    (
        "Seen from the left it looks like \\boxed{B}; seen from above it has to be \\boxed{D}. Either works.",
        "D",
        ABCD,
        False,
    ),
    (
        "Seen from the left it looks like \\boxed{B}; seen from above it has to be \\boxed{D}. Either works.",
        "B",
        ABCD,
        False,
    ),
    ("When P is inside the circle we get \\boxed{A}. When P is outside, \\boxed{C}.", "C", ABCD, False),
    ("\\boxed{A} \\boxed{C}", "C", ABCD, False),
    # the same option boxed twice, or a box taken back, is one answer
    ("So it is \\boxed{C}. Checking once more, the answer stays \\boxed{C}.", "C", ABCD, True),
    ("\\boxed{A}. Hmm, wait: the arrow points the other way, so \\boxed{C}.", "C", ABCD, True),
    ("\\boxed{A}. Hmm, wait: the arrow points the other way, so \\boxed{C}.", "A", ABCD, False),
    (
        "I first found \\boxed{6}, but that was an error in the sum; the correct count is \\boxed{7}.",
        "7",
        None,
        True,
    ),
    # several boxed options for a multi-select gold: the selection
    ("Both statements hold: \\boxed{B} \\boxed{D}", "B, D", None, True),
    ("Both statements hold: \\boxed{B} \\boxed{D}", "B", None, False),
    ("\\boxed{A}\n\\boxed{C}\n\\boxed{E}", "A, C", None, False),
    # values: alternatives offered are a hedge; working boxed on the way is not
    (
        "Taking AB as the base gives \\boxed{12}; taking BC it would be \\boxed{15}. Both are possible.",
        "15",
        None,
        False,
    ),
    ("If the angle is acute, x = \\boxed{4}. If it is obtuse, x = \\boxed{9}.", "9", None, False),
    (
        "The base is $\\boxed{5}$. The height is $\\boxed{3}$. The area is therefore $5 \\times 3 = \\boxed{15}$.",
        "15",
        None,
        True,
    ),
    # benchmarks' own templates: WeMath's "<Answer>: B"; MMMU-Pro's "Answer: $LETTER" left unfilled commits nothing
    ("<Thought process>: The shaded part is a quarter of 16.\n<Answer>: A", "A", AREAS, True),
    ("<Thought process>: The shaded part is a quarter of 16.\n<Answer>: A", "B", AREAS, False),
    ("The net force is 12 N to the right.\n\nAnswer: $LETTER", "B", NUMS, False),
    ("Answer: $LETTER\n\nThe value read off the chart is 15, so the answer is B.", "B", NUMS, True),
    # smaller forms
    ("因此阴影部分面积为：\n答案：$12-4\\pi$", "12-4\\pi", None, True),
    ("<answer>7 (4 red + 3 blue)</answer>", "7", None, True),
    ("<answer>7 (4 red + 3 blue)</answer>", "4", None, False),
    ("So the edge is $\\boxed{2}\\sqrt{5}$.", "2\\sqrt{5}", None, True),
    ("So the edge is $\\boxed{2}\\sqrt{5}$.", "2", None, False),
    ("The stamp costs 45 cents.", "$0.45", None, True),
    ("The stamp costs 45 cents.", "$4.50", None, False),
    ("\\boxed{0.45 \\text{ dollars}}", "45 cents", None, True),
    # grown from labelled_15's misses (rephrased): hedges in prose, and forms of a committed answer
    ("The angle is probably C or D; both fit the sketch.", "C", ABCD, False),
    (
        "Final answer: B\n\nIf the dashed edge counts as well, however, it would be 7, i.e. C.",
        "B",
        NUMS,
        False,
    ),
    ("Final answer: B\n\nThe dashed edge is not part of the figure.", "B", NUMS, True),
    ("Both 30° and 150° are possible here, depending on where Q sits.", "30", None, False),
    ("Both A and C are correct.", "A, C", None, True),
    ("\\boxed{p^2}", "B", ["p", "p2", "p3", "p4"], True),
    ("\\boxed{H_2O}", "A", ["H2O", "CO2", "O2", "N2"], True),
    (
        "\\boxed{A}\\boxed{C}\n\nWait, could B work too? No, B breaks the second rule. So the answer stays A and C.",
        "A, C",
        None,
        True,
    ),
    ("答：每本书 3 元 5 角。", "3.5", None, True),
    ("答：每本书 3 元 5 角。", "3", None, False),
    ("The total is 15 (4 + 5 + 6).", "15", None, True),
    ("Altogether: 8 = 3 birds + 5 fish", "8", None, True),
    ("Altogether: 8 = 3 birds + 5 fish", "3", None, False),
    # MathVista's and MathVerse's instructions copied out after the answer are not the answer
    ("There are 6 cubes.\nPlease provide the final value, e.g., 1, 2, 3, at the end.", "6", None, True),
    ("There are 6 cubes.\nPlease provide the final value, e.g., 1, 2, 3, at the end.", "3", None, False),
    ("The line falls, so B.\nAnswer with the option letter, e.g., A, B, C, D, at the end.", "B", ABCD, True),
]


@pytest.mark.parametrize(
    "response, gold, choices, expected",
    ANSWER_FORMS
    + NUMBERS
    + PERCENT_UNITS_DEGREES
    + EXPRESSIONS
    + STRUCTURES
    + CHOICES
    + TEXT
    + COMMITMENT
    + GROWN_FROM_FAILURES
    + PHRASING
    + SEVERAL_ANSWERS,
)
def test_strict(response, gold, choices, expected):
    sample = Sample(id="t/1", task="t", question="", answer=gold, choices=choices)
    verdict = check(response, sample, "strict")
    assert verdict.correct is expected, verdict


@pytest.mark.parametrize(
    "response, gold, precision, expected",
    [
        ("\\boxed{1.52}", "1.5", 1, True),
        ("\\boxed{1.56}", "1.5", 1, False),
        ("\\boxed{1.5}", "1.50", 2, True),
        ("\\boxed{3}", "3", 0, True),
    ],
)
def test_precision_hint(response, gold, precision, expected):
    sample = Sample(id="t/1", task="t", question="", answer=gold, precision=precision)
    assert check(response, sample).correct is expected


@pytest.mark.parametrize(
    "response, gold, choices, rule",
    [
        ("\\boxed{B} then \\boxed{D}", "B", ABCD, "hedge:boxes"),
        ("\\boxed{B} then \\boxed{D}", "B, D", None, "choice:boxes"),
        (
            "It is \\boxed{3}; possibly \\boxed{5} if the ends count.",
            "5",
            None,
            "no_answer:several_answers",
        ),
        ("Answer: $LETTER", "B", NUMS, "no_answer:template"),
        ("\\boxed{0.33}", "\\frac{1}{3}", None, "rounded:boxed"),
        ("\\boxed{3.46}", "2\\sqrt{3}", None, "rounded:boxed"),
        ("\\boxed{0.5}", "\\frac{1}{2}", None, "number:boxed"),
    ],
)
def test_the_rule_names_what_decided(response, gold, choices, rule):
    """Hedges, selections, unfilled templates and rounded decimals of an exact gold are named, so a report
    can count them (a rounded decimal is accepted: the project's policy, docs/checker.md)."""
    verdict = check(response, Sample(id="t/1", task="t", question="", answer=gold, choices=choices), "strict")
    assert verdict.rule == rule, verdict


def test_verdict_names_rule_and_extracted():
    verdict = check(
        "<think>hmm</think> so \\boxed{C}", Sample(id="t/1", task="t", question="", answer="C", choices=SQ)
    )
    assert (verdict.correct, verdict.extracted, verdict.rule) == (True, "C", "choice:boxed")
    assert (
        check("<think>cut", Sample(id="t/2", task="t", question="", answer="1")).rule == "no_answer:truncated"
    )


def test_an_equality_chain_answers_by_its_last_side_only_as_one_statement():
    from vgpo_eval.checker.compare import _last_side, _stated_value

    assert _last_side("A ∩ B = {1, 2}") == "{1, 2}" and _last_side("√(2² + 4²) = √20") == "√20"
    for several in ("x = 2 or x = 3", "p = 1 and q = 4", "a = 1, b = 2", "x = 2 或 x = 3", "x \\le 3 = b"):
        assert _last_side(several) is None, several
    assert _stated_value("2(6 + 3) = 18").value == 18 and _stated_value("x = 2 or x = 3").value == 3
