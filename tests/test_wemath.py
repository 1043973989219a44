"""WeMath's four-dimensional metrics on synthetic problems whose numbers are worked out by hand."""

import json
import random
from pathlib import Path

import pytest

from vgpo_eval.wemath import four_dimensional

T, F = True, False
SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "benchmarks" / "wemath"


def group(problem: str, steps: tuple[bool, ...], multi: bool) -> list[tuple[str, str, bool]]:
    """The rows of one synthetic problem: its sub-question answers, then its multi-step answer."""
    kind = f"{len(steps)}steps"
    return [(problem, f"{kind}_{i}", ok) for i, ok in enumerate(steps, 1)] + [
        (problem, f"{kind}_multi", multi)
    ]


# 4 two-step and 4 three-step problems, N = 8:
#   A (T,T)   multi T -> CM strict, CM loose      E (F,T,F) multi T -> RM strict, CM loose
#   B (F,F)   multi T -> RM strict, RM loose      F (F,F,F) multi F -> IK
#   C (T,T)   multi F -> IG                       G (T,T,T) multi T -> CM strict, CM loose
#   D (F,T)   multi F -> IK                       H (T,T,T) multi F -> IG
# IK = 2 (D, F), IG = 2 (C, H)
# strict: CM = 2 (A, G), RM = 2 (B, E);  loose: CM = 3 (A, E, G), RM = 1 (B)
MIXED = [
    *group("A", (T, T), T),
    *group("B", (F, F), T),
    *group("C", (T, T), F),
    *group("D", (F, T), F),
    *group("E", (F, T, F), T),
    *group("F", (F, F, F), F),
    *group("G", (T, T, T), T),
    *group("H", (T, T, T), F),
]
EXPECTED = {
    "IK_strict": 25.0,  # 2 / 8
    "IG_strict": 25.0,  # 2 / 8
    "CM_strict": 25.0,  # 2 / 8
    "RM_strict": 50.0,  # RM / (CM + RM) = 2 / (2 + 2)
    "score_strict": 37.5,  # (8 - 0.5 * 2 - 2 - 2) / 8 = 3 / 8  (= (CM + 0.5 * IG) / 8)
    "IK_loose": 25.0,  # 2 / 8, as strict
    "IG_loose": 25.0,  # 2 / 8, as strict
    "CM_loose": 37.5,  # 3 / 8
    "RM_loose": 25.0,  # 1 / (3 + 1)
    "score_loose": 50.0,  # (8 - 0.5 * 2 - 1 - 2) / 8 = 4 / 8  (= (3 + 0.5 * 2) / 8)
    "groups": 8.0,
}


def test_hand_computed_mix_of_two_and_three_step_problems():
    assert four_dimensional(MIXED) == pytest.approx(EXPECTED)


def test_rows_of_a_problem_need_not_be_adjacent():
    rows = MIXED[:]
    random.Random(0).shuffle(rows)
    assert four_dimensional(rows) == pytest.approx(EXPECTED)


def test_each_response_of_avg_at_k_is_a_run():
    # one problem answered twice: run 1 (T,T) multi T -> CM both; run 2 (F,F) multi F -> IK
    # IK = 1/2, CM = 1/2, RM = 0 / (1 + 0); score = (2 - 0 - 0 - 1) / 2
    rows = group("P", (T, T), T) + group("P", (F, F), F)
    got = four_dimensional(rows)
    assert got["IK_strict"] == got["CM_strict"] == got["CM_loose"] == pytest.approx(50.0)
    assert got["RM_strict"] == got["RM_loose"] == 0.0
    assert got["score_strict"] == got["score_loose"] == pytest.approx(50.0)
    assert got["groups"] == 1.0


def test_rm_is_zero_when_no_multi_step_answer_is_right():
    got = four_dimensional(group("P", (T, T), F) + group("Q", (F, F, T), F))
    # IG = 1 (P), IK = 1 (Q); score = (2 - 0.5 - 0 - 1) / 2 = 0.25
    assert got["RM_strict"] == got["RM_loose"] == 0.0
    assert got["score_strict"] == pytest.approx(25.0)


@pytest.mark.parametrize(
    "rows, message",
    [
        (
            [("P", "2steps_1", T), ("P", "2steps_multi", T)],
            r"problem P: incomplete group, missing \['2steps_2'\]",
        ),
        (group("Q", (T, T, T), T)[1:], r"problem Q: incomplete group, missing \['3steps_1'\]"),
        (
            group("R", (T, T), T) + [("R", "2steps_2", F)],
            r"problem R: incomplete group, answers per key differ",
        ),
        (group("S", (T, T), T) + [("S", "2steps_3", T)], r"problem S: unknown key '2steps_3'"),
        ([("U", "2steps_1", T), ("U", "3steps_2", T)], r"problem U: mixes keys"),
        ([], r"at least one complete problem"),
    ],
)
def test_malformed_groups_name_the_problem(rows, message):
    with pytest.raises(ValueError, match=message):
        four_dimensional(rows)


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared benchmark rows are not beside this checkout")
def test_real_ids_and_keys_form_complete_groups():
    lines = (SHARED / "items.jsonl").read_text().splitlines()
    rows = [(r["ID"], r["key"], True) for r in map(json.loads, lines)]
    got = four_dimensional(rows)
    assert got["groups"] == 12.0 and got["CM_strict"] == got["score_strict"] == pytest.approx(100.0)
