"""The `verifier` protocol: `strict` decides first; a verifier model judges what strict does not accept.

Answers no rule can read ("Based on the image, the value of Arkansas is higher" for a Yes/No question)
are left to a verifier model, CompassVerifier (opencompass/CompassVerifier-3B by default, Apache-2.0):
its published prompt with the question text, the gold and the response, greedy, answered A (correct),
B (incorrect) or C (invalid). Rules first keep it cheap and reproducible: only the responses strict
does not accept go to the model (`verify="negatives"`), or every response (`"all"`, to measure
agreement). Every record keeps strict's verdict and rule beside the model's (`rule`
`verifier:correct|incorrect|invalid`; `verifier:unparsed` keeps strict's verdict when the reply is no
judgment; `verifier:error` when the verifier could not answer: down, slow, refused; counted, listed and
retried on the next scoring).

The model runs on the project's backends (`hf`, `vllm`, or `openai` against any compatible server), so
this module stays above the checker: `vgpo_eval/checker` never touches a network or a model. Decisions
are cached in a JSONL file per (prompt text, verifier model, revision): re-scoring costs nothing, a cut
scoring resumes, two scorings agree exactly. Only parsed judgments are cached.

    vgpo-eval score --run RUN --protocol verifier --verifier-url http://127.0.0.1:8001/v1
    vgpo-eval run --tasks all --model M --protocols strict,verifier
"""

from __future__ import annotations

import hashlib
import json
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

MODEL = "opencompass/CompassVerifier-3B"
REVISION: str | None = (
    None  # not pinned: the commit could not be looked up here; each scoring records its own
)
VERIFY = ("negatives", "all")
JUDGMENTS = {"A": "correct", "B": "incorrect", "C": "invalid"}
DECIDED = tuple(f"verifier:{label}" for label in JUDGMENTS.values())  # the rules of a verdict the model gave
UNPARSED, ERROR = "verifier:unparsed", "verifier:error"  # no judgment in the reply; no reply (retried)
# a response is untrusted: past this many characters (no 2,048-token answer comes near) it is not sent, and
# strict's verdict stands (rule TOO_LONG), so no response can make the verifier's work unbounded
MAX_RESPONSE, TOO_LONG = 32_000, "verifier:too_long"
# CompassVerifier's published prompt (open-compass/CompassVerifier, src/prompts.py, CV_PROMPT), as the model was
# trained to read it: the text is data, kept byte for byte (its "\\boxed{}" has two backslashes after formatting)
PROMPT = (
    "\nPlease as a grading expert, judge whether the final answers given by the candidates below are consistent "
    "with the standard answers, that is, whether the candidates answered correctly. \nHere are some evaluation "
    "criteria:\n1. Please refer to the given standard answer. You don't need to re-generate the answer to the "
    "question because the standard answer has been given. You only need to judge whether the candidate's answer "
    "is consistent with the standard answer according to the form of the question. THE STANDARD ANSWER IS ALWAYS "
    "CORRECT AND THE QUESTION IS PERFECTLY VALID. NEVER QUESTION THEM.\n2. ONLY compare the FINAL ANSWER - "
    "COMPLETELY IGNORE any potential errors in the REASONING PROCESSES.\n3. Some answers may be expressed in "
    "different ways, such as some answers may be a mathematical expression, some answers may be a textual "
    "description, as long as the meaning expressed is the same. Before making a judgment, please understand the "
    "question and the standard answer first, and then judge whether the candidate's answer is correct.\n4. Some "
    "answers may consist of multiple items, such as multiple-choice questions, multiple-select questions, "
    "fill-in-the-blank questions, etc. Regardless of the question type, the final answer will be considered "
    "correct as long as it matches the standard answer, regardless of whether the reasoning process is correct. "
    "For multiple-select questions and multi-blank fill-in-the-blank questions, all corresponding options or "
    "blanks must be answered correctly and match the standard answer exactly to be deemed correct.\n5. If the "
    "prediction is given with \\\\boxed{}, please ignore the \\\\boxed{} and only judge whether the candidate's "
    "answer is consistent with the standard answer.\n6. If the candidate's answer is invalid (e.g., incomplete "
    "(cut off mid-response), lots of unnormal repetitive content, or irrelevant to the question, saying it can't "
    "answer the question because some irresistible factors, like ethical issues, no enough information, etc.), "
    "select option C (INVALID).Please judge whether the following answers are consistent with the standard "
    "answer based on the above criteria. Grade the predicted answer of this new question as one of:\nA: CORRECT "
    '\nB: INCORRECT\nC: INVALID\nJust return the letters "A", "B", or "C", with no text around it.\nHere is your '
    "task. Simply reply with either CORRECT, INCORRECT, or INVALID. Don't apologize or correct yourself if there "
    "was a mistake; we are just trying to grade the answer.\n<Original Question Begin>:\n{question}\n<Original "
    "Question End>\n<Standard Answer Begin>:\n{gold_answer}\n<Standard Answer End>\n<Candidate's Answer Begin>: "
    "\n{llm_response}\n<Candidate's Answer End>\nJudging the correctness of the candidate's answer:\n"
)
_WORDS = {"CORRECT": "A", "INCORRECT": "B", "INVALID": "C"}
_LETTER = re.compile(r"\(?([ABC])\)?[.:]?(?:\s*-?\s*(?:CORRECT|INCORRECT|INVALID))?")
_BOXED = re.compile(r"\\boxed\{([ABC])\}")


