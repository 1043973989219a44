"""Comparison: two answers -> equal or not. The only layer that does mathematics.

`equal(gold, pred)` first splits each answer into its parts (a tuple "(4,-3)", an interval
"(0.6, 8/3]", a set "\\{1,3\\}", roots "1 \\pm \\sqrt{19}", assignments "x=4, y=-3"), then
compares part by part, cheapest test first:

1. the same text after LaTeX clean-up ("Parallelogram" = "parallelogram");
2. numbers with units and percent (`quantity`): exact values, the precision the gold states
   (0.6 = 0.60, 7.78 ~ 7.7777), a decimal of at least two places for a fraction (0.2857 ~ 2/7,
   never 0.3 ~ 1/3), units converted within a dimension (240 minutes = 4 hours, 5 m != 5 cm),
   an omitted unit accepted, 28% = 0.28 = 28;
3. expressions by evaluation at fixed points (`expr`, microseconds): (x+1)^2 = x^2+2x+1;
4. anything `expr` cannot read goes to math-verify in a guard helper with a hard time limit.

Ordered things (tuples, lists, intervals) compare in order with matching brackets; sets, bare
lists of roots and "\\pm" compare as multisets; a tuple is never a set.
"""

from __future__ import annotations

import cmath
import math
import random
import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

from vgpo_eval.checker import expr, guard
from vgpo_eval.checker.quantity import (
    CACHE,
    UNITS,
    Quantity,
    canonical_unit,
    has_variable_term,
    in_base_units,
    normalize,
    quantity,
)

MAX_PARTS = 32
MAX_UNITS = 4  # units one value may be written under, one after another
_THOUSANDS = re.compile(r"[-+]?\d{1,3}(?:,\d{3})+(?:\.\d+)?")
_ASSIGN = re.compile(  # "x = 5", "f(x) = ...", "a_{3} = 2", "m\\angle ECF = 90°", "AB = 5", "\\sin x = ..."
    r"^\s*((?:m\s*)?\\angle\s*[A-Za-z]{1,3}|[A-Za-z](?:_\{?\w+\}?)?(?:\s*\([^()=]*\))?|[A-Z]{2,3}"
    r"|\\[A-Za-z]+\s*[A-Z]{2,3}|\\(?:sin|cos|tan|cot|sec|csc|ln|log)\s*\(?\s*\\?[A-Za-z]+\s*\)?)"
    r"\s*(?:=(?!=)|\\approx|≈)\s*(.+)$"
)
_PM = re.compile(r"\\pm|±")
_SPACED_NUMBERS = re.compile(r"-?\d+(?:\.\d+)?(?:\s+-?\d+(?:\.\d+)?)+")
_LT, _VAR = r"(?:<|\\lt|\\le)", r"[a-zA-Z]"
_BETWEEN = re.compile(rf"(?P<lo>[^<>]+?)\s*(?P<lo_op>{_LT})\s*{_VAR}\s*(?P<hi_op>{_LT})\s*(?P<hi>[^<>]+)")
_BELOW = re.compile(rf"{_VAR}\s*(?P<hi_op>{_LT})\s*(?P<hi>[^<>]+)")
_ABOVE = re.compile(rf"{_VAR}\s*(?P<lo_op>>|\\gt|\\ge)\s*(?P<lo>[^<>]+)")
_INTERVAL_HINT = re.compile(r"\\infty|\\cup|∞|∪|\\le|\\ge|≤|≥|<|>|\\in\b")
_SET_BUILDER = re.compile(r"^\\\{\s*[a-zA-Z]\s*(?:\\mid|\||:)\s*(.+?)\s*\\\}$")
_MEMBER = re.compile(r"^[a-zA-Z]\s*\\in\s*(?=[(\[])")
_POINT_NAME = re.compile(r"^[A-Z](?:_\{?\w+\}?|')?\s*(?=\(.*,.*\)$)")  # P(2, -3): a named point
_SUBSCRIPTS = str.maketrans("₀₁₂₃₄₅₆₇₈₉", "0123456789")
_DEGREES = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°|\\circ|\\degree")
_TRAILING_UNIT = re.compile(r"(.+?)\s+([a-zA-Z]+(?:/[a-zA-Z]+)?(?:\^\{?[23]\}?)?)")
_NEGATION = re.compile(r"\b(?:not|no|never|neither|nor|isn't|doesn't|cannot|can't)\b", re.I)
_WORDS = re.compile(r"[A-Za-z]{3,}")
_FUNCTION_NAMES = re.compile(rf"\b(?:{'|'.join(expr.FUNCTION_WORDS)})(?=\s*\()")  # "sqrt(3)", "sin(x)"
_CLOCK = re.compile(r"\d:\d\d")
_BEYOND_EXPR = re.compile(
    r"[=<>]|\\(?:begin|infty|cup|cap|pm|mp|le|ge|lt|gt|neq|ne|in|notin|subset|setminus|emptyset|varnothing|mid"
    r"|binom|choose|int|sum|prod|lim|log_|arc\w+|circ|angle|vec|overline|hat|bar|\{)"
    r"|[∞∪∩≤≥±∈]"
)
_VARIABLE_IS = re.compile(r"^([a-zA-Z])\s*=(?!=)")
_APPROX = re.compile(r"\\approx|≈")
_DECIMAL_COMMA = re.compile(r"(-?\d+),(\d{1,2}|\d{4,})(\s*[^\d\s,].*)?")  # not "1,200": 3 digits group
_NOT_MATH = re.compile(r"[^\x00-\x7f√π°∞≤≥±×÷·−∠∪∩∈]")


