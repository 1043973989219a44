"""Numbers as answers are written: "12,000", "\\$7.78", "1.2e5", "\\frac{3}{4}", "28\\%", "60^\\circ", "5 cm", "ten".

`quantity(text)` turns such an answer into a `Quantity` (exact value, the decimals it was written
with, its unit and whether it was a percentage), or None when the text is not a plain number
with an optional unit. `normalize(text)` is the LaTeX clean-up every comparison starts from.
Everything here is pure Python and bounded: no sympy, no big-integer blow-ups.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from fractions import Fraction
from functools import lru_cache

CACHE = 1 << 15  # parsed strings kept per process (the parse-once caches of the checker layers)
MAX_DIGITS = 400
MAX_EXPONENT = 400

# unit -> (dimension, factor to the dimension's base unit)
UNITS: dict[str, tuple[str, float]] = {
    "mm": ("length", 1e-3), "millimeter": ("length", 1e-3), "cm": ("length", 1e-2),
    "centimeter": ("length", 1e-2), "dm": ("length", 0.1), "m": ("length", 1.0), "meter": ("length", 1.0),
    "metre": ("length", 1.0), "centimetre": ("length", 1e-2), "millimetre": ("length", 1e-3), "kilometre": ("length", 1e3),
    "km": ("length", 1e3), "kilometer": ("length", 1e3), "in": ("length", 0.0254),
    "inch": ("length", 0.0254), "ft": ("length", 0.3048), "foot": ("length", 0.3048),
    "feet": ("length", 0.3048), "yd": ("length", 0.9144), "yard": ("length", 0.9144),
    "mi": ("length", 1609.344), "mile": ("length", 1609.344),
    "mm^2": ("area", 1e-6), "cm^2": ("area", 1e-4), "m^2": ("area", 1.0), "km^2": ("area", 1e6),
    "mm^3": ("volume", 1e-9), "cm^3": ("volume", 1e-6), "m^3": ("volume", 1.0),
    "ml": ("volume", 1e-6), "l": ("volume", 1e-3), "liter": ("volume", 1e-3), "litre": ("volume", 1e-3),
    "ms": ("time", 1e-3), "s": ("time", 1.0), "sec": ("time", 1.0), "second": ("time", 1.0),
    "min": ("time", 60.0), "minute": ("time", 60.0), "h": ("time", 3600.0), "hr": ("time", 3600.0),
    "hour": ("time", 3600.0), "day": ("time", 86400.0), "week": ("time", 604800.0),
    "mg": ("mass", 1e-6), "g": ("mass", 1e-3), "gram": ("mass", 1e-3), "kg": ("mass", 1.0),
    "kilogram": ("mass", 1.0), "lb": ("mass", 0.45359237), "pound": ("mass", 0.45359237),
    "m/s": ("speed", 1.0), "cm/s": ("speed", 0.01), "km/h": ("speed", 1 / 3.6), "km/hr": ("speed", 1 / 3.6),
    "kmph": ("speed", 1 / 3.6), "mph": ("speed", 0.44704), "mi/h": ("speed", 0.44704),
    "m/s^2": ("acceleration", 1.0), "cm/s^2": ("acceleration", 0.01),
    "V": ("voltage", 1.0), "mV": ("voltage", 1e-3), "kV": ("voltage", 1e3),
    "A": ("current", 1.0), "mA": ("current", 1e-3), "ohm": ("resistance", 1.0), "kohm": ("resistance", 1e3),
    "W": ("power", 1.0), "kW": ("power", 1e3), "J": ("energy", 1.0), "kJ": ("energy", 1e3),
    "kWh": ("energy", 3.6e6), "N": ("force", 1.0), "kN": ("force", 1e3), "Pa": ("pressure", 1.0),
    "kPa": ("pressure", 1e3), "Hz": ("frequency", 1.0), "kg/m^3": ("density", 1.0), "g/cm^3": ("density", 1e3),
    "g/ml": ("density", 1e3), "dollar": ("money", 1.0), "cent": ("money", 0.01), "¢": ("money", 0.01),
    "degree": ("angle", 1.0), "radian": ("angle", 57.29577951308232), "rad": ("angle", 57.29577951308232),
}  # fmt: skip
# Chinese units (school problems write "12（厘米）") and the measure words of counts ("7只"), read as units
CJK_UNITS = {"毫米": "mm", "厘米": "cm", "分米": "dm", "米": "m", "千米": "km", "公里": "km", "平方厘米": "cm^2",
             "平方米": "m^2", "立方厘米": "cm^3", "克": "g", "千克": "kg", "公斤": "kg", "秒": "s", "分钟": "min",
             "小时": "h", "天": "day", "度": "degree", "元": "dollar"} | dict.fromkeys("个只条人本块支辆棵张朵", "unit")  # fmt: skip
NUMBER_WORDS = {
    word: i
    for i, word in enumerate(
        [
            "zero",
            "one",
            "two",
            "three",
            "four",
            "five",
            "six",
            "seven",
            "eight",
            "nine",
            "ten",
            "eleven",
            "twelve",
            "thirteen",
            "fourteen",
            "fifteen",
            "sixteen",
            "seventeen",
            "eighteen",
            "nineteen",
            "twenty",
        ]
    )
} | {"none": 0, "no": 0, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80}

CJK = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")  # Chinese and Japanese: words without spaces
_UNICODE = str.maketrans({"−": "-", "–": "-", "掳": "°", "½": "1/2", "⅓": "1/3", "⅔": "2/3", "¼": "1/4",
                          "¾": "3/4", "⅕": "1/5", "⅙": "1/6", "⅛": "1/8", "∞": "\\infty ", "≤": "\\le ", "≥": "\\ge ", "∠": "\\angle ",
                          "×": "\\times ", "·": "\\cdot ", "π": "\\pi ", "∪": "\\cup ", "²": "^2", "³": "^3"})  # fmt: skip
_WRAPPERS = re.compile(
    r"\\(?:text|textbf|textit|textrm|textnormal|textup|textsf|texttt|mathrm|mathbf|mathit|mathsf|mathtt|"
    r"mathnormal|operatorname|mbox|hbox|bm|boldsymbol)\s*\{([^{}]*)\}"
)
# "掳" is "°" read in the wrong encoding, as some MathVerse golds store it ("118掳T")
_CURRENCY = re.compile(
    r"^(?:USD|US\$|EUR|GBP|RMB|CNY|JPY|INR|[€£¥₹])\s*(?=[-−+]?\d)"
)  # "USD 1,240.00", "€3.50"
_APOSTROPHE_GROUPED = re.compile(r"(?<=\d)[’'](?=\d{3}(?!\d))")  # 12’500, as Swiss usage groups thousands
_GROUPED = re.compile(r"(?<![\d.,])\d{1,3}(?:(?:\\[ ;:]|[ \u00a0\u202f~])\d{3})+(?![\d,]|\.\d*\s\d)")
_REPEATING = re.compile(
    r"(?P<sign>-)?(?P<whole>\d*)\.(?P<fixed>\d*)\\(?:overline|dot|bar)\s*\{?(?P<period>\d{1,6})\}?"
)
_MATRIX = re.compile(r"\\(begin|end)\{[pbBvV]?matrix\}")
_QUOTED = re.compile(r"^(['\"`‘“])([^'\"`‘’“”]+)(?:\1|’|”)$")
_SPACING = re.compile(r"\\[,!;: ]|\\quad|\\qquad|\\displaystyle|\\left|\\right|\\big[lr]?|\\Big[lr]?|~")
_DEGREE = re.compile(r"\^\s*\{?\s*\\circ\s*\}?|°|\\circ|\\degree|\bdegrees?\b", re.I)
_PERCENT = re.compile(r"\\?%|\bpercent\b", re.I)
_NUM = re.compile(
    r"(?P<sign>[-+−]?)\s*(?P<num>(?:\d{1,3}(?:,\d{3})+|\d+)(?:\.\d*)?|\.\d+)"
    r"(?:\s*(?:e|E|\\times\s*10\s*\^|\*\s*10\s*\^|x\s*10\s*\^|\\cdot\s*10\s*\^)\s*\{?(?P<exp>[-+−]?\d+)\}?)?"
)
_FRAC = re.compile(
    r"(?P<sign>[-+−]?)\s*(?:(?P<whole>\d+)(?:\s*(?=\\frac)|\s+(?=\d+\s*/\s*\d)))?(?:\\frac\s*\{\s*(?P<a>\d+)\s*\}\s*\{\s*(?P<b>\d+)\s*\}"
    r"|\\frac\s*(?P<a1>\d)(?P<b1>\d)|(?P<a2>\d+)\s*/\s*(?P<b2>\d+))"
)

_VARIABLE_TERM = re.compile(r"\d[a-z](?![a-z])|(?<![a-z])[a-z][²³]?\s*[-+−/]|[-+−]\s*\d*[a-z](?![a-z])")
_EQUATION_MARK = re.compile(r"\d\s*[a-z]|[a-z]\s*(?:[²³]|\^)|(?:^|[-+−])\s*\d+(?:\.\d+)?\s*(?:[-+−]|$)")
_GROUP = re.compile(r"\([^()]*\)|\|[^|]*\||\{[^{}]*\}|\[[^\[\]]*\]")


def has_variable_term(side: str) -> bool:
    """Whether a side of "=" is an equation's: a sum with a variable term and a coefficient, a power or a
    constant term ("2x - y + 1", "x²/4 + y²/3", "x - 2"). "a + b = 12" names a value (the sum), and so
    does "|a + b| = 3": terms inside brackets or bars do not count."""
    for _ in range(4):  # nested groups, a few levels
        side, n = _GROUP.subn(" G ", side)
        if not n:
            break
    return bool(_VARIABLE_TERM.search(side) and _EQUATION_MARK.search(side))


@dataclass(frozen=True)
class Quantity:
    """A number as written: exact value, decimals shown (None for fractions), unit, percent."""

    value: Fraction
    decimals: int | None
    unit: str | None = None
    percent: bool = False
    written: Fraction | None = None  # the number before a scale word: 197.3 for "197.3 billion"


@lru_cache(maxsize=CACHE)
def normalize(text: str) -> str:
    """Strip the LaTeX that never changes an answer's meaning: delimiters, spacing, text wrappers."""
    s = text.strip().translate(_UNICODE)
    s = s.replace("\\leq", "\\le").replace("\\geq", "\\ge").replace("<=", "\\le ").replace(">=", "\\ge ")
    s = s.replace("\\dfrac", "\\frac").replace("\\tfrac", "\\frac").replace("\\cfrac", "\\frac")
    s = s.replace("\\$", "").replace("$", "").replace("**", "")
    for _ in range(3):  # nested wrappers, a few levels at most
        s = _WRAPPERS.sub(r"\1", s)
    s = re.sub(r"\\!|(?<=\d)\\,(?=\d)", "", s)  # 12,\!000 and 12\,000 are one number
    s = s.replace("{,}", ",")  # 1{,}234 is 1,234
    s = _APOSTROPHE_GROUPED.sub("", _CURRENCY.sub("", s))
    s = _GROUPED.sub(lambda m: re.sub(r"\D", "", m.group(0)), s)  # 1 234, 27\ 000, 1\;000: one number
    s = _MATRIX.sub(r"\\\1{matrix}", s)  # pmatrix, bmatrix, ... are one matrix
    s = _SPACING.sub(" ", s)
    s = re.sub(r"^\\\(|\\\)$|^\\\[|\\\]$", "", s.strip())
    s = re.sub(r"\s+", " ", s).strip()
    s = _QUOTED.sub(r"\2", s)  # 'Yes', "30", `x+1`, “left”
    return s.rstrip(".").strip()


