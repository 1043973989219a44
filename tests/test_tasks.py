"""Each task on one frozen raw row per source schema: the Sample it becomes and its exact prompt.

Rows are synthetic but written in the real schemas (field names and value forms of the upstream
datasets and of PAPO_eval). The prompt snapshot is the user turn of the paper's evaluation prompt.
"""

import json
import re
from pathlib import Path

import pytest

from vgpo_eval.prompts import MAX_PIXELS, MIN_PIXELS, PROMPTS, fit_pixels, load_images, messages, user_text
from vgpo_eval.task import Context, DataError, load
from vgpo_eval.types import Sample
from vgpo_tasks import SUITES, TASKS, resolve

LOOKBACK = PROMPTS["lookback"]

FROZEN = {
    "mathvista": (
        {
            "pid": "7",
            "question": "What is the value of the tallest bar?",
            "image": "images/7.jpg",
            "choices": None,
            "unit": None,
            "precision": 1.0,
            "answer": "4.5",
            "question_type": "free_form",
            "answer_type": "float",
            "metadata": {
                "task": "figure question answering",
                "skills": ["statistical reasoning"],
                "context": "bar chart",
                "grade": "daily life",
                "source": "ChartQA",
                "category": "general-vqa",
            },
        },
        {
            "id": "mathvista/7",
            "answer": "4.5",
            "answer_type": "number",
            "precision": 1,
            "choices": None,
            "meta.task": "figure question answering",
        },
        "Hint: Please answer the question requiring a floating-point number with one decimal place and provide the "
        "final value, e.g., 1.2, 1.3, 1.4, at the end.\nQuestion: What is the value of the tallest bar? "
        + LOOKBACK,
    ),
    "mathverse": (
        {
            "sample_index": "12",
            "problem_index": "3",
            "problem_version": "Vision Only",
            "question": "",
            "image": "images_version_5/image_3.png",
            "answer": "B",
            "question_type": "multi-choice",
            "metadata": {
                "split": "testmini",
                "source": "GeoQA",
                "subject": "Plane Geometry",
                "subfield": "Angle",
            },
            "query_cot": "According to the question shown in the image, please first conduct reasoning, and then "
            "answer the question and provide the correct option letter, e.g., A, B, C, D, at the end.",
        },
        {
            "id": "mathverse/12",
            "answer": "B",
            "answer_type": "choice",
            "choices": None,
            "meta.problem_version": "Vision Only",
        },
        "According to the question shown in the image, please first conduct reasoning, and then answer the question "
        "and provide the correct option letter, e.g., A, B, C, D, at the end. " + LOOKBACK,
    ),
    "wemath": (
        {
            "ID": "2steps_9",
            "split": "testmini",
            "knowledge concept": "Area of Rectangles",
            "question": "What is the area of the rectangle?",
            "option": "A. 6;B. 8;C. 12;D. 14;E. No correct answer",
            "answer": "C",
            "image_path": "2steps/image/9-1.png",
            "key": "2steps_multi",
            "question number": 1,
        },
        {
            "id": "wemath/2steps_9@2steps_multi",
            "answer": "C",
            "answer_type": "choice",
            "choices": ("6", "8", "12", "14", "No correct answer"),
            "meta.steps": "2steps",
        },
        "What is the area of the rectangle?\n\nOptions: A. 6;B. 8;C. 12;D. 14;E. No correct answer\n"
        "Your final answer must be one of A, B, C, or D. " + LOOKBACK,
    ),
    "mmk12": (
        {
            "id": "mmk12-41",
            "question": "<image>Find the slope of the line.",
            "answer": "\\frac{1}{2}",
            "image": "mmk12-41.png",
            "subject": "math",
        },
        {"id": "mmk12/mmk12-41", "answer": "\\frac{1}{2}", "answer_type": None, "meta.subject": "math"},
        "Find the slope of the line. " + LOOKBACK,
    ),
    "geo3k": (
        {
            "problem": "<image>Find x.\nChoices:\nA. 3\nB. 4\nC. 5\nD. 6",
            "answer": "C",
            "images": ["g1.png"],
            "id": "g1",
        },
        {"id": "geo3k/g1", "answer": "C", "answer_type": "choice", "choices": ("3", "4", "5", "6")},
        "Find x.\nChoices:\nA. 3\nB. 4\nC. 5\nD. 6 " + LOOKBACK,
    ),
    "logicvista": (
        {
            "imagename": "v1_3.png",
            "question": "Which two shapes belong to the group?",
            "answer": "a, c",
            "skill": ["inductive"],
            "broad_capability": ["diagram"],
            "specific_capability": ["rule based pattern"],
        },
        {"id": "logicvista/v1_3", "answer": "A, C", "answer_type": "choice", "meta.skill": ["inductive"]},
        "Which two shapes belong to the group? " + LOOKBACK,
    ),
    "counting": (
        {"problem": "<image>How many items are there in the image?", "answer": "5", "images": ["c.png"]},
        {"id": "counting/0", "answer": "5", "answer_type": "number"},
        "How many items are there in the image? " + LOOKBACK,
    ),
    "mmmu_pro": (
        {
            "id": "validation_Art_3",
            "question": "Which period is <image 1> from?",
            "options": "['Baroque', 'Gothic', 'Rococo']",
            "answer": "B",
            "image_1": "a.png",
            "image_2": None,
            "subject": "Art",
            "topic_difficulty": "Easy",
        },
        {
            "id": "mmmu_pro/validation_Art_3",
            "answer": "B",
            "answer_type": "choice",
            "choices": ("Baroque", "Gothic", "Rococo"),
            "meta.subject": "Art",
        },
        "Which period is <image 1> from?\nA. Baroque\nB. Gothic\nC. Rococo " + LOOKBACK,
    ),
    "geomath": (
        {
            "messages": [
                {"role": "user", "content": "<image>In the figure, find angle ABC.\nChoices:\nA:30°\nB:45°"},
                {"role": "assistant", "content": "B"},
            ],
            "images": ["geo/1.png"],
            "id": "gm1",
        },
        {"id": "geomath/gm1", "answer": "B", "answer_type": "choice", "choices": ("30°", "45°")},
        "In the figure, find angle ABC.\nChoices:\nA:30°\nB:45° " + LOOKBACK,
    ),
    "virl39k": (
        {"problem": "<image>What is 2+3?", "answer": "\\boxed{5}", "images": ["v.png"], "category": "math"},
        {"id": "virl39k/0", "answer": "5", "meta.category": "math"},
        "What is 2+3? " + LOOKBACK,
    ),
}
FROZEN["mathverse_v"] = FROZEN["mathverse"]


