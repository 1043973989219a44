"""Agreement of `strict`, `verifier` and `paper` with labels: the labelled sets and published per-item verdicts.

Reads the files `checker_agreement.py` reads (labelled cases with "label", or `score` lines with a published
verdict in "official_correct"), scores each under the three protocols (the verifier through a server or a
local model) and prints, per file and protocol, agreement and false positives, then how many verdicts the
model decided and flipped. It states the verifier used; decisions are cached (`--cache`), so a second pass
costs nothing. Not run by this project (no GPU, no model weights here): the verifier's accuracy on these
sets is not measured by us.

    python benchmarks/verifier_agreement.py [CASES.jsonl ...] --verifier-url http://127.0.0.1:8001/v1
    python benchmarks/verifier_agreement.py --verifier-model opencompass/CompassVerifier-3B --backend vllm
"""

from __future__ import annotations

import argparse
from pathlib import Path

from _cases import LABELLED, load_cases

from vgpo_eval.checker.protocols import check
from vgpo_eval.verifier import DECIDED, ERROR, MODEL, UNPARSED, Cache, Settings, decide


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("cases", nargs="*", default=[str(p) for p in LABELLED])
    parser.add_argument("--verifier-model", default=MODEL)
    parser.add_argument("--verifier-url", help="OpenAI-compatible server(s) running the verifier")
    parser.add_argument("--backend", choices=("hf", "vllm"), default="vllm", help="without --verifier-url")
    parser.add_argument("--verify", choices=("negatives", "all"), default="negatives")
    parser.add_argument("--cache", type=Path, default=Path("verifier_agreement.cache.jsonl"))
    args = parser.parse_args()
    settings = Settings(model=args.verifier_model, backend="openai" if args.verifier_url else args.backend,
                        urls=args.verifier_url, verify=args.verify)  # fmt: skip
    print(f"verifier: {settings.model} ({settings.backend}{', ' + settings.urls if settings.urls else ''}), "
          f"verify {settings.verify}")  # fmt: skip
    cache = Cache(args.cache)
    for path in args.cases:
        rows = [(row, sample) for row, sample in load_cases(path) if _label(row) is not None]
        if not rows:
            print(f"{Path(path).name}: no labelled row")
            continue
        labels = [_label(row) for row, _ in rows]
        strict = [check(row["response"], sample, "strict") for row, sample in rows]
        paper = [check(row["response"], sample, "paper").correct for row, sample in rows]
        records = [{"id": sample.id, "index": 0, "answer": sample.answer, "correct": v.correct, "rule": v.rule,
                    "extracted": v.extracted, "question": str(row.get("question") or ""), "response": row["response"]}
                   for (row, sample), v in zip(rows, strict, strict=True)]  # fmt: skip
        verified = decide(records, settings, cache)
        for name, verdicts in (("strict", [v.correct for v in strict]), ("verifier", [r["correct"] for r in verified]),
                               ("paper", paper)):  # fmt: skip
            agree = sum(v == label for v, label in zip(verdicts, labels, strict=True))
            fp = sum(v and not label for v, label in zip(verdicts, labels, strict=True))
            print(f"{Path(path).name:<28} {name:<9} agreement {100 * agree / len(rows):5.1f}% "
                  f"({agree}/{len(rows)}), false positives {100 * fp / len(rows):4.1f}%")  # fmt: skip
        rules = [r["rule"] for r in verified]
        decided = sum(r in DECIDED for r in rules)
        flipped = sum(r["correct"] != r["strict_correct"] for r in verified)
        print(f"{'':<28} verifier decided {decided}, flipped {flipped} from strict, unparsed "
              f"{rules.count(UNPARSED)}, errors {rules.count(ERROR)}")  # fmt: skip


def _label(row: dict) -> bool | None:
    value = row.get("label", row.get("official_correct"))
    return None if value is None else bool(value)


if __name__ == "__main__":
    main()
