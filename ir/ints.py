"""co's integers: signed 64-bit, wrapping around on overflow (two's complement).

The one definition of the range and of wrapping, used by the reader, the
verifiers, the interpreters, the VM and the fast backend alike.
"""

INT_MIN = -(2**63)
INT_MAX = 2**63 - 1
_MASK = 2**64 - 1


def fits(n: int) -> bool:
    """Whether n is a 64-bit integer as it stands."""
    return INT_MIN <= n <= INT_MAX


def wrap(n: int) -> int:
    """n as a signed 64-bit integer (two's complement wrap-around)."""
    if INT_MIN <= n <= INT_MAX:
        return n
    return ((n - INT_MIN) & _MASK) + INT_MIN
