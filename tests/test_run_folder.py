"""A run folder is hostile input: any file may be torn, damaged, or still being written by another process.

Readers never change a file (a malformed line is skipped and reported, the lines after it still
count); one `run` writes a folder (or a shard) at a time, under a lock, and only that writer cuts
off an unfinished last line before it appends; any text a model sends can be written; a damaged
or read-only folder is one line naming the file and exit 2, through the command line. The model
is a stand-in here (no torch): what is tested is the folder, not generation.
"""

import json
import os
import shutil
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

from vgpo_eval.backends import BACKENDS
from vgpo_eval.cli import main
from vgpo_eval.run import read_responses, responses_path, write_jsonl
from vgpo_eval.types import Response, Sample
from vgpo_tasks import synthetic

ROOT = Path(__file__).resolve().parents[1]
SURROGATE = "\ud800"  # a lone surrogate: valid in JSON ("\ud800"), not encodable as UTF-8


@pytest.fixture(autouse=True)
def _cache(tmp_path, monkeypatch):
    monkeypatch.setenv("VGPO_CACHE", str(tmp_path / "cache"))


class StandIn:
    """A backend that answers every request at once with `text`, and counts the models it loaded."""

    loads = 0
    text = "so \\boxed{1}"

    def __init__(self, model, **options):
        StandIn.loads += 1
        self.model = model

    def describe(self):
        return {"backend": "hf", "model": self.model}

    def generate(self, requests, decoding):
        for request in requests:
            for index in request.indices:
                yield Response(request.sample.id, self.text, index, tokens=3, finish_reason="stop")


@pytest.fixture
def stand_in(tmp_path, monkeypatch):
    """The `run` arguments of a run whose hf backend is StandIn: a folder that passes for a model."""
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    monkeypatch.setitem(BACKENDS, "hf", StandIn)
    monkeypatch.setattr(StandIn, "loads", 0)
    data = synthetic.write(tmp_path / "data", ["counting", "mathvista"], n=3)
    return ["run", "--model", str(model), "--backend", "hf", "--source", "local", "--data-dir", str(data)]


def _line(sample_id: str, text: str = "\\boxed{1}", index: int = 0) -> bytes:
    return (json.dumps(Response(sample_id, text, index).to_dict()) + "\n").encode()


def _folder(path: Path, responses: bytes) -> Path:
    """A run folder of three counting items and the given bytes as their responses file."""
    path.mkdir(parents=True, exist_ok=True)
    samples = [Sample(id=f"counting/{i}", task="counting", question="q", answer="1") for i in (1, 2, 3)]
    write_jsonl(path / "counting.samples.jsonl", [s.to_dict() for s in samples])
    (path / "counting.responses.jsonl").write_bytes(responses)
    return path


def _snapshot(folder: Path) -> dict[str, bytes]:
    return {p.name: p.read_bytes() for p in folder.glob("*.responses*.jsonl")}


MALFORMED = [
    b'{"sample_id": "counting/2", "te\n',  # torn by a crash, then appended after (an old writer)
    b"\xff\xfe not text\n",
    b"[1, 2]\n",
    b'{"sample_id": "counting/2"}\n',  # no text
    b'{"sample_id": "counting/2", "text": "x", "index": "0"}\n',
    b"[" * 100_000 + b"\n",  # json.loads raises RecursionError
]


