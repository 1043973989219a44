"""Model output and servers are hostile input: no response may run code on the scoring machine.

Each payload tries one harm (write a file, start a process, open a socket, import a module) through
the path MathRuler opened: a box whose content survives MathRuler's normalisation and its "at most
two letters" guard, and that sympy's `parse_expr` then evaluates as Python. Each test sends it
through every protocol, every reward adapter, `score`, and `run` against a malicious local server,
and asserts that nothing happened. A second layer is tested on its own: code that does reach a
guard helper (as a path nobody has found yet would) is refused by its sandbox.
"""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import textwrap
import threading

import pytest

from vgpo_eval.checker import guard
from vgpo_eval.checker.protocols import PROTOCOLS, check
from vgpo_eval.checker.rewards import compute_score, easyr1_compute_score, reward, trl_reward
from vgpo_eval.types import Sample


def boxed_python(code: str) -> str:
    """A response whose box makes MathRuler hand `code` to Python's eval: `re('...')` has two letters
    only, and every character of the string is an octal escape that LaTeX-to-text turns back into one."""
    return "\\boxed{re('" + "".join(f"\\textbackslash{{}}{ord(c):03o}" for c in code) + "')}"


def _harms(tmp_path):
    """(name, Python code, did it happen?) for each harm a payload tries."""
    marker = tmp_path / "written"
    spawned = tmp_path / "spawned"
    module_dir = tmp_path / "modules"
    module_dir.mkdir()
    imported = tmp_path / "imported"
    module = f"vgpo_probe_{os.getpid()}_{abs(hash(str(tmp_path)))}"  # new to every helper
    (module_dir / f"{module}.py").write_text(f"open({str(imported)!r}, 'w').write('imported')\n")
    listener = socket.socket()
    listener.bind(("127.0.0.1", 0))
    listener.listen(8)
    listener.settimeout(0.2)
    port = listener.getsockname()[1]

    def connected() -> bool:
        try:
            listener.accept()[0].close()
            return True
        except OSError:
            return False

    return {
        "write": (f"open({str(marker)!r}, 'w').write('owned')", marker.exists),
        "spawn": (f"__import__('os').system('touch {spawned}')", spawned.exists),
        "socket": (  # the address as JSON text: sympy would turn a number into one of its own
            f"__import__('socket').create_connection(__import__('json').loads('[\"127.0.0.1\", {port}]'))",
            connected,
        ),
        "import": (
            f"__import__('sys').path.insert(0, {str(module_dir)!r}) or __import__({module!r})",
            imported.exists,
        ),
    }


HARMS = ("write", "spawn", "socket", "import")
GOLD = "\\frac{1}{2}"  # MathRuler reaches sympy only when the gold is not an integer


@pytest.mark.parametrize("harm", HARMS)
def test_no_protocol_or_reward_adapter_runs_a_boxed_payload(harm, tmp_path):
    code, happened = _harms(tmp_path)[harm]
    text = boxed_python(code)
    for protocol in PROTOCOLS:
        verdict = check(text, Sample(id="h", task="t", question="", answer=GOLD), protocol)
        assert not verdict.correct
        assert not happened(), f"{harm} happened under {protocol}"
        assert reward(text, GOLD, protocol) == 0.0
        assert compute_score("t", text, GOLD, {"protocol": protocol})["score"] == 0.0
        assert (
            easyr1_compute_score([{"response": text, "ground_truth": GOLD}], protocol=protocol)[0]["accuracy"]
            == 0
        )
        assert trl_reward(protocol)([text], answer=[GOLD]) == [0.0]
        assert not happened(), f"{harm} happened through a reward adapter under {protocol}"


@pytest.mark.parametrize("harm", HARMS)
def test_score_never_runs_a_boxed_payload(harm, tmp_path):
    code, happened = _harms(tmp_path)[harm]
    lines = tmp_path / "responses.jsonl"
    lines.write_text(json.dumps({"id": "h/1", "response": boxed_python(code), "answer": GOLD}) + "\n")
    from vgpo_eval.cli import main

    for protocol in ("paper", "papo", "strict"):
        assert (
            main(["score", str(lines), "--protocol", protocol, "--out", str(tmp_path / f"{protocol}.jsonl")])
            == 0
        )
        assert not happened(), f"{harm} happened in score --protocol {protocol}"


@pytest.mark.parametrize("harm", HARMS)
def test_run_against_a_malicious_server_runs_nothing(harm, tmp_path):
    """`run --backend openai` whose server answers every request with a payload: the run scores it
    under its default protocols (strict and paper; MathVista's synthetic rows hold a decimal gold,
    6.4, which MathRuler hands to sympy) and nothing happens."""
    pytest.importorskip("PIL")
    sys.path.insert(0, os.path.dirname(__file__))
    from openai_server import completion, json_reply, scripted

    from vgpo_eval.cli import main
    from vgpo_tasks.synthetic import write

    code, happened = _harms(tmp_path)[harm]
    data = tmp_path / "data"
    write(data, ["mathvista"], n=4)
    with scripted(lambda handler, body, n: json_reply(handler, completion(boxed_python(code)))) as url:
        status = main(["run", "--tasks", "mathvista", "--model", "m", "--backend", "openai", "--base-url", url,
                       "--source", "local", "--data-dir", str(data), "--out", str(tmp_path / "run")])  # fmt: skip
    assert status == 0
    assert (tmp_path / "run" / "report.paper.json").exists()
    assert not happened()


