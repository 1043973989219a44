"""Expressions: a small, bounded evaluator for LaTeX and plain-text math answers.

Why: deciding that "3\\sqrt{13}" answers "\\sqrt{117}" or "(x+1)^2" answers "x^2+2x+1" through
sympy / math-verify costs 2-130 ms a call; evaluating both at a few fixed points (probabilistic
identity testing) costs about a hundred microseconds. `compare` asks `equivalent` first and falls
back to math-verify only when it says None.

How: `parse(text)` tokenizes, then a recursive-descent parser (depth checked explicitly) compiles
the expression into closures over complex floats; `equivalent(a, b)` evaluates both at four
deterministic real points. Letters are variables (`e` and `i` too; "abc" is a*b*c). Anything
outside the grammar (relations, sets, `\\pm`, `\\text`, bare brackets, degrees, mixed numbers like
"3\\frac12") gives None rather than a guess. Arithmetic is complex floats only, never Python big
ints, so "10^{10^{10}}" or "(100!)!" fail fast instead of hanging.

    >>> equivalent("x^2 - 4", "(x-2)(x+2)")
    True
"""

from __future__ import annotations

import cmath
import math
import operator
import random
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from fractions import Fraction
from functools import lru_cache

MAX_CHARS = 400
CACHE = 1 << 15  # parsed expressions kept per process
MAX_DEPTH = 50
POINTS = 4
MAX_ABS = 1e300
MAX_BITS = 4096  # the largest power `exact` computes
MAX_EXPONENT = 308  # the largest "1e308" `exact` reads (a float's range)

Fn = Callable[[dict[str, complex]], complex]

_TOKEN = re.compile(
    r"([0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?|\.[0-9]+(?:[eE][+-]?[0-9]+)?)"  # number
    r"|(\\(?:[a-zA-Z]+|.))"  # command
    r"|([a-zA-Z]+)"  # word
    r"|(\*\*|[-+*/^_(){}\[\]!|π√×·÷−])"  # operator
    r"|(\s+)|(.)",
    re.S,
)
_ALIASES = {
    "\\cdot": "*", "\\times": "*", "×": "*", "·": "*", "**": "^", "\\div": "/", "÷": "/", "−": "-",
    "\\dfrac": "\\frac", "\\tfrac": "\\frac", "\\cfrac": "\\frac", "π": "\\pi",
    "\\lvert": "|(", "\\rvert": "|)",
}  # fmt: skip
_IGNORED = {
    "\\,", "\\!", "\\;", "\\:", "\\ ", "\\quad", "\\qquad", "\\displaystyle", "\\textstyle", "\\(", "\\)", "\\[",
    "\\]", "\\big", "\\Big", "\\bigg", "\\Bigg", "\\bigl", "\\bigr", "\\Bigl", "\\Bigr", "\\biggl", "\\biggr",
    "\\Biggl", "\\Biggr",
}  # fmt: skip
_DELIMITERS = {
    "\\left(": "(", "\\left[": "(", "\\left|": "|(", "\\left\\lvert": "|(", "\\left\\vert": "|(",
    "\\right)": ")", "\\right]": ")", "\\right|": "|)", "\\right\\rvert": "|)", "\\right\\vert": "|)",
}  # fmt: skip
_GREEK = {
    "\\alpha", "\\beta", "\\gamma", "\\delta", "\\epsilon", "\\varepsilon", "\\zeta", "\\eta", "\\theta",
    "\\vartheta", "\\iota", "\\kappa", "\\lambda", "\\mu", "\\nu", "\\xi", "\\omicron", "\\rho", "\\varrho",
    "\\sigma", "\\varsigma", "\\tau", "\\upsilon", "\\phi", "\\varphi", "\\chi", "\\psi", "\\omega",
    "\\Gamma", "\\Delta", "\\Theta", "\\Lambda", "\\Xi", "\\Pi", "\\Sigma", "\\Upsilon", "\\Phi", "\\Psi",
    "\\Omega",
}  # fmt: skip
_FUNCTIONS: dict[str, Callable[[complex], complex]] = {
    "\\sin": cmath.sin, "\\cos": cmath.cos, "\\tan": cmath.tan, "\\cot": lambda z: 1 / cmath.tan(z),
    "\\sec": lambda z: 1 / cmath.cos(z), "\\csc": lambda z: 1 / cmath.sin(z), "\\arcsin": cmath.asin,
    "\\arccos": cmath.acos, "\\arctan": cmath.atan, "\\sinh": cmath.sinh, "\\cosh": cmath.cosh,
    "\\tanh": cmath.tanh, "\\ln": cmath.log, "\\log": cmath.log, "\\exp": cmath.exp,
}  # fmt: skip
# plain-text spellings ("sqrt(2)", "sin(x)") read as the commands, not as products of letters
_WORDS = {name[1:]: name for name in [*_FUNCTIONS, "\\sqrt", "\\pi"]}
FUNCTION_WORDS = tuple(sorted((w for w in _WORDS if w != "pi"), key=len, reverse=True))
_SYMBOLS = _GREEK | {"\\pi"}
_STARTERS = _SYMBOLS | frozenset(_FUNCTIONS) | {"(", "{", "|(", "√", "\\frac", "\\sqrt"}