@dataclass(frozen=True)
class Parts:
    """An answer split into parts: brackets "()", "[]", "(]", "[)", "{}" (a set) or "" (bare)."""

    items: tuple[str, ...]
    brackets: str = ""
    names: tuple[str, ...] | None = None  # assignment names, when every part is "name = value"
    unordered: bool = False


@lru_cache(maxsize=CACHE)
def equal(gold: str, pred: str, precision: int | None = None) -> bool:
    """Whether `pred` states the same answer as `gold` (see the module docstring)."""
    if "=" in gold and "=" in pred:
        if equations_equal(gold, pred):
            return True
        names = _VARIABLE_IS.match(normalize(gold)), _VARIABLE_IS.match(normalize(pred))
        single = gold.count("=") == 1 and pred.count("=") == 1
        if single and all(names) and names[0].group(1) != names[1].group(1):
            return False  # "y = 4" does not answer "x = 4" (two different lines)
    if "=" not in gold and (last := _last_side(pred)) is not None and equal(gold, last, precision):
        return True  # "cos 30° = √3/2", "A ∩ B = {1, 2}", "√(2² + 4²) = √20": the chain's last side
    if _INTERVAL_HINT.search(gold + pred):  # "x \\le 2" answers "(-\\infty, 2]"
        gi, pi = intervals(gold), intervals(pred)
        if gi and pi:
            return _same_intervals(gi, pi, precision)
    if (comma := _DECIMAL_COMMA.fullmatch(normalize(pred))) and quantity(gold) is not None:
        pred = f"{comma[1]}.{comma[2]}{comma[3]}"  # "2,5 cm": a decimal comma, for a gold that is one number
    g, p = parts(gold), parts(pred)
    if len(g.items) == 1 and len(p.items) == 1:
        return scalar_equal(g.items[0], p.items[0], precision)
    if len(g.items) == 1 and _is_text(normalize(pred)) and not all(quantity(x) for x in p.items):
        # "Yes, it is" is one answer, not two; "8 and 9" is two numbers
        return scalar_equal(g.items[0], pred, precision)
    if len(g.items) != len(p.items):
        return False
    if g.names and p.names and _roots(g.names) and _roots(g.names) == _roots(p.names):
        return _same_multiset(g.items, p.items, precision)  # "x_1=1, x_2=3" and "x = 1 or x = 3": the roots
    if g.names and p.names:
        if sorted(g.names) != sorted(p.names):
            return False
        by_name = dict(zip(p.names, p.items, strict=True))
        return all(scalar_equal(v, by_name[n], precision) for n, v in zip(g.names, g.items, strict=True))
    if g.unordered:
        return p.brackets in ("", "{}") and _same_multiset(g.items, p.items, precision)
    if p.brackets != g.brackets and not (p.brackets == "" and g.brackets in ("()", "[]")):
        return False
    return all(scalar_equal(a, b, precision) for a, b in zip(g.items, p.items, strict=True))


