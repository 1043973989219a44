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
"""

from __future__ import annotations

import atexit
import contextlib
import contextvars
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
PRELOAD = ("vgpo_eval.checker.symbolic", "vgpo_eval.checker.reference")

_budget: contextvars.ContextVar[list[float] | None] = contextvars.ContextVar(
    "vgpo_guard_budget", default=None
)
_idle: list[_Helper] = []
_lock = threading.Lock()
_all: set[_Helper] = set()
_TICK = os.sysconf("SC_CLK_TCK") if hasattr(os, "sysconf") else 100


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


class _Helper:
    """One helper process and the two pipe ends we talk to it through."""

    def __init__(self):
        env = dict(os.environ, PYTHONUNBUFFERED="1")
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
            self.rx.recv()
        except (EOFError, OSError) as exc:
            raise GuardError(f"the guard helper died while starting: {exc}") from exc
        self.ready = True

    def run(self, module: str, name: str, args: tuple, limit: float):
        self.wait_ready()
        start, began = self.cpu(), time.monotonic()
        self.last_cpu = 0.0
        self.tx.send((module, name, args, limit))
        while not self.rx.poll(0.2):
            used = self.cpu() - start if start is not None else None
            if used is not None and used > limit + STUCK_GRACE:
                self.last_cpu = used
                raise GuardTimeout(f"{module}.{name} used over {limit:g} s of CPU (stuck outside Python)")
            if time.monotonic() - began > WALL_CAP:
                raise GuardTimeout(f"{module}.{name}: no answer in {WALL_CAP:g} s")
        try:
            status, used, value = self.rx.recv()
        except (EOFError, OSError) as exc:
            raise GuardTimeout(f"{module}.{name}: the helper died ({exc})") from exc
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
    """Helper main loop: import and warm the preloads, then answer (module, name, args, limit) frames."""
    import importlib
    import pickle
    import signal

    tx = Connection(os.dup(1), readable=False)
    rx = Connection(os.dup(0), writable=False)
    os.dup2(2, 1)  # stray prints from sympy & co. must not corrupt the frames
    for module in preload:
        warm = getattr(importlib.import_module(module), "warm", None)
        if warm is not None:
            warm()
    fired = [False]

    def on_limit(signum, frame):
        fired[0] = True
        signal.setitimer(signal.ITIMER_PROF, 0.05)  # again soon, in case a bare `except:` swallows it
        raise _CpuTimeout

    signal.signal(signal.SIGPROF, on_limit)
    tx.send("ready")
    while True:
        try:
            module, name, args, limit = rx.recv()
        except (EOFError, OSError):
            return
        fired[0] = False
        start = time.process_time()
        try:
            signal.setitimer(signal.ITIMER_PROF, limit)
            value = getattr(importlib.import_module(module), name)(*args)
            signal.setitimer(signal.ITIMER_PROF, 0)
            pickle.dumps(value)
            frame = ("timeout", None) if fired[0] else ("ok", value)
        except _CpuTimeout:
            signal.setitimer(signal.ITIMER_PROF, 0)
            frame = ("timeout", None)
        except BaseException as exc:  # noqa: BLE001 - everything goes back to the caller
            signal.setitimer(signal.ITIMER_PROF, 0)
            frame = ("timeout", None) if fired[0] else ("error", f"{type(exc).__name__}: {exc}"[:2000])
        tx.send((frame[0], time.process_time() - start, frame[1]))