@lru_cache(maxsize=CACHE)
def quantity(text: str) -> Quantity | None:
    """Parse a plain number with an optional unit or percent sign; None for anything else."""
    s = normalize(text)
    if not s or len(s) > MAX_DIGITS:
        return None
    percent = bool(_PERCENT.search(s))
    s = _PERCENT.sub("", s)
    s = re.sub(r"(°|\\circ\}?)\s*T$", r"\1", s)  # a true bearing's "T": 221° T is 221°
    unit = "degree" if _DEGREE.search(s) else None
    s = _DEGREE.sub("", s).strip()
    repeating = _REPEATING.fullmatch(s)
    if repeating:  # 0.\overline{6} = 2/3, 1.2\dot{3} = 37/30: an exact value
        whole, fixed, period = repeating["whole"] or "0", repeating["fixed"] or "", repeating["period"]
        value = Fraction(
            int(whole + fixed + period) - int(whole + fixed), (10 ** len(period) - 1) * 10 ** len(fixed)
        )
        return Quantity(-value if repeating["sign"] else value, None, unit, percent)
    number, rest = _leading_number(s)
    if number is None:
        return _worded(s, unit, percent)
    rest = rest.strip()
    value, decimals = number
    scale = _SCALE.match(rest)
    written = None
    if scale:  # "1 million", "2.5 thousand": an exact count, not a unit
        written, value, decimals = value, value * _SCALES[scale[1].lower()], 0
        rest = rest[scale.end() :].strip()
    if rest:
        if unit is not None or not _looks_like_unit(rest):
            return None
        unit = canonical_unit(rest)
    return Quantity(value, decimals, unit, percent, written)


