"""`tasks.synthetic`: every task's synthetic rows load through the local source, in both schemas.

The golds are checked against what the generator drew (`answers.json`), and the counting pictures
against an independent oracle: their connected blobs of colour are counted.
"""

import json
from collections import Counter

import pytest
from PIL import Image

from vgpo_eval.rows import is_letter_answer
from vgpo_eval.task import load
from vgpo_eval.wemath import four_dimensional
from vgpo_tasks import SUITES, TASKS, synthetic
from vgpo_tasks.mathverse_v import VISION_VERSIONS

N = 4
# answer types of non-letter golds, where the converter sets one (otherwise None)
VALUE_TYPES = {
    ("upstream", "counting"): {"number"},
    ("papo", "counting"): {"number"},
    ("upstream", "mathvista"): {"number", "list"},
}


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VGPO_CACHE", str(tmp_path / "cache"))


@pytest.fixture(scope="module", params=synthetic.LOCAL_SCHEMAS)
def written(request, tmp_path_factory):
    return request.param, synthetic.write(tmp_path_factory.mktemp(request.param), n=N, schema=request.param)


def _load(out, name):
    loaded = load(TASKS[name], "local", out)
    assert loaded.errors == []
    return loaded.samples


@pytest.mark.parametrize("name", list(TASKS))
def test_every_task_loads(written, name):
    schema, out = written
    samples, gold = _load(out, name), synthetic.answers(out)
    assert len(samples) == N
    assert len({s.id for s in samples}) == N and all(s.id.startswith(f"{name}/") for s in samples)
    for s in samples:
        assert s.answer == gold[s.id]
        sizes = [Image.open(path).size for path in s.images]  # the files exist, and are small pictures
        assert sizes and all(w <= 160 and h <= 180 for w, h in sizes)
        if is_letter_answer(s.answer):
            assert s.answer_type == "choice"
            assert s.choices is None or all(ord(x) - 65 < len(s.choices) for x in s.answer.split(", "))
        else:
            assert s.answer_type in VALUE_TYPES.get((schema, name), {None})


def test_row_kinds_each_task_needs(written):
    schema, out = written
    samples = {name: _load(out, name) for name in TASKS}
    assert any(", " in s.answer for s in samples["logicvista"])
    assert all(s.answer_type == "choice" and len(s.choices) == 10 for s in samples["mmmu_pro"])
    for name in ("mathverse", "mathverse_v"):
        assert {s.answer_type for s in samples[name]} == {"choice", None}
    assert {s.meta["problem_version"] for s in samples["mathverse_v"]} == set(VISION_VERSIONS)
    if schema == "upstream":
        vista = samples["mathvista"]
        assert Counter(s.answer_type for s in vista) == {"choice": 1, "number": 2, "list": 1}
        assert [s.precision for s in vista if s.meta["answer_type"] == "float"] == [1]
        assert all(len(s.choices) == 5 and s.choices[-1] == "No correct answer" for s in samples["wemath"])


@pytest.mark.parametrize("n, groups", [(3, {"2steps_1"}), (4, {"3steps_1"}), (7, {"2steps_1", "3steps_2"})])
def test_wemath_groups_are_whole(tmp_path, n, groups):
    samples = _load(synthetic.write(tmp_path, ["wemath"], n=n), "wemath")
    assert len(samples) == n and {s.meta["ID"] for s in samples} == groups
    metrics = four_dimensional((s.meta["ID"], s.meta["key"], True) for s in samples)
    assert metrics["CM_strict"] == 100.0 and metrics["groups"] == len(groups)


def _blobs(path):
    """Connected regions of non-white pixels (4-neighbour flood fill): the shapes drawn."""
    image = Image.open(path).convert("RGB")
    width, height = image.size
    ink = {(x, y) for x in range(width) for y in range(height) if image.getpixel((x, y)) != (255, 255, 255)}
    count = 0
    while ink:
        count += 1
        stack = [ink.pop()]
        while stack:
            x, y = stack.pop()
            for near in ((x + 1, y), (x - 1, y), (x, y + 1), (x, y - 1)):
                if near in ink:
                    ink.remove(near)
                    stack.append(near)
    return count


def test_counting_golds_match_the_pictures(tmp_path):
    samples = _load(synthetic.write(tmp_path, ["counting"], n=6), "counting")
    assert [_blobs(s.images[0]) for s in samples] == [int(s.answer) for s in samples]


def test_deterministic_given_seed(tmp_path):
    def files(out):
        return {p.relative_to(out): p.read_bytes() for p in sorted(out.rglob("*")) if p.is_file()}

    first = files(synthetic.write(tmp_path / "a", ["mathvista", "wemath"], seed=3))
    assert first == files(synthetic.write(tmp_path / "b", ["mathvista", "wemath"], seed=3))
    assert first != files(synthetic.write(tmp_path / "c", ["mathvista", "wemath"], seed=4))


def test_cli_takes_suites(tmp_path, capsys):
    assert synthetic.main([str(tmp_path), "--n", "2", "--schema", "papo", "--tasks", "vision_dependent"]) == 0
    folders = sorted(p.name for p in tmp_path.iterdir() if p.is_dir())
    assert folders == sorted(SUITES["vision_dependent"])
    gold = json.loads((tmp_path / "answers.json").read_text())
    assert len(gold) == 8 and "wrote 2 papo rows" in capsys.readouterr().out
