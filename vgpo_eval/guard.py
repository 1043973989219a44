"""Hard time limits for code that can hang: sympy, math-verify and mathruler.

math-verify's own timeout uses SIGALRM, which only works in the main thread of the main
interpreter; lmms-eval and RL reward workers call checkers from threads, and
`multiprocessing` refuses to start children from daemonic pool workers. So a guarded call
runs in a long-lived helper process (`vgpo_eval.guard._serve`) that speaks pickled frames
over its stdin/stdout; a call that overruns its limit gets its helper killed, and the caller
gets `GuardTimeout`. This works the same from the main thread, threads and processes.

Each check opens a budget with `deadline(seconds)`; every `call` inside it gets what is left,
so no check can take longer than its budget, however many symbolic comparisons it makes.

Usage::

    with deadline(1.5):
        ok = call("vgpo_eval.symbolic", "equivalent", "x^2-4", "(x-2)(x+2)")
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

CALL_LIMIT = 1.0  # seconds for one guarded call when no deadline is open
READY_LIMIT = 60.0  # seconds a fresh helper may take to import its modules
PRELOAD = ("vgpo_eval.symbolic", "vgpo_eval.reference")

_deadline: contextvars.ContextVar[float | None] = contextvars.ContextVar("vgpo_guard_deadline", default=None)
_idle: list[_Helper] = []
_lock = threading.Lock()
_all: set[_Helper] = set()


class GuardTimeout(Exception):
    """A guarded call ran out of time; its helper process was killed."""


class GuardError(Exception):
    """A guarded call raised inside the helper; the message is the helper's repr of it."""


@contextlib.contextmanager
def deadline(seconds: float):
    """Give every guarded call inside this block a share of one `seconds` budget."""
    token = _deadline.set(time.monotonic() + seconds)
    try:
        yield
    finally:
        _deadline.reset(token)


def remaining() -> float:
    """Seconds left in the open budget (CALL_LIMIT when none is open)."""
    end = _deadline.get()
    return CALL_LIMIT if end is None else end - time.monotonic()


def call(module: str, name: str, *args):
    """Run `module.name(*args)` in a helper process within the time left; return its result."""
    limit = min(CALL_LIMIT, remaining())
    if limit <= 0:
        raise GuardTimeout(f"{module}.{name}: no time left in this check's budget")
    helper = _checkout()
    try:
        result = helper.run(module, name, args, limit)
    except BaseException:
        helper.kill()
        raise
    with _lock:
        _idle.append(helper)
    return result


class _Helper:
    """One helper process and the two pipe ends we talk to it through."""

    def __init__(self):
        env = dict(os.environ, PYTHONUNBUFFERED="1")
        self.proc = subprocess.Popen(
            # "-c", not "-m": running a module of an already-imported package makes runpy warn
            [
                sys.executable,
                "-c",
                "import sys; from vgpo_eval.guard import _serve; _serve(sys.argv[1:])",
                *PRELOAD,
            ],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=env,
            close_fds=True,
        )
        self.tx = Connection(os.dup(self.proc.stdin.fileno()), readable=False)
        self.rx = Connection(os.dup(self.proc.stdout.fileno()), writable=False)
        self.ready = False
        with _lock:
            _all.add(self)

    def run(self, module: str, name: str, args: tuple, limit: float):
        if not self.ready:
            # Imports are not the call's fault: wait for them outside its limit.
            if not self.rx.poll(READY_LIMIT):
                raise GuardTimeout("the guard helper did not start")
            self.rx.recv()
            self.ready = True
        self.tx.send((module, name, args))
        if not self.rx.poll(limit):
            raise GuardTimeout(f"{module}.{name} took over {limit:.2f} s")
        ok, value = self.rx.recv()
        if not ok:
            raise GuardError(value)
        return value

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
    """Take an idle helper, and keep one spare warming so a kill never stalls the next check."""
    with _lock:
        helper = _idle.pop() if _idle else None
        need_spare = not _idle
    if helper is None:
        helper = _Helper()
    if need_spare:
        spare = _Helper()
        with _lock:
            _idle.append(spare)
    return helper


@atexit.register
def shutdown():
    """Stop every helper (also called at exit)."""
    with _lock:
        helpers = list(_all)
        _idle.clear()
    for helper in helpers:
        helper.kill()


def _serve(preload: list[str]) -> None:
    """Helper main loop: import the preloads, then answer (module, name, args) frames forever."""
    import importlib
    import pickle

    tx = Connection(os.dup(1), readable=False)
    rx = Connection(os.dup(0), writable=False)
    os.dup2(2, 1)  # stray prints from sympy & co. must not corrupt the frames
    for module in preload:
        importlib.import_module(module)
    tx.send("ready")
    while True:
        try:
            module, name, args = rx.recv()
        except (EOFError, OSError):
            return
        try:
            value = (True, getattr(importlib.import_module(module), name)(*args))
            pickle.dumps(value)
        except BaseException as exc:  # noqa: BLE001 - everything goes back to the caller
            value = (False, f"{type(exc).__name__}: {exc}"[:2000])
        tx.send(value)