def _roots(names: tuple[str, ...]) -> str | None:
    """The one variable that every name is, or is a numbered copy of (x, x_1, x_{2}), or None."""
    bases = {re.sub(r"_\{?\d+\}?$|[₀-₉]+$", "", name) for name in names}
    return bases.pop() if len(bases) == 1 else None


def same_order(a: str, b: str) -> bool:
    """Whether two answers have equal parts in the same order (a tie-break between listed options)."""
    pa, pb = parts(a), parts(b)
    return len(pa.items) == len(pb.items) and all(
        scalar_equal(x, y) for x, y in zip(pa.items, pb.items, strict=True)
    )


def answer_count(gold: str) -> int:
    """How many values a gold answer has (roots, coordinates, intervals of a union)."""
    return max(len(parts(gold).items), len(intervals(gold) or ()))


@lru_cache(maxsize=CACHE)
def intervals(answer: str) -> tuple[tuple[str, str, str, str], ...] | None:
    """(open, low, high, close) for each interval of "(a, b]", "a \\le x < b", "x > 3", joined by \\cup or "or"."""
    out = []
    text = _SET_BUILDER.sub(r"\1", normalize(answer))  # \{x \mid 1 \le x < 5\} -> 1 \le x < 5
    text = _MEMBER.sub("", text)  # x \in [1, 5) -> [1, 5)
    for piece in re.split(r"\\cup|\s+or\s+", text):
        piece = piece.strip()
        brackets, inner = _outer_brackets(piece)
        ends = _split_top(inner, ",") if brackets and brackets != "{}" else []
        if len(ends) == 2:
            out.append((brackets[0], ends[0], ends[1], brackets[1]))
            continue
        m = _BETWEEN.fullmatch(piece) or _BELOW.fullmatch(piece) or _ABOVE.fullmatch(piece)
        if not m:
            return None
        d = m.groupdict()
        out.append(
            (
                "[" if d.get("lo_op") in ("\\le", "\\ge") else "(",
                d.get("lo") or "-\\infty",
                d.get("hi") or "\\infty",
                "]" if d.get("hi_op") in ("\\le", "\\ge") else ")",
            )
        )
    return tuple(out)


def _same_intervals(gold: list, pred: list, precision: int | None) -> bool:
    return len(gold) == len(pred) and _paired(gold, pred, lambda g, p: _same_interval(g, p, precision))


def _paired(gold, pred, same) -> bool:
    """Whether every gold item has its own equal item in `pred` (each pred item used once)."""
    unused = list(pred)
    for g in gold:
        match = next((i for i, p in enumerate(unused) if same(g, p)), None)
        if match is None:
            return False
        unused.pop(match)
    return True


def _same_interval(g: tuple, p: tuple, precision: int | None) -> bool:
    if (g[0], g[3]) != (p[0], p[3]):
        return False
    return all(
        _endpoint(a) == _endpoint(b) or scalar_equal(a, b, precision) for a, b in ((g[1], p[1]), (g[2], p[2]))
    )


def _endpoint(value: str) -> str:
    return re.sub(r"\s+|^\+", "", value).replace("\\inf", "\\infty").replace("\\inftyty", "\\infty")


@lru_cache(maxsize=CACHE)
def parts(answer: str) -> Parts:
    """Split an answer into its parts; a single value gives one part."""
    s = _POINT_NAME.sub("", normalize(answer))  # P(2, -3) is the point (2, -3)
    if _THOUSANDS.fullmatch(s) or (_THOUSANDS.match(s) and quantity(s) is not None):
        return Parts((s,))  # "12,000", "12,000 Pa": one number, grouped
    if _SPACED_NUMBERS.fullmatch(s):  # an option written "0.32 0.67"
        return Parts(tuple(s.split()), "", None, True)
    brackets, inner = _outer_brackets(s)
    items = _split_top(inner, ",;") if brackets or "," in s or ";" in s else [s]
    if len(items) == 1 and not brackets:
        items = _split_top(inner, None)  # "2007 and 2008"
    if len(items) > MAX_PARTS:
        return Parts((s,))
    if len(items) == 1 and brackets in ("()", "") and not _PM.search(items[0]):
        rhs = _rhs(items[0])
        if rhs != items[0] and _outer_brackets(rhs)[0]:  # P = (2, -3): the value is the tuple
            return parts(rhs)
        return Parts((rhs,))
    expanded, pm = [], False
    for item in items:
        if _PM.search(item):
            pm = True
            expanded += [_PM.sub("+", item, count=1), _PM.sub("-", item, count=1)]
        else:
            expanded.append(item)
    named = [_ASSIGN.match(item) for item in expanded]
    if len(expanded) > 1 and all(named):
        names = tuple(re.sub(r"[{}\s]", "", m.group(1)) for m in named)
        return Parts(tuple(m.group(2) for m in named), brackets, names)
    unordered = brackets in ("", "{}") or (pm and len(items) == 1)
    return Parts(tuple(_rhs(item) for item in expanded), brackets, None, unordered)