_SCALES = {"thousand": 10**3, "million": 10**6, "billion": 10**9, "trillion": 10**12}
_SCALE = re.compile(r"(thousand|million|billion|trillion)\b", re.IGNORECASE)


def _leading_number(s: str) -> tuple[tuple[Fraction, int | None] | None, str]:
    m = _FRAC.match(s)
    if m:
        a, b = m["a"] or m["a1"] or m["a2"], m["b"] or m["b1"] or m["b2"]
        if int(b) == 0:
            return None, s
        value = Fraction(int(a), int(b)) + int(m["whole"] or 0)
        return ((-value if m["sign"] in ("-", "−") else value), None), s[m.end() :]
    m = _NUM.match(s)
    if not m:
        return None, s
    digits = m["num"].replace(",", "")
    exp = int((m["exp"] or "0").replace("−", "-"))
    if abs(exp) > MAX_EXPONENT:
        return None, s
    value = Fraction(digits.rstrip(".") or "0") * Fraction(10) ** exp
    if m["sign"] in ("-", "−"):
        value = -value
    decimals = len(digits.split(".")[1]) if "." in digits else 0
    return (value, max(decimals - exp, 0)), s[m.end() :]


def _worded(s: str, unit: str | None, percent: bool) -> Quantity | None:
    words = s.lower().split()
    if not words or words[0] not in NUMBER_WORDS:
        return None
    rest = " ".join(words[1:])
    if rest and not _looks_like_unit(rest):
        return None
    return Quantity(Fraction(NUMBER_WORDS[words[0]]), 0, canonical_unit(rest) if rest else unit, percent)