@pytest.mark.parametrize("name", sorted(FROZEN))
def test_frozen_row(name, tmp_path):
    row, expected, prompt = FROZEN[name]
    sample = TASKS[name].from_upstream(row, Context(TASKS[name], 0, tmp_path, tmp_path))
    got = sample.to_dict()
    for key, value in expected.items():
        actual = got["meta"].get(key[5:]) if key.startswith("meta.") else got[key]
        if key == "id":
            value = value.replace("mathverse/", f"{name}/") if name == "mathverse_v" else value
        assert actual == (list(value) if isinstance(value, tuple) else value), key
    assert all(path.startswith(str(tmp_path)) for path in sample.images) and sample.images
    assert user_text(sample) == prompt
    assert Sample.from_dict(json.loads(json.dumps(got))) == sample


def test_papo_sharegpt_rows(tmp_path):
    (tmp_path / "a.png").write_bytes(b"")
    rows = [
        {
            "messages": [
                {"role": "user", "content": "<image>How many cubes?"},
                {"role": "assistant", "content": "3"},
            ],
            "images": ["a.png"],
        },
        {
            "conversations": [
                {"from": "human", "value": "<image><image>Pick.\n(A) red (B) blue"},
                {"from": "gpt", "value": "\\boxed{b}"},
            ],
            "images": ["x/a.png", "a.png"],
            "id": 9,
        },
        {"messages": [{"role": "user", "content": "no answer turn"}], "images": []},
        {"messages": "not a list"},
        {
            "messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "1"}],
            "images": "a.png",
        },
    ]
    (tmp_path / "test.jsonl").write_text("\n".join(json.dumps(r) for r in rows))
    loaded = load(TASKS["counting"], "local", tmp_path)
    first, second = loaded.samples
    assert (first.question, first.answer, first.images) == (
        "How many cubes?",
        "3",
        (str(tmp_path / "a.png"),),
    )
    assert (second.id, second.answer, second.answer_type) == ("counting/9", "B", "choice")
    assert second.images[0] == str(tmp_path / "a.png")  # found by file name under the image root
    assert [e.split(":")[0] for e in loaded.errors] == ["counting row 2", "counting row 3", "counting row 4"]


def test_suites():
    assert [t.name for t in resolve("general")] == list(SUITES["general"])
    assert len(resolve("all")) == 10 and "virl39k" not in SUITES["all"]
    assert [t.name for t in resolve("counting,general,counting")][:2] == ["counting", "mathvista"]
    with pytest.raises(ValueError, match="unknown task or suite 'nope'"):
        resolve("nope")


