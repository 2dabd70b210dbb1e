"""Reading a value back from its cells, in LANGUAGE.md's printed forms.

    42   -7   true   {1, {2, 3}, true}   {}
    Fiber {int; int} `Pending     Fiber int (`Done 55)
    lam2 {x, 5, y, 6}             add {}          (closures: lambda and captures)

The layouts are those of docs/machine.md: a tuple's element 0 is nearest the
top (the highest address), a fiber is {bit, value, fibidx, fibdirty}, a
closure of a several-lambda set has its tag in its top cell, and a box's
cell holds the record of its contents' cells (a tuple), which prints as the
contents do. A fiber's type prints as co writes it, function types and all,
when the caller gives that type (`value_type`). Cells that are not what the type says (a box where a number
belongs, or the other way round: only a hand-written listing gets there)
are a RuntimeFault.
"""

from __future__ import annotations

from collections.abc import Sequence

from ir.faults import RuntimeFault
from ir.types import BoolT, BoxT, ClosureT, FiberT, IntT, TupleT, Type, cell_size, show_type


def show_value(cells: Sequence[int], t: Type, value_type: Type | None = None) -> str:
    """The printed form of the value of type t held in cells (lowest address
    first). value_type is the same type as co writes it, if it differs (it
    holds function types): a fiber prints its type so."""
    if len(cells) != cell_size(t):
        raise ValueError(f"a {show_type(t)} has {cell_size(t)} cells, not {len(cells)}")
    out: list[str] = []  # joined once at the end: a deep value prints in linear time
    try:
        _show(cells, 0, t, t if value_type is None else value_type, out)
    except TypeError:
        raise RuntimeFault(f"the result is no {show_type(t)}: a box is where a number belongs") from None
    return "".join(out)


def _show(cells: Sequence[int], at: int, t: Type, written: Type, out: list[str]) -> None:
    """Print the value of type t at cells[at]: `written` is t as co writes it
    (t itself, or a function type where t has a closure type, boxed or not)."""
    match t:
        case IntT():
            out.append(str(_number(cells[at])))
        case BoolT():
            out.append("true" if _number(cells[at]) else "false")
        case TupleT(elems):
            out.append("{")
            for i, ((start, e), w) in enumerate(zip(_tuple_starts(at, elems), written.elems)):
                if i:
                    out.append(", ")
                _show(cells, start, e, w, out)
            out.append("}")
        case FiberT(result):
            if cells[at + 2 + cell_size(result)] == 0:
                out.append(f"{show_type(written)} `Pending")
            else:
                out.append(f"{show_type(written)} (`Done ")
                _show(cells, at + 2, result, written.result, out)
                out.append(")")
        case ClosureT(lambdas):
            members = lambdas.members
            if not members:
                raise ValueError("no value has a closure type with an empty lambda set")
            tag = cells[at + cell_size(t) - 1] if len(members) > 1 else 0
            if not 0 <= tag < len(members):
                raise ValueError(f"closure tag {tag} is not a member of {show_type(t)}")
            member = members[tag]
            written_captures = written.lambdas.member(member.name).captures
            out.append(f"{member.name} {{")
            starts = _tuple_starts(at, tuple(c.type for c in member.captures))
            for i, (capture, w, (start, _)) in enumerate(zip(member.captures, written_captures, starts)):
                out.append(f"{', ' if i else ''}{capture.name}, ")
                _show(cells, start, capture.type, w.type, out)
            out.append("}")
        case BoxT(contents):
            record = cells[at]
            if not isinstance(record, tuple):
                raise RuntimeFault(f"the result is no {show_type(t)}: the number {record} is where a box belongs")
            _show(record, 0, contents, contents if written is t else written, out)  # as if unboxed
        case _:
            raise ValueError(f"no value has type {show_type(t)}")


def _number(cell: int) -> int:
    if type(cell) is not int:
        raise TypeError("a box where a number belongs")
    return cell


def _tuple_starts(at: int, elems: tuple[Type, ...]) -> list[tuple[int, Type]]:
    """(first cell, type) of each element, element 0 first; the last element lies lowest."""
    starts = []
    for e in reversed(elems):
        starts.append((at, e))
        at += cell_size(e)
    return starts[::-1]