def _looks_like_unit(rest: str) -> bool:
    """A trailing word or two ("cm", "square units", "m^2", "dollars", "厘米"), not an expression ("x", "\\pi").

    A single letter is a unit only when it is a known one (m, s, h, g, l): "5x" is an expression.
    """
    rest = _unit_symbols(rest)
    if rest.strip("()（）") in CJK_UNITS:
        return True
    if not re.fullmatch(r"(?:[a-zA-Z]+(?:/[a-zA-Z]+)?\.?)(?:\s*\^\s*\{?[23]\}?)?(?:\s+[a-zA-Z]+){0,2}", rest):
        return False
    return len(re.sub(r"[^a-zA-Z]", "", rest)) > 1 or canonical_unit(rest).split("^")[0] in UNITS


def canonical_unit(unit: str) -> str:
    """'\\text{ minutes}' -> 'minute', 'cm^{2}' -> 'cm^2', 'square cm' -> 'cm^2', 'kW·h' -> 'kWh', 'mA' -> 'mA'.

    Symbols are matched case-sensitively first (mA is not MA), then in lower case.
    """
    raw = _unit_symbols(unit).rstrip(".").strip("()（）")
    if raw in CJK_UNITS:
        return CJK_UNITS[raw]
    if raw in UNITS:
        return raw
    u = re.sub(r"\s+", " ", raw.lower())
    m = re.fullmatch(r"(?:square|sq\.?) (\w+)", u)
    if m:
        u = m.group(1) + "^2"
    m = re.fullmatch(r"(?:cubic) (\w+)", u)
    if m:
        u = m.group(1) + "^3"
    first = u.split(" ")[0]
    if u not in UNITS and " " in u and (first in UNITS or first.rstrip("s") in UNITS):
        u = first  # "km long", "cm tall"
    base, _, power = u.partition("^")
    if base not in UNITS and base.endswith("s") and base[:-1] in UNITS:
        base = base[:-1]
    if base.endswith("es") and base[:-2] in UNITS:
        base = base[:-2]
    return base + ("^" + power if power else "")


def _unit_symbols(unit: str) -> str:
    """Braces, products and spacing out of a unit, Ω spelled ohm: "kW \\cdot h" -> "kWh", "cm^{2}" -> "cm^2"."""
    unit = re.sub(r"\s*(?:\\cdot|·|\*)\s*", "", re.sub(r"[{}]", "", unit))
    return re.sub(r"\s*\^\s*", "^", re.sub(r"\\Omega|Ω", "ohm", unit)).strip()


def in_base_units(q: Quantity) -> tuple[str, Fraction | float] | None:
    """(dimension, value in the dimension's base unit) for a known unit, else None."""
    if q.unit not in UNITS:
        return None
    dimension, factor = UNITS[q.unit]
    return dimension, (q.value if factor == 1.0 else float(q.value) * factor)
