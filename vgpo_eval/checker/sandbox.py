"""The guard helpers' sandbox: model output never runs as Python, and a path nobody found can do no harm.

Two layers, both installed by `harden()` in each guard helper process (`guard._serve`), which is
where every third-party scorer (MathRuler, math-verify, sympy) runs:

1. **No evaluation of text** (`safe_code`). sympy's `parse_expr` (used by MathRuler's
   `grade_answer`, by math-verify, and by every `sympify` of a string) turns text into Python
   source and `eval`s it. A boxed answer such as `re('\\137\\137import...')` passes MathRuler's
   "at most two letters" guard and runs anything. The sandbox checks the generated source before
   sympy evaluates it: only arithmetic, comparisons, tuples, numbers and calls of sympy's own
   mathematical names (classes and instances of `Basic`, functions of `sympy.functions`, and
   `abs`/`pow`/`round`) with no keyword arguments; a string constant only as the one argument of
   `Symbol`, `Function`, `Integer`, `Float` or `Rational` (the constructors sympy's own
   transformations write, none of which evaluates its string). Anything else (attributes,
   subscripts, builtins such as `eval`, `chr`, `__import__`, lambdas) raises `UnsafeExpression`,
   which the scorers treat like any unparsable answer.
2. **Nothing to harm with** (`_audit`, `_limits`). After the helper has imported and warmed its
   modules, a `sys.addaudithook` hook (it cannot be removed from Python) refuses process
   creation (`os.system`, `exec*`, `posix_spawn`, `fork`, `subprocess`), any socket, file writes
   and changes to the file system (`open` for writing, remove, rename, mkdir, chmod, ...), `ctypes`
   (so the hook cannot be bypassed from Python), changing a function's code or defaults, and
   importing modules outside the scorers' own packages and the computational standard library.
   OS limits back it: no file may grow (`RLIMIT_FSIZE` 0), no core dumps, no new processes for a
   non-root user (`RLIMIT_NPROC` 0). A refused operation raises PermissionError inside the call,
   which becomes an error (never a verdict of "correct").

Not covered: a memory-safety bug in a C extension that runs native code directly (the audit
hook sees only what passes through the interpreter); the CPU-time limit (`guard`) and the helper
living as a separate process with no open files of the caller's still hold there.
"""

from __future__ import annotations

import ast
import builtins
import contextlib
import os
import sys

SAFE_BUILTINS = frozenset({"abs", "pow", "round"})
STRING_CONSTRUCTORS = frozenset({"Symbol", "Function", "Integer", "Float", "Rational"})
_NODES = (
    ast.Expression, ast.BinOp, ast.UnaryOp, ast.BoolOp, ast.Compare, ast.Call, ast.Name, ast.Constant,
    ast.Tuple, ast.List, ast.Set, ast.Load, ast.operator, ast.unaryop, ast.boolop, ast.cmpop,
)  # fmt: skip
# Modules a helper may still import once armed: the scorers' packages and pure computation.
ALLOWED_PACKAGES = frozenset(
    {"sympy", "mpmath", "math_verify", "latex2sympy2_extended", "antlr4", "mathruler", "pylatexenc",
     "gmpy2", "vgpo_eval", "regex", "unicodedata", "fractions", "decimal", "numbers", "math", "cmath",
     "string", "re", "functools", "itertools", "collections", "operator", "typing", "inspect", "dataclasses",
     "enum", "copy", "heapq", "bisect", "random", "statistics", "textwrap", "keyword", "tokenize", "token",
     "ast", "types", "weakref", "warnings", "contextlib", "abc", "encodings", "codecs", "locale", "html",
     "json", "difflib", "linecache", "traceback", "_strptime", "datetime", "calendar", "time"}
)  # fmt: skip
_WRITE_FLAGS = os.O_WRONLY | os.O_RDWR | os.O_CREAT | os.O_TRUNC | os.O_APPEND
_REFUSED = (
    "os.system", "os.exec", "os.posix_spawn", "os.spawn", "os.fork", "os.forkpty", "os.kill", "os.killpg",
    "subprocess.", "pty.", "socket.", "ctypes.", "os.remove", "os.rename", "os.rmdir", "os.mkdir",
    "os.chmod", "os.chown", "os.link", "os.symlink", "os.truncate", "os.utime", "os.chflags",
    "os.setxattr", "os.removexattr", "os.putenv", "os.unsetenv", "shutil.", "sys.remote_exec",
    "webbrowser.", "urllib.", "http.", "ftplib.", "smtplib.", "poplib.", "imaplib.", "nntplib.", "telnetlib.",
)  # fmt: skip


