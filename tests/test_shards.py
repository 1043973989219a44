"""Sharded runs: a fixed split by item id, one responses file per shard, merged by scoring; status."""

import json
import os
import subprocess
import sys

import pytest

from vgpo_eval.backends.hf import HFBackend
from vgpo_eval.cli import main
from vgpo_eval.run import shard_owner
from vgpo_tasks import synthetic

TASKS = "counting,mathvista"


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return synthetic.write(tmp_path_factory.mktemp("data"), TASKS.split(","), n=5)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VGPO_CACHE", str(tmp_path / "cache"))


def _args(model, data, out, *extra):
    return ["run", "--tasks", TASKS, "--model", str(model), "--backend", "hf", "--source", "local",
            "--data-dir", str(data), "--out", str(out), "--max-new-tokens", "6", *extra]  # fmt: skip


def test_the_split_is_a_partition_that_ignores_order():
    ids = [f"mathvista/{i}" for i in range(200)]
    owners = {i: shard_owner(i, 4) for i in ids}
    assert owners == {i: shard_owner(i, 4) for i in reversed(ids)}
    assert set(owners.values()) == {0, 1, 2, 3} and all(0 <= v < 4 for v in owners.values())


def test_two_shards_in_two_processes_merge_to_the_one_process_result(tiny_model_dir, data, tmp_path):
    whole, split = tmp_path / "whole", tmp_path / "split"
    assert main(_args(tiny_model_dir, data, whole)) == 0
    env = {**os.environ, "VGPO_CACHE": str(tmp_path / "cache")}
    shards = [
        subprocess.Popen([sys.executable, "-m", "vgpo_eval", *_args(tiny_model_dir, data, split, "--shard", f"{i}/2")],
                         env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for i in range(2)
    ]  # fmt: skip
    for process in shards:
        _, err = process.communicate(timeout=600)
        assert process.returncode == 0, err
    assert sorted(p.name for p in split.glob("counting.responses*")) == [
        "counting.responses.shard-0-of-2.jsonl", "counting.responses.shard-1-of-2.jsonl"]  # fmt: skip
    assert main(["score", "--run", str(split), "--protocol", "strict"]) == 0
    assert main(["score", "--run", str(split), "--protocol", "paper"]) == 0
    for scored in sorted(whole.glob("*.scored.*.jsonl")):
        assert (split / scored.name).read_bytes() == scored.read_bytes()
    for protocol in ("strict", "paper"):
        a, b = (json.loads((d / f"report.{protocol}.json").read_text()) for d in (whole, split))
        assert a["suites"] == b["suites"]
        assert {k: v["accuracy"] for k, v in a["tasks"].items()} == {
            k: v["accuracy"] for k, v in b["tasks"].items()
        }


def test_an_incomplete_sharded_run_says_what_is_missing_and_a_cut_shard_resumes(
    tiny_model_dir, data, tmp_path, monkeypatch, capsys
):
    out = tmp_path / "run"
    generate, seen = HFBackend.generate, []

    def interrupted(self, requests, decoding):
        for response in generate(self, requests, decoding):
            if len(seen) == 2:
                raise KeyboardInterrupt
            seen.append(response)
            yield response

    monkeypatch.setattr(HFBackend, "generate", interrupted)
    assert main(_args(tiny_model_dir, data, out, "--shard", "0/2")) == 130  # shard 0 cut off
    monkeypatch.setattr(HFBackend, "generate", generate)
    assert main(_args(tiny_model_dir, data, out, "--shard", "0/2")) == 0  # resumed: shard 0 complete
    capsys.readouterr()
    assert main(["status", str(out)]) == 1
    printed = capsys.readouterr().out
    assert "by shard" in printed and "1: " in printed  # shard 1 owns what is missing
    assert "0: " not in printed.split("by shard", 1)[1]
    report = (out / "report.md").read_text()
    assert "INCOMPLETE, by owner: shard 1: " in report and "counting/" in report.split("INCOMPLETE", 1)[1]
    assert main(_args(tiny_model_dir, data, out, "--shard", "1/2")) == 0
    capsys.readouterr()
    assert main(["status", str(out)]) == 0
