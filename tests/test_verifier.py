"""The `verifier` protocol: strict first, then a verifier model through a local OpenAI-compatible server that
answers A, B, C, garbage, slowly or not at all; verdicts, recorded rules, the published prompt in the request,
the cache (re-scoring asks nothing twice, a cut scoring resumes), error accounting and exit codes; and the hf
path end to end on tiny random models (their reply is no judgment: `verifier:unparsed`, strict's verdict kept)."""

from __future__ import annotations

import json
import sys
import time
from pathlib import Path

import pytest

from vgpo_eval.cli import main
from vgpo_eval.verifier import PROMPT, Cache, Settings, decide, judgment, prompt

sys.path.insert(0, str(Path(__file__).parent))
from conftest import one_item_run  # noqa: E402
from openai_server import completion, json_reply, scripted  # noqa: E402

# the response decides what the scripted verifier answers
REPLIES = {"SAYS_A": "A", "SAYS_B": "B", "SAYS_C": "C", "SAYS_WORD": "CORRECT", "GARBAGE": "Because it is so.",
           "BOXED": "Final Judgment: \\boxed{A} - CORRECT"}  # fmt: skip


@pytest.mark.parametrize(
    "reply, letter",
    [("A", "A"), (" B\n", "B"), ("C: INVALID", "C"), ("(A)", "A"), ("A - CORRECT", "A"), ("**B**", "B"),
     ("CORRECT", "A"), ("incorrect", "B"), ("Final Judgment: \\boxed{C} - INCOMPLETE", "C"),
     ("Because the answer is A", None), ("A or B", None), ("", None), ("ABC", None), ("The answer: C.", None)],
)  # fmt: skip
def test_judgments_are_read_only_where_the_reply_is_one(reply, letter):
    assert judgment(reply) == letter


def test_the_prompt_is_the_published_one_and_braces_in_a_response_stay_text():
    text = prompt("How many {x}?", "3", "I say {question} and \\boxed{3}")
    assert text.startswith("\nPlease as a grading expert, judge whether the final answers")
    assert "5. If the prediction is given with \\\\boxed{}, please ignore the \\\\boxed{}" in text
    assert text.endswith("<Candidate's Answer Begin>: \nI say {question} and \\boxed{3}\n<Candidate's Answer End>\n"
                         "Judging the correctness of the candidate's answer:\n")  # fmt: skip
    assert "<Original Question Begin>:\nHow many {x}?\n<Original Question End>" in text
    assert PROMPT.count("{question}") == PROMPT.count("{gold_answer}") == PROMPT.count("{llm_response}") == 1


def _server(bodies: list, slow: set | None = None):
    """A verifier server answering by the response inside the prompt; `slow` responses wait 3 s."""

    def answer(handler, body, n):
        bodies.append(body)
        text = body["messages"][0]["content"]
        candidate = text.split("<Candidate's Answer Begin>: \n", 1)[1]
        if slow and any(word in candidate for word in slow):
            handler.stopping.wait(3)
        reply = next((r for word, r in REPLIES.items() if word in candidate), "A")
        json_reply(handler, completion(reply))

    return scripted(answer)


def _file(tmp_path) -> Path:
    rows = [
        {"id": "right", "question": "How many?", "answer": "3", "response": "So \\boxed{3}."},
        {"id": "a", "question": "Is Arkansas higher than Indiana?", "answer": "Yes",
         "response": "Based on the image, the value of Arkansas is higher than Indiana. SAYS_A"},
        {"id": "b", "question": "q", "answer": "5", "response": "I cannot tell SAYS_B"},
        {"id": "c", "question": "q", "answer": "5", "response": "and then the the the SAYS_C"},
        {"id": "word", "question": "q", "answer": "2016", "response": "recorded in 2016, 94% SAYS_WORD"},
        {"id": "garbage", "question": "q", "answer": "5", "response": "hmm GARBAGE"},
        {"id": "slow", "question": "q", "answer": "5", "response": "wait SLOW"},
    ]  # fmt: skip
    path = tmp_path / "preds.jsonl"
    path.write_text("".join(json.dumps(r) + "\n" for r in rows))
    return path