class UnsafeExpression(ValueError):
    """Text that sympy would have evaluated as Python beyond plain mathematics."""


def safe_code(code: str, local_dict: dict, global_dict: dict) -> None:
    """Raise UnsafeExpression unless `code` (the Python source sympy is about to evaluate) is plain maths."""
    try:
        tree = ast.parse(code, mode="eval")
    except (SyntaxError, ValueError, RecursionError, MemoryError) as exc:
        raise UnsafeExpression(f"not an expression: {exc}") from None
    strings, allowed = set(), set()  # string constants; those that are a constructor's one argument
    for node in ast.walk(tree):
        if not isinstance(node, _NODES):
            raise UnsafeExpression(f"{type(node).__name__} is not mathematics")
        if isinstance(node, ast.Name) and not _mathematical(node.id, local_dict, global_dict):
            raise UnsafeExpression(f"{node.id!r} is not a mathematical name")
        if isinstance(node, ast.Call):
            _check_call(node)
            if node.func.id in STRING_CONSTRUCTORS:
                allowed.add(id(node.args[0]))
        elif isinstance(node, ast.Constant):
            if isinstance(node.value, str):
                strings.add(id(node))
            elif not isinstance(node.value, (int, float, complex, type(None))):
                raise UnsafeExpression(f"{type(node.value).__name__} constant")
    if strings - allowed:
        raise UnsafeExpression("a string outside a number or symbol constructor")


def _check_call(node: ast.Call) -> None:
    if not isinstance(node.func, ast.Name) or node.keywords:
        raise UnsafeExpression("only plain calls of mathematical names")
    if node.func.id in STRING_CONSTRUCTORS and len(node.args) != 1:
        raise UnsafeExpression(f"{node.func.id} takes one argument here")


def _mathematical(name: str, local_dict: dict, global_dict: dict) -> bool:
    import sympy

    if name.startswith("_"):
        return False
    if name in local_dict:
        value = local_dict[name]
    elif name in global_dict:
        value = global_dict[name]
    else:
        return False  # evaluating it would raise NameError anyway
    if isinstance(value, sympy.Basic) or (isinstance(value, type) and issubclass(value, sympy.Basic)):
        return True
    module = getattr(value, "__module__", None) or ""
    if callable(value) and type(value).__name__ == "function" and module.startswith("sympy.functions."):
        return True
    return name in SAFE_BUILTINS and value is getattr(builtins, name)


def patch_sympy() -> None:
    """Make sympy check the source it generates from text before it evaluates it (idempotent)."""
    from sympy.parsing import sympy_parser

    original = sympy_parser.stringify_expr
    if getattr(original, "vgpo_checked", False):
        return

    def stringify_expr(s, local_dict, global_dict, transformations):
        code = original(s, local_dict, global_dict, transformations)
        safe_code(code, local_dict, global_dict)
        return code

    stringify_expr.vgpo_checked = True
    sympy_parser.stringify_expr = stringify_expr


def harden() -> dict[str, bool]:
    """Arm the sandbox in this process, for good: call it once every module a call may use is warm.
    Returns which layers hold ({"seccomp": ..., "audit": True}): seccomp needs Linux on x86_64 or
    aarch64 and a kernel that allows filters; the other layers hold everywhere."""
    patch_sympy()
    _limits()
    kernel = _seccomp()
    sys.addaudithook(_audit)
    return {"seccomp": kernel, "audit": True}


# Linux system call numbers: (architecture id, refused outright, refused when opened for writing
# (number, index of the flags argument), clone, refused with ENOSYS so libc falls back).
_SYSCALLS = {
    "x86_64": (
        0xC000003E,
        (57, 58, 59, 322, 41, 53, 42, 49, 87, 263, 82, 264, 316, 83, 258, 84, 86, 265, 88, 266, 90, 91, 268,
         92, 93, 94, 260, 76, 77, 133, 259, 85, 62, 101, 311, 165, 166, 161, 155, 308, 272),
        ((2, 1), (257, 2)),
        56,
        (435, 437),
    ),
    "aarch64": (
        0xC00000B7,
        (221, 281, 198, 199, 203, 200, 35, 38, 276, 34, 37, 36, 52, 53, 54, 55, 45, 46, 33, 129, 117, 40, 39,
         51, 41, 268, 97, 271),
        ((56, 2),),
        220,
        (435, 437),
    ),
}  # fmt: skip
_CLONE_THREAD = 0x00010000


