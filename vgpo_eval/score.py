"""Scoring JSONL files of responses, in parallel worker processes, without a GPU.

Input lines: {"id", "response", "answer", "choices"?: [texts] | null, "answer_type"?: hint,
"precision"?: int, "task"?: name}; only id, response and answer are required. Output lines:
the input fields plus "correct", "extracted", "rule" and "protocol". A line that cannot be
read gets {"line": N, "error": ...} in the output and is left out of the accuracy; every
other line is still scored.

    python -m vgpo_eval score responses.jsonl --protocol strict --out scored.jsonl
"""

from __future__ import annotations

import json
import os
from collections import Counter
from collections.abc import Iterator
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

from vgpo_eval.checker import guard
from vgpo_eval.checker.protocols import check
from vgpo_eval.types import UNJUDGED, Sample

REQUIRED = ("id", "response", "answer")
CHUNK = 32


@dataclass
class Summary:
    """Counts of one scoring pass: correct, scored, bad lines, and how many verdicts each rule gave."""

    protocol: str
    correct: int = 0
    scored: int = 0
    errors: list[int] = field(default_factory=list)
    rules: Counter = field(default_factory=Counter)
    timeouts: list[str] = field(default_factory=list)
    first_error: str | None = None  # the reason of the first bad line, shown in the summary

    @property
    def accuracy(self) -> float:
        return 100.0 * self.correct / self.scored if self.scored else 0.0

    def add(self, record: dict) -> None:
        if "error" in record:
            self.errors.append(record["line"])
            self.first_error = self.first_error or record["error"]
            return
        self.scored += 1
        self.correct += bool(record["correct"])
        self.rules[record["rule"]] += 1
        if record["rule"].startswith(UNJUDGED):
            self.timeouts.append(str(record.get("id")))

    def render(self) -> str:
        lines = [f"{self.protocol}: accuracy {self.accuracy:.2f}% ({self.correct}/{self.scored})"]
        if self.errors:
            shown = ", ".join(map(str, self.errors[:10])) + (" ..." if len(self.errors) > 10 else "")
            lines.append(f"{len(self.errors)} bad line(s) not scored: {shown} (first: {self.first_error})")
        if self.timeouts:
            shown = ", ".join(self.timeouts[:10]) + (" ..." if len(self.timeouts) > 10 else "")
            lines.append(
                f"{len(self.timeouts)} check(s) reached the CPU time limit or failed inside the checker, "
                f"counted wrong: {shown}"
            )
        lines += [f"  {rule:<28} {n}" for rule, n in self.rules.most_common()]
        return "\n".join(lines)


def sample_of(record: dict, line: int = 0) -> Sample:
    """The Sample a scoring line describes; ValueError naming the line and field if it is malformed."""
    missing = [k for k in REQUIRED if record.get(k) is None]
    if missing:
        raise ValueError(f"line {line}: missing {', '.join(missing)}")
    if not isinstance(record["response"], str):
        raise ValueError(f"line {line}: 'response' must be a string")
    choices = record.get("choices")
    if choices is not None and not (isinstance(choices, list) and all(isinstance(c, str) for c in choices)):
        raise ValueError(f"line {line}: 'choices' must be a list of strings or null")
    precision = record.get("precision")
    if precision is not None and not isinstance(precision, int):
        raise ValueError(f"line {line}: 'precision' must be an integer")
    return Sample(
        id=str(record["id"]),
        task=str(record.get("task") or ""),
        question=str(record.get("question") or ""),
        answer=str(record["answer"]),
        answer_type=record.get("answer_type"),
        choices=choices,
        precision=precision,
    )


def score_record(record: dict, protocol: str, line: int = 0) -> dict:
    """One scored output line (or an error record naming the line)."""
    try:
        sample = sample_of(record, line)  # first: a missing field is named ("line 3: missing response")
        verdict = check(record["response"], sample, protocol)
    except Exception as exc:  # noqa: BLE001 - a bad line must not stop the file
        return {"line": line, "id": record.get("id"), "error": str(exc)}
    return {
        **record,
        "correct": verdict.correct,
        "extracted": verdict.extracted,
        "rule": verdict.rule,
        "protocol": protocol,
    }