def _outer_brackets(s: str) -> tuple[str, str]:
    """("()", inner) when one bracket pair encloses the whole answer, else ("", s)."""
    if s.startswith("\\{") and s.endswith("\\}"):
        return "{}", s[2:-2]
    if len(s) >= 2 and s[0] == "{" and s[-1] == "}" and "," in s and _balanced(s[1:-1]):
        return "{}", s[1:-1]  # {1, 2} written without backslashes is a set too
    if len(s) >= 2 and s[0] in "([" and s[-1] in ")]":
        depth = 0
        for i, ch in enumerate(s):
            depth += ch in "([{"
            depth -= ch in ")]}"
            if depth == 0 and i < len(s) - 1:
                return "", s
        return s[0] + s[-1], s[1:-1]
    return "", s


def _balanced(s: str) -> bool:
    depth = 0
    for ch in s:
        depth += (ch in "([{") - (ch in ")]}")
        if depth < 0:
            return False
    return depth == 0


_WORD_SEPARATOR = re.compile(r"\s+(?:and|or)\s+|\s*或\s*")  # not 和: it is also "sum" (两数之和)


def _depth(s: str) -> int:
    """Brackets left open at the end of `s`."""
    return sum(s.count(c) for c in "([{") - sum(s.count(c) for c in ")]}")


def _split_top(s: str, separators: str | None) -> list[str]:
    """Split at top-level separators (or at " and " when `separators` is None)."""
    if separators is None:  # words, outside any bracket: "(2, 4) and (0, 0)", "x = 2 或 x = 3"
        cuts = [m for m in _WORD_SEPARATOR.finditer(s) if _depth(s[: m.start()]) == 0]
        if not cuts:
            return [s]
        bounds = [0, *(x for m in cuts for x in (m.start(), m.end())), len(s)]
        pieces = [s[a:b].strip() for a, b in zip(bounds[::2], bounds[1::2], strict=True)]
        return pieces if all(pieces) else [s]
    out, depth, start = [], 0, 0
    for i, ch in enumerate(s):
        if ch in "([{":
            depth += 1
        elif ch in ")]}":
            depth -= 1
        elif depth == 0 and ch in separators:
            out.append(s[start:i].strip())
            start = i + 1
    out.append(s[start:].strip())
    return [p for p in out if p]


def _rhs(item: str) -> str:
    """'x = 5' -> '5', 'f(x) = x^2' -> 'x^2', '\\angle ABC = 30^\\circ' -> '30^\\circ'."""
    m = _ASSIGN.match(item)
    return m.group(2).strip() if m else item


def _same_multiset(gold: tuple[str, ...], pred: tuple[str, ...], precision: int | None) -> bool:
    return _paired(gold, pred, lambda g, p: scalar_equal(g, p, precision))