def _scored(path: Path) -> dict[str, dict]:
    return {r["id"]: r for r in map(json.loads, path.read_text().splitlines())}


def test_score_a_file_through_a_verifier_server(tmp_path, capsys):
    bodies: list = []
    src, out = _file(tmp_path), tmp_path / "out.jsonl"
    with _server(bodies, slow={"SLOW"}) as url:
        code = main(["score", str(src), "--protocol", "verifier", "--verifier-url", url, "--out", str(out),
                     "--verifier-timeout", "1", "--workers", "1"])  # fmt: skip
    assert code == 1  # one response could not be judged
    err = capsys.readouterr().err
    assert "1 response(s) could not be judged by the verifier" in err
    got = _scored(out)
    assert {k: (r["correct"], r["rule"]) for k, r in got.items()} == {
        "right": (True, got["right"]["strict_rule"]),  # strict accepted it: not sent
        "a": (True, "verifier:correct"), "b": (False, "verifier:incorrect"), "c": (False, "verifier:invalid"),
        "word": (True, "verifier:correct"), "garbage": (False, "verifier:unparsed"), "slow": (False, "verifier:error"),
    }  # fmt: skip
    assert all(r["strict_correct"] is (k == "right") and r["strict_rule"] for k, r in got.items())
    assert (
        got["garbage"]["verifier_reply"] == "Because it is so."
        and "timed out" in got["slow"]["verifier_error"]
    )
    # the request: the published prompt with question, gold and response, one user turn, greedy
    sent = {b["messages"][0]["content"] for b in bodies}
    rows = {r["id"]: r for r in map(json.loads, src.read_text().splitlines())}
    assert prompt(rows["a"]["question"], "Yes", rows["a"]["response"]) in sent
    assert all(b["temperature"] == 0 and b["model"] == "opencompass/CompassVerifier-3B" and len(b["messages"]) == 1
               and b["messages"][0]["role"] == "user" for b in bodies)  # fmt: skip
    assert not any("So \\boxed{3}." in s for s in sent)  # negatives only
    # again, the server fast now: only the unjudged ones are asked (cached decisions cost nothing), exit 0
    bodies.clear()
    with _server(bodies) as url:
        assert (
            main(["score", str(src), "--protocol", "verifier", "--verifier-url", url, "--out", str(out)]) == 0
        )
    asked = sorted(
        b["messages"][0]["content"].rsplit("Answer Begin>: \n", 1)[1].split("\n")[0] for b in bodies
    )
    assert asked == ["hmm GARBAGE", "wait SLOW"]
    again = _scored(out)
    assert again["slow"]["rule"] == "verifier:correct" and {k: again[k] for k in "abc"} == {
        k: got[k] for k in "abc"
    }


def test_a_verifier_that_is_down_is_an_error_per_item_never_a_verdict(tmp_path, capsys):
    src, out = _file(tmp_path), tmp_path / "out.jsonl"
    start = time.monotonic()
    code = main(["score", str(src), "--protocol", "verifier", "--verifier-url", "http://127.0.0.1:9/v1",
                 "--out", str(out), "--workers", "1"])  # fmt: skip
    assert code == 1 and "6 response(s) could not be judged" in capsys.readouterr().err
    got = _scored(out)
    assert [k for k, r in got.items() if r["rule"] == "verifier:error"] == [
        "a",
        "b",
        "c",
        "word",
        "garbage",
        "slow",
    ]
    assert all(
        not r["correct"] for k, r in got.items() if k != "right"
    )  # strict's verdicts, nothing invented
    assert (
        not (tmp_path / "out.verifier-cache.jsonl").exists()
        or not (tmp_path / "out.verifier-cache.jsonl").read_text()
    )
    assert time.monotonic() - start < 120  # no endless retries


def test_verify_all_sends_every_response_and_measures_flips(tmp_path):
    bodies: list = []
    records = [{"id": "x", "index": 0, "answer": "3", "correct": True, "rule": "number:boxed", "extracted": "3",
                "question": "q", "response": "\\boxed{3} SAYS_B"}]  # fmt: skip
    with _server(bodies) as url:
        settings = Settings(backend="openai", urls=url, verify="all")
        (only,) = decide(records, settings, Cache(None))
    assert len(bodies) == 1 and only["rule"] == "verifier:incorrect" and only["strict_correct"] is True
    assert only["correct"] is False


