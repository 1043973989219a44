"""How often a protocol agrees with human labels, and how often it accepts a wrong answer.

Input: a JSONL of labelled cases ({response, ground_truth, choices, label, ...}, or `score` lines
with a published verdict in "official_correct"); the default is
the project's own labelled file, benchmarks/data/labelled.jsonl. Prints agreement, false
positives and false negatives, then every disagreement.

    python benchmarks/checker_agreement.py [CASES.jsonl] --protocol strict [--by-rule] [--quiet]
"""

from __future__ import annotations

import argparse

from _cases import DEFAULT_CASES, load_cases

from vgpo_eval.checker.protocols import PROTOCOLS, check


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("cases", nargs="?", default=str(DEFAULT_CASES))
    parser.add_argument("--protocol", choices=sorted(PROTOCOLS), nargs="+", default=sorted(PROTOCOLS))
    parser.add_argument("--quiet", action="store_true", help="only the summary lines")
    parser.add_argument(
        "--by-rule", action="store_true", help="agreement per deciding rule (a regression shows)"
    )
    args = parser.parse_args()
    cases = [
        (row | {"label": row.get("label", row.get("official_correct"))}, s)
        for row, s in load_cases(args.cases)
    ]
    for protocol in args.protocol:
        wrong, by_rule = [], {}
        for row, sample in cases:
            verdict = check(row["response"], sample, protocol)
            tally = by_rule.setdefault(verdict.rule, [0, 0, 0])  # cases, agreeing, false positives
            tally[0] += 1
            tally[1] += verdict.correct == row["label"]
            tally[2] += verdict.correct and not row["label"]
            if verdict.correct != row["label"]:
                wrong.append((row, sample, verdict))
        fp = sum(1 for row, _, _ in wrong if not row["label"])
        n = len(cases)
        print(
            f"{protocol:>7}: agreement {100 * (n - len(wrong)) / n:.1f}% ({n - len(wrong)}/{n}), "
            f"false positives {100 * fp / n:.1f}% ({fp}), false negatives {len(wrong) - fp}"
        )
        if args.by_rule:
            for rule, (count, agree, fp) in sorted(by_rule.items(), key=lambda kv: -kv[1][0]):
                print(
                    f"    {rule:<28} {count:5d} cases  {100 * agree / count:5.1f}% agree  {fp:3d} false positives"
                )
        if not args.quiet:
            for row, sample, verdict in wrong:
                print(
                    f"    {row.get('id')}: label={row['label']} gold={sample.answer!r} "
                    f"extracted={verdict.extracted!r} rule={verdict.rule} {'(contested)' if row.get('contested') else ''}"
                )


if __name__ == "__main__":
    main()
