"""`python -m vgpo_eval score`: scored lines in input order, bad lines reported by number, a summary."""

import json
import subprocess
import sys

from vgpo_eval.cli import main

LINES = [
    {"id": "a", "response": "\\boxed{12}", "answer": "12", "task": "counting"},
    {"id": "b", "response": "\\boxed{5}", "answer": "C", "choices": ["3", "4", "5", "6"]},
    "{not json",
    {"id": "c", "response": "\\boxed{1}"},
    {"id": "d", "response": "\\boxed{1.52}", "answer": "1.5", "precision": 1, "answer_type": "number"},
    {"id": "e", "response": "\\boxed{7}", "answer": "8"},
    {"id": "f", "response": "x", "answer": "1", "choices": "A,B"},
]


def _write(path):
    path.write_text(
        "\n".join(x if isinstance(x, str) else json.dumps(x) for x in LINES) + "\n\n", encoding="utf-8"
    )


def test_score_file(tmp_path, capsys):
    src, out = tmp_path / "preds.jsonl", tmp_path / "scored.jsonl"
    _write(src)
    assert main(["score", str(src), "--out", str(out), "--workers", "1"]) == 1  # bad lines: exit 1
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert [r.get("id") for r in records] == ["a", "b", None, "c", "d", "e", "f"]
    scored = {r["id"]: r for r in records if "correct" in r}
    assert {k: v["correct"] for k, v in scored.items()} == {"a": True, "b": True, "d": True, "e": False}
    assert scored["a"]["task"] == "counting" and scored["a"]["extracted"] == "12"
    assert scored["b"]["rule"] == "choice:boxed" and scored["b"]["protocol"] == "strict"
    errors = {r["line"]: r["error"] for r in records if "error" in r}
    assert errors[3].startswith("line 3: not JSON")
    assert errors[4] == "line 4: missing answer"
    assert "choices" in errors[7]
    printed = capsys.readouterr().out
    assert "strict: accuracy 75.00% (3/4)" in printed and "3 bad line(s) not scored: 3, 4, 7" in printed


def test_score_in_worker_processes_matches_one_process(tmp_path):
    src = tmp_path / "preds.jsonl"
    _write(src)
    outs = []
    for workers in ("1", "2"):
        out = tmp_path / f"out{workers}.jsonl"
        cmd = [sys.executable, "-m", "vgpo_eval", "score", str(src), "--protocol", "paper", "--out", str(out)]
        done = subprocess.run([*cmd, "--workers", workers], capture_output=True, text=True, timeout=300)
        assert done.returncode == 1, done.stderr  # the file has bad lines on purpose
        assert "paper: accuracy" in done.stdout
        outs.append(out.read_text())
    assert outs[0] == outs[1]


def test_missing_input_file(tmp_path, capsys):
    assert main(["score", str(tmp_path / "nope.jsonl")]) == 2
    assert "no such file" in capsys.readouterr().err


def test_check_command(capsys):
    assert (
        main(["check", "<think>x</think> \\boxed{c}", "--answer", "C", "--choices", "3", "4", "5", "6"]) == 0
    )
    assert json.loads(capsys.readouterr().out) == {"correct": True, "extracted": "c", "rule": "choice:boxed"}


def test_timeouts_are_counted_not_hidden(tmp_path, capsys, monkeypatch):
    """A check that reaches its CPU limit is named in the summary, in the scored line and in report.md."""
    from conftest import one_item_run

    from vgpo_eval.checker import protocols
    from vgpo_eval.report import markdown, score_run

    monkeypatch.setattr(protocols, "REFERENCE_LIMIT", 0.0)
    src, out = tmp_path / "preds.jsonl", tmp_path / "scored.jsonl"
    src.write_text(
        json.dumps({"id": "a", "response": "\\boxed{12}", "answer": "12"}) + "\n", encoding="utf-8"
    )
    assert main(["score", str(src), "--out", str(out), "--protocol", "papo", "--workers", "1"]) == 0
    assert json.loads(out.read_text())["rule"] == "timeout:mathruler"
    assert (
        "1 check(s) reached the CPU time limit or failed inside the checker, counted wrong: a"
        in capsys.readouterr().out
    )

    run = one_item_run(tmp_path / "run", "12", "\\boxed{12}")
    report = score_run(run, "papo", workers=1)
    assert report["tasks"]["counting"]["timeouts"] == ["counting/1#0"]
    text = markdown([report])
    assert (
        "Checks that reached the CPU time limit or failed inside the checker (counted wrong, listed per task below): papo 1."
        in text
    )
    assert (
        "checks that reached the CPU time limit or failed under papo, counted wrong (1): counting/1#0" in text
    )