def test_malformed_middle_lines_are_skipped_and_reported_and_no_reader_changes_the_file(tmp_path, capsys):
    content = _line("counting/1") + b"".join(MALFORMED) + _line("counting/3") + b'{"sample_id": "coun'
    folder = _folder(tmp_path / "run", content)
    path = folder / "counting.responses.jsonl"
    assert sorted(read_responses(path)) == [
        ("counting/1", 0),
        ("counting/3", 0),
    ]  # the line after them counts
    assert path.read_bytes() == content
    assert "6 malformed line(s) skipped: 2, 3, 4, 5, 6, 7 (first: line 2: not JSON" in capsys.readouterr().err
    read_responses(path)
    assert "malformed" not in capsys.readouterr().err  # once per file
    assert main(["status", str(folder)]) == 1  # counting/2 is missing
    printed = capsys.readouterr().out
    assert "counting.responses.jsonl: 6 malformed line(s) skipped: 2, 3, 4, 5, 6, 7" in printed
    assert path.read_bytes() == content
    assert main(["score", "--run", str(folder), "--protocol", "strict"]) == 0
    task = json.loads((folder / "report.strict.json").read_text())["tasks"]["counting"]
    assert task["n"] == 2 and task["missing"] == 1 and task["accuracy"] == 100.0
    assert path.read_bytes() == content


def test_a_live_writer_loses_no_line_and_the_file_never_shrinks(tmp_path, capsys):
    path = tmp_path / "counting.responses.jsonl"
    with open(path, "ab") as writer:  # as _generate writes: appended, flushed per line
        for i in range(3):
            writer.write(_line(f"counting/{i}"))
        half = _line("counting/3")
        writer.write(half[:20])
        writer.flush()  # the writer is mid-line while a reader reads
        size = path.stat().st_size
        assert len(read_responses(path)) == 3 and path.stat().st_size == size
        writer.write(half[20:] + _line("counting/4"))
        writer.flush()
    assert len(read_responses(path)) == 5

    stream = tmp_path / "stream.responses.jsonl"
    stream.touch()
    total, done, seen = 400, threading.Event(), []

    def write():
        with open(stream, "ab") as f:
            for i in range(total):
                line = _line(f"counting/{i}", "x" * 500)
                f.write(line[:300])  # each line in two writes: a reader may see half of one
                f.flush()
                f.write(line[300:])
                f.flush()
        done.set()

    thread = threading.Thread(target=write)
    thread.start()
    while not done.is_set():
        before = stream.stat().st_size
        seen.append(len(read_responses(stream)))
        assert stream.stat().st_size >= before
    thread.join()
    assert seen == sorted(seen)  # each read sees at least what the one before saw
    assert len(read_responses(stream)) == total and len(stream.read_bytes().splitlines()) == total
    assert "malformed" not in capsys.readouterr().err  # half a line is never taken for a malformed one


HOLD = """
import sys
from pathlib import Path
from vgpo_eval.run import run_lock
lock = run_lock(Path(sys.argv[1]), None)
print("held", flush=True)
sys.stdin.read()
"""


def test_a_second_run_on_a_folder_is_refused_at_once_naming_the_holder(stand_in, tmp_path, capsys):
    out = tmp_path / "run"
    out.mkdir()
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(out)], stdin=subprocess.PIPE, stdout=subprocess.PIPE,
                              text=True, cwd=ROOT)  # fmt: skip
    try:
        assert holder.stdout.readline().strip() == "held"
        assert main([*stand_in, "--tasks", "counting", "--out", str(out)]) == 2
        err = capsys.readouterr().err
        assert (
            f"{out} is being written by another run (pid {holder.pid} on {socket.gethostname()}, since "
            in err
        )
        assert len(err.strip().splitlines()) == 1 and StandIn.loads == 0  # refused before any model loaded
        assert not list(out.glob("*.jsonl"))
    finally:
        holder.kill()
        holder.wait()
    assert main([*stand_in, "--tasks", "counting", "--out", str(out)]) == 0  # a dead holder holds nothing
    from vgpo_eval.run import run_lock

    with run_lock(out, (0, 2)), run_lock(out, (1, 2)):  # shards write different files: side by side
        with pytest.raises(ValueError, match=r"shard 0/2 of .* is being written by another run \(pid "):
            run_lock(out, (0, 2))
        with run_lock(out, None), pytest.raises(ValueError, match="is being written by another run"):
            run_lock(out, None)


