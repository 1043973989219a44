"""How often a protocol agrees with human labels, and how often it accepts a wrong answer.

Input: JSONL files of labelled cases ({response, ground_truth, choices, label, ...}, or `score` lines
with a published verdict in "official_correct"); the default is every labelled set the project
keeps, benchmarks/data/labelled*.jsonl (each written by an author who never saw the checker).
Prints, per file and protocol, agreement, false positives and false negatives, then (unless
--quiet) every disagreement; with several files, the total over all of them.

    python benchmarks/checker_agreement.py [CASES.jsonl ...] --protocol strict [--by-rule] [--quiet]
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _cases import LABELLED, load_cases

from vgpo_eval.checker.choices import gold_letters
from vgpo_eval.checker.compare import equal
from vgpo_eval.checker.extract import BOX_LETTER, committed_boxes
from vgpo_eval.checker.protocols import PROTOCOLS, check


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("cases", nargs="*", default=[str(p) for p in LABELLED])
    parser.add_argument("--protocol", choices=sorted(PROTOCOLS), nargs="+", default=sorted(PROTOCOLS))
    parser.add_argument("--quiet", action="store_true", help="only the summary lines")
    parser.add_argument(
        "--by-rule", action="store_true", help="agreement per deciding rule (a regression shows)"
    )
    args = parser.parse_args()
    for protocol in args.protocol:
        total = [0, 0, 0]  # cases, disagreements, false positives
        for path in args.cases:
            n, wrong, fp = _report(path, protocol, args.by_rule, args.quiet, name_width=_width(args.cases))
            total = [total[0] + n, total[1] + wrong, total[2] + fp]
        if len(args.cases) > 1:
            print(_summary("all", protocol, *total, name_width=_width(args.cases)))


def _report(path: str, protocol: str, by_rule: bool, quiet: bool, name_width: int) -> tuple[int, int, int]:
    cases = [
        (row | {"label": row.get("label", row.get("official_correct"))}, s) for row, s in load_cases(path)
    ]
    wrong, tallies, several = [], {}, []
    for row, sample in cases:
        verdict = check(row["response"], sample, protocol)
        if by_rule and verdict.correct and _several_answers(row["response"], sample):
            several.append(row.get("id"))
        tally = tallies.setdefault(verdict.rule, [0, 0, 0])  # cases, agreeing, false positives
        tally[0] += 1
        tally[1] += verdict.correct == row["label"]
        tally[2] += verdict.correct and not row["label"]
        if verdict.correct != row["label"]:
            wrong.append((row, sample, verdict))
    fp = sum(1 for row, _, _ in wrong if not row["label"])
    print(_summary(Path(path).name, protocol, len(cases), len(wrong), fp, name_width))
    if by_rule:
        for rule, (count, agree, rule_fp) in sorted(tallies.items(), key=lambda kv: -kv[1][0]):
            print(
                f"    {rule:<28} {count:5d} cases  {100 * agree / count:5.1f}% agree  {rule_fp:3d} false positives"
            )
        print(f"    accepted with more than one distinct final answer: {len(several)} (target 0)"
              + (f": {', '.join(map(str, several[:10]))}" if several else ""))  # fmt: skip
    if not quiet:
        for row, sample, verdict in wrong:
            print(
                f"    {row.get('id')}: label={row['label']} gold={sample.answer!r} "
                f"extracted={verdict.extracted!r} rule={verdict.rule} {'(contested)' if row.get('contested') else ''}"
            )
    return len(cases), len(wrong), fp


def _several_answers(response: str, sample) -> bool:
    """Whether a response stands by two or more different boxed answers (after what it took back, leaving
    out working named as another quantity): different by value, not by writing (\\boxed{2.5}, i.e.
    \\boxed{\\frac{5}{2}} is one answer); a multi-select gold's letters aside: they are one selection."""
    distinct = list(dict.fromkeys(content for _, _, content in committed_boxes(response)))
    if len(distinct) < 2:
        return False
    letters = gold_letters(sample.answer, sample.choices)
    if letters and len(letters) > 1 and all(BOX_LETTER.fullmatch(c) for c in distinct):
        return False
    return not all(equal(distinct[0], other) for other in distinct[1:])


def _summary(name: str, protocol: str, n: int, wrong: int, fp: int, name_width: int) -> str:
    return (
        f"{name:<{name_width}} {protocol:>7}: agreement {100 * (n - wrong) / n:.1f}% ({n - wrong}/{n}), "
        f"false positives {100 * fp / n:.1f}% ({fp}), false negatives {wrong - fp}"
    )


def _width(paths: list[str]) -> int:
    return max(len(Path(p).name) for p in paths)


if __name__ == "__main__":
    main()
