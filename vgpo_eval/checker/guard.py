"""CPU-time limits for code that can run away: sympy, math-verify and MathRuler.

Why a helper process: math-verify's own timeout uses SIGALRM, which works only in the main
thread; lmms-eval and RL reward workers call checkers from threads, and `multiprocessing`
refuses to start children from daemonic pool workers. So a guarded call runs in a long-lived
helper process (`_serve`) that speaks pickled frames over its stdin/stdout. This works the
same from the main thread, threads and processes.

Why CPU time, not wall-clock time: a verdict must not depend on how busy the machine is. The
helper arms `ITIMER_PROF` (the process's own CPU time) for each call, so a call on a loaded
machine gets exactly the work it gets on an idle one. A limit that fires is reported as
`GuardTimeout`, never as a silent "not equal", and the helper is replaced (an interrupted
sympy may leave its caches half-written). The caller also watches the helper's CPU time in
/proc and kills it a second after its limit, for code stuck in C where no signal lands.

Helpers are warm before they count as ready: every module a call may use is imported and
run once (each module's `warm()`), so the first real call does not pay for imports. A
killed helper's replacement starts warming at once.

Each check opens a CPU budget with `budget(seconds)`; every `call` inside it gets at most
what is left, so a check's symbolic work is bounded however many comparisons it makes.

    with budget(5.0):
        ok = call("vgpo_eval.checker.symbolic", "equivalent", "x^2-4", "(x-2)(x+2)")

A helper is hostile territory: what it computes comes from model output. It is sandboxed once
warm (`sandbox.harden`: no evaluation of text as Python, no processes, sockets, file writes or
ctypes), and it answers in JSON frames, never pickles, so even a subverted helper cannot run code
in the caller. It exits when its parent dies (a killed scorer leaves no helper behind). Inside a
helper (a whole check of a long response runs in one), `call` runs the function directly: the
helper's own CPU limit already covers it.
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
import importlib
import json
import os
import subprocess
import sys
import threading
import time
from multiprocessing.connection import Connection

CALL_LIMIT = 5.0  # CPU seconds for one guarded call when no budget is open
STUCK_GRACE = 1.0  # CPU seconds past its limit before a helper that ignores the timer is killed
WALL_CAP = 600.0  # wall seconds for a helper that neither answers nor uses CPU (a bug, not load)
READY_LIMIT = 300.0  # wall seconds a fresh helper may take to import and warm its modules
PRELOAD = ("vgpo_eval.checker.symbolic", "vgpo_eval.checker.reference", "vgpo_eval.checker.protocols")
MAX_FRAME = 256 << 20  # bytes of one helper answer (a verdict quotes at most its response)
PARENT = "VGPO_GUARD_PARENT"

_budget: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar(
    "vgpo_guard_budget", default=None
)
_idle: list[_Helper] = []
_lock = threading.Lock()
_all: set[_Helper] = set()
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100
_in_helper = False  # True inside a helper process: calls run directly, under the helper's own limit


class GuardTimeout(Exception):
    """A guarded call used up its CPU time; its helper was replaced."""


class GuardError(Exception):
    """A guarded call raised inside the helper; the message is the helper's repr of it."""


@contextlib.contextmanager
def budget(cpu_seconds: float):
    """Share one budget of `cpu_seconds` among every guarded call inside this block."""
    token = _budget.set([cpu_seconds])
    try:
        yield
    finally:
        _budget.reset(token)


def call(module: str, name: str, *args, limit: float = CALL_LIMIT):
    """Run `module.name(*args)` in a warm helper with at most `limit` CPU seconds (less if the
    open budget has less left); return its result, or raise GuardTimeout / GuardError."""
    if _in_helper:
        return _direct(module, name, args)
    left = _budget.get()
    limit = min(limit, left[0]) if left is not None else limit
    if limit <= 0:
        raise GuardTimeout(f"{module}.{name}: no CPU time left in this check's budget")
    helper = _checkout()
    try:
        used, result = helper.run(module, name, args, limit)
    except GuardError:
        _checkin(helper)
        raise
    except BaseException:
        _replace(helper)
        raise
    finally:
        if left is not None:
            left[0] -= helper.last_cpu
    _checkin(helper)
    return result