class _Fail(Exception):
    """The text is outside the grammar."""


@dataclass(frozen=True)
class Expr:
    """A parsed expression: its free variables and a compiled evaluator."""

    variables: frozenset[str]
    fn: Fn = field(repr=False, compare=False)

    def value(self, env: dict[str, complex]) -> complex:
        """The value at `env`; may raise ArithmeticError, ValueError or OverflowError."""
        return self.fn(env)

    def constant(self) -> complex | None:
        """The value when there are no variables; None when it cannot be evaluated."""
        return None if self.variables else _evaluate(self, {})


@lru_cache(maxsize=CACHE)
def parse(text: str) -> Expr | None:
    """Parse a LaTeX or plain math expression; None when it uses anything not supported (never raises)."""
    tokens = _tokenize(text) if isinstance(text, str) and len(text) <= MAX_CHARS else None
    if not tokens:
        return None
    parser = _Parser(tokens)
    try:
        fn = parser.expr()
    except _Fail:
        return None
    return Expr(frozenset(parser.variables), fn) if parser.pos == len(tokens) else None


def equivalent(a: str, b: str, rel_tol: float = 1e-9) -> bool | None:
    """True/False when both parse and evaluate at enough points; None = undecided (caller falls back to sympy).
    Two rational constants ("10^{12}+1", "\\frac{2^{61}}{2}") are compared exactly, at any size."""
    ea, eb = parse(a), parse(b)
    if ea is None or eb is None:
        return None
    names = sorted(ea.variables | eb.variables)
    if not names and (xa := exact(a)) is not None and (xb := exact(b)) is not None:
        return xa == xb
    rng = random.Random(0)
    valid = 0
    for _ in range(POINTS if names else 1):  # a constant has the same value at every point
        env = {name: complex(rng.uniform(0.5, 2.5)) for name in names}
        va, vb = _evaluate(ea, env), _evaluate(eb, env)
        if va is None or vb is None:
            continue
        if not cmath.isclose(va, vb, rel_tol=rel_tol, abs_tol=1e-12):
            return False
        valid += 1 if names else POINTS
    return True if valid >= 2 else None


@lru_cache(maxsize=CACHE)
def exact(text: str) -> Fraction | None:
    """The exact value of a rational constant written with numbers, + - * / ^, \\frac, brackets and
    braces; None for anything else, or when a power would pass MAX_BITS (floats cannot tell
    10^{12} from 10^{12}+1; this can)."""
    tokens = _tokenize(text) if len(text) <= MAX_CHARS else None
    if not tokens:
        return None
    reader = _Exact(tokens)
    try:
        value = reader.sum()
    except (_Fail, ZeroDivisionError, ValueError):
        return None
    return value if reader.pos == len(tokens) else None