def test_a_run_scored_with_the_verifier_reports_what_the_model_decided(tmp_path, capsys):
    run = one_item_run(tmp_path / "run", "3", "The count is three. SAYS_A")
    bodies: list = []
    with _server(bodies) as url:
        assert main(["score", "--run", str(run), "--protocol", "verifier", "--verifier-url", url]) == 0
    report = json.loads((run / "report.verifier.json").read_text())
    task = report["tasks"]["counting"]
    assert task["accuracy"] == 100.0 and task["rules"] == {"verifier:correct": 1}
    assert task["verifier"] == {"decided": 1, "flipped": 1, "unparsed": 0, "errors": []}
    assert (
        report["verifier"]["model"] == "opencompass/CompassVerifier-3B" and report["verifier"]["urls"] == url
    )
    md = (run / "report.md").read_text()
    assert "the verifier model decided 1 verdict(s) and flipped 1 from strict" in md
    assert "Verifier (verifier): opencompass/CompassVerifier-3B" in md
    assert ",verifier,counting,accuracy,100.0," in (run / "results.csv").read_text()
    assert ",verifier,counting,verifier_flipped,1," in (run / "results.csv").read_text()
    # a second scoring asks nothing: the decision is cached in the run folder
    bodies.clear()
    with _server(bodies) as url:
        assert main(["score", "--run", str(run), "--protocol", "verifier", "--verifier-url", url]) == 0
    assert bodies == [] and (run / "verifier.cache.jsonl").read_text().count("\n") == 1
    # a cache cut mid-line (a crash while writing) is read up to its last whole line: the item is asked again
    (run / "verifier.cache.jsonl").write_text('{"key": "')
    with _server(bodies) as url:
        assert main(["score", "--run", str(run), "--protocol", "verifier", "--verifier-url", url]) == 0
    assert len(bodies) == 1
    assert main(["table", str(run), "--protocol", "verifier"]) == 0
    table = capsys.readouterr().out
    assert (
        "100.0" in table
        and "(opencompass/CompassVerifier-3B decided 1 verdicts, flipped 1 from strict)" in table
    )


def test_the_hf_path_end_to_end_on_a_tiny_random_model(tiny_model_dir, tmp_path):
    """The tiny random model's reply is no judgment: recorded as verifier:unparsed, strict's verdict kept,
    nothing cached; the text-only path (a causal LM and its tokenizer, as CompassVerifier is) too."""
    from transformers import AutoTokenizer, Qwen2Config, Qwen2ForCausalLM

    text_model = tmp_path / "tiny-lm"
    tokenizer = AutoTokenizer.from_pretrained(tiny_model_dir)
    config = Qwen2Config(vocab_size=len(tokenizer), hidden_size=32, intermediate_size=64, num_hidden_layers=1,
                         num_attention_heads=2, num_key_value_heads=1, eos_token_id=tokenizer.eos_token_id)  # fmt: skip
    Qwen2ForCausalLM(config).save_pretrained(text_model)
    tokenizer.save_pretrained(text_model)
    src = _file(tmp_path)
    for model in (tiny_model_dir, text_model):
        out = tmp_path / f"{Path(model).name}.jsonl"
        assert main(["score", str(src), "--protocol", "verifier", "--verifier-model", str(model),
                     "--verifier-backend", "hf", "--out", str(out), "--workers", "1"]) == 0  # fmt: skip
        got = _scored(out)
        assert {r["rule"] for k, r in got.items() if k != "right"} == {"verifier:unparsed"}
        assert [k for k, r in got.items() if r["correct"]] == ["right"]  # strict's verdicts kept
        assert not (tmp_path / f"{out.stem}.verifier-cache.jsonl").exists()


