"""User-facing defects of the command line, each pinned by a test that failed before its fix: --data-dir without
a source that reads it, a score line without a response, output into a closed pipe, an empty score input,
`check`'s exit status in its help, and `show` without the hub."""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from vgpo_eval import commands
from vgpo_eval.cli import main

sys.path.insert(0, str(Path(__file__).parent))
from conftest import one_item_run  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VGPO_CACHE", str(tmp_path / "cache"))


def _env(**extra) -> dict:
    """This checkout's code in a fresh interpreter, whatever the installed copy is."""
    env = {**os.environ, "PYTHONPATH": str(ROOT), **extra}
    for name in ("HF_HUB_OFFLINE", "HF_DATASETS_OFFLINE"):  # the probe must meet an unreachable hub
        env.pop(name, None)
    return env


# 1. --data-dir without --source local (or a profile that reads it) is refused before anything loads


@pytest.mark.parametrize(
    "argv",
    [
        ["run", "--tasks", "counting", "--model", "Qwen/Qwen2.5-VL-7B-Instruct"],
        ["run", "--tasks", "counting", "--model", "Qwen/Qwen2.5-VL-7B-Instruct", "--source", "upstream"],
        ["run", "--tasks", "counting", "--model", "Qwen/Qwen2.5-VL-7B-Instruct", "--source", "lookback"],
        ["show", "counting"],
        ["export-lmms-eval", "OUT", "--tasks", "counting"],
    ],
)
def test_data_dir_without_source_local_is_an_error_naming_both_flags(argv, tmp_path, monkeypatch, capsys):
    ran = []
    for name in ("run", "show", "export-lmms-eval"):
        monkeypatch.setitem(commands.COMMANDS, name, lambda args: ran.append(args) or 0)
    with pytest.raises(SystemExit) as exited:
        main([arg.replace("OUT", str(tmp_path / "out")) for arg in argv] + ["--data-dir", str(tmp_path)])
    assert exited.value.code == 2 and not ran  # stopped at the flags: nothing loaded, no hub asked
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "--data-dir" in err and "--source local" in err


def test_data_dir_is_accepted_where_a_source_reads_it(tmp_path, monkeypatch):
    ran = []
    monkeypatch.setitem(commands.COMMANDS, "run", lambda args: ran.append(args.source) or 0)
    monkeypatch.setitem(commands.COMMANDS, "show", lambda args: ran.append(args.source) or 0)
    model = ["--model", "Qwen/Qwen2.5-VL-7B-Instruct", "--data-dir", str(tmp_path)]
    assert main(["run", "--tasks", "counting", "--source", "local", *model]) == 0
    assert main(["run", "--tasks", "all", "--source", "lookback", *model]) == 0  # GeoMath comes from it
    assert main(["show", "geomath", "--source", "lookback", "--data-dir", str(tmp_path)]) == 0
    assert ran == ["local", "lookback", "lookback"]


# 2. a score line without a response: one line naming the file, the line and the field


def test_score_line_without_response_names_file_line_and_field(tmp_path, capsys):
    src = tmp_path / "preds.jsonl"
    src.write_text(json.dumps({"id": "a", "answer": "2"}) + "\n", encoding="utf-8")
    assert main(["score", str(src), "--workers", "1"]) == 2
    printed = capsys.readouterr()
    errors = [line for line in printed.err.splitlines() if line.startswith("error:")]
    assert len(errors) == 1, printed.err
    assert str(src) in errors[0] and "line 1: missing response" in errors[0]
    assert "'response'" not in printed.out + printed.err  # not the bare KeyError
    record = json.loads((tmp_path / "preds.scored.strict.jsonl").read_text(encoding="utf-8"))
    assert record == {"line": 1, "id": "a", "error": "line 1: missing response"}

    good = {"id": "b", "answer": "2", "response": "\\boxed{2}"}
    src.write_text(json.dumps(good) + "\n" + json.dumps({"id": "c", "answer": "3"}) + "\n", encoding="utf-8")
    assert main(["score", str(src), "--workers", "1"]) == 1
    printed = capsys.readouterr()
    said = [line for line in printed.err.splitlines() if "could not be scored" in line]
    assert len(said) == 1 and str(src) in said[0] and "line 2: missing response" in said[0], printed.err
    assert "'response'" not in printed.out + printed.err


# 3. output into a pipe whose reader has gone: a quiet exit, no traceback


