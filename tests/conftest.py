"""Shared fixtures: the tiny random Qwen2.5-VL, built once per test session (skipped without torch)."""

from __future__ import annotations

import pytest


@pytest.fixture(scope="session")
def tiny_model_dir(tmp_path_factory):
    """Folder of a tiny random-weight Qwen2.5-VL checkpoint (model, processor, chat template)."""
    pytest.importorskip("torch")
    pytest.importorskip("torchvision")
    from vgpo_eval.tiny import build_tiny_qwen2_5_vl

    return build_tiny_qwen2_5_vl(tmp_path_factory.mktemp("tiny_qwen2_5_vl"))


@pytest.fixture
def dataset(tmp_path, monkeypatch):
    """Four synthetic ViRL39K training rows with small images (the trainer tests' data)."""
    from vgpo_tasks import synthetic
    from vgpo_train.data import training_dataset

    monkeypatch.setenv("VGPO_CACHE", str(tmp_path / "cache"))
    data = synthetic.write(tmp_path / "data", ["virl39k"], n=4)
    rows, skipped = training_dataset("virl39k", "local", data, min_pixels=3136, max_pixels=12544)
    assert not skipped and len(rows) == 4
    return rows


def one_item_run(folder, answer: str, response: str):
    """A run folder holding one counting item and its one response (for scoring and report tests)."""
    from vgpo_eval.run import write_jsonl
    from vgpo_eval.types import Response, Sample

    folder.mkdir(parents=True, exist_ok=True)
    sample = Sample(id="counting/1", task="counting", question="q", answer=answer)
    write_jsonl(folder / "counting.samples.jsonl", [sample.to_dict()])
    write_jsonl(folder / "counting.responses.jsonl", [Response("counting/1", response).to_dict()])
    return folder
