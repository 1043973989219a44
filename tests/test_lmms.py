"""The lmms-eval export: files, hooks, and (where lmms-eval is installed) a real lmms-eval run on CPU.

lmms-eval lives in its own environment (its antlr4 pin conflicts with math-verify's); point
VGPO_LMMS_PYTHON at that environment's python to run the end-to-end test (`.ci/lmms_eval.sh`
builds one). lmms-eval exits 0 even when a task fails, so the test reads its results files.
"""

import json
import os
import subprocess

import pytest
from PIL import Image

from vgpo_eval import lmms
from vgpo_eval.checker.protocols import check
from vgpo_eval.prompts import fit_pixels, user_text
from vgpo_eval.task import load
from vgpo_tasks import TASKS, synthetic


@pytest.fixture
def exported(tmp_path, monkeypatch):
    monkeypatch.setenv("VGPO_CACHE", str(tmp_path / "cache"))
    data = synthetic.write(tmp_path / "data", ["counting"], n=3)
    samples = load(TASKS["counting"], "local", data).samples
    names = lmms.export(tmp_path / "lmms", {"counting": samples}, protocol="strict")
    return tmp_path / "lmms", names, samples


def test_export_writes_task_files_and_rows(exported):
    out, names, samples = exported
    assert names == ["vgpo_counting"] and (out / "vgpo_utils.py").is_file()
    yaml = (out / "vgpo_counting.yaml").read_text()
    assert "task: vgpo_counting" in yaml and f"test: {out / 'vgpo_counting.jsonl'}" in yaml
    assert "metric: vgpo_strict" in yaml and "!function vgpo_utils.process_results" in yaml
    docs = [json.loads(line) for line in (out / "vgpo_counting.jsonl").read_text().splitlines()]
    assert [lmms._sample(d) for d in docs] == samples


def test_hooks_are_our_prompt_and_checker(exported):
    out, _, samples = exported
    doc = json.loads((out / "vgpo_counting.jsonl").read_text().splitlines()[0])
    sample = samples[0]
    assert lmms.doc_to_text(doc) == user_text(sample)
    (image,) = lmms.doc_to_visual(doc)
    with Image.open(sample.images[0]) as original:
        assert image.size == fit_pixels(*original.size)  # resized as the paper's protocol says
    right, wrong = f"<think>count</think> \\boxed{{{sample.answer}}}", "\\boxed{99}"
    assert lmms.process_results(doc, [right]) == {"vgpo_strict": 1.0}
    assert (
        lmms.process_results(doc, [wrong])
        == {"vgpo_strict": check(wrong, sample).score}
        == {"vgpo_strict": 0.0}
    )
    assert lmms.aggregate([1.0, 0.0, 1.0, 1.0]) == 75.0


@pytest.mark.skipif(
    not os.environ.get("VGPO_LMMS_PYTHON"), reason="set VGPO_LMMS_PYTHON to an env with lmms-eval"
)
def test_lmms_eval_runs_our_task_on_cpu(exported, tiny_model_dir, tmp_path):
    out, names, samples = exported
    results = tmp_path / "results"
    cmd = [
        os.environ["VGPO_LMMS_PYTHON"], "-m", "lmms_eval", "--model", "qwen2_5_vl",
        "--model_args", f"pretrained={tiny_model_dir},device_map=cpu,device=cpu,min_pixels=3136,max_pixels=12544",
        "--include_path", str(out), "--tasks", names[0], "--batch_size", "1",
        "--gen_kwargs", "max_new_tokens=16", "--output_path", str(results), "--log_samples",
    ]  # fmt: skip
    env = dict(os.environ, HF_HUB_OFFLINE="1", HF_DATASETS_OFFLINE="1")
    done = subprocess.run(cmd, capture_output=True, text=True, timeout=900, env=env)
    result_files = list(results.rglob("*_results.json"))
    assert result_files, done.stdout[-3000:] + done.stderr[-3000:]  # exit code 0 proves nothing
    metrics = json.loads(result_files[0].read_text())["results"]["vgpo_counting"]
    assert "vgpo_strict,none" in metrics
    logged = [
        json.loads(line)
        for f in results.rglob("*_samples_vgpo_counting.jsonl")
        for line in f.read_text().splitlines()
    ]
    assert len(logged) == len(samples)
    by_id = {i: s for i, s in enumerate(samples)}
    for row in logged:  # every per-item score is our checker's verdict on lmms-eval's response
        assert row["vgpo_strict"] == check(row["filtered_resps"], by_id[row["doc_id"]]).score
    mean = 100 * sum(row["vgpo_strict"] for row in logged) / len(logged)
    assert metrics["vgpo_strict,none"] == pytest.approx(mean)
