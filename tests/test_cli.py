"""The first hour of a new user: the headline command on every source, mistakes caught before the model
loads, clear exits, bad input to `score`, commands that work from any folder."""

import csv
import json
import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from vgpo_eval.cli import PROMPT_VARIANTS, build_parser, main
from vgpo_eval.prompts import PROMPTS
from vgpo_tasks import SUITES

sys.path.insert(0, str(Path(__file__).parent))
import fake_hub  # noqa: E402
from conftest import one_item_run  # noqa: E402

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VGPO_CACHE", str(tmp_path / "cache"))


def _csv(path) -> list[dict]:
    with open(path, encoding="utf-8") as f:
        return list(csv.DictReader(f))


def _cli(*args, cwd=None, env=None, timeout=120):
    """The console command as a user types it (a fresh interpreter), from `cwd`."""
    return subprocess.run(
        [sys.executable, "-m", "vgpo_eval", *args], cwd=cwd, env={**os.environ, **(env or {})},
        capture_output=True, text=True, timeout=timeout,
    )  # fmt: skip


@pytest.mark.parametrize("source", ["papo", "upstream"])
def test_run_all_tasks_through_the_hub(tiny_model_dir, tmp_path, monkeypatch, capsys, source):
    """`run --tasks all` with the hub sources (the README's headline command) runs every task that has
    data there (under papo, GeoMath from Look-Back's archive) and says how to provide one that has none
    (GeoMath under upstream)."""
    hub = fake_hub.install(monkeypatch, tmp_path / "hub")
    out = tmp_path / "run"
    code = main(["run", "--tasks", "all", "--model", str(tiny_model_dir), "--backend", "hf", "--source", source,
                 "--out", str(out), "--max-new-tokens", "8"])  # fmt: skip
    printed = capsys.readouterr()
    assert code == 0, printed.err
    report = json.loads((out / "report.strict.json").read_text())
    ran = [t for t in SUITES["all"] if t != "geomath" or source == "papo"]
    assert sorted(report["tasks"]) == sorted(ran) and all(t["complete"] for t in report["tasks"].values())
    if source == "upstream":
        assert "not run: geomath: no" in printed.err and "--data-dir" in printed.err
        assert list(report["not_run"]) == ["geomath"]
        assert "not run: GeoMath" in (out / "report.md").read_text()
    else:
        assert not report["not_run"] and any(call[0] == "snapshot_download" for call in hub.calls)
    config = json.loads((out / "config.json").read_text())
    assert set(config["datasets"]) == set(ran)
    assert any(call[0] == "load_dataset" for call in hub.calls)
    if source == "papo":
        assert any(call[0] == "hf_hub_download" for call in hub.calls)
    rows = _csv(out / "results.csv")
    assert {(r["task"], r["protocol"]) for r in rows if r["metric"] == "accuracy"} == {
        (t, p) for t in ran for p in ("strict", "paper")
    }
    assert {r["model"] for r in rows} == {str(tiny_model_dir)} and {r["source"] for r in rows} == {source}


def test_require_all_stops_before_the_model_loads(tmp_path, monkeypatch, capsys):
    fake_hub.install(monkeypatch, tmp_path / "hub")
    code = main(
        [
            "run",
            "--tasks",
            "general",
            "--model",
            "someone/model",
            "--require-all",
            "--source",
            "upstream",
            "--out",
            str(tmp_path / "r"),
        ]
    )
    assert code == 2
    assert "geomath: no upstream source is known" in capsys.readouterr().err
    assert not (tmp_path / "r" / "config.json").exists()


def test_geomath_from_a_named_hub_copy(tmp_path, monkeypatch):
    """VGPO_GEOMATH_DATASET names a hub copy for the task that has none (it used to be ignored under papo)."""
    from vgpo_eval.task import spec_for, unavailable
    from vgpo_tasks import TASKS

    monkeypatch.setenv("VGPO_GEOMATH_DATASET", "me/geomath:test")
    assert spec_for(TASKS["geomath"], "papo").dataset == "me/geomath"
    assert unavailable(TASKS["geomath"], "papo", None) is None


