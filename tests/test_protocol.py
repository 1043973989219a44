"""The paper's evaluation protocol item for item: what `show` prints is what the model receives."""

import json

import pytest

from vgpo_eval.cli import main
from vgpo_eval.instructions import PROMPTS
from vgpo_eval.prompts import fit_pixels, visual_tokens
from vgpo_tasks import synthetic

LOOKBACK, TRAIN = PROMPTS["lookback"], PROMPTS["train"]


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VGPO_CACHE", str(tmp_path / "cache"))


def _user(out: str) -> str:
    """The user text `show` printed: between the image lines and the gold."""
    block = out.split("[user]\n", 1)[1].split("\n\n[gold]", 1)[0]
    return "\n".join(line for line in block.split("\n") if not line.startswith("<image "))


def test_show_wemath_is_question_options_then_one_instruction(tmp_path, capsys):
    data = synthetic.write(tmp_path / "data", ["wemath"], n=3)
    assert main(["show", "wemath", "--source", "local", "--data-dir", str(data)]) == 0
    user = _user(capsys.readouterr().out)
    assert "\n\nOptions: " in user
    assert user.endswith("\nYour final answer must be one of A, B, C, or D. " + LOOKBACK)
    assert user.count("think") == LOOKBACK.count("think")
    assert main(["show", "wemath", "--source", "local", "--data-dir", str(data), "--prompt", "train"]) == 0
    assert _user(capsys.readouterr().out).endswith(
        "Your final answer must be one of A, B, C, or D.\n\n" + TRAIN
    )


@pytest.mark.parametrize("variant", ["lookback", "train"])
def test_a_papo_row_ending_with_papos_instruction_gets_exactly_one(tmp_path, capsys, variant):
    folder = tmp_path / "counting"
    synthetic.write(tmp_path, ["counting"], n=2, schema="papo")
    rows = [json.loads(line) for line in (folder / "test.jsonl").read_text().splitlines()]
    for row in rows:
        row["messages"][0]["content"] += "\n" + TRAIN  # as PAPO_eval's user turns end
    (folder / "test.jsonl").write_text("".join(json.dumps(r) + "\n" for r in rows))
    assert (
        main(["show", "counting", "--source", "local", "--data-dir", str(tmp_path), "--prompt", variant]) == 0
    )
    out = capsys.readouterr().out
    user = _user(out)
    assert user.count("You first think through") == (variant == "train")
    assert user.count("You FIRST think") == (variant == "lookback")
    assert user.endswith(PROMPTS[variant]) and "was removed" in out


def test_resizing_truncates_like_look_back():
    assert fit_pixels(300, 200) == (627, 418)