def _into_closed_pipe(*args: str, buffered: bool) -> subprocess.CompletedProcess:
    """The command with stdout a pipe whose reader has already gone (`| head -1` once it has its line).
    Buffered (Python's default for a pipe) the failure comes when the output is flushed, at the latest in
    the interpreter's exit; unbuffered (PYTHONUNBUFFERED=1), at the first print."""
    read, write = os.pipe()
    os.close(read)
    env = _env(PYTHONUNBUFFERED="1")
    if buffered:
        del env["PYTHONUNBUFFERED"]
    try:
        return subprocess.run([sys.executable, "-m", "vgpo_eval", *args], stdout=write, stderr=subprocess.PIPE,
                              text=True, env=env, timeout=120)  # fmt: skip
    finally:
        os.close(write)


@pytest.mark.parametrize("buffered", [True, False], ids=["buffered", "unbuffered"])
@pytest.mark.parametrize("command", ["list", "status", "check", "score", "table"])
def test_output_into_a_closed_pipe_is_a_quiet_exit(command, buffered, tmp_path):
    run = one_item_run(tmp_path / "run", "3", "\\boxed{3}")
    preds = tmp_path / "preds.jsonl"
    preds.write_text(
        json.dumps({"id": "a", "answer": "1", "response": "\\boxed{1}"}) + "\n", encoding="utf-8"
    )
    argv = {
        "list": ["list"],
        "status": ["status", str(run)],
        "check": ["check", "\\boxed{1}", "--answer", "1"],
        "score": ["score", str(preds), "--workers", "1"],
        "table": ["table"],
    }[command]
    done = _into_closed_pipe(*argv, buffered=buffered)
    assert "Traceback" not in done.stderr and "BrokenPipeError" not in done.stderr, done.stderr
    assert "Exception ignored" not in done.stderr, done.stderr
    assert done.returncode == 141, done.stderr  # as a shell reports a process ended by SIGPIPE


def test_a_broken_pipe_that_is_not_stdout_is_not_hidden(monkeypatch):
    def server_gone(args):
        raise BrokenPipeError(32, "Broken pipe")

    monkeypatch.setitem(commands.COMMANDS, "list", server_gone)
    with pytest.raises(BrokenPipeError):
        main(["list"])


# 4. an empty score input: nothing written, one line saying so


@pytest.mark.parametrize("content", ["", "\n\n  \n"])
def test_empty_score_input_writes_nothing(content, tmp_path, capsys):
    src = tmp_path / "empty.jsonl"
    src.write_text(content, encoding="utf-8")
    stale = tmp_path / "empty.scored.strict.jsonl"
    stale.write_text('{"id": "old", "correct": true}\n', encoding="utf-8")
    assert main(["score", str(src)]) == 2
    assert not stale.exists()  # no old result left to look like this file's
    out = tmp_path / "new" / "folder" / "scored.jsonl"
    assert main(["score", str(src), "--out", str(out)]) == 2
    assert not (tmp_path / "new").exists()
    err = capsys.readouterr().err.strip().splitlines()
    assert err == [f"error: {src} holds no responses (no line with text in it): nothing written"] * 2


# 5. check --help says what the exit status means


def test_check_help_says_an_incorrect_verdict_exits_0(capsys):
    with pytest.raises(SystemExit) as exited:
        main(["check", "--help"])
    assert exited.value.code == 0
    text = " ".join(capsys.readouterr().out.split())
    assert "exit status: 0 when the check ran, whatever the verdict: an incorrect answer exits 0 too" in text
    assert main(["check", "\\boxed{2}", "--answer", "1"]) == 0  # what the help says
    assert json.loads(capsys.readouterr().out)["correct"] is False


# 6. show without the hub: the quick probe `run` uses, one line in about a second


def test_show_without_hub_is_one_quick_line(tmp_path):
    done = subprocess.run(
        [sys.executable, "-m", "vgpo_eval", "show", "mathvista"], capture_output=True, text=True, timeout=120,
        env=_env(HF_ENDPOINT="http://127.0.0.1:9", HF_HOME=str(tmp_path / "hf"), VGPO_CACHE=str(tmp_path / "c")),
    )  # fmt: skip
    assert done.returncode == 2, done.stderr
    assert "Retrying" not in done.stderr and "Traceback" not in done.stderr, done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "hub cannot be reached" in errors[0]
    assert "AI4Math/MathVista (mathvista)" in errors[0] and "ShuoY/Look-Back-eval (mathvista)" in errors[0]