@pytest.mark.parametrize(
    "args, message",
    [
        (["--prompt", "lookbak"], "argument --prompt: invalid choice: 'lookbak'"),
        (["--tasks", "mathvist"], "unknown task or suite 'mathvist'"),
        (["--protocols", "strict,strikt"], "unknown protocol(s) strikt"),
        (["--source", "local"], "--source local needs --data-dir"),
        (["--source", "local", "--data-dir", "/no/such/dir"], "--data-dir: no such folder: /no/such/dir"),
        (["--samples", "0"], "--samples: '0' is not a positive whole number"),
        (["--top-p", "1.5"], "--top-p: '1.5' is not a number in (0, 1]"),
        (["--min-pixels", "9", "--max-pixels", "4"], "--min-pixels (9) is larger than --max-pixels (4)"),
    ],
)
def test_bad_flags_are_caught_before_anything_loads(args, message, capsys):
    with pytest.raises(SystemExit) as exit_:
        main(["run", "--model", "someone/model", *args])
    assert exit_.value.code == 2
    assert message in capsys.readouterr().err


def test_a_model_folder_that_does_not_exist(tmp_path, capsys):
    with pytest.raises(SystemExit):
        main(["run", "--model", str(tmp_path / "nope")])
    assert f"--model {tmp_path / 'nope'}: the folder does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["run", "--model", str(tmp_path)])
    assert "holds no config.json" in capsys.readouterr().err


def test_prompt_choices_are_the_prompt_variants():
    assert set(PROMPT_VARIANTS) == set(PROMPTS)


def test_hub_unreachable_is_one_quick_line(tiny_model_dir, tmp_path):
    """No network: one line saying what is missing and how to fix it, in seconds, no traceback."""
    start = time.monotonic()
    done = _cli("run", "--tasks", "all", "--model", str(tiny_model_dir), "--source", "papo", "--out", str(tmp_path / "r"),
                env={"HF_ENDPOINT": "http://127.0.0.1:9", "HF_HOME": str(tmp_path / "hf"), "VGPO_CACHE": str(tmp_path / "c")})  # fmt: skip
    assert time.monotonic() - start < 60  # well under 15 s here; generous for a loaded machine
    assert done.returncode == 2, done.stderr
    assert "Traceback" not in done.stderr
    errors = [line for line in done.stderr.splitlines() if line.startswith("error:")]
    assert len(errors) == 1 and "hub cannot be reached" in errors[0] and "--source local" in errors[0]
    assert "PAPO-Galaxy/PAPO_eval" in errors[0]