def _direct(module: str, name: str, args: tuple):
    """A call inside a helper: run here (the helper's CPU limit is already armed); errors as GuardError."""
    try:
        return getattr(importlib.import_module(module), name)(*args)
    except Exception as exc:  # noqa: BLE001 - as a helper reports them
        raise GuardError(_described(exc)) from None


def _described(exc: BaseException) -> str:
    """An exception as a helper reports it to its caller (GuardError's message)."""
    return f"{type(exc).__name__}: {exc}"[:2000]


class _Helper:
    """One helper process and the two pipe ends we talk to it through."""

    def __init__(self):
        env = dict(os.environ, PYTHONUNBUFFERED="1", **{PARENT: str(os.getpid())})
        self.proc = subprocess.Popen(
            # "-c", not "-m": running a module of an already-imported package makes runpy warn
            [sys.executable, "-c", "import sys; from vgpo_eval.checker.guard import _serve; _serve(sys.argv[1:])",
             *PRELOAD],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            close_fds=True,
        )  # fmt: skip
        self.tx = Connection(os.dup(self.proc.stdin.fileno()), readable=False)
        self.rx = Connection(os.dup(self.proc.stdout.fileno()), writable=False)
        self.ready = False
        self.last_cpu = 0.0
        with _lock:
            _all.add(self)

    def wait_ready(self) -> None:
        """Block until the helper has imported and warmed its modules (not part of any call's limit)."""
        if self.ready:
            return
        if not self.rx.poll(READY_LIMIT):
            raise GuardError("the guard helper did not start")
        try:
            self.rx.recv_bytes(MAX_FRAME)
        except (EOFError, OSError) as exc:
            raise GuardError(f"the guard helper died while starting: {exc}") from exc
        self.ready = True

    def run(self, module: str, name: str, args: tuple, limit: float):
        self.wait_ready()
        start, began = self.cpu(), time.monotonic()
        self.last_cpu = 0.0
        self.tx.send_bytes(json.dumps([module, name, list(args), limit]).encode("utf-8"))
        while not self.rx.poll(0.2):
            used = self.cpu() - start if start is not None else None
            if used is not None and used > limit + STUCK_GRACE:
                self.last_cpu = used
                raise GuardTimeout(f"{module}.{name} used over {limit:g} s of CPU (stuck outside Python)")
            if time.monotonic() - began > WALL_CAP:
                raise GuardTimeout(f"{module}.{name}: no answer in {WALL_CAP:g} s")
        try:
            status, used, value = json.loads(self.rx.recv_bytes(MAX_FRAME))
        except (EOFError, OSError, ValueError, TypeError) as exc:
            raise GuardTimeout(f"{module}.{name}: the helper died or garbled its answer ({exc})") from exc
        self.last_cpu = used
        if status == "timeout":
            raise GuardTimeout(f"{module}.{name} used over {limit:g} s of CPU")
        if status == "error":
            raise GuardError(value)
        return used, value

    def cpu(self) -> float | None:
        """The helper's CPU seconds so far (user + system), from /proc; None where there is none."""
        try:
            with open(f"/proc/{self.proc.pid}/stat", "rb") as f:
                fields = f.read().rsplit(b")", 1)[1].split()
            return (int(fields[11]) + int(fields[12])) / _TICK
        except (OSError, IndexError, ValueError):
            return None

    def kill(self):
        with _lock:
            _all.discard(self)
        with contextlib.suppress(Exception):
            self.proc.kill()
            self.proc.wait(timeout=5)
        for end in (self.tx, self.rx, self.proc.stdin, self.proc.stdout):
            with contextlib.suppress(Exception):
                end.close()


def _checkout() -> _Helper:
    with _lock:
        if _idle:
            return _idle.pop()
    return _Helper()


def _checkin(helper: _Helper) -> None:
    with _lock:
        _idle.append(helper)


