"""Expressions over Python locals, with intervals: the values of cells as
to-python holds them between instructions.

An Expr is the text of a pure Python expression (or of one call that has
not run yet), its precedence, the interval of the Python int it evaluates
to, and the locals it reads. A value of 64 bits lies in [INT_MIN, INT_MAX];
an expression may lie outside, and is wrapped where it is observed
(passes/to_python/cells.py). A loose expression (a call's result, or sums
of them) is any int congruent to its value: its interval says nothing.

Ranges holds the intervals of locals as the branches above the code being
compiled have narrowed them (`n < 2` false: n >= 2).
"""

from __future__ import annotations

from ir import blocks as B
from ir.immutable import immutable
from ir.ints import INT_MAX, INT_MIN, wrap

# Precedences, as Python's grammar orders them.
ATOM, UNARY, MUL, ADD, COMPARE, NOT, TEST = 16, 14, 13, 12, 7, 5, 1
_OPS = {B.Add: ("+", ADD), B.Sub: ("-", ADD), B.Mul: ("*", MUL), B.Lt: ("<", COMPARE), B.Eq: ("==", COMPARE)}


@immutable
class Expr:
    """A pure expression (or one waiting call) over Python locals, with an
    interval holding the Python int it evaluates to."""

    text: str
    prec: int
    lo: int
    hi: int
    names: frozenset[str] = frozenset()
    effect: bool = False  # holds a call that has not run yet
    size: int = 0  # operators in it
    test: tuple | None = None  # (op, left, right) of a comparison, to narrow intervals on a branch
    loose: bool = False  # a call's result, or sums of them: any int, interval unknown

    @property
    def wrapped(self) -> bool:
        return not self.loose and INT_MIN <= self.lo and self.hi <= INT_MAX

    @property
    def trivial(self) -> bool:
        return self.prec == ATOM and self.size == 0 and not self.effect or self.is_const

    @property
    def is_const(self) -> bool:
        return self.lo == self.hi and not self.names and not self.effect and not self.loose


def const(n: int) -> Expr:
    return Expr(str(n), ATOM if n >= 0 else UNARY, n, n)


def var(name: str, lo: int = INT_MIN, hi: int = INT_MAX, loose: bool = False) -> Expr:
    if lo == hi and not loose:
        return const(wrap(lo))
    return Expr(name, ATOM, lo, hi, frozenset((name,)), loose=loose)


UNSET = Expr("<unset>", ATOM, 0, 0)  # a return cell not written yet (never read: see ProcFacts)
# An argument cell after a call that may change it: computing with it (an
# operation, a test, an unbox) cannot compile; moved, copied or passed on, it
# is a closure's padding (docs/machine.md, "Frames"), which nothing reads, so
# it goes as a 0.
CLOBBERED = Expr("0", ATOM, 0, 0)


def paren(e: Expr, above: int) -> str:
    return e.text if e.prec > above else f"({e.text})"


def negated(condition: Expr) -> str:
    """`not condition`, as the test of an `if`."""
    return f"not {paren(condition, NOT)}"


def binary(op: type, x: Expr, y: Expr) -> Expr:
    """x op y, x being the left operand (the stack's top)."""
    symbol, prec = _OPS[op]
    if op is B.Add:
        lo, hi = x.lo + y.lo, x.hi + y.hi
    elif op is B.Sub:
        lo, hi = x.lo - y.hi, x.hi - y.lo
    elif op is B.Mul:
        corners = (x.lo * y.lo, x.lo * y.hi, x.hi * y.lo, x.hi * y.hi)
        lo, hi = min(corners), max(corners)
    else:
        lo, hi = 0, 1
    if x.is_const and y.is_const:
        value = {B.Add: x.lo + y.lo, B.Sub: x.lo - y.lo, B.Mul: x.lo * y.lo,
                 B.Lt: int(x.lo < y.lo), B.Eq: int(x.lo == y.lo)}[op]
        return const(wrap(value))
    if op is B.Sub and x.is_const and x.lo == 0:
        text, prec = f"-{paren(y, UNARY - 1)}", UNARY
    else:
        # Comparisons chain in Python: an operand that is one needs parentheses.
        left = paren(x, prec - 1 if prec != COMPARE else prec)
        text, prec = f"{left} {symbol} {paren(y, prec)}", prec
    test = (op, x, y) if op in (B.Lt, B.Eq) else None
    return Expr(text, prec, lo, hi, x.names | y.names, x.effect or y.effect, x.size + y.size + 1, test,
                x.loose or y.loose)