def test_commands_work_beside_a_users_own_tasks_package(tmp_path):
    (tmp_path / "tasks").mkdir()
    (tmp_path / "tasks" / "__init__.py").write_text("raise ImportError('the user tasks package')\n")
    done = _cli("list", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert "mathvista" in done.stdout


def test_list_fits_100_columns_and_shows_sizes(capsys):
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    assert max(map(len, out.splitlines())) <= 100
    assert "1,000" in out  # MathVista testmini
    assert "2,180" in out and "1,308" in out  # PAPO_eval's MathVerse (multi-choice only) and MathVerse-V
    assert "unpinned" in out


def test_run_help_lists_tasks_and_suites(capsys):
    with pytest.raises(SystemExit):
        main(["run", "--help"])
    out = capsys.readouterr().out
    assert "vision_dependent" in out and "mathverse_v" in out and "exit codes" in out


def test_console_scripts_are_declared():
    tomllib = pytest.importorskip("tomllib")  # Python 3.11+
    scripts = tomllib.loads((ROOT / "pyproject.toml").read_text())["project"]["scripts"]
    assert scripts == {"vgpo-eval": "vgpo_eval.cli:entry", "vgpo-train": "vgpo_train.__main__:entry"}
    from vgpo_eval.cli import entry
    from vgpo_train.__main__ import entry as train_entry

    assert callable(entry) and callable(train_entry)


def test_failed_items_give_exit_1_and_say_how_to_retry(tiny_model_dir, tmp_path, monkeypatch, capsys):
    from vgpo_eval.backends.hf import HFBackend
    from vgpo_eval.types import Response

    def failing(self, requests, decoding):
        for request in requests:
            for index in request.indices:
                yield Response(request.sample.id, "", index, error="CUDA out of memory (simulated)")

    data = __import__("vgpo_tasks.synthetic", fromlist=["write"]).write(tmp_path / "data", ["counting"], n=2)
    monkeypatch.setattr(HFBackend, "generate", failing)
    args = ["run", "--tasks", "counting", "--model", str(tiny_model_dir), "--backend", "hf", "--source", "local",
            "--data-dir", str(data), "--out", str(tmp_path / "run"), "--max-new-tokens", "4"]  # fmt: skip
    assert main(args) == 1
    err = capsys.readouterr().err
    assert (
        "2 item(s) failed and count as wrong (listed in report.md); re-run the same command to retry them"
        in err
    )


def test_ctrl_c_is_one_line_and_exit_130(tiny_model_dir, tmp_path, monkeypatch, capsys):
    from vgpo_eval.backends.hf import HFBackend

    def interrupted(self, requests, decoding):
        raise KeyboardInterrupt
        yield

    data = __import__("vgpo_tasks.synthetic", fromlist=["write"]).write(tmp_path / "data", ["counting"], n=2)
    monkeypatch.setattr(HFBackend, "generate", interrupted)
    args = ["run", "--tasks", "counting", "--model", str(tiny_model_dir), "--backend", "hf", "--source", "local",
            "--data-dir", str(data), "--out", str(tmp_path / "run")]  # fmt: skip
    assert main(args) == 130
    err = capsys.readouterr().err
    assert "interrupted: everything done so far is kept; re-run the same command to resume" in err
    assert "Traceback" not in err


def test_score_bad_input(tmp_path, capsys):
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(b'{"id": "a", "response": "\\\\boxed{1}", "answer": "1"}\n\xff\xfe not text\n')
    out = tmp_path / "new" / "folder" / "out.jsonl"
    assert main(["score", str(bad), "--out", str(out), "--workers", "1"]) == 1
    records = [json.loads(line) for line in out.read_text().splitlines()]
    assert records[1] == {"line": 2, "error": "line 2: not UTF-8 text (byte 0xff at column 1)"}
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert main(["score", str(empty)]) == 2
    assert "holds no responses" in capsys.readouterr().err
    assert main(["score"]) == 2
    assert "give a JSONL file of responses to score" in capsys.readouterr().err
    binary = tmp_path / "binary.jsonl"
    binary.write_bytes(bytes(range(256)) * 8)
    assert main(["score", str(binary), "--workers", "1"]) == 2
    assert "no line of" in capsys.readouterr().err


def test_rescoring_one_protocol_keeps_the_others_and_table_names_the_right_command(tmp_path, capsys):
    run = one_item_run(tmp_path / "run", "3", "\\boxed{3}")
    assert main(["score", "--run", str(run), "--protocol", "strict"]) == 0
    assert main(["score", "--run", str(run), "--protocol", "paper"]) == 0
    assert main(["score", "--run", str(run), "--protocol", "papo"]) == 0
    table = (run / "report.md").read_text().split("\n\n")[1]
    assert all(f"| run | {p} |" in table for p in ("strict", "paper", "papo"))
    rows = _csv(run / "results.csv")
    assert {r["protocol"] for r in rows} == {"strict", "paper", "papo"}
    capsys.readouterr()
    other = tmp_path / "other"
    other.mkdir()
    assert main(["table", str(other), "--protocol", "papo"]) == 2
    assert f"score --run {other} --protocol papo" in capsys.readouterr().err
    assert main(["table", str(run), "--protocol", "papo", "--csv", str(tmp_path / "t" / "table.csv")]) == 0
    written = _csv(tmp_path / "t" / "table.csv")
    assert {"name", "source", "task", "accuracy"} == set(written[0]) and any(
        r["task"] == "counting" for r in written
    )


def test_every_parser_flag_has_help():
    parser = build_parser()
    missing = []
    for command, sub in parser._subparsers._group_actions[0].choices.items():
        missing += [
            f"{command} {a.option_strings}" for a in sub._actions if a.help is None and a.option_strings
        ]
    assert not missing


def test_an_uninstalled_clone_is_told_to_install_instead_of_a_traceback(monkeypatch, capsys):
    import importlib.util

    real = importlib.util.find_spec
    monkeypatch.setattr(
        importlib.util, "find_spec", lambda name, *a: None if name == "vgpo_tasks" else real(name, *a)
    )
    assert main(["run", "--help"]) == 2
    err = capsys.readouterr().err
    assert "vgpo_tasks" in err and "pip install -e" in err