def test_check_explain_says_what_was_found_and_how_each_side_parsed(capsys):
    assert (
        main(["check", "<think>3?</think> So the answer is 0.50.", "--answer", "\\frac{1}{2}", "--explain"])
        == 0
    )
    out = capsys.readouterr().out
    assert "verdict: correct (rule number:cue, protocol strict)" in out
    assert "answer found: '0.50' in an \"answer is\"" in out
    assert "gold parsed as: number 1/2" in out and "answer parsed as: number 1/2 (decimals 2)" in out
    assert main(["check", "The answer is C.", "--answer", "B", "--choices", "3", "4", "5", "--explain"]) == 0
    assert "gold: option(s) B; the answer picks C" in capsys.readouterr().out


def test_check_explain_names_a_stated_option_and_the_part_compared(capsys):
    choices = ["mice", "frogs", "snakes", "hawks"]
    stated = "Snakes and hawks eat frogs. Losing the insects hurts the frogs most."
    assert main(["check", stated, "--answer", "B", "--choices", *choices, "--explain"]) == 0
    assert "the final line states the text of option(s) B" in capsys.readouterr().out
    named = "The base is \\boxed{4} and the height is \\boxed{7}."
    assert main(["check", named, "--answer", "7", "--explain"]) == 0
    out = capsys.readouterr().out
    assert "verdict: correct" in out and "the last, '7', is compared" in out
    assert "answer parsed as: number 7" in out


def test_check_explain_names_hedges_selections_and_templates(capsys):
    """The rules of several boxed answers, unfilled templates and rounded decimals, in words."""
    assert (
        main(["check", "\\boxed{A} \\boxed{C}", "--answer", "C", "--choices", "1", "2", "3", "--explain"])
        == 0
    )
    out = capsys.readouterr().out
    assert "rule hedge:boxes" in out and "read as one selection" in out
    boxed = "From the left \\boxed{3}; from above \\boxed{5}. Both are plausible."
    assert main(["check", boxed, "--answer", "5", "--explain"]) == 0
    assert "rule no_answer:several_answers" in (out := capsys.readouterr().out) and "alternatives" in out
    assert main(["check", "Answer: $LETTER", "--answer", "B", "--choices", "1", "2", "--explain"]) == 0
    assert "rule no_answer:template" in (out := capsys.readouterr().out) and "left unfilled" in out
    assert main(["check", "\\boxed{0.33}", "--answer", "\\frac{1}{3}", "--explain"]) == 0
    assert "verdict: correct (rule rounded:boxed" in capsys.readouterr().out


def test_report_labels_each_protocols_breakdowns_and_counts_its_rules(tmp_path):
    """Breakdowns and WeMath metrics come per protocol, labelled, and each protocol says what decided its
    verdicts: a paper-protocol score that comes from its letter-anywhere rule is visible as such."""
    from vgpo_eval.report import markdown, score_run
    from vgpo_eval.run import write_jsonl
    from vgpo_eval.types import Response, Sample

    run = tmp_path / "run"
    run.mkdir()
    samples = [
        Sample(id=f"mathverse/{i}", task="mathverse", question="q", answer="A", choices=("1", "2"),
               answer_type="choice", meta={"problem_version": "Vision Only"})
        for i in range(2)
    ]  # fmt: skip
    write_jsonl(run / "mathverse.samples.jsonl", [s.to_dict() for s in samples])
    # no box: strict reads the letter A; paper finds no box and scores the string "None" (no A in it)
    write_jsonl(
        run / "mathverse.responses.jsonl", [Response(s.id, "The answer is A.").to_dict() for s in samples]
    )
    reports = [score_run(run, protocol, workers=1) for protocol in ("strict", "paper")]
    text = markdown(reports)
    assert "- problem_version (strict): Vision Only 100.0% (n=2)" in text, text
    assert "- problem_version (paper): Vision Only 0.0% (n=2)" in text, text
    assert "- verdicts by rule (strict): choice:cue 2" in text, text
    assert "- verdicts by rule (paper): none 2" in text, text
