"""Local rows are untrusted input: an image path they name must lie inside --data-dir (resolved, links
followed), or the item is an error naming the row and the flag that allows it (--allow-outside-images).

The rows are the synthetic generator's (both local schemas), rewritten to name images in every way a
path can leave the folder: absolute, `..`, and a link inside the folder that points out of it."""

import json
import os

import pytest

from vgpo_eval.task import load
from vgpo_tasks import TASKS, synthetic

N = 7


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VGPO_CACHE", str(tmp_path / "cache"))


def _rows_file(task_dir):
    (path,) = [p for p in task_dir.iterdir() if p.suffix == ".jsonl"]
    return path


@pytest.fixture(params=synthetic.LOCAL_SCHEMAS)
def folder(request, tmp_path):
    """(data dir, the rows' original image paths): counting rows whose image paths go everywhere."""
    data = synthetic.write(tmp_path / "data", ["counting"], n=N, schema=request.param)
    secret = tmp_path / "outside" / "secret.png"
    secret.parent.mkdir()
    secret.write_bytes(b"not for the model")
    task_dir = data / "counting"
    rows_file = _rows_file(task_dir)
    rows = [json.loads(line) for line in rows_file.read_text().splitlines()]
    original = [row["images"][0] for row in rows]
    (task_dir / "link.png").symlink_to(secret)
    (task_dir / "inner_link.png").symlink_to(task_dir / original[6])
    rows[1]["images"] = [str(secret)]  # absolute, outside
    rows[2]["images"] = ["../../outside/secret.png"]  # relative, `..` out of the folder
    rows[3]["images"] = ["link.png"]  # inside by name, outside once resolved
    rows[4]["images"] = [f"../counting/{original[4]}"]  # `..`, but back inside: fine
    rows[5]["images"] = [str((task_dir / original[5]).resolve())]  # absolute, inside: fine
    rows[6]["images"] = ["inner_link.png"]  # a link that stays inside: fine
    rows_file.write_text("".join(json.dumps(row) + "\n" for row in rows))
    return data, secret


def test_images_outside_the_data_dir_are_errors_naming_the_row_and_the_flag(folder):
    data, secret = folder
    loaded = load(TASKS["counting"], "local", data)
    assert sorted(s.id.split("/")[1] for s in loaded.samples) == ["0", "4", "5", "6"]
    assert [e.split(":")[0] for e in loaded.errors] == ["counting row 1", "counting row 2", "counting row 3"]
    for error in loaded.errors:
        assert "is outside --data-dir" in error and "--allow-outside-images" in error
        assert str(secret.resolve()) in error  # where it leads, so the user can judge
    for sample in loaded.samples:
        (path,) = sample.images
        assert os.path.realpath(path).startswith(str(data.resolve()) + os.sep)


def test_allow_outside_images_reads_them(folder):
    data, secret = folder
    loaded = load(TASKS["counting"], "local", data, allow_outside_images=True)
    assert loaded.errors == [] and len(loaded.samples) == N
    by_id = {s.id.split("/")[1]: s.images[0] for s in loaded.samples}
    assert {os.path.realpath(by_id[k]) for k in "123"} == {str(secret.resolve())}


def test_a_data_dir_that_is_itself_a_link_is_fine(folder, tmp_path):
    data, _ = folder
    link = tmp_path / "data_link"
    link.symlink_to(data)
    loaded = load(TASKS["counting"], "local", link)
    assert len(loaded.samples) == 4 and len(loaded.errors) == 3


def test_only_a_context_with_a_folder_confines(tmp_path):
    """Only the local source has a --data-dir to stay inside (the hub's images are extracted by us)."""
    from vgpo_eval.rows import Context, DataError, resolve_image

    outside = tmp_path / "x.png"
    outside.write_bytes(b"")
    assert resolve_image(Context(TASKS["counting"], 0, tmp_path / "root"), str(outside), "x") == str(outside)
    confined = Context(TASKS["counting"], 0, tmp_path / "root", inside=tmp_path / "root")
    with pytest.raises(DataError, match="--allow-outside-images"):
        resolve_image(confined, str(outside), "x")


def test_run_records_the_flag_and_stops_outside_images_by_default(folder, tmp_path):
    """`run --allow-outside-images` reaches the loader and config.json; without it the items are load errors."""
    from vgpo_eval.cli import build_parser

    data, _ = folder
    argv = ["run", "--tasks", "counting", "--model", "m", "--source", "local", "--data-dir", str(data)]
    assert build_parser().parse_args(argv).allow_outside_images is False
    assert build_parser().parse_args([*argv, "--allow-outside-images"]).allow_outside_images is True
