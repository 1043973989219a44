"""`run` end to end on the tiny model with the hf backend: every task, resume, bad items, re-scoring."""

import json
from pathlib import Path

import pytest

from vgpo_eval.backends.hf import HFBackend
from vgpo_eval.cli import main
from vgpo_eval.run import read_responses
from vgpo_tasks import SUITES, synthetic

N = 2


@pytest.fixture(scope="module")
def data(tmp_path_factory):
    return synthetic.write(tmp_path_factory.mktemp("data"), n=N)


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VGPO_CACHE", str(tmp_path / "cache"))


def _run(model, data, out, *extra):
    args = ["run", "--tasks", "all", "--model", str(model), "--backend", "hf", "--source", "local"]
    return main([*args, "--data-dir", str(data), "--out", str(out), "--max-new-tokens", "16", *extra])


def _scored(out):
    return {p.name: p.read_text() for p in sorted(Path(out).glob("*.scored.*.jsonl"))}


def test_every_task_end_to_end(tiny_model_dir, data, tmp_path, capsys):
    out = tmp_path / "run"
    assert _run(tiny_model_dir, data, out) == 0
    printed = capsys.readouterr().out
    assert "| MathVista |" in printed and "vision-dependent avg" in printed
    config = json.loads((out / "config.json").read_text())
    assert config["run"]["decoding"]["max_new_tokens"] == 16 and config["backend"]["backend"] == "hf"
    assert config["checker"] and "git_sha" in config
    for protocol in ("strict", "paper"):
        report = json.loads((out / f"report.{protocol}.json").read_text())
        assert set(report["tasks"]) == set(SUITES["all"])
        assert all(t["complete"] and t["n"] == N for t in report["tasks"].values())
        assert all(v is not None for v in report["suites"].values())
    for name in SUITES["all"]:
        responses = read_responses(out / f"{name}.responses.jsonl")
        assert len(responses) == N and all(r.finish_reason in ("stop", "length") for r in responses.values())
    assert (out / "report.md").read_text().startswith("# Results")
    origins = json.loads((out / "data_sources.json").read_text())
    assert set(origins) == set(SUITES["all"]) and origins["wemath"] == {"data_dir": str(data)}


def test_interrupted_run_resumes_to_the_same_result(tiny_model_dir, data, tmp_path, monkeypatch):
    whole, cut = tmp_path / "whole", tmp_path / "cut"
    assert _run(tiny_model_dir, data, whole) == 0

    generate, seen = HFBackend.generate, []

    def interrupted(self, requests, decoding):
        for response in generate(self, requests, decoding):
            if len(seen) == 7:
                raise KeyboardInterrupt  # Ctrl-C in the middle of the run
            seen.append(response)
            yield response

    monkeypatch.setattr(HFBackend, "generate", interrupted)
    assert _run(tiny_model_dir, data, cut) == 130  # Ctrl-C: one line, everything so far kept
    monkeypatch.setattr(HFBackend, "generate", generate)
    partial = sorted(cut.glob("*.responses.jsonl"))[-1]
    with open(partial, "a") as f:
        f.write('{"sample_id": "cut off in the mid')  # a crash while writing a line
    assert _run(tiny_model_dir, data, cut) == 0
    for path in cut.glob("*.responses.jsonl"):
        lines = path.read_text().splitlines()
        assert len(lines) == len({(json.loads(x)["sample_id"], json.loads(x)["index"]) for x in lines}) == N
    assert _scored(cut) == _scored(whole)
    for protocol in ("strict", "paper"):
        a, b = (json.loads((d / f"report.{protocol}.json").read_text()) for d in (whole, cut))
        assert a["tasks"] == b["tasks"] and a["suites"] == b["suites"]


@pytest.mark.parametrize("policy", ["wrong", "drop"])
def test_a_missing_image_is_an_error_for_that_item_only(tiny_model_dir, tmp_path, policy):
    """An item whose image cannot be read stays visible in report.md either way; --missing-image drop
    (Look-Back's rule) leaves it out of the denominator, wrong (the default) counts it wrong; recorded."""
    data = synthetic.write(tmp_path / "data", ["counting"], n=3)
    image = next((data / "counting" / "images").iterdir())
    image.unlink()
    out = tmp_path / "run"
    args = ["--tasks", "counting", "--missing-image", policy]
    assert main(["run", *args, "--model", str(tiny_model_dir), "--backend", "hf", "--source", "local",
                 "--data-dir", str(data), "--out", str(out), "--max-new-tokens", "8"]) == 1  # fmt: skip
    task = json.loads((out / "report.strict.json").read_text())["tasks"]["counting"]
    assert len(task["missing_images"]) == 1 and not task["generation_errors"]
    assert task["n"] == (3 if policy == "wrong" else 2) and task["rules"]["generation_error"] == 1
    assert json.loads((out / "config.json").read_text())["run"]["missing_image"] == policy
    how = "counted wrong" if policy == "wrong" else "dropped from the denominator"
    assert f"items whose image could not be read (1), {how}" in (out / "report.md").read_text()
    responses = read_responses(out / "counting.responses.jsonl")
    (failed,) = [r for r in responses.values() if r.error]
    assert "cannot read image" in failed.error and image.name in failed.error


