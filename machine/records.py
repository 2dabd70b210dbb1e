"""What a box cell holds on the machine: a reference to an immutable record of cells.

A record is a tuple of the boxed value's cells, made by `box n` and read
by `unbox n`; nothing changes it, and it is freed, as any Python value,
when no cell refers to it any more. A record is no number: adding,
multiplying, comparing or testing one raises TypeError (as a tuple would
only partly do), which the VM reports as a runtime fault, so a hand-written
listing that does arithmetic on a box cell fails cleanly.
"""

from __future__ import annotations


class Record(tuple):
    __slots__ = ()

    def _not_a_number(self, *_) -> None:
        raise TypeError("a box's record is not a number")

    __add__ = __radd__ = __mul__ = __rmul__ = _not_a_number
    __eq__ = __ne__ = __lt__ = __le__ = __gt__ = __ge__ = __bool__ = _not_a_number  # type: ignore[assignment]
    __hash__ = None  # type: ignore[assignment]

    def __repr__(self) -> str:
        return f"Record{tuple.__repr__(self)}"