def test_missing_data_names_task_and_what_to_get(tmp_path, monkeypatch):
    with pytest.raises(DataError, match=r"geomath: none of GeoMath-data.json"):
        load(TASKS["geomath"], "local", tmp_path)
    with pytest.raises(DataError, match="geomath: no upstream source is known; .*--data-dir"):
        load(TASKS["geomath"], "upstream")
    with pytest.raises(DataError, match="needs --data-dir"):
        load(TASKS["wemath"], "local")

    import datasets

    def offline(*args, **kwargs):
        raise ConnectionError("offline")

    monkeypatch.setattr(datasets, "load_dataset", offline)
    monkeypatch.setenv("HF_HUB_OFFLINE", "1")
    with pytest.raises(
        DataError, match=r"wemath: cannot load We-Math/We-Math split testmini.*HF_HUB_OFFLINE"
    ):
        load(TASKS["wemath"], "upstream")


def test_messages_put_images_first():
    sample = Sample(id="t/1", task="t", question="Q?", answer="1", images=("a.png", "b.png"))
    system, user = messages(sample, "train")
    assert system == {"role": "system", "content": [{"type": "text", "text": "You are a helpful assistant."}]}
    assert [part["type"] for part in user["content"]] == ["image", "image", "text"]
    assert user["content"][-1]["text"] == "Q?\n\n" + PROMPTS["train"]  # VGPO's template: a blank line


SHARED = Path(__file__).resolve().parents[2] / "shared" / "data" / "benchmarks"
REAL = [  # (task, folder, rows, rows whose images are in the folder)
    ("mathvista", "mathvista", 40, 0),
    ("mathverse", "mathverse", 40, 0),
    ("wemath", "wemath", 40, 40),
    ("logicvista", "logicvista", 40, 40),
    ("mmmu_pro", "mmmu_pro", 40, 11),
    ("counting", "superclevr_counting", 40, 0),
    ("geo3k", "geo3k", 10, 10),
]


@pytest.mark.skipif(not SHARED.is_dir(), reason="the shared benchmark rows are not beside this checkout")
@pytest.mark.parametrize("name, folder, rows, with_images", REAL)
def test_real_rows_load_from_a_local_folder(name, folder, rows, with_images):
    loaded = load(TASKS[name], "local", SHARED / folder)
    assert not loaded.errors and len(loaded.samples) == rows
    present = [s for s in loaded.samples if s.images and all(Path(p).is_file() for p in s.images)]
    assert len(present) == with_images
    assert len({s.id for s in loaded.samples}) == rows
    letters = [s for s in loaded.samples if s.answer_type == "choice"]
    assert all(re.fullmatch(r"[A-J](, [A-J])*", s.answer) for s in letters)


def test_wemath_real_rows_keep_groups():
    if not SHARED.is_dir():
        pytest.skip("the shared benchmark rows are not beside this checkout")
    samples = load(TASKS["wemath"], "local", SHARED / "wemath").samples
    assert {s.meta["key"] for s in samples if s.meta["ID"] == "3steps_1"} == {
        "3steps_1",
        "3steps_2",
        "3steps_3",
        "3steps_multi",
    }


@pytest.mark.parametrize(
    "size, expected",
    [
        ((100, 100), (512, 512)),  # too small: scaled up to the minimum area
        ((300, 200), (627, 418)),  # Look-Back truncates when scaling up too (not 628x419)
        ((2000, 1000), (1414, 707)),  # too large: scaled down, aspect kept
        ((1001, 1000), (1000, 999)),  # truncated: 999,000 pixels
        ((800, 600), (800, 600)),  # inside the bounds: unchanged
    ],
)
def test_fit_pixels(size, expected):
    width, height = fit_pixels(*size)
    assert (width, height) == expected
    assert width * height <= MAX_PIXELS and width * height >= 0.99 * MIN_PIXELS


def test_load_images_resizes_and_names_a_missing_image(tmp_path):
    from PIL import Image

    Image.new("RGB", (64, 32), "white").save(tmp_path / "small.png")
    sample = Sample(id="t/1", task="t", question="", answer="1", images=(str(tmp_path / "small.png"),))
    (img,) = load_images(sample)
    assert img.size == (
        724,
        362,
    )  # 64x32 scaled by sqrt(262144 / 2048), each side truncated as Look-Back does
    broken = Sample(id="t/2", task="t", question="", answer="1", images=(str(tmp_path / "missing.png"),))
    with pytest.raises(DataError, match="t/2: cannot read image .*missing.png"):
        load_images(broken)