def test_rescoring_a_run_and_refusing_other_settings(tiny_model_dir, data, tmp_path, capsys):
    out = tmp_path / "run"
    assert _run(tiny_model_dir, data, out, "--tasks", "counting,wemath") == 0
    assert main(["score", "--run", str(out), "--protocol", "papo"]) == 0
    report = json.loads((out / "report.papo.json").read_text())
    assert report["protocol"] == "papo" and set(report["tasks"]) == {"counting", "wemath"}
    assert (out / "counting.scored.papo.jsonl").exists()
    assert _run(tiny_model_dir, data, out, "--tasks", "counting", "--temperature", "0.7") == 2
    assert "made with other decoding" in capsys.readouterr().err


def test_missing_data_is_reported_per_task(tiny_model_dir, tmp_path, capsys):
    out = tmp_path / "run"
    data = synthetic.write(tmp_path / "data", ["counting"], n=2)
    code = main(["run", "--tasks", "counting,geomath", "--model", str(tiny_model_dir), "--backend", "hf",
                 "--source", "local", "--data-dir", str(data), "--out", str(out), "--max-new-tokens", "8"])  # fmt: skip
    assert code == 0
    assert "geomath: none of GeoMath-data.json" in capsys.readouterr().err
    report = json.loads((out / "report.strict.json").read_text())
    assert set(report["tasks"]) == {"counting"}


def test_openai_run_with_failed_items_resumes(tiny_model_dir, tmp_path, monkeypatch):
    """A server that fails some requests: those items are recorded as errors; re-running completes them."""
    from openai_server import serve

    from vgpo_eval.backends import Decoding
    from vgpo_eval.report import score_run
    from vgpo_eval.run import RunConfig, run
    from vgpo_tasks import TASKS

    monkeypatch.setenv("no_proxy", "127.0.0.1")
    data = synthetic.write(tmp_path / "data", ["counting"], n=4)
    out = tmp_path / "run"

    def config(url):
        options = {"base_url": url, "retries": 0, "backoff": 0.01, "concurrency": 1}
        return RunConfig(model=str(tiny_model_dir), tasks=("counting",), out_dir=str(out), backend="openai",
                         source="local", data_dir=str(data), decoding=Decoding(max_new_tokens=8),
                         backend_options=options)  # fmt: skip

    with serve(tiny_model_dir, fail_first=2) as url:
        run(config(url), [TASKS["counting"]], progress=False)
    first = score_run(out, "strict")["tasks"]["counting"]
    assert len(first["generation_errors"]) == 2 and first["n"] == 4
    with serve(tiny_model_dir) as url:
        run(config(url), [TASKS["counting"]], progress=False)
    second = score_run(out, "strict")["tasks"]["counting"]
    assert second["generation_errors"] == [] and second["n"] == 4 and second["complete"]
    assert all(r.error is None for r in read_responses(out / "counting.responses.jsonl").values())


def test_a_model_that_cannot_be_loaded_is_a_clear_error(tmp_path, capsys):
    data = synthetic.write(tmp_path / "data", ["counting"], n=1)
    args = ["run", "--tasks", "counting", "--backend", "hf", "--source", "local", "--data-dir", str(data),
            "--out", str(tmp_path / "run")]  # fmt: skip
    with pytest.raises(SystemExit) as exit_:  # a folder that is not there: found before anything loads
        main([*args, "--model", str(tmp_path / "no-such-model")])
    assert exit_.value.code == 2 and "the folder does not exist" in capsys.readouterr().err
    broken = tmp_path / "broken-model"
    broken.mkdir()
    (broken / "config.json").write_text("{}")  # a folder that looks like a model but is not one
    assert main([*args, "--model", str(broken)]) == 2
    assert "cannot load the model" in capsys.readouterr().err