def _replace(helper: _Helper) -> None:
    """Kill a helper that timed out or died, and start its replacement warming now."""
    helper.kill()
    _checkin(_Helper())


def warm_up() -> None:
    """Start one helper and wait until it is warm (scoring calls this before timing anything)."""
    helper = _checkout()
    try:
        helper.wait_ready()
    finally:
        _checkin(helper)


def _forget_after_fork() -> None:
    """A forked child (a ProcessPoolExecutor worker) must not talk to its parent's helpers: two
    processes on one pipe interleave their frames. It closes its copies and starts its own."""
    global _lock
    _lock = threading.Lock()  # another thread may have held it at the fork
    for helper in list(_all):
        for end in (helper.tx, helper.rx, helper.proc.stdin, helper.proc.stdout):
            with contextlib.suppress(Exception):
                end.close()
    _all.clear()
    _idle.clear()


if hasattr(os, "register_at_fork"):
    os.register_at_fork(after_in_child=_forget_after_fork)


@atexit.register
def shutdown():
    """Stop every helper (also called at exit)."""
    with _lock:
        helpers = list(_all)
        _idle.clear()
    for helper in helpers:
        helper.kill()


class _CpuTimeout(BaseException):
    """Raised in the helper when a call's CPU limit fires (a BaseException: libraries catch Exception)."""


def _serve(preload: list[str]) -> None:
    """Helper main loop: import and warm the preloads, arm the sandbox, then answer
    [module, name, args, limit] frames with [status, cpu seconds, value], all JSON."""
    import signal

    from vgpo_eval.checker import sandbox

    global _in_helper
    _in_helper = True
    exit_with_parent(int(os.environ.get(PARENT) or os.getppid()))
    tx = Connection(os.dup(1), readable=False)
    rx = Connection(os.dup(0), writable=False)
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, 1)  # stray prints from sympy & co. must not corrupt the frames
    sandbox.patch_sympy()
    for module in preload:
        warm = getattr(importlib.import_module(module), "warm", None)
        if warm is not None:
            warm()
    sandbox.harden()
    fired, armed = [False], [False]

    def on_limit(signum, frame):
        if not armed[0]:  # the call is over: a late signal must not escape into the loop
            return
        fired[0] = True
        signal.setitimer(signal.ITIMER_PROF, 0.05)  # again soon, in case a bare `except:` swallows it
        raise _CpuTimeout

    signal.signal(signal.SIGPROF, on_limit)
    tx.send_bytes(b'"ready"')
    while True:
        try:
            module, name, args, limit = json.loads(rx.recv_bytes())
        except (EOFError, OSError):
            return
        fired[0] = False
        start = time.process_time()
        try:
            armed[0] = True
            signal.setitimer(signal.ITIMER_PROF, limit)
            value = getattr(importlib.import_module(module), name)(*args)
            armed[0] = False  # first, before any call: no handler raises after this store
            status = "timeout" if fired[0] else "ok"
        except _CpuTimeout:
            armed[0] = False
            status, value = "timeout", None
        except BaseException as exc:  # noqa: BLE001 - everything goes back to the caller
            armed[0] = False
            status, value = ("timeout", None) if fired[0] else ("error", _described(exc))
        signal.setitimer(signal.ITIMER_PROF, 0)
        try:
            answer = json.dumps([status, time.process_time() - start, value])
        except (TypeError, ValueError) as exc:
            answer = json.dumps(["error", time.process_time() - start, f"an answer JSON cannot carry: {exc}"])
        tx.send_bytes(answer.encode("utf-8"))


def exit_with_parent(parent: int) -> None:
    """A thread that ends this process once `parent` is gone: a helper or a pool worker must not
    outlive its scorer (killed with -9, a parent runs no clean-up). Pool workers take it as their
    `initializer`, with the parent's pid as its argument."""

    def watch():
        while os.getppid() == parent:
            time.sleep(0.5)
        os._exit(0)

    threading.Thread(target=watch, name="vgpo-parent-watch", daemon=True).start()