def test_only_the_writer_cuts_an_unfinished_last_line_and_never_glues_onto_it(
    stand_in, tmp_path, capsys, monkeypatch
):
    out = tmp_path / "run"
    args = [*stand_in, "--tasks", "counting", "--out", str(out)]
    assert main(args) == 0
    path = responses_path(out, "counting", None)
    lines = path.read_bytes().splitlines(keepends=True)
    assert len(lines) == 3
    kept = lines[0] + b"not json, kept as it is\n"  # a middle line: the writer leaves it too
    path.write_bytes(kept + lines[1] + lines[2][:25])  # item 3 cut off mid-line by a crash
    assert main(["status", str(out)]) == 1 and path.read_bytes().endswith(lines[2][:25])  # readers: unchanged
    capsys.readouterr()
    assert main(args) == 0
    err = capsys.readouterr().err
    assert "an unfinished last line (25 bytes, from an interrupted run) was cut off" in err
    after = path.read_bytes()
    assert after.startswith(kept + lines[1]) and after.endswith(b"\n")
    records = [json.loads(line) for line in after.splitlines()[2:]]  # every line after the kept ones is whole
    assert [r["sample_id"] for r in records] == [json.loads(x)["sample_id"] for x in lines[1:]]
    assert len(read_responses(path)) == 3
    path.write_bytes(after[:-1])  # a whole record that only lacks its newline is kept, and finished
    monkeypatch.setattr(StandIn, "text", "generated again")
    assert main(args) == 0 and path.read_bytes() == after


def test_a_lone_surrogate_from_a_model_is_written_and_scored(stand_in, tmp_path, monkeypatch):
    monkeypatch.setattr(StandIn, "text", f"{SURROGATE} so \\boxed{{1}} {SURROGATE}")
    out = tmp_path / "run"
    args = [*stand_in, "--tasks", "counting", "--out", str(out), "--protocols", "strict,paper"]
    assert main(args) == 0
    path = responses_path(out, "counting", None)
    path.read_bytes().decode("utf-8")  # valid UTF-8: the surrogate is escaped
    assert "\\ud800" in path.read_text() and all(
        r.text == StandIn.text for r in read_responses(path).values()
    )
    assert main(args) == 0  # a re-run reads it back and finds nothing to do
    for protocol in ("strict", "paper"):
        scored = (out / f"counting.scored.{protocol}.jsonl").read_bytes().decode("utf-8")
        assert len(scored.splitlines()) == 3
    write_jsonl(tmp_path / "x.jsonl", [{"text": SURROGATE + "é"}])  # only the unwritable line is escaped
    assert json.loads((tmp_path / "x.jsonl").read_text())["text"] == SURROGATE + "é"


def test_score_reads_a_byte_order_mark_deep_nesting_and_lone_surrogates(tmp_path, capsys):
    src, out = tmp_path / "preds.jsonl", tmp_path / "scored.jsonl"
    lines = [
        json.dumps({"id": "a", "response": "\\boxed{1}", "answer": "1"}),
        "[" * 100_000,
        '{"id": "b", "response": "\\ud800 \\\\boxed{2}", "answer": "2"}',
        json.dumps({"id": "c", "response": "\\boxed{3}", "answer": "3"}),
    ]
    src.write_bytes(b"\xef\xbb\xbf" + "\n".join(lines).encode() + b"\n")
    assert main(["score", str(src), "--out", str(out), "--workers", "1"]) == 1  # one bad line
    records = [json.loads(line) for line in out.read_bytes().decode("utf-8").splitlines()]
    assert [r.get("id") for r in records] == ["a", None, "b", "c"]
    assert records[0]["correct"] and records[2]["correct"] and records[3]["correct"]
    assert records[1] == {"line": 2, "error": "line 2: not readable JSON (RecursionError)"}
    assert records[2]["response"] == "\ud800 \\boxed{2}"
    assert "accuracy 100.00% (3/3)" in capsys.readouterr().out
    empty = tmp_path / "empty.jsonl"
    empty.write_text("")
    assert main(["score", str(empty)]) == 2
    assert not list(tmp_path.glob("empty.scored.*"))  # nothing scored: no empty scored file