def call(function: str, args: list[Expr], loose: bool = True) -> Expr:
    """The call, waiting to run; its result is loose unless the callee returns it wrapped."""
    text = f"{function}({', '.join(paren(a, 0) for a in args)})"
    return Expr(text, ATOM, INT_MIN, INT_MAX, frozenset().union(*(a.names for a in args)), True, 1, loose=loose)


class Ranges:
    """Intervals of variables, as an overlay on the state at the branch that
    led here: an arm's changes stay in its own overlay until the arms join."""

    def __init__(self, parent: Ranges | None = None):
        self.parent = parent
        self.own: dict[str, tuple[int, int]] = {}

    def get(self, name: str) -> tuple[int, int]:
        ranges = self
        while ranges is not None:
            found = ranges.own.get(name)
            if found is not None:
                return found
            ranges = ranges.parent
        return INT_MIN, INT_MAX

    def set(self, name: str, lo: int, hi: int) -> None:
        self.own[name] = (lo, hi)

    def forgetting(self, names: list[str]) -> Ranges:
        """An overlay where nothing is known of names (a loop may change them)."""
        overlay = Ranges(self)
        for name in names:
            overlay.own[name] = (INT_MIN, INT_MAX)
        return overlay

    def changed_since(self, base: Ranges) -> set[str]:
        names, ranges = set(), self
        while ranges is not base and ranges is not None:
            names.update(ranges.own)
            ranges = ranges.parent
        return names

    def join(self, arms: list[Ranges]) -> None:
        """Make self (the state at the branch) the state where the arms meet."""
        changed = sorted(set().union(*(arm.changed_since(self) for arm in arms)))
        for name in changed:
            bounds = [arm.get(name) for arm in arms]
            self.own[name] = (min(b[0] for b in bounds), max(b[1] for b in bounds))


def narrow(ranges: Ranges, condition: Expr, holds: bool) -> None:
    """What a branch on condition, taken or not, says about the variables it reads."""
    if condition.test is None:
        if condition.names and condition.prec == ATOM and not condition.is_const:  # a variable: zero or not
            lo, hi = ranges.get(condition.text)
            if not holds and lo <= 0 <= hi:
                ranges.set(condition.text, 0, 0)
            elif holds and lo == 0 < hi:
                ranges.set(condition.text, 1, hi)
        return
    op, x, y = condition.test
    if op is B.Eq and not holds:
        for v, c in ((x, y), (y, x)):
            if v.names and v.prec == ATOM and c.is_const:
                lo, hi = ranges.get(v.text)
                if c.lo == lo:
                    ranges.set(v.text, lo + 1, hi)
                elif c.lo == hi:
                    ranges.set(v.text, lo, hi - 1)
        return
    if op is B.Eq:
        lo, hi = max(x.lo, y.lo), min(x.hi, y.hi)
        bounds = {x: (lo, hi), y: (lo, hi)}
    elif holds:  # x < y
        bounds = {x: (x.lo, min(x.hi, y.hi - 1)), y: (max(y.lo, x.lo + 1), y.hi)}
    else:  # x >= y
        bounds = {x: (max(x.lo, y.lo), x.hi), y: (y.lo, min(y.hi, x.hi))}
    for v, (lo, hi) in bounds.items():
        if v.names and v.prec == ATOM and not v.is_const and lo <= hi:
            ranges.set(v.text, lo, hi)