def prompt(question: str, gold: str, response: str) -> str:
    """The verifier's user turn. Filled by plain replacement, not str.format: a response is untrusted text and
    its braces must stay text."""
    parts = {"{question}": question, "{gold_answer}": gold, "{llm_response}": response}
    pieces = re.split(r"(\{question\}|\{gold_answer\}|\{llm_response\})", PROMPT)
    return "".join(parts.get(piece, piece) for piece in pieces)


def judgment(reply: str) -> str | None:
    """A, B or C from a verifier's reply: the letter alone (with its word, as the prompt offers), the word
    alone, or the last \\boxed{letter}; None for anything else (never a letter picked out of prose)."""
    text = reply.strip().strip("*").strip()
    if m := _LETTER.fullmatch(text):
        return m.group(1)
    if text.upper() in _WORDS:
        return _WORDS[text.upper()]
    boxed = _BOXED.findall(reply)
    return boxed[-1] if boxed else None


@dataclass
class Settings:
    """Which verifier, where, and what it judges (run and score take these from their flags)."""

    model: str = MODEL
    revision: str | None = REVISION
    backend: str = "hf"  # hf, vllm or openai (set by --verifier-url)
    urls: str | None = None  # "http://h1:8001/v1[,http://h2:8001/v1]" for the openai backend
    verify: str = "negatives"
    max_new_tokens: int = 64  # the reply is one letter; a longer one is unparsed anyway
    concurrency: int = 8
    timeout: float = 120.0  # seconds per request to a verifier server
    options: dict[str, Any] = field(default_factory=dict)

    def describe(self) -> dict[str, Any]:
        return {"model": self.model, "revision": self.revision, "backend": self.backend, "urls": self.urls,
                "verify": self.verify, "max_new_tokens": self.max_new_tokens}  # fmt: skip


class Cache:
    """Decisions by key (prompt text, model, revision), in an append-only JSONL file; bad lines are skipped."""

    def __init__(self, path: Path | None):
        self.path, self.known = path, {}
        if path is not None and path.is_file():
            from vgpo_eval.score import read_jsonl

            for _, record in read_jsonl(path):
                if isinstance(record, dict) and record.get("judgment") in JUDGMENTS and "key" in record:
                    self.known[record["key"]] = record

    @staticmethod
    def key(text: str, settings: Settings) -> str:
        return hashlib.sha256(json.dumps([settings.model, settings.revision, text]).encode()).hexdigest()

    def put(self, records: Iterable[dict]) -> None:
        records = [r for r in records if r["key"] not in self.known]
        for record in records:
            self.known[record["key"]] = record
        if self.path is not None and records:
            from vgpo_eval.score import json_text

            with open(self.path, "a", encoding="utf-8") as f:
                f.writelines(json_text(r) + "\n" for r in records)
                f.flush()


def decide(records: Sequence[dict], settings: Settings, cache: Cache, backend: Any = None) -> list[dict]:
    """Verifier records from strict-scored ones (each with question, response, answer, correct, rule, extracted),
    in their order: the responses to verify go to the model (cached ones not), the rest keep strict's verdict;
    a record with an `error` (a failed generation, an unreadable line) has nothing to judge and passes through."""
    asked: dict[str, str] = {}  # key -> prompt, for the records that need the model and are not cached
    keyed = []
    for record in records:
        if "error" in record:
            keyed.append((record, None))
            continue
        send = settings.verify == "all" or not record["correct"]
        if send and len(record.get("response") or "") > MAX_RESPONSE:
            keyed.append((record, TOO_LONG))
            continue
        text = prompt(record.get("question") or "", str(record["answer"]), record.get("response") or "")
        key = Cache.key(text, settings) if send else None
        if key is not None and key not in cache.known:
            asked[key] = text
        keyed.append((record, key))
    replies = _ask(asked, settings, backend) if asked else {}
    cache.put(
        {"key": k, "judgment": j, "reply": r[:200], "model": settings.model, "revision": settings.revision}
        for k, (r, e) in replies.items()
        if e is None and (j := judgment(r)) is not None
    )
    return [_verdict(record, key, cache, replies) for record, key in keyed]


def _verdict(record: dict, key: str | None, cache: Cache, replies: dict) -> dict:
    if "error" in record:  # as it came, the question and response aside; a scored one now under this protocol
        kept = {k: v for k, v in record.items() if k not in ("question", "response")}
        return kept | {"protocol": "verifier"} if "rule" in kept else kept
    strict = {
        "strict_correct": bool(record["correct"]),
        "strict_rule": record["rule"],
        "protocol": "verifier",
    }
    base = {k: v for k, v in record.items() if k not in ("protocol", "question", "response")} | strict
    if key is None:
        return base  # strict accepted it and only negatives are verified: strict's verdict and rule
    if key == TOO_LONG:
        return base | {"rule": TOO_LONG}
    if key in cache.known:
        letter = cache.known[key]["judgment"]
        return base | {"correct": letter == "A", "rule": f"verifier:{JUDGMENTS[letter]}"}
    reply, error = replies.get(key, ("", "not answered"))
    if error is not None:
        return base | {"rule": ERROR, "verifier_error": error}
    return base | {"rule": UNPARSED, "verifier_reply": reply[:200]}