def _seccomp() -> bool:
    """A kernel filter (seccomp-bpf, no root needed) refusing with EPERM: new processes (threads
    stay allowed), programs, sockets, opening files for writing, changes to the file system,
    signals to other processes, ptrace and namespaces. It outlives anything Python code can do."""
    import ctypes
    import platform
    import struct

    table = _SYSCALLS.get(platform.machine())
    if table is None or not sys.platform.startswith("linux"):
        return False
    arch, refused, writes, clone, missing = table
    allow, eperm, enosys = 0x7FFF0000, 0x00050000 | 1, 0x00050000 | 38
    ld, jeq, jset, jge, ret = 0x20, 0x15, 0x45, 0x35, 0x06
    arg = lambda i: 16 + 8 * i  # noqa: E731 - low 32 bits of argument i in struct seccomp_data
    prog = [(ld, 0, 0, 4), (jeq, 1, 0, arch), (ret, 0, 0, eperm), (ld, 0, 0, 0)]
    if arch == 0xC000003E:
        prog += [(jge, 0, 1, 0x40000000), (ret, 0, 0, eperm)]  # the x32 ABI
    for nr in refused:
        prog += [(jeq, 0, 1, nr), (ret, 0, 0, eperm)]
    for nr in missing:
        prog += [(jeq, 0, 1, nr), (ret, 0, 0, enosys)]
    for nr, i in writes:
        prog += [(jeq, 0, 4, nr), (ld, 0, 0, arg(i)), (jset, 0, 1, _WRITE_FLAGS), (ret, 0, 0, eperm)]
        prog += [(ret, 0, 0, allow)]
    prog += [(jeq, 0, 4, clone), (ld, 0, 0, arg(0)), (jset, 1, 0, _CLONE_THREAD), (ret, 0, 0, eperm)]
    prog += [(ret, 0, 0, allow), (ret, 0, 0, allow)]
    code = b"".join(struct.pack("HBBI", *ins) for ins in prog)
    buffer = ctypes.create_string_buffer(code, len(code))

    class Program(ctypes.Structure):
        _fields_ = [("len", ctypes.c_ushort), ("filter", ctypes.c_void_p)]

    libc = ctypes.CDLL(None, use_errno=True)
    program = Program(len(prog), ctypes.addressof(buffer))
    if libc.prctl(38, 1, 0, 0, 0) != 0:  # PR_SET_NO_NEW_PRIVS: required without CAP_SYS_ADMIN
        return False
    return libc.prctl(22, 2, ctypes.byref(program), 0, 0) == 0  # PR_SET_SECCOMP, SECCOMP_MODE_FILTER


def _limits() -> None:
    import resource
    import signal

    signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # a write past the limit fails with EFBIG, no kill
    for limit in (resource.RLIMIT_FSIZE, resource.RLIMIT_CORE, resource.RLIMIT_NPROC):
        with contextlib.suppress(ValueError, OSError):
            resource.setrlimit(limit, (0, 0))


def _audit(event: str, args: tuple) -> None:
    """Refuse what a scorer never needs (see the module docstring); everything else passes."""
    if event == "open":
        mode, flags = args[1], args[2]
        if (isinstance(mode, str) and any(c in mode for c in "wax+")) or (flags or 0) & _WRITE_FLAGS:
            raise PermissionError(f"vgpo sandbox: no file writes ({args[0]!r})")
    elif event == "import":
        if args[0].partition(".")[0] not in ALLOWED_PACKAGES:
            raise PermissionError(f"vgpo sandbox: no import of {args[0]!r}")
    elif event == "object.__setattr__":
        if args[1] in ("__code__", "__defaults__", "__kwdefaults__", "__globals__", "__closure__"):
            raise PermissionError("vgpo sandbox: functions cannot be changed")
    elif event.startswith(_REFUSED):
        raise PermissionError(f"vgpo sandbox: {event} is not allowed")