@pytest.mark.parametrize("harm", HARMS)
def test_a_guard_helper_refuses_harm_that_reaches_it(harm, tmp_path):
    """Defence in depth: Python code that does run inside a helper (a path nobody found) can do none of
    these; the attempt comes back as an error."""
    code, happened = _harms(tmp_path)[harm]
    with pytest.raises(guard.GuardError, match="PermissionError|UnsafeExpression"):
        guard.call("builtins", "exec", code)
    assert not happened()


def test_sympy_inside_a_helper_refuses_text_that_is_not_mathematics():
    for text in (
        "__import__('os')",
        "x.__class__",
        "re('1')",
        "chr(95)",
        "(lambda: 1)()",
        "[1][0]",
        "Symbol('x', y=1)",
    ):
        with pytest.raises(guard.GuardError, match="UnsafeExpression"):
            guard.call("sympy", "sympify", text)
    assert guard.call("vgpo_eval.checker.reference", "mathruler_grade", "\\sqrt{8}", "2\\sqrt{2}") is True


def test_the_helper_answers_in_json_never_pickles():
    """A subverted helper must not be able to run code in its caller: frames are JSON."""
    helper = guard._Helper()
    try:
        helper.wait_ready()
        helper.tx.send_bytes(json.dumps(["builtins", "len", ["abc"], 5.0]).encode())
        raw = helper.rx.recv_bytes()
        assert json.loads(raw)[0::2] == ["ok", 3]
    finally:
        helper.kill()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="seccomp is Linux's")
def test_the_kernel_filter_holds_without_the_audit_hook(tmp_path):
    """The seccomp layer alone (no audit hook): writes, processes, programs and sockets are refused,
    reading files and threads still work."""
    script = textwrap.dedent(f"""
        import os, socket, threading
        from vgpo_eval.checker import sandbox
        if not sandbox._seccomp():
            print("unavailable"); raise SystemExit
        def attempt(f):
            try:
                f(); return "allowed"
            except OSError:
                return "refused"
        t = threading.Thread(target=lambda: None)
        print(attempt(lambda: os.open({str(tmp_path / "k")!r}, os.O_WRONLY | os.O_CREAT)), attempt(os.fork),
              attempt(socket.socket), attempt(lambda: os.execv("/bin/true", ["true"])),
              attempt(lambda: os.close(os.open("/etc/hostname", os.O_RDONLY))), attempt(t.start))
    """)
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=60)
    if done.stdout.strip() == "unavailable":
        pytest.skip("this kernel refuses seccomp filters")
    assert done.stdout.split() == ["refused"] * 4 + ["allowed"] * 2, done.stderr
    assert not (tmp_path / "k").exists()


def test_helpers_and_pool_workers_exit_when_their_parent_is_killed(tmp_path):
    """kill -9 of a scorer leaves no process behind: its guard helper and its reward pool's workers
    (each holding its own helper) notice the parent is gone and exit."""
    script = textwrap.dedent("""
        import os, sys, time
        from vgpo_eval.checker import guard
        from vgpo_eval.checker.rewards import trl_reward
        f = trl_reward("paper", workers=2)
        f(["\\\\boxed{1}"] * 4, answer=["1"] * 4)
        guard.warm_up()
        print(" ".join(str(p) for p in __import__("vgpo_eval.checker.rewards").checker.rewards._POOLS[2]._processes))
        print(" ".join(str(h.proc.pid) for h in guard._all), flush=True)
        time.sleep(600)
    """)
    parent = subprocess.Popen([sys.executable, "-c", script], stdout=subprocess.PIPE, text=True)
    workers = [int(p) for p in parent.stdout.readline().split()]
    helpers = [int(p) for p in parent.stdout.readline().split()]
    children = workers + helpers + _descendants(workers)
    assert len(workers) == 2 and helpers
    parent.kill()
    parent.wait()
    alive = _wait_gone(children, seconds=30)
    for pid in alive:
        os.kill(pid, 9)
    assert alive == []


def _descendants(pids: list[int]) -> list[int]:
    found = []
    for pid in pids:
        try:
            with open(f"/proc/{pid}/task/{pid}/children") as f:
                found += [int(p) for p in f.read().split()]
        except OSError:
            pass
    return found


def _wait_gone(pids: list[int], seconds: float) -> list[int]:
    stop = threading.Event()
    for _ in range(int(seconds * 10)):
        alive = [p for p in pids if _alive(p)]
        if not alive:
            return []
        stop.wait(0.1)
    return [p for p in pids if _alive(p)]


def _alive(pid: int) -> bool:
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False
