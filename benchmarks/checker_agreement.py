"""How often a protocol agrees with human labels, and how often it accepts a wrong answer.

Input: a JSONL of labelled cases ({response, ground_truth, choices, label, ...}, or `score` lines
with a published verdict in "official_correct"); the default is
the project's own labelled file, benchmarks/data/labelled.jsonl. Prints agreement, false
positives and false negatives, then every disagreement.

    python benchmarks/checker_agreement.py [CASES.jsonl] --protocol strict
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
    args = parser.parse_args()
    cases = [
        (row | {"label": row.get("label", row.get("official_correct"))}, s)
        for row, s in load_cases(args.cases)
    ]
    for protocol in args.protocol:
        wrong = []
        for row, sample in cases:
            verdict = check(row["response"], sample, protocol)
            if verdict.correct != row["label"]:
                wrong.append((row, sample, verdict))
        fp = sum(1 for row, _, _ in wrong if not row["label"])
        n = len(cases)
        print(
            f"{protocol:>7}: agreement {100 * (n - len(wrong)) / n:.1f}% ({n - len(wrong)}/{n}), "
            f"false positives {100 * fp / n:.1f}% ({fp}), false negatives {len(wrong) - fp}"
        )
        if not args.quiet:
            for row, sample, verdict in wrong:
                print(
                    f"    {row.get('id')}: label={row['label']} gold={sample.answer!r} "
                    f"extracted={verdict.extracted!r} rule={verdict.rule} {'(contested)' if row.get('contested') else ''}"
                )


if __name__ == "__main__":
    main()
