"""WeMath's official four-dimensional metrics: IK, IG, CM and RM, strict and loose, and the final score.

WeMath reports more than accuracy: each multi-step problem (rows sharing an `ID`) is scored from the
model's answer to the multi-step question (key `Nsteps_multi`) together with its answers to the
one-step sub-questions (keys `Nsteps_1` .. `Nsteps_N`, N = 2 or 3). This module reproduces the
definitions of We-Math/We-Math `evaluation/four_dimensional_metrics.py` (the same code is in
lmms-eval `lmms_eval/tasks/wemath/wemath_utils.py` and VLMEvalKit `vlmeval/dataset/utils/wemath.py`),
without pandas. With `steps` = the sub-question answers and `multi` = the multi-step answer:

    IK  insufficient knowledge     not all(steps) and not multi      (same in strict and loose)
    IG  inadequate generalisation  all(steps) and not multi          (same in strict and loose)
    CM  complete mastery           strict: all(steps) and multi;     loose: any(steps) and multi
    RM  rote memorisation          strict: not all(steps) and multi; loose: not any(steps) and multi

Three-step problems use their three sub-questions exactly as two-step ones use two. Percentages:
IK, IG and CM are counts over the number of groups (the official script hard-codes 525, the size
of testmini; here it is the number of groups scored, which is 525 on the full set). RM is relative
to the problems whose multi-step answer is right: RM / (CM + RM), 0 when there are none (the
official script divides by zero there). The score is (N - 0.5 * IG - RM - IK) / N with counts,
which equals (CM + 0.5 * IG) / N since the four categories split the N groups.

With K responses per row (avg@K) the j-th response to each key of a problem forms its j-th run,
and every run counts as a group in the percentages; "groups" stays the number of problems.

    four_dimensional([("2steps_1", "2steps_1", True), ("2steps_1", "2steps_2", True),
                      ("2steps_1", "2steps_multi", False), ...]) -> {"IK_strict": 12.4, ...}
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable

SUB_KEYS = {
    "2steps": ("2steps_1", "2steps_2"),
    "3steps": ("3steps_1", "3steps_2", "3steps_3"),
}
KIND = {key: kind for kind, keys in SUB_KEYS.items() for key in (*keys, f"{kind}_multi")}
IG_WEIGHT = 0.5  # the official score's credit for a problem whose steps are known but not combined


def collect(results: Iterable[tuple[str, str, bool]]) -> dict[str, dict[str, list[bool]]]:
    """{problem ID: {key: [correct, ...]}} in input order; rows need not be adjacent."""
    groups: dict[str, dict[str, list[bool]]] = defaultdict(lambda: defaultdict(list))
    for problem, key, correct in results:
        if key not in KIND:
            raise ValueError(f"WeMath problem {problem}: unknown key {key!r}")
        groups[problem][key].append(bool(correct))
    return groups


def runs(problem: str, answers: dict[str, list[bool]]) -> list[tuple[tuple[bool, ...], bool]]:
    """(sub-question answers, multi-step answer) for each run of one problem, after checking it is whole."""
    kinds = {KIND[key] for key in answers}
    if len(kinds) > 1:
        raise ValueError(f"WeMath problem {problem}: mixes keys of {sorted(kinds)}")
    kind = kinds.pop()
    expected = (*SUB_KEYS[kind], f"{kind}_multi")
    missing = [key for key in expected if key not in answers]
    if missing:
        raise ValueError(f"WeMath problem {problem}: incomplete group, missing {missing}")
    if len({len(answers[key]) for key in expected}) > 1:
        counts = {key: len(answers[key]) for key in expected}
        raise ValueError(f"WeMath problem {problem}: incomplete group, answers per key differ {counts}")
    multi = answers[expected[-1]]
    return [(tuple(answers[key][j] for key in expected[:-1]), multi[j]) for j in range(len(multi))]


def categorise(steps: tuple[bool, ...], multi: bool) -> tuple[str, ...]:
    """The categories one run falls in: one strict and one loose (IK and IG count for both)."""
    if not multi:
        return ("IG",) if all(steps) else ("IK",)
    strict = "CM_strict" if all(steps) else "RM_strict"
    loose = "CM_loose" if any(steps) else "RM_loose"
    return strict, loose


def rates(counts: Counter[str], n: int, variant: str) -> dict[str, float]:
    """Percentages of one variant ("strict" or "loose") from category counts over n runs."""
    cm, rm = counts[f"CM_{variant}"], counts[f"RM_{variant}"]
    return {
        f"IK_{variant}": 100.0 * counts["IK"] / n,
        f"IG_{variant}": 100.0 * counts["IG"] / n,
        f"CM_{variant}": 100.0 * cm / n,
        f"RM_{variant}": 100.0 * rm / (cm + rm) if cm + rm else 0.0,
        f"score_{variant}": 100.0 * (n - IG_WEIGHT * counts["IG"] - rm - counts["IK"]) / n,
    }


def four_dimensional(results: Iterable[tuple[str, str, bool]]) -> dict[str, float]:
    """results: (problem ID, key, correct) for every WeMath row scored. Returns percentages:
    {"IK_strict", "IG_strict", "CM_strict", "RM_strict", "score_strict", the same *_loose, "groups"}.

    Raises ValueError naming the problem when a key is unknown or a group is incomplete.
    """
    groups = collect(results)
    if not groups:
        raise ValueError("WeMath four-dimensional metrics need at least one complete problem")
    counts: Counter[str] = Counter()
    n = 0
    for problem, answers in groups.items():
        for steps, multi in runs(problem, answers):
            counts.update(categorise(steps, multi))
            n += 1
    return {**rates(counts, n, "strict"), **rates(counts, n, "loose"), "groups": float(len(groups))}