@lru_cache(maxsize=CACHE)
def scalar_equal(gold: str, pred: str, precision: int | None = None, units: int = 0) -> bool:
    """Compare two single values: text, number with unit, or expression. `units` counts the units
    already taken off: a value under more than MAX_UNITS of them ("5 cm cm cm cm ...") is no answer,
    so the recursion stays shallow whatever the response (a verdict never depends on stack depth)."""
    g, p = normalize(gold), normalize(pred)
    if not g or not p:
        return False
    approx = _APPROX.split(p)
    if len(approx) == 2 and not approx[0].strip() and approx[1].strip():  # "≈ 6.93": the value itself
        return scalar_equal(gold, approx[1].strip(), precision)
    if len(approx) == 2 and all(x.strip() for x in approx):  # "5\sqrt{2} \approx 7.07" states both
        exact, rounded = (x.strip() for x in approx)
        if (
            (gq := quantity(g))
            and (rq := quantity(rounded))
            and (eq := quantity(exact))
            and rq.decimals is not None
        ):
            scale = 10**rq.decimals
            if numbers_equal(gq, rq, precision) and _round_half_up(eq.value * scale) == rq.value * scale:
                return True  # "18.65 ≈ 19" for a gold of 19: rounded, and rounded right
        return all(scalar_equal(gold, x, precision) for x in (exact, rounded))  # both must be right
    if _compact(g) == _compact(p):  # case aside (not for "Aa"), "315^\\circ T" = "315° T", "H_2O" = "H2O"
        return True
    gq, pq = quantity(g), quantity(p)
    if gq is not None and pq is not None:
        return numbers_equal(gq, pq, precision)
    if (gq and gq.unit == "degree" and "\\pi" in p) or (pq and pq.unit == "degree" and "\\pi" in g):
        return _same_angle(g, p, gq or pq)  # 60^\circ = \frac{\pi}{3}
    if gq and not gq.unit and "\\pi" in p and _same_angle(g, _last_side(p) or p, gq, bare=True):
        return True  # a gold of 60 (degrees) answered "C = \frac{\pi}{3}" (not the reverse: 45 is not pi/4)
    if gq is not None and (stated := _stated_value(p)) is not None:  # "2(6 + 3) = 18" answers 18
        return numbers_equal(gq, stated, precision)
    (g_core, g_unit), (p_core, p_unit) = _split_unit(g), _split_unit(p)
    if (g_unit or p_unit) and (g_unit == p_unit or not g_unit or not p_unit):  # "\\sqrt{50} cm"
        return units < MAX_UNITS and scalar_equal(g_core, p_core, precision, units + 1)
    if _is_text(g) or _is_text(p):
        return text_equal(g, p)
    return expressions_equal(g, p, pq, gq)


def _same_angle(gold: str, pred: str, degrees: Quantity, bare: bool = False) -> bool:
    """An angle in degrees against one in radians written with \\pi. With `bare` the degrees carry no
    unit ("60" against "\\frac{\\pi}{3}"), so both must look like an angle: a whole number of degrees
    in (0, 360], and a radian side that is a simple fraction of \\pi."""
    radians = expr.parse(pred if "\\pi" in pred else gold)
    value = radians.constant() if radians is not None else None
    if value is None or abs(value.imag) >= 1e-12:
        return False
    if bare:
        turns = Fraction(value.real / math.pi).limit_denominator(12)
        if not (
            0 < degrees.value <= 360 and degrees.value.denominator == 1 and degrees.decimals in (None, 0)
        ):
            return False
        if not math.isclose(float(turns) * math.pi, value.real, rel_tol=1e-12):
            return False
    return math.isclose(value.real, float(degrees.value) * math.pi / 180, rel_tol=1e-9, abs_tol=1e-12)


def equations_equal(gold: str, pred: str) -> bool:
    """Two equations with variables that hold at the same points: one side minus the other is the same
    function up to a non-zero factor ("y = 2x + 1" and "2x - y + 1 = 0"; a conic with both sides scaled)."""
    sides = [_sides(gold), _sides(pred)]
    if None in sides:
        return False
    (gl, gr), (pl, pr) = sides
    names = sorted(gl.variables | gr.variables | pl.variables | pr.variables)
    if not names:
        return False
    rng, ratio = random.Random(1), None
    for _ in range(expr.POINTS):
        env = {name: complex(rng.uniform(0.5, 2.5)) for name in names}
        try:
            a, b = gl.value(env) - gr.value(env), pl.value(env) - pr.value(env)
        except (ArithmeticError, ValueError):
            return False
        if abs(b) < 1e-9 or abs(a) < 1e-9:
            return False
        ratio = ratio if ratio is not None else a / b
        if not cmath.isclose(a / b, ratio, rel_tol=1e-9):
            return False
    return True


def _sides(equation: str) -> tuple[expr.Expr, expr.Expr] | None:
    s = normalize(equation)
    if s.count("=") != 1 or re.search(r"[<>!]=|\\(?:le|ge|ne)\b", s):
        return None
    left, right = (expr.parse(side.strip()) for side in s.split("="))
    return (left, right) if left is not None and right is not None else None