def _score_chunk(chunk: list[tuple[int, dict | str]], protocol: str) -> list[dict]:
    return [
        score_record(item, protocol, line) if isinstance(item, dict) else {"line": line, "error": item}
        for line, item in chunk
    ]


def read_jsonl(path: Path) -> Iterator[tuple[int, dict | str]]:
    """(line number, record) for each non-blank line; the record is an error message if unreadable
    (not UTF-8, not JSON, nested too deeply, not an object), so one bad line never stops a file."""
    with open(path, "rb") as f:
        for n, raw in enumerate(f, 1):
            if not raw.strip():
                continue
            try:
                yield n, parse_line(raw, n)
            except ValueError as exc:
                yield n, str(exc)


def parse_line(raw: bytes, n: int) -> dict:
    """The JSON object of line `n` of a JSONL file; ValueError saying, from "line N: ", why it cannot be read.

    Any file may come from elsewhere: a byte-order mark before line 1 (Windows tools write one) is
    skipped, and a line too deeply nested for the parser is one bad line, not the end of the file."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ValueError(
            f"line {n}: not UTF-8 text (byte {raw[exc.start]:#04x} at column {exc.start + 1})"
        ) from None
    if n == 1:
        text = text.removeprefix("\ufeff")
    try:
        record = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValueError(f"line {n}: not JSON ({exc.msg})") from None
    except (ValueError, RecursionError) as exc:  # an integer too long to convert; nesting past the stack
        raise ValueError(f"line {n}: not readable JSON ({type(exc).__name__})") from None
    if not isinstance(record, dict):
        raise ValueError(f"line {n}: not a JSON object")
    return record


def json_text(record, **options) -> str:
    """`json.dumps` that keeps non-ASCII text readable, escaping it (\\u00e9) only when the text cannot be
    written as UTF-8: a lone surrogate ("\\ud800" in a server's JSON reply) is valid JSON but no UTF-8."""
    text = json.dumps(record, ensure_ascii=False, **options)
    try:
        text.encode("utf-8")
    except UnicodeEncodeError:
        return json.dumps(record, **options)
    return text


def score_file(path: Path, out: Path | None, protocol: str = "strict", workers: int | None = None) -> Summary:
    """Score every line of `path` under `protocol`, writing scored lines to `out` in input order."""
    from tqdm import tqdm

    lines = list(read_jsonl(path))
    workers = max(1, min(workers or os.cpu_count() or 1, len(lines)))
    size = max(1, min(CHUNK, -(-len(lines) // (4 * workers))))  # several chunks per worker, at most CHUNK
    chunks = [lines[i : i + size] for i in range(0, len(lines), size)]
    summary = Summary(protocol)
    if out and not lines:  # nothing scored: no empty (or old) scored file left to look like a result
        out.unlink(missing_ok=True)
        out = None
    if out:
        out.parent.mkdir(parents=True, exist_ok=True)
    sink = open(out, "w", encoding="utf-8") if out else None  # noqa: SIM115 - closed below
    try:
        with tqdm(total=len(lines), desc=f"scoring ({protocol})", unit="resp", disable=not lines) as bar:
            for records in _map(chunks, protocol, workers):
                for record in records:
                    summary.add(record)
                    if sink:
                        sink.write(json_text(record) + "\n")
                bar.update(len(records))
    finally:
        if sink:
            sink.close()
    return summary


def _map(chunks: list, protocol: str, workers: int) -> Iterator[list[dict]]:
    if workers <= 1:
        yield from (_score_chunk(chunk, protocol) for chunk in chunks)
        return
    with ProcessPoolExecutor(workers, initializer=guard.exit_with_parent, initargs=(os.getpid(),)) as pool:
        yield from pool.map(_score_chunk, chunks, [protocol] * len(chunks))
