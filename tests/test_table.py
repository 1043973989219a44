"""The paper's table: reported numbers exactly as the paper gives them, blanks kept blank, deltas."""

import json

import pytest

from vgpo_eval.cli import main
from vgpo_eval.table import markdown, paper_rows, run_row

REPORTED = {
    "wemath": 72.5,
    "mathvista": 74.1,
    "mathverse_v": 67.6,
    "mmk12": 81.5,
    "logicvista": 49.4,
    "geo3k": 45.8,
}


def test_paper_numbers_are_the_reported_ones_and_nothing_else():
    (row,) = paper_rows()
    assert {k: v for k, v in row["results"].items() if v is not None} == REPORTED
    assert {k for k, v in row["results"].items() if v is None} == {
        "mathverse",
        "geomath",
        "counting",
        "mmmu_pro",
    }
    assert "arXiv 2604.09349" in row["source"]


def _fake_run(path, accuracy):
    tasks = {name: {"accuracy": acc, "complete": True} for name, acc in accuracy.items()}
    tasks["counting"] = {"accuracy": 99.0, "complete": False}  # incomplete: left out
    path.mkdir()
    (path / "report.paper.json").write_text(json.dumps({"tasks": tasks}))
    return path


def test_markdown_deltas_and_blanks(tmp_path):
    run = run_row(_fake_run(tmp_path / "r", {"wemath": 70.0, "mathverse": 50.0}), "paper")
    text = markdown(paper_rows(), [run])
    header, _, paper, mine, delta = text.splitlines()[:5]
    assert header.startswith("| | MathVista | MathVerse | WeMath |")
    assert paper.startswith("| VGPO-RL-7B (paper) | 74.1 |  | 72.5 | 81.5 |  | 45.8 |  |")
    assert mine.startswith("| r (paper) |  | 50.0 | 70.0 |")
    assert delta.startswith("| Δ r (paper) vs VGPO-RL-7B (paper) |  |  | -2.5 |")


def test_table_command_writes_png(tmp_path, capsys):
    run = _fake_run(tmp_path / "r", {"wemath": 70.0})
    png = tmp_path / "t.png"
    assert main(["table", str(run), "--png", str(png), "--out", str(tmp_path / "t.md")]) == 0
    assert png.read_bytes()[:4] == b"\x89PNG" and (tmp_path / "t.md").read_text().startswith("| |")
    with pytest.raises(SystemExit) as exit_:
        main(["table", str(tmp_path / "missing")])
    assert exit_.value.code == 2 and "no such folder" in capsys.readouterr().err
    (tmp_path / "unscored").mkdir()
    assert main(["table", str(tmp_path / "unscored")]) == 2
    assert "score the run under paper first" in capsys.readouterr().err