def _last_side(s: str, one_statement: bool = True) -> str | None:
    """The last side of a chain of equalities ("A ∩ B = {1, 2}" -> "{1, 2}"), or None: no "=", a
    relation (<=, \\ne), or an equation (a variable term before the last "="); with `one_statement`, also None for several statements ("x = 2 or x = 3",
    "a = 1, b = 2")."""
    if "=" not in s or re.search(r"[<>!]=|==|\\(?:le|ge|ne)", s):
        return None
    if one_statement and (re.search(r"\b(?:or|and)\b|或|和|且", s) or len(_split_top(s, ",;")) > 1):
        return None
    head, last = s.rsplit("=", 1)
    if has_variable_term(head.rsplit("=", 1)[-1]):
        return None  # an equation: "3x - y - 2 = 0" does not state 0
    return last.strip() or None


def _stated_value(s: str) -> Quantity | None:
    """The number a chain of equalities ends on ("24/7 = 4", "|AB| = 198"), or None."""
    last = _last_side(s, one_statement=False)
    return quantity(last) if last is not None else None


def _compact(s: str) -> str:
    """Spacing, degree marks and subscripts aside: "315^\\circ T" = "315°T", "H_2O" = "H₂O" = "H2O"."""
    s = re.sub(r"[\s_{}]+", "", _DEGREES.sub("°", s)).translate(_SUBSCRIPTS)
    return s if len(s) <= 3 and s.isalpha() else s.lower()  # "Aa" is not "AA" (a genotype)


@lru_cache(maxsize=CACHE)
def _split_unit(s: str) -> tuple[str, str | None]:
    """("\\sqrt{50}", "cm") for "\\sqrt{50} cm": a known unit after a formula; (s, None) otherwise."""
    m = _TRAILING_UNIT.fullmatch(s)
    if not m or _is_text(m.group(1)):
        return s, None
    unit = canonical_unit(m.group(2))
    return (m.group(1), unit) if unit.split("^")[0] in UNITS or unit in ("unit", "units") else (s, None)


def rounded(gold: str, pred: str) -> bool:
    """Whether `pred` is a rounded decimal of an exact gold that is not itself that decimal (0.33 for 1/3,
    3.46 for 2\\sqrt{3}): accepted when it rounds right, and named so a report can count it."""
    pq = quantity(normalize(pred))
    if pq is None or not pq.decimals or pq.unit or pq.percent:
        return False
    gq = quantity(normalize(gold))
    if gq is not None:
        return gq.decimals is None and gq.value != pq.value
    return "\\" in gold or "π" in gold or "√" in gold  # an exact expression: \sqrt{3}, \frac{\pi}{3}


def numbers_equal(gold: Quantity, pred: Quantity, precision: int | None = None) -> bool:
    """Numbers with units and percent signs (see the module docstring, rule 2)."""
    gv, pv = gold.value, pred.value
    if gold.unit and pred.unit and gold.unit != pred.unit:
        g_base, p_base = in_base_units(gold), in_base_units(pred)
        if g_base is None or p_base is None or g_base[0] != p_base[0]:
            return False
        return math.isclose(float(g_base[1]), float(p_base[1]), rel_tol=1e-9)
    decimals = gold.decimals if precision is None else precision
    candidates = [(gv, pv)]
    if pred.written is not None and gold.written is None:
        candidates.append((gv, pred.written))  # "$197.3 billion" for a chart read in billions: 197.3
    if gold.percent and not pred.percent:
        candidates.append((gv / 100, pv))
    if pred.percent and not gold.percent:
        candidates.append((gv, pv / 100))
    if (pred.unit == "cent") != (gold.unit == "cent") and not (gold.unit and pred.unit):
        candidates.append((gv, pv / 100) if pred.unit == "cent" else (gv / 100, pv))  # 45 cents for $0.45
    return any(_close(g, p, decimals, pred.decimals) for g, p in candidates)


def _close(gold: Fraction, pred: Fraction, gold_decimals: int | None, pred_decimals: int | None) -> bool:
    if gold == pred:
        return True
    if gold_decimals:  # the gold states a precision: round the prediction to it (MathVista's rule)
        scale = 10**gold_decimals
        return _round_half_up(pred * scale) == gold * scale
    if gold_decimals is None:  # an exact fraction: a decimal of 2+ places that rounds or truncates to it
        return _approximates(pred_decimals, float(pred), float(gold))
    return False