class _Exact:
    """sum := product (('+'|'-') product)*; product := unary (('*'|'/') unary)*; unary := '-' unary | power;
    power := atom ('^' unary)?; atom := number | '(' sum ')' | '{' sum '}' | \\frac atom atom."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens, self.pos, self.depth = tokens, 0, 0

    def _peek(self) -> str:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ""

    def _take(self, *expected: str) -> str:
        tok = self._peek()
        if expected and tok not in expected:
            raise _Fail
        self.pos += 1
        return tok

    def sum(self) -> Fraction:
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Fail
        value = self.product()
        while self._peek() in ("+", "-"):
            value = value + self.product() if self._take() == "+" else value - self.product()
        self.depth -= 1
        return value

    def product(self) -> Fraction:
        value = self.unary()
        while self._peek() in ("*", "/"):
            value = value * self.unary() if self._take() == "*" else value / self.unary()
        return value

    def power(self) -> Fraction:
        base = self.atom()
        if self._peek() != "^":
            return base
        self._take()
        exponent = self.unary()
        if (
            exponent.denominator != 1
            or abs(exponent) * max(base.numerator, base.denominator).bit_length() > MAX_BITS
        ):
            raise _Fail
        return base ** int(exponent)

    def unary(self) -> Fraction:
        if self._peek() in ("-", "+"):
            sign = -1 if self._take() == "-" else 1
            return sign * self.unary()
        return self.power()

    def atom(self) -> Fraction:
        tok = self._take()
        if tok in ("(", "{"):
            value = self.sum()
            self._take(")" if tok == "(" else "}")
            return value
        if tok == "\\frac":
            return self.atom() / self.atom()
        if tok[:1].isdigit() or tok[:1] == ".":
            _, _, exponent = tok.lower().partition("e")
            if exponent and abs(int(exponent)) > MAX_EXPONENT:  # "1e999999999": no exact value for that
                raise _Fail
            return Fraction(tok)
        raise _Fail


def _evaluate(e: Expr, env: dict[str, complex]) -> complex | None:
    try:
        z = e.fn(env)
        return z if cmath.isfinite(z) and abs(z) <= MAX_ABS else None
    except (ArithmeticError, ValueError):  # OverflowError and ZeroDivisionError are ArithmeticErrors
        return None


def _tokenize(text: str) -> list[str] | None:
    out: list[str] = []
    pending = ""  # "\left" / "\right" waiting for its delimiter
    for number, command, word, op, space, bad in _TOKEN.findall(text.replace("$", "")):
        tok = number or command or op
        if space:
            continue
        if bad or (pending and not tok):
            return None
        if pending:
            if pending + tok not in _DELIMITERS:
                return None
            out.append(_DELIMITERS[pending + tok])
            pending = ""
        elif tok in ("\\left", "\\right"):
            pending = tok
        elif word:
            out.extend([_WORDS[word]] if word in _WORDS else word)
        elif tok and tok not in _IGNORED:
            out.append(_ALIASES.get(tok, tok))
    return None if pending else out


def _root(x: complex, n: complex) -> complex:
    if n.imag == 0 and x.imag == 0 and x.real < 0 and n.real % 2 == 1:  # real odd root of a negative
        return complex(-((-x.real) ** (1 / n.real)))
    return x ** (1 / n)


def _factorial(z: complex) -> complex:
    if z.imag != 0 or not 0 <= z.real <= 170 or z.real != int(z.real):
        raise ValueError("factorial needs an integer in [0, 170]")
    return complex(math.factorial(int(z.real)))


def _product(num: list[Fn], den: list[Fn]) -> Fn:
    if not den:
        return num[0] if len(num) == 1 else lambda env: math.prod([f(env) for f in num])
    return lambda env: math.prod([f(env) for f in num]) / math.prod([f(env) for f in den])


def _const(c: complex) -> Fn:
    return lambda env: c


def _var(name: str) -> Fn:
    return lambda env: env[name]


def _call(fn: Callable[..., complex], *args: Fn) -> Fn:
    if len(args) == 1:
        (a,) = args
        return lambda env: fn(a(env))
    a, b = args
    return lambda env: fn(a(env), b(env))


class _Parser:
    """Recursive descent over the token list: expr > term > unary > power > primary."""

    def __init__(self, tokens: list[str]) -> None:
        self.tokens, self.pos, self.depth = tokens, 0, 0
        self.variables: set[str] = set()

    def _peek(self) -> str:
        return self.tokens[self.pos] if self.pos < len(self.tokens) else ""

    def _next(self) -> str:
        tok = self._peek()
        self.pos += 1
        return tok

    def _accept(self, tok: str) -> bool:
        if self._peek() != tok:
            return False
        self.pos += 1
        return True

    def _expect(self, tok: str) -> None:
        if self._next() != tok:
            raise _Fail

    def _enter(self) -> None:  # Python's recursion limit must never be the bound
        self.depth += 1
        if self.depth > MAX_DEPTH:
            raise _Fail

    def expr(self) -> Fn:
        terms = [self._term()]
        while self._peek() in ("+", "-"):
            sign, term = self._next(), self._term()
            terms.append(term if sign == "+" else _call(operator.neg, term))
        return terms[0] if len(terms) == 1 else lambda env: sum([t(env) for t in terms])

    def _term(self) -> Fn:
        num, den = [self._unary()], []
        while True:
            tok = self._peek()
            if tok in ("*", "/"):
                self._next()
                (num if tok == "*" else den).append(self._unary())
            elif tok in _STARTERS or tok.isalpha():  # implicit product; "2 3" stays an error
                if tok == "\\frac" and self.tokens[self.pos - 1][0] in "0123456789.":
                    raise _Fail  # "3\frac12" is a mixed number (7/2) to some writers, 3/2 to others
                num.append(self._power())
            else:
                return _product(num, den)

    def _unary(self, exponent: bool = False) -> Fn:
        """`-x^2` is -(x^2); in an exponent (`x^-1`) the operand is a single primary."""
        if self._peek() not in ("-", "+"):
            return self._primary() if exponent else self._power()
        self._enter()
        sign, operand = self._next(), self._unary(exponent)
        self.depth -= 1
        return operand if sign == "+" else _call(operator.neg, operand)

    def _power(self) -> Fn:
        fn, raised = self._primary(), False
        while self._peek() in ("!", "^"):
            if self._next() == "!":
                if self._peek() == "!":
                    raise _Fail  # double factorial
                fn = _call(_factorial, fn)
            elif raised:
                raise _Fail  # x^2^3 is not valid LaTeX
            else:
                fn, raised = _call(operator.pow, fn, self._unary(exponent=True)), True
        return fn

    def _primary(self) -> Fn:
        self._enter()
        tok = self._next()
        if tok and tok[0] in "0123456789.":
            fn = _const(complex(float(tok)))
        elif tok in ("(", "{", "|("):
            fn = self.expr()
            self._expect({"(": ")", "{": "}", "|(": "|)"}[tok])
            fn = _call(lambda z: complex(abs(z)), fn) if tok == "|(" else fn
        elif tok == "\\pi":
            fn = _const(complex(math.pi))
        elif (len(tok) == 1 and tok.isalpha()) or tok in _GREEK:
            name = tok + "_" + self._subscript() if self._accept("_") else tok
            self.variables.add(name)
            fn = _var(name)
        elif tok == "\\frac":
            fn = _product([self._tex_arg()], [self._tex_arg()])
        elif tok in ("\\sqrt", "√"):
            fn = self._sqrt(tok)
        elif tok in _FUNCTIONS:
            fn = self._function(tok)
        else:
            raise _Fail
        self.depth -= 1
        return fn

    def _subscript(self) -> str:
        """`a_3`, `a_{37}`, `\\sin^{2}` -> "3", "37", "2": letters and digits only, so `a_{n+1}` fails."""
        parts = [self._next()]
        if parts == ["{"]:
            parts = []
            while self._peek() not in ("}", ""):
                parts.append(self._next())
            self._expect("}")
        if not parts or not all(p.isascii() and p.isalnum() for p in parts):
            raise _Fail
        return "".join(parts)

    def _tex_arg(self) -> Fn:
        """A LaTeX macro argument: a braced group or ONE token, so `\\frac94` is 9/4."""
        tok = self._peek()
        if tok[:1].isdigit() and len(tok) > 1:
            if not tok[1:].isdigit():
                raise _Fail
            self.tokens[self.pos] = tok[1:]
            return _const(complex(int(tok[0])))
        if tok == "{" or tok in _SYMBOLS or tok.isdigit() or tok.isalpha():
            return self._primary()
        raise _Fail

    def _sqrt(self, tok: str) -> Fn:
        index = None
        if tok == "\\sqrt" and self._accept("["):
            index = self.expr()
            self._expect("]")
        arg = self._primary() if tok == "√" or self._peek() == "(" else self._tex_arg()
        return _call(cmath.sqrt, arg) if index is None else _call(_root, arg, index)

    def _function(self, name: str) -> Fn:
        base = self._tex_arg() if name == "\\log" and self._accept("_") else None  # \log_{2} 8
        power = self._subscript() if self._accept("^") else None  # \sin^2 x, not \sin^{-1} x
        if power is not None and not power.isdigit():
            raise _Fail
        if self._peek() in ("(", "{"):
            arg = self._primary()
        else:
            arg = self._power()
            if (self._peek() in _STARTERS or self._peek().isalnum()) and self._peek() not in _FUNCTIONS:
                raise _Fail  # `\sin 2x`: sin(2x) or sin(2)x? `\sin x \cos x` is fine
        fn = _call(_FUNCTIONS[name], arg) if base is None else _call(cmath.log, arg, base)
        return fn if power is None else _call(operator.pow, fn, _const(complex(float(power))))
