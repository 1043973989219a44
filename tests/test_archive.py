"""Look-Back's evaluation archive (ShuoY/Look-Back-eval) through the hub stand-in: read as its loaders read it.

The oracle `look_back_items` restates, from Look-Back's `eval/utils/data_loaders.py`, what its script builds
from the unzipped eval_data folder: id, image path, question and answer per item. `--source lookback`
must give the same items (the prompt is the question, a space and the instruction, as its `processing.py`).
"""

from __future__ import annotations

import json
import os
import sys
import zipfile
from pathlib import Path

import pytest

from vgpo_eval import archive
from vgpo_eval.cli import main
from vgpo_eval.instructions import PROMPTS
from vgpo_eval.prompts import user_text
from vgpo_eval.task import DataError, load
from vgpo_tasks import TASKS, synthetic

sys.path.insert(0, str(Path(__file__).parent))
import fake_hub  # noqa: E402

HELD = ("mathvista", "mathverse", "wemath", "geomath")


@pytest.fixture
def hub(tmp_path, monkeypatch):
    monkeypatch.setenv("VGPO_CACHE", str(tmp_path / "cache"))
    monkeypatch.setattr(archive, "_found", {})
    return fake_hub.install(monkeypatch, tmp_path / "hub")


def look_back_items(eval_data: Path, mathvista_rows: list[dict]) -> dict[str, list[tuple]]:
    """(id, image path, question, answer) per item, as Look-Back's four loaders build them."""
    read = lambda rel: json.loads((eval_data / rel).read_text(encoding="utf-8"))  # noqa: E731
    letters = "ABCDEFGH"
    out = {
        "wemath": [(f"{r['ID']}@{r['key']}", os.path.join(eval_data, "wemath/images", r["image_path"]),
                    f"{r['question']}\n\nOptions: {r['option']}\nYour final answer must be one of A, B, C, or D.",
                    r["answer"]) for r in read("wemath/testmini.json")],
        "mathverse": [(r["sample_index"], os.path.join(eval_data, "mathverse/images", r["image"]), r["query_cot"],
                       r["answer"]) for r in read("mathverse/testmini.json")],
        "mathvista": [(r["pid"], os.path.join(eval_data, "mathvista", r["image"]), r["query"],
                       letters[r["choices"].index(r["answer"])] if r["question_type"] == "multi_choice"
                       else r["answer"]) for r in mathvista_rows],
    }  # fmt: skip
    geomath = []
    for r in read("GeoMath/GeoMath-data.json"):
        turns = {m["role"]: m["content"] for m in r["messages"]}
        image = os.path.join(eval_data, "GeoMath", r["images"][0])
        geomath.append((r.get("id", ""), image, turns["user"], turns["assistant"]))
    return out | {"geomath": geomath}


def test_lookback_reads_the_archive_exactly_as_look_back_s_loaders(hub, tmp_path):
    loaded = {name: load(TASKS[name], "lookback") for name in HELD}
    eval_data = tmp_path / "cache" / "lookback_eval" / hub.archive_sha / "eval_data"
    assert (eval_data / "GeoMath" / "GeoMath-data.json").is_file()
    mathvista_rows = hub.load_dataset("AI4Math/MathVista", split="testmini")
    expected = look_back_items(eval_data, mathvista_rows)
    for name in HELD:
        assert not loaded[name].errors and len(loaded[name].samples) == len(expected[name]) == 2
        for k, (sample, (ident, image, question, answer)) in enumerate(
            zip(loaded[name].samples, expected[name], strict=True)
        ):
            assert sample.id == f"{name}/{ident or k}"
            assert sample.images == (image,) and Path(image).is_file()
            assert user_text(sample, "lookback") == f"{question} {PROMPTS['lookback']}"
            assert sample.answer == str(answer).strip()
        assert loaded[name].origin["resolved" if name != "mathvista" else "archive"]
    assert loaded["wemath"].origin == {"dataset": archive.REPO, "revision": archive.REVISION,
                                       "resolved": hub.archive_sha, "file": "wemath/testmini.json",
                                       "images": "wemath/images"}  # fmt: skip
    assert loaded["mathvista"].origin["dataset"] == "AI4Math/MathVista"  # its rows are the hub's
    assert loaded["mathvista"].origin["archive"]["resolved"] == hub.archive_sha
    # MathVista's picture is the archive's file, not the hub's decoded copy (Look-Back opens the former)
    assert all(str(eval_data) in s.images[0] for s in loaded["mathvista"].samples)
    # GeoMath: the user turn as is (its <image> marker kept), and the first image only
    assert loaded["geomath"].samples[0].question.startswith("<image>")
    # only the four folders were unpacked, and the zip is gone
    assert not (eval_data / "mathvision").exists() and not list(eval_data.parent.rglob("*.zip"))