def _ask(asked: dict[str, str], settings: Settings, backend: Any) -> dict[str, tuple[str, str | None]]:
    """key -> (reply, error) for every prompt, through the verifier's backend; a backend that cannot be reached
    at all makes each an error, never a verdict."""
    from vgpo_eval.backends import Decoding, Request
    from vgpo_eval.prompts import RAW
    from vgpo_eval.types import Sample

    backend = backend or make_backend(settings)
    requests = [
        Request(Sample(id=key, task="verifier", question=text, answer="")) for key, text in asked.items()
    ]
    decoding = Decoding(temperature=0.0, max_new_tokens=settings.max_new_tokens, prompt=RAW)
    out = {}
    try:
        for response in backend.generate(requests, decoding):
            out[response.sample_id] = (response.text, response.error)
    except (ConnectionError, OSError, RuntimeError) as exc:  # down, or the model could not load
        problem = f"{type(exc).__name__}: {str(exc)[:300]}"
        return {key: out.get(key, ("", problem)) for key in asked}
    return {key: out.get(key, ("", "no reply")) for key in asked}


def make_backend(settings: Settings) -> Any:
    """The generation backend that runs the verifier (an OpenAI-compatible server when urls are given)."""
    from vgpo_eval.backends import BACKENDS

    options = dict(settings.options)
    if settings.backend == "openai":
        options |= {"base_url": settings.urls, "concurrency": settings.concurrency, "timeout": settings.timeout,
                    "request_timeout": settings.timeout, "retries": 2}  # fmt: skip
    else:
        options |= {"revision": settings.revision}
    return BACKENDS[settings.backend](settings.model, **options)


def score_file(path: Path, out: Path, settings: Settings, workers: int | None = None) -> Any:
    """`vgpo-eval score FILE --protocol verifier`: strict on every line, then the verifier; the scored lines go to
    `out` in input order and the decisions are cached beside it (OUT's stem + .verifier-cache.jsonl)."""
    from vgpo_eval.score import Summary, json_text, read_jsonl
    from vgpo_eval.score import score_file as strict_file

    staged = out.with_name(out.name + ".strict.partial")
    strict_file(path, staged, "strict", workers)
    records = [r for _, r in read_jsonl(staged)] if staged.is_file() else []
    staged.unlink(missing_ok=True)
    summary = Summary("verifier")
    if not records:
        return summary
    with open(out, "w", encoding="utf-8") as f:
        for record in decide(records, settings, Cache(out.with_name(f"{out.stem}.verifier-cache.jsonl"))):
            summary.add(record)
            f.write(json_text(record) + "\n")
    return summary


def trl_reward(
    urls: str, model: str = MODEL, answer_column: str = "answer", question_column: str = "problem",
    timeout: float = 60.0, cache: Path | None = None,
) -> Any:  # fmt: skip
    """A TRL reward function through a verifier server: strict first (1.0 for what it accepts), then the batch's
    other completions in concurrent requests; the verifier's judgment becomes 1.0 or 0.0, and a completion it
    could not judge (server down, slow, a reply that is no judgment) gets None, which TRL skips: never a
    silent 0. The question comes from `question_column` when the dataset has it."""
    from vgpo_eval.checker.rewards import HINTS, _text, reward

    settings = Settings(model=model, backend="openai", urls=urls, timeout=timeout)
    backend, known = make_backend(settings), Cache(cache)

    def reward_func(completions: Sequence[Any], **columns: Any) -> list[float | None]:
        answers, questions = (
            columns.get(answer_column),
            columns.get(question_column) or [""] * len(completions),
        )
        if answers is None:
            raise KeyError(f"the dataset has no {answer_column!r} column for the verifier reward")
        records = []
        for i, completion in enumerate(completions):
            text, hints = _text(completion), {k: columns[k][i] for k in HINTS if columns.get(k) is not None}
            strict = None if answers[i] is None else reward(text, answers[i], "strict", **hints)
            records.append({"id": str(i), "index": 0, "answer": answers[i], "correct": strict == 1.0,
                            "rule": "strict", "question": str(questions[i] or ""), "response": text})  # fmt: skip
        asked = [r for r in records if r["answer"] is not None]
        decided = {r["id"]: r for r in decide(asked, settings, known, backend)} if asked else {}
        return [_reward(decided.get(r["id"])) for r in records]

    reward_func.__name__ = "verifier_accuracy"
    return reward_func


def _reward(record: dict | None) -> float | None:
    if record is None or record["rule"] in (ERROR, UNPARSED):
        return None
    return 1.0 if record["correct"] else 0.0