def _approximates(pred_decimals: int | None, pred: float, gold: float) -> bool:
    """A decimal with at least 2 places and 2 significant digits within one unit of its last place."""
    if not pred_decimals or pred_decimals < 2 or pred == 0:
        return False
    significant = pred_decimals + math.floor(math.log10(abs(pred))) + 1
    return significant >= 2 and abs(pred - gold) <= 10.0**-pred_decimals * (1 + 1e-9)


def _round_half_up(x: Fraction) -> int:
    return math.floor(x + Fraction(1, 2)) if x >= 0 else -math.floor(-x + Fraction(1, 2))


def _is_text(s: str) -> bool:
    """Words or a clock time, not mathematics: 3+ letters outside any LaTeX command or plain-text
    function name ("2*sqrt(3)" is mathematics), or "12:00"."""
    return bool(_WORDS.search(_FUNCTION_NAMES.sub("", re.sub(r"\\[A-Za-z]+", "", s))) or _CLOCK.search(s))


def text_equal(gold: str, pred: str) -> bool:
    """Case, articles, punctuation and spacing do not matter; "Yes, it is" answers "yes"."""
    g, p = _words(gold), _words(pred)
    if g in ("yes", "no") and p.split(" ")[0] in ("yes", "no"):
        return g == p.split(" ")[0]
    if " " not in g and 1 < len(p.split()) <= 8 and not _NEGATION.search(p):
        return p.split()[-1] == g  # "the box moves left" answers "left"
    return g == p


def _words(s: str) -> str:
    s = re.sub(r"(?<=[a-z])-(?=[a-z])", " ", s.lower())  # "bottom-left" is "bottom left"
    s = re.sub(r"[^\w\s:<>=+\-*/^().]", " ", s)
    s = re.sub(r"^(?:the|a|an)\s+", "", s.strip())
    return re.sub(r"\s+", " ", s).strip(" .")


def expressions_equal(
    gold: str, pred: str, pred_quantity: Quantity | None = None, gold_quantity: Quantity | None = None
) -> bool:
    """Evaluate both at fixed points; math-verify (guarded) when they cannot be read. A decimal gold
    accepts an exact expression that rounds to it (7.07 for 5\\sqrt{2}), and the reverse (0.866)."""
    verdict = expr.equivalent(gold, pred, rel_tol=1e-12)  # 10000000001 is not 10^{10}
    if verdict is None:
        return symbolic_equal(gold, pred)
    if verdict:
        return True
    if gold_quantity is not None and gold_quantity.decimals:
        value = expr.parse(pred)
        constant = value.constant() if value is not None else None
        if constant is None or abs(constant.imag) > 1e-12:
            return False
        scale = 10**gold_quantity.decimals
        return _round_half_up(Fraction(constant.real) * scale) == gold_quantity.value * scale
    if pred_quantity is None:
        return False
    value = expr.parse(gold)
    constant = value.constant() if value is not None else None
    if constant is None or abs(constant.imag) > 1e-12:
        return False
    return _approximates(pred_quantity.decimals, float(pred_quantity.value), constant.real)


@lru_cache(maxsize=CACHE)
def symbolic_equal(gold: str, pred: str) -> bool:
    """math-verify's verdict, in a guard helper under a CPU limit (GuardTimeout propagates: the
    check says it timed out). An error inside math-verify counts as not equal.

    It gets only what the fast path cannot model: mathematics (no text in other scripts: math-verify
    pulls a number out of anything, "2" = "因此，选项为(C) 2√{5}"; no "&" outside a matrix: "1 & 4" =
    "2 & 4") in which one side has a relation, a set, a matrix, an infinity, a "\\pm" or another
    construct that `expr` does not read. Two plain formulas that `expr` cannot read are not equal."""
    if not (_symbolic_candidate(gold) and _symbolic_candidate(pred)):
        return False
    if ("=" in gold) != ("=" in pred) and has_variable_term(gold + " " + pred):
        return False  # math-verify reads "3x - y - 2 = 0" as its right side, 0; a chain's last side was tried
    if not (_BEYOND_EXPR.search(gold) or _BEYOND_EXPR.search(pred)):
        return False
    try:
        return guard.call("vgpo_eval.checker.symbolic", "equivalent", gold, pred)
    except guard.GuardError:
        return False


def _symbolic_candidate(s: str) -> bool:
    return len(s) <= expr.MAX_CHARS and not _NOT_MATH.search(s) and ("&" not in s or "\\begin" in s)
