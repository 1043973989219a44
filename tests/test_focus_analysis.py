"""`vgpo-eval focus`: per-token focus from a hook equals the formula on output_hidden_states; binning;
the command end to end on a run, resumable, and --compare."""

import json

import pytest

from vgpo_eval.analysis import aggregate, bin_means, late_early, response_focus
from vgpo_eval.cli import main
from vgpo_tasks import synthetic


def test_binning_by_relative_position():
    assert bin_means([1.0, 2.0, 3.0, 4.0], bins=2) == [1.5, 3.5]
    assert bin_means([5.0], bins=4) == [5.0, None, None, None]
    assert bin_means([0.0, 1.0, 2.0, 3.0, 4.0, 5.0], bins=3) == [0.5, 2.5, 4.5]
    assert late_early([1.0, 1.0, 1.0, 0.5, 0.5, 0.5]) == 0.5 and late_early([1.0, 2.0]) is None
    summary = aggregate([{"task": "t", "correct": True, "scores": [0.1, 0.3]},
                         {"task": "t", "correct": True, "scores": [0.3, 0.5]}], bins=2, threshold=0.2)  # fmt: skip
    group = summary["t"]["correct"]
    assert (
        group["n"] == 2
        and group["mean"] == pytest.approx([0.2, 0.4])
        and group["std"] == pytest.approx([0.1, 0.1])
    )
    assert group["sparsity"] == 0.75


def test_hooked_focus_equals_the_formula_on_output_hidden_states(tiny_model_dir, tmp_path):
    import torch
    from PIL import Image
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from vgpo_eval.focus import focus_scores
    from vgpo_eval.prompts import render
    from vgpo_eval.types import Sample

    processor = AutoProcessor.from_pretrained(tiny_model_dir)
    model = AutoModelForImageTextToText.from_pretrained(tiny_model_dir).eval()
    Image.new("RGB", (90, 60), (200, 30, 90)).save(tmp_path / "a.png")
    sample = Sample("t/1", "t", "How many?", "3", images=(str(tmp_path / "a.png"),))
    images = [Image.open(tmp_path / "a.png").convert("RGB")]
    prompt = render(processor, sample, "lookback", images)
    response = "<think>three</think> \\boxed{3}"
    got = response_focus(model, processor, prompt, images, response)
    inputs = processor(text=[prompt], images=images, return_tensors="pt")
    answer = processor.tokenizer(response, add_special_tokens=False, return_tensors="pt")["input_ids"]
    ids = torch.cat([inputs["input_ids"], answer], dim=1)
    extra = {k: v for k, v in inputs.items() if k not in ("input_ids", "attention_mask", "mm_token_type_ids")}
    if "mm_token_type_ids" in inputs:
        extra["mm_token_type_ids"] = torch.cat([inputs["mm_token_type_ids"], torch.zeros_like(answer)], dim=1)
    with torch.no_grad():
        hidden = model(
            input_ids=ids, attention_mask=torch.ones_like(ids), output_hidden_states=True, **extra
        ).hidden_states[-1]
    image_mask = ids == model.config.image_token_id
    image_mask[:, -answer.size(1) :] = False
    expected = focus_scores(hidden, image_mask, torch.ones(1, answer.size(1), dtype=torch.bool))[0]
    assert len(got) == answer.size(1) and torch.allclose(torch.tensor(got), expected, atol=1e-6)
    assert max(got) - min(got) > 1e-4  # the scores vary along the response