def test_damaged_run_files_are_one_line_naming_the_file(stand_in, tmp_path, capsys):
    out = tmp_path / "run"
    assert main([*stand_in, "--tasks", "counting,mathvista", "--out", str(out)]) == 0
    config = (out / "config.json").read_bytes()
    capsys.readouterr()

    def refused(argv, name):
        assert main(argv) == 2
        err = capsys.readouterr().err
        assert str(out / name) in err and len(err.strip().splitlines()) == 1, err

    for damage in (b'{"run": {"model": ', b"[]", b'{"run": 3}'):
        (out / "config.json").write_bytes(damage)
        refused([*stand_in, "--tasks", "counting", "--out", str(out)], "config.json")
        refused(["score", "--run", str(out)], "config.json")
        assert main(["status", str(out)]) == 0  # status never needs the config
    (out / "config.json").write_bytes(config)
    (out / "report.paper.json").write_bytes(b"\x00 not a report")
    refused(["score", "--run", str(out)], "report.paper.json")
    samples = out / "mathvista.samples.jsonl"
    for damage in (b'{"id": "mathvista/1", "task": "mathv\n', b'{"id": 1}\n', b"[" * 100_000 + b"\n"):
        samples.write_bytes(damage)
        refused(["status", str(out)], "mathvista.samples.jsonl")
        refused(["score", "--run", str(out)], "mathvista.samples.jsonl")
        refused([*stand_in, "--tasks", "counting", "--out", str(out)], "mathvista.samples.jsonl")


def _read_only(argv: list[str], folder: Path) -> subprocess.CompletedProcess:
    """Run the command line on a read-only folder, in a process that cannot override file permissions
    (root can: it runs without the capabilities to)."""
    prefix = []
    if os.geteuid() == 0:
        if shutil.which("setpriv") is None:
            pytest.skip("running as root without setpriv: a read-only folder cannot be made")
        caps = "-dac_override,-dac_read_search,-fowner"
        prefix = ["setpriv", f"--bounding-set={caps}", f"--inh-caps={caps}"]
    folder.chmod(0o555)
    try:
        env = {**os.environ, "PYTHONPATH": str(ROOT)}
        return subprocess.run([*prefix, sys.executable, "-m", "vgpo_eval", *argv], capture_output=True, text=True,
                              timeout=300, env=env)  # fmt: skip
    finally:
        folder.chmod(0o755)


def test_a_read_only_run_folder_is_one_line_and_readers_still_work(tmp_path):
    folder = _folder(tmp_path / "run", _line("counting/1") + b"torn\n" + _line("counting/2") + b'{"sa')
    data = synthetic.write(tmp_path / "data", ["counting"], n=2)
    model = tmp_path / "model"
    model.mkdir()
    (model / "config.json").write_text("{}")
    before = _snapshot(folder)
    done = _read_only(["status", str(folder)], folder)
    assert done.returncode == 1 and "1 malformed line(s) skipped: 2" in done.stdout, done.stderr
    assert "Traceback" not in done.stderr
    done = _read_only(["score", "--run", str(folder)], folder)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert done.stderr.strip().splitlines()[-1].startswith(f"error: cannot write {folder}"), done.stderr
    run = ["run", "--tasks", "counting", "--model", str(model), "--backend", "hf", "--source", "local",
           "--data-dir", str(data), "--out", str(folder)]  # fmt: skip
    done = _read_only(run, folder)
    assert done.returncode == 2 and "Traceback" not in done.stderr, done.stderr
    assert (
        f"cannot write to the run folder {folder}" in done.stderr
        and len(done.stderr.strip().splitlines()) == 1
    )
    assert _snapshot(folder) == before