@pytest.mark.parametrize(
    "size", [(1000, 1000), (627, 418), (300, 200), (4000, 3000), (50, 1200), (1920, 1080)]
)
def test_visual_token_count_matches_the_real_processor(size):
    """`show`'s token count is what Qwen2.5-VL's image processor makes of the image, with the pixel bounds
    its checkpoints ship (preprocessor_config.json: 3136 to 12845056; the class default is smaller)."""
    pytest.importorskip("torchvision")
    from PIL import Image
    from transformers import Qwen2VLImageProcessor

    processor = Qwen2VLImageProcessor(size={"shortest_edge": 3136, "longest_edge": 12_845_056})
    grid = processor(images=[Image.new("RGB", size)], return_tensors="pt")["image_grid_thw"][0]
    width, height, tokens = visual_tokens(*size)
    assert tokens == int(grid.prod()) // 4
    assert (height // 14, width // 14) == (int(grid[1]), int(grid[2]))


def test_show_names_a_bad_index(tmp_path, capsys):
    data = synthetic.write(tmp_path / "data", ["counting"], n=2)
    assert main(["show", "counting", "--source", "local", "--data-dir", str(data), "--index", "5"]) == 2
    assert "--index 5: counting has items 0 to 1" in capsys.readouterr().err


def test_papo_image_paths_resolve_by_path_and_an_ambiguous_name_is_an_error(tmp_path):
    """PAPO_eval rows name ./data/images/<folder>/<file>; the file name alone may exist in several folders."""
    from PIL import Image

    from vgpo_eval.rows import Context, DataError, resolve_image
    from vgpo_tasks import TASKS

    root = tmp_path / "unzipped"
    for folder in ("images_version_1-4", "images_version_6"):
        (root / folder).mkdir(parents=True)
        Image.new("RGB", (8, 8)).save(root / folder / "image_685.png")
    ctx = Context(TASKS["mathverse"], 7, root, tmp_path / "cache")
    wanted = "./data/images/images_version_1-4/image_685.png"
    assert resolve_image(ctx, wanted, "x") == str(root / "images_version_1-4" / "image_685.png")
    with pytest.raises(DataError, match="mathverse row 7: image 'elsewhere/image_685.png' .* 2 files"):
        resolve_image(ctx, "elsewhere/image_685.png", "x")
    (root / "images_version_6" / "unique.png").write_bytes(
        (root / "images_version_6" / "image_685.png").read_bytes()
    )
    fresh = Context(TASKS["mathverse"], 8, root, tmp_path / "cache")  # the name index is built once per load
    assert resolve_image(fresh, "./data/images/moved/unique.png", "x") == str(
        root / "images_version_6" / "unique.png"
    )


def test_the_lookback_profile_takes_each_task_where_look_back_does(
    tiny_model_dir, tmp_path, monkeypatch, capsys
):
    import sys
    from pathlib import Path

    sys.path.insert(0, str(Path(__file__).parent))
    import fake_hub

    fake_hub.install(monkeypatch, tmp_path / "hub")
    out = tmp_path / "run"
    args = ["run", "--tasks", "all", "--model", str(tiny_model_dir), "--backend", "hf", "--source", "lookback",
            "--out", str(out), "--max-new-tokens", "4"]  # fmt: skip
    assert main(args) == 0
    assert "warning: mathverse: 2 items loaded, lookback should hold 3,940" in capsys.readouterr().err
    origins = json.loads((out / "data_sources.json").read_text())
    assert {t: origins[t]["dataset"] for t in ("mathverse", "wemath", "geomath")} == dict.fromkeys(
        ("mathverse", "wemath", "geomath"), "ShuoY/Look-Back-eval")  # fmt: skip
    assert (
        origins["geomath"]["resolved"] == "1" * 40
        and origins["geomath"]["file"] == "GeoMath/GeoMath-data.json"
    )
    assert origins["mathvista"]["dataset"] == "AI4Math/MathVista"  # its rows; its pictures from the archive
    assert origins["mathvista"]["archive"]["images"] == "mathvista"
    assert {origins[t]["dataset"] for t in ("geo3k", "logicvista", "counting", "mmmu_pro", "mathverse_v")} == {
        "PAPO-Galaxy/PAPO_eval"}  # fmt: skip
    datasets = json.loads((out / "config.json").read_text())["datasets"]
    assert datasets["wemath"]["archive"]["dataset"] == "ShuoY/Look-Back-eval"
    assert datasets["mathvista"]["rows"]["dataset"] == "AI4Math/MathVista"
    report = json.loads((out / "report.strict.json").read_text())
    assert report["source"] == "lookback" and "source lookback" in (out / "report.md").read_text()


def test_sharegpt_rows_verbatim_as_look_back_reads_them(tmp_path, capsys):
    folder = tmp_path / "counting"
    synthetic.write(tmp_path, ["counting"], n=1, schema="papo")
    row = json.loads((folder / "test.jsonl").read_text())
    row["images"] = row["images"] * 2  # two images
    row["messages"][0]["content"] = "<image><image>How many? " + TRAIN
    (folder / "test.jsonl").write_text(json.dumps(row) + "\n")
    base = ["show", "counting", "--source", "local", "--data-dir", str(tmp_path)]
    assert main([*base, "--sharegpt", "verbatim"]) == 0
    out = capsys.readouterr().out
    assert out.count("<image ") == 1 and _user(out) == "<image><image>How many? " + TRAIN + " " + LOOKBACK
    assert main(base) == 0
    out = capsys.readouterr().out
    assert out.count("<image ") == 2 and _user(out) == "How many? " + LOOKBACK


def test_geomath_under_the_lookback_profile_is_read_as_look_back_reads_it(tmp_path):
    """Look-Back keeps GeoMath's user turn as it is and sends the first image only; from its archive (here a
    local copy of eval_data) GeoMath is read so whatever --sharegpt says (the PAPO_eval rows keep their own
    reading), while `--source local` reads the same file cleaned (markers out, every image)."""
    from vgpo_eval.task import load
    from vgpo_tasks import TASKS

    data = synthetic.write(tmp_path, ["geomath"], n=1, schema="lookback")
    path = data / "GeoMath" / "GeoMath-data.json"
    rows = json.loads(path.read_text())
    rows[0]["images"] = rows[0]["images"] * 2
    rows[0]["messages"][0]["content"] = "<image><image>" + rows[0]["messages"][0]["content"].removeprefix(
        "<image>"
    )
    path.write_text(json.dumps(rows))
    for source in ("lookback", "papo"):
        (looked,) = load(TASKS["geomath"], source, data, sharegpt="clean").samples
        assert looked.question.startswith("<image><image>") and len(looked.images) == 1
    (clean,) = load(TASKS["geomath"], "local", data).samples
    assert "<image>" not in clean.question and len(clean.images) == 2
