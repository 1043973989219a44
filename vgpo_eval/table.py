"""The paper's results table beside reproduced runs: markdown with deltas, and a bar chart.

python -m vgpo_eval table RUN_DIR [RUN_DIR ...] --protocol paper --png table.png
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

from vgpo_eval.report import suite_means
from vgpo_tasks import SUITES, TASKS

PAPER = Path(__file__).resolve().parents[1] / "leaderboards" / "paper.json"
COLUMNS = (*SUITES["general"], "general", *SUITES["vision_dependent"], "vision_dependent")


def paper_rows(path: Path = PAPER) -> list[dict[str, Any]]:
    """The rows the paper reports: {"name", "source", "results": {task: accuracy or None}}."""
    data = json.loads(path.read_text(encoding="utf-8"))
    return [row | {"source": data["source"]} for row in data["rows"]]


def run_row(run_dir: Path, protocol: str) -> dict[str, Any]:
    """A run's row from its report.<protocol>.json (complete tasks only)."""
    path = Path(run_dir) / f"report.{protocol}.json"
    if not path.exists():
        raise FileNotFoundError(
            f"{path} not found: score the run under {protocol} first "
            f"(python -m vgpo_eval score --run {run_dir} --protocol {protocol})"
        )
    report = json.loads(path.read_text(encoding="utf-8"))
    results = {k: v["accuracy"] for k, v in report["tasks"].items() if v["complete"]}
    source = str(path)
    if counts := [t["verifier"] for t in report["tasks"].values() if "verifier" in t]:
        model = (report.get("verifier") or {}).get("model", "the verifier")
        source += (f" ({model} decided {sum(c['decided'] for c in counts)} verdicts, flipped "
                   f"{sum(c['flipped'] for c in counts)} from strict)")  # fmt: skip
    return {"name": f"{Path(run_dir).name} ({protocol})", "source": source, "results": results}


def _values(row: dict) -> list[float | None]:
    known = {k: v for k, v in row["results"].items() if v is not None}
    means = suite_means(known)
    return [means.get(c) if c in SUITES else known.get(c) for c in COLUMNS]


def markdown(paper: list[dict], runs: list[dict]) -> str:
    titles = [TASKS[c].title if c in TASKS else f"{c.replace('_', '-')} avg" for c in COLUMNS]
    lines = ["| | " + " | ".join(titles) + " |", "|---|" + "---|" * len(COLUMNS)]
    for row in [*paper, *runs]:
        lines.append(
            f"| {row['name']} | " + " | ".join("" if v is None else f"{v:.1f}" for v in _values(row)) + " |"
        )
    for run in runs:
        for ref in paper:
            deltas = [
                None if a is None or b is None else a - b
                for a, b in zip(_values(run), _values(ref), strict=True)
            ]
            cells = " | ".join("" if d is None else f"{d:+.1f}" for d in deltas)
            lines.append(f"| Δ {run['name']} vs {ref['name']} | {cells} |")
    sources = "\n".join(f"- {row['name']}: {row['source']}" for row in [*paper, *runs])
    return "\n".join(lines) + "\n\nBlank: not reported (paper) or not run. Sources:\n" + sources + "\n"


def write_csv(paper: list[dict], runs: list[dict], out: Path) -> None:
    """The table as CSV: one row per (row name, benchmark or suite mean), blank cells left out."""
    import csv

    with open(out, "w", newline="", encoding="utf-8") as f:
        writer = csv.writer(f)
        writer.writerow(["name", "source", "task", "accuracy"])
        for row in [*paper, *runs]:
            for column, value in zip(COLUMNS, _values(row), strict=True):
                if value is not None:
                    writer.writerow([row["name"], row["source"], column, round(value, 4)])


def bar_chart(paper: list[dict], runs: list[dict], out: Path) -> None:
    """Grouped bars per benchmark (blank cells left out), saved as PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    rows = [*paper, *runs]
    names = [c for c in COLUMNS if c not in SUITES]
    width = 0.8 / max(1, len(rows))
    fig, ax = plt.subplots(figsize=(max(8, len(names) * 1.2), 4.5))
    for k, row in enumerate(rows):
        xs = [i + k * width for i, c in enumerate(names) if row["results"].get(c) is not None]
        ys = [row["results"][c] for c in names if row["results"].get(c) is not None]
        ax.bar(xs, ys, width, label=row["name"])
    ax.set_xticks([i + width * (len(rows) - 1) / 2 for i in range(len(names))])
    ax.set_xticklabels([TASKS[c].title for c in names], rotation=30, ha="right")
    ax.set_ylabel("accuracy (%)")
    ax.set_ylim(0, 100)
    ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(out, dpi=120)
    plt.close(fig)
