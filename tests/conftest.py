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