def test_the_archive_is_downloaded_once_then_read_from_the_cache_offline(hub, monkeypatch):
    for name in HELD:
        load(TASKS[name], "lookback")
    downloads = [c for c in hub.calls if c[0] == "snapshot_download"]
    assert len(downloads) == 1 and downloads[0][2] == ("eval_data.zip",)  # the zip named, nothing else
    monkeypatch.setattr(archive, "_found", {})  # a new process
    load(TASKS["wemath"], "lookback")
    assert len([c for c in hub.calls if c[0] == "snapshot_download"]) == 1  # same commit: not fetched again
    monkeypatch.setattr(archive, "_found", {})
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    again = load(TASKS["mathverse"], "lookback")
    assert len(again.samples) == 2 and again.origin["resolved"] == hub.archive_sha
    assert "archive" in __import__("vgpo_eval.task", fromlist=["cached"]).cached(TASKS["mathverse"])


def test_an_archive_cut_short_is_fetched_again(hub, monkeypatch):
    def cut(*args, **kwargs):
        Path(kwargs["local_dir"]).mkdir(parents=True)
        raise OSError("connection reset")

    real = hub.snapshot_download
    monkeypatch.setattr("huggingface_hub.snapshot_download", cut)
    with pytest.raises(
        DataError, match=r"cannot download ShuoY/Look-Back-eval@1{40}: OSError: connection reset"
    ):
        load(TASKS["wemath"], "lookback")
    assert archive.cached() is None  # nothing half-written counts as the archive
    monkeypatch.setattr("huggingface_hub.snapshot_download", real)
    assert len(load(TASKS["wemath"], "lookback").samples) == 2


def test_without_the_hub_and_no_cached_copy_one_line_names_the_archive(hub, monkeypatch, capsys):
    from vgpo_eval import hub as probe

    monkeypatch.setattr(probe, "unreachable", lambda: "no route")
    with pytest.raises(ValueError, match=r"ShuoY/Look-Back-eval \(mathverse, wemath\)"):
        probe.require(None, [TASKS["mathverse"], TASKS["wemath"]], "lookback")
    probe.require(None, [TASKS["mathverse"]], "lookback", data_dir="/some/copy")  # a local copy needs no hub


def test_a_local_copy_of_eval_data_is_read_without_the_hub(tmp_path, monkeypatch):
    monkeypatch.setattr(archive, "_found", {})
    eval_data = synthetic.write(tmp_path / "eval_data", ["wemath", "geomath"], n=3, schema="lookback")
    (looked,) = {load(TASKS["wemath"], "lookback", eval_data).origin["data_dir"]}
    assert looked == str(eval_data)
    assert len(load(TASKS["geomath"], "papo", eval_data).samples) == 3  # PAPO_eval has none: the archive's
    with pytest.raises(DataError, match=r"mathverse/testmini.json not found: under --source lookback"):
        load(TASKS["mathverse"], "lookback", eval_data)


def test_hostile_archive_rows_and_members_stay_inside(hub, tmp_path, monkeypatch):
    """A row naming an image outside eval_data is that row's error; a zip member named ../x lands inside."""
    rows_file = hub.lookback / "wemath" / "testmini.json"
    rows = json.loads(rows_file.read_text())
    rows[0]["image_path"] = "../../../../../../etc/passwd"
    rows_file.write_text(json.dumps(rows))
    loaded = load(TASKS["wemath"], "lookback")
    assert (
        len(loaded.samples) == 1
        and "wemath row 0: image '" in loaded.errors[0]
        and "etc/passwd" in loaded.errors[0]
    )
    assert (
        "is outside Look-Back's archive" in loaded.errors[0] and "--allow-outside-images" in loaded.errors[0]
    )
    bad = tmp_path / "bad.zip"
    with zipfile.ZipFile(bad, "w") as z:
        z.writestr("../../wemath/escaped.txt", "x")
        z.writestr("/wemath/absolute.txt", "x")
    into = tmp_path / "into"
    archive._unzip(bad, into)
    assert {p.relative_to(into).as_posix() for p in into.rglob("*") if p.is_file()} == {
        "wemath/escaped.txt", "wemath/absolute.txt"}  # fmt: skip
    assert not (tmp_path / "wemath").exists()


def test_list_and_show_report_the_archive(hub, capsys):
    assert main(["show", "wemath", "--source", "lookback"]) == 0
    out = capsys.readouterr().out
    assert (
        f"from: {archive.REPO}@{hub.archive_sha[:12]} (file wemath/testmini.json, images wemath/images)"
        in out
    )
    assert main(["show", "mathvista", "--source", "lookback"]) == 0
    assert f"images: {archive.REPO}@{hub.archive_sha[:12]} (images mathvista)" in capsys.readouterr().out
    assert main(["list"]) == 0
    out = capsys.readouterr().out
    header, *rows = out.split("\n\n")[0].splitlines()
    assert "lookback" in header.split()
    lookback = {r.split()[0]: r.split()[3] for r in rows}
    assert [t for t, own in lookback.items() if own == "archive"] == list(HELD)
    assert f"{archive.REPO}" in out and f"cached, commit {hub.archive_sha[:12]}" in out
