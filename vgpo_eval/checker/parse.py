"""Parse: an answer string -> a typed `Answer`, once (the Math-Verify idea: parse, then verify).

An `Answer` holds what the comparison layer reads from a string: its cleaned text, its number
(value, decimals, unit, percent), its parts (tuple, set, roots, assignments), its intervals and
its expression. Each reading is made once per distinct string and kept (`functools.lru_cache`
in `quantity`, `compare` and `expr`), so a gold answer scored against many responses (avg@k,
an RL group of 8) or an option text compared with every response of a sample is parsed once.
`kind` names the form, and the strict protocol's rules are named after it ("number:boxed").

    >>> parse("(0.6, 8/3]").kind
    'interval'
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import cached_property, lru_cache

from vgpo_eval.checker import expr
from vgpo_eval.checker.compare import Parts, intervals, parts
from vgpo_eval.checker.quantity import CACHE, Quantity, normalize, quantity

KINDS = ("number", "interval", "list", "set", "expr", "text")
_UNBOUNDED = re.compile(r"\\infty|\\cup")
_TEXT = re.compile(r"[A-Za-z][A-Za-z \-']*")


@dataclass(frozen=True)
class Answer:
    """One answer string and its typed readings (each computed on first use, then kept)."""

    raw: str

    @cached_property
    def text(self) -> str:
        """The LaTeX-cleaned text every comparison starts from."""
        return normalize(self.raw)

    @cached_property
    def number(self) -> Quantity | None:
        """A plain number with its unit or percent sign, or None."""
        return quantity(self.raw)

    @cached_property
    def parts(self) -> Parts:
        """Its parts: one for a single value, several for tuples, sets, roots and assignments."""
        return parts(self.raw)

    @cached_property
    def intervals(self) -> tuple[tuple[str, str, str, str], ...] | None:
        """(open, low, high, close) per interval when it reads as intervals or inequalities."""
        return intervals(self.raw)

    @cached_property
    def expression(self) -> expr.Expr | None:
        """The bounded evaluator's reading of a formula, or None outside its grammar."""
        return expr.parse(self.text)

    @cached_property
    def kind(self) -> str:
        """number, interval, list, set, expr or text (see KINDS)."""
        if self.number is not None:
            return "number"
        if self.intervals and (self.parts.brackets in ("(]", "[)") or _UNBOUNDED.search(self.text)):
            return "interval"
        if len(self.parts.items) > 1:
            return "set" if self.parts.brackets == "{}" else "list"
        if self.intervals and not self.expression:
            return "interval"
        return "text" if _TEXT.fullmatch(self.raw.strip()) else "expr"

    def describe(self) -> str:
        """What it parsed to, in one line (for `check --explain`)."""
        if self.kind == "number":
            n = self.number
            unit = f" {n.unit}" if n.unit else ""
            return f"number {n.value}{unit}{' %' if n.percent else ''} (decimals {n.decimals})"
        if self.kind in ("list", "set"):
            return f"{self.kind} of {len(self.parts.items)}: {', '.join(self.parts.items)}"
        if self.kind == "interval":
            return "interval " + " ∪ ".join(f"{a}{lo}, {hi}{b}" for a, lo, hi, b in self.intervals)
        if self.kind == "expr" and self.expression is not None:
            names = ", ".join(sorted(self.expression.variables)) or "none"
            return f"expression {self.text!r} (variables: {names})"
        return f"{self.kind} {self.text!r}"


@lru_cache(maxsize=CACHE)
def parse(raw: str) -> Answer:
    """The typed answer of a string, made once per distinct string in this process."""
    return Answer(raw)


def clear_caches() -> None:
    """Forget every parsed string and cached comparison (benchmarks of unseen rows, tests)."""
    from vgpo_eval.checker import choices, compare, quantity

    for fn in (parse, quantity.normalize, quantity.quantity, expr.parse, compare.equal, compare.parts,
               compare.intervals, compare.scalar_equal, compare._split_unit, compare.symbolic_equal,
               choices.gold_letters, choices.pred_letters, choices._option_text, choices._written,
               choices._phrases):  # fmt: skip
        fn.cache_clear()