def test_focus_command_on_a_run_then_compare(tiny_model_dir, tmp_path, monkeypatch, capsys):
    monkeypatch.setenv("VGPO_CACHE", str(tmp_path / "cache"))
    data = synthetic.write(tmp_path / "data", ["counting", "mathvista"], n=3)
    run = tmp_path / "run"
    assert main(["run", "--tasks", "counting,mathvista", "--model", str(tiny_model_dir), "--backend", "hf",
                 "--source", "local", "--data-dir", str(data), "--out", str(run), "--max-new-tokens", "12"]) == 0  # fmt: skip
    assert main(["focus", "--run", str(run)]) == 0
    out = run / "focus"
    summary = json.loads((out / "focus.json").read_text())["tasks"]
    assert set(summary) == {"counting", "mathvista"}
    assert all(len(group["mean"]) == 20 for groups in summary.values() for group in groups.values())
    assert (out / "focus.png").read_bytes()[:4] == b"\x89PNG"
    assert "## Visual focus" in (run / "report.md").read_text()
    lines = (out / "focus.items.jsonl").read_text().splitlines()
    assert len(lines) == 6 and all("scores" in json.loads(line) for line in lines)
    assert main(["focus", "--run", str(run)]) == 0  # resumes: nothing is analysed twice
    assert len((out / "focus.items.jsonl").read_text().splitlines()) == 6
    other = tmp_path / "other"
    assert main(["focus", "--run", str(run), "--out", str(other), "--limit", "1"]) == 0
    assert main(["focus", "--compare", str(out), str(other), "--out", str(tmp_path / "cmp")]) == 0
    assert (tmp_path / "cmp" / "focus_compare.png").read_bytes()[:4] == b"\x89PNG"
    attention = tmp_path / "attention"
    assert (
        main(["focus", "--run", str(run), "--out", str(attention), "--measure", "attention", "--limit", "1"])
        == 0
    )
    groups = json.loads((attention / "focus.json").read_text())["tasks"]["counting"].values()
    assert all(len(g["attention_mean"]) == 20 for g in groups)
    capsys.readouterr()
    assert main(["focus", "--compare", str(tmp_path / "data")]) == 2
    assert "--compare needs --out" in capsys.readouterr().err


def test_focus_without_a_run_generates_first(tiny_model_dir, tmp_path, monkeypatch):
    monkeypatch.setenv("VGPO_CACHE", str(tmp_path / "cache"))
    data = synthetic.write(tmp_path / "data", ["counting"], n=2)
    out = tmp_path / "focus"
    assert main(["focus", "--model", str(tiny_model_dir), "--tasks", "counting", "--source", "local",
                 "--data-dir", str(data), "--backend", "hf", "--max-new-tokens", "8", "--out", str(out)]) == 0  # fmt: skip
    assert (out / "run" / "counting.scored.strict.jsonl").exists()
    assert set(json.loads((out / "focus.json").read_text())["tasks"]) == {"counting"}


def test_attention_share_on_the_image(tiny_model_dir, tmp_path):
    """--measure attention: each response token's attention mass on the image tokens, a share in [0, 1],
    averaged over the chosen layers and the heads; the focus scores are the same as without it."""
    import torch
    from PIL import Image
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from vgpo_eval.prompts import render
    from vgpo_eval.types import Sample

    processor = AutoProcessor.from_pretrained(tiny_model_dir)
    eager = AutoModelForImageTextToText.from_pretrained(tiny_model_dir, attn_implementation="eager").eval()
    Image.new("RGB", (90, 60), (20, 130, 90)).save(tmp_path / "a.png")
    images = [Image.open(tmp_path / "a.png").convert("RGB")]
    prompt = render(
        processor, Sample("t/1", "t", "How many?", "3", images=(str(tmp_path / "a.png"),)), "lookback", images
    )
    focus, share = response_focus(eager, processor, prompt, images, "three \\boxed{3}", layers=[0, -1])
    plain = response_focus(eager, processor, prompt, images, "three \\boxed{3}")
    assert len(share) == len(focus) and all(0.0 <= x <= 1.0 for x in share)
    assert torch.allclose(torch.tensor(focus), torch.tensor(plain), atol=1e-6)
    first = response_focus(eager, processor, prompt, images, "three \\boxed{3}", layers=[0])[1]
    last = response_focus(eager, processor, prompt, images, "three \\boxed{3}", layers=[-1])[1]
    assert torch.allclose(torch.tensor(share), (torch.tensor(first) + torch.tensor(last)) / 2, atol=1e-6)