def test_the_trl_reward_asks_the_server_for_what_strict_rejects_and_skips_what_it_cannot_judge():
    from vgpo_eval.verifier import trl_reward

    bodies: list = []
    with _server(bodies, slow={"SLOW"}) as url:
        reward = trl_reward(url, timeout=1.0)
        scores = reward(["\\boxed{3}", "three SAYS_A", "four SAYS_B", "hmm GARBAGE", "wait SLOW", "\\boxed{3}"],
                        answer=["3", "3", "3", "3", "3", None], problem=["How many?"] * 6)  # fmt: skip
    assert scores == [1.0, 1.0, 0.0, None, None, None]  # None: skipped by TRL, never a silent 0
    assert (
        len({b["messages"][0]["content"] for b in bodies}) == 4
    )  # strict's 1.0 and the gold-less row not sent
    assert all("How many?" in b["messages"][0]["content"] for b in bodies)
    with pytest.raises(KeyError, match="'answer' column"):
        reward(["x"], solution=["3"])


def test_run_with_the_verifier_protocol(tiny_model_dir, tmp_path, monkeypatch, capsys):
    """`run --protocols strict,verifier`: the flags are checked before the model loads, and the run is scored
    under both, the verifier's servers and counts recorded."""
    from vgpo_tasks import synthetic

    monkeypatch.setenv("VGPO_CACHE", str(tmp_path / "cache"))
    data = synthetic.write(tmp_path / "data", ["counting"], n=2)
    base = ["run", "--tasks", "counting", "--model", str(tiny_model_dir), "--backend", "hf", "--source", "local",
            "--data-dir", str(data), "--max-new-tokens", "4", "--protocols", "strict,verifier"]  # fmt: skip
    assert main([*base, "--out", str(tmp_path / "bad"), "--verifier-url", "ftp://x"]) == 2
    assert "--verifier-url" in capsys.readouterr().err and not (tmp_path / "bad").exists()
    bodies: list = []
    with _server(bodies) as url:
        assert main([*base, "--out", str(tmp_path / "run"), "--verifier-url", url]) == 0
    report = json.loads((tmp_path / "run" / "report.verifier.json").read_text())
    assert (
        report["tasks"]["counting"]["verifier"]["decided"] == 2 == len(bodies)
    )  # the tiny model is never right
    assert report["tasks"]["counting"]["accuracy"] == 100.0  # the scripted verifier says A to everything
    assert {p.name.split(".")[1] for p in (tmp_path / "run").glob("report.*.json")} == {"strict", "verifier"}


def test_a_hub_verifier_without_the_hub_is_one_quick_line(tmp_path):
    """No hub, nothing cached: one line before anything loads, not the libraries' retries and an error per item."""
    import os
    import subprocess

    src = _file(tmp_path)
    env = {**os.environ, "HF_ENDPOINT": "http://127.0.0.1:9", "HF_HOME": str(tmp_path / "hf")}
    env.pop("HF_HUB_OFFLINE", None)
    done = subprocess.run([sys.executable, "-m", "vgpo_eval", "score", str(src), "--protocol", "verifier"],
                          capture_output=True, text=True, env=env, timeout=300)  # fmt: skip
    assert done.returncode == 2 and "Retrying" not in done.stderr and "Traceback" not in done.stderr
    (line,) = [x for x in done.stderr.splitlines() if x.startswith("error:")]
    assert (
        "the verifier opencompass/CompassVerifier-3B is not in the local cache" in line
        and "--verifier-url" in line
    )
    assert not list(tmp_path.glob("*.scored.*"))


def test_a_gigantic_response_is_not_sent_and_keeps_strict_s_verdict():
    """Model output is untrusted: past MAX_RESPONSE characters the verifier is not asked (no unbounded prompt)."""
    from vgpo_eval.verifier import MAX_RESPONSE, TOO_LONG

    bodies: list = []
    long = "so " * (MAX_RESPONSE // 3 + 1) + "SAYS_A"
    records = [{"id": i, "index": 0, "answer": "3", "correct": False, "rule": "no_answer:none", "extracted": None,
                "question": "q", "response": text} for i, text in enumerate((long, "three SAYS_A"))]  # fmt: skip
    with _server(bodies) as url:
        too_long, asked = decide(records, Settings(backend="openai", urls=url), Cache(None))
    assert len(bodies) == 1 and too_long["rule"] == TOO_LONG and too_long["correct"] is False
    assert asked["rule"] == "verifier:correct"