def test_a_batch_gives_each_item_its_own_scores(tiny_model_dir, tmp_path):
    """Left-padded batches (prompts and responses of different lengths, different images) score each
    item as one forward of that item alone does."""
    import torch
    from PIL import Image
    from transformers import AutoModelForImageTextToText, AutoProcessor

    from vgpo_eval.analysis import batch_focus
    from vgpo_eval.prompts import render
    from vgpo_eval.types import Sample

    processor = AutoProcessor.from_pretrained(tiny_model_dir)
    model = AutoModelForImageTextToText.from_pretrained(tiny_model_dir).eval()
    items = []
    for k, (size, question, response) in enumerate([((90, 60), "How many?", "three \\boxed{3}"),
                                                     ((56, 112), "Which is larger, the red or the blue one?", "red"),
                                                     ((120, 120), "x?", "<think>long reasoning here</think> 7")]):  # fmt: skip
        Image.new("RGB", size, (40 * k, 90, 200)).save(tmp_path / f"{k}.png")
        images = [Image.open(tmp_path / f"{k}.png").convert("RGB")]
        prompt = render(
            processor,
            Sample(f"t/{k}", "t", question, "1", images=(str(tmp_path / f"{k}.png"),)),
            "lookback",
            images,
        )
        items.append((prompt, images, response))
    batched = batch_focus(model, processor, items)
    for (prompt, images, response), got in zip(items, batched, strict=True):
        alone = response_focus(model, processor, prompt, images, response)
        assert len(got) == len(alone) and torch.allclose(torch.tensor(got), torch.tensor(alone), atol=1e-4)


def test_focus_from_another_directory_on_a_run_made_with_relative_paths(tiny_model_dir, tmp_path, monkeypatch,
                                                                        capsys):  # fmt: skip
    """A run made with a relative --model and --data-dir records them in full, so `focus --run` works from
    anywhere; an analysis written elsewhere (--out) leaves the run's report alone; a focus whose every
    response fails exits non-zero."""
    import shutil

    from vgpo_eval import prompts

    made, elsewhere = tmp_path / "made", tmp_path / "elsewhere"
    made.mkdir()
    elsewhere.mkdir()
    monkeypatch.setenv("VGPO_CACHE", str(tmp_path / "cache"))
    shutil.copytree(tiny_model_dir, made / "tiny")
    synthetic.write(made / "data", ["counting"], n=2)
    monkeypatch.chdir(made)
    assert main(["run", "--tasks", "counting", "--model", "tiny", "--backend", "hf", "--source", "local",
                 "--data-dir", "data", "--out", "run", "--max-new-tokens", "8"]) == 0  # fmt: skip
    config = json.loads((made / "run" / "config.json").read_text())["run"]
    assert config["model"] == str(made / "tiny") and config["data_dir"] == str(made / "data")
    monkeypatch.chdir(elsewhere)
    assert main(["focus", "--run", str(made / "run")]) == 0
    lines = (made / "run" / "focus" / "focus.items.jsonl").read_text().splitlines()
    assert len(lines) == 2 and all("scores" in json.loads(line) for line in lines), lines
    report = (made / "run" / "report.md").read_text()
    assert "## Visual focus" in report
    assert main(["focus", "--run", str(made / "run"), "--out", str(elsewhere / "f"), "--limit", "1"]) == 0
    assert (made / "run" / "report.md").read_text() == report  # written under --out only
    monkeypatch.setattr(prompts, "load_images", lambda *a, **k: (_ for _ in ()).throw(OSError("gone")))
    capsys.readouterr()
    assert main(["focus", "--run", str(made / "run"), "--out", str(elsewhere / "g")]) == 2
    err = capsys.readouterr().err
    assert "no response of" in err and "OSError: gone" in err, err
    assert (made / "run" / "report.md").read_text() == report  # a failed analysis replaces nothing
