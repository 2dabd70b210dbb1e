"""The hand-written Python the benchmark compares co against: the same
computations, written the obvious way, each returning its value printed as
co prints it.

`python bench_python.py NAME N` prints NAME(N): the whole-process
measurement, which imports nothing of ours. The module imports nothing at
all, so that running it costs what a hand-written script costs.
"""

import sys


def fib(n: int) -> int:
    return n if n < 2 else fib(n - 1) + fib(n - 2)


def fib_fiber(n: int) -> str:
    """fib yields to its parent on every call; the parent counts the resumes."""
    def fib(n):
        yield
        if n < 2:
            return n
        return (yield from fib(n - 1)) + (yield from fib(n - 2))

    fiber = fib(n)
    next(fiber)  # spawn runs the fiber to its first yield
    resumes = 0
    while True:
        resumes += 1
        try:
            next(fiber)
        except StopIteration as done:
            return f"{{{done.value}, {resumes}}}"


def loop(n: int) -> str:
    t = (n, 0)
    while t[0] != 0:
        t = (t[0] - 1, t[1] + t[0])
    return str(t[1])


def spawns(n: int) -> str:
    """n rounds of: spawn a fiber that yields once, resume it, add its result."""
    def fiber(k):
        yield
        return k

    total = 0
    while n != 0:
        spawned = fiber(n)
        next(spawned)  # spawn runs the fiber to its first yield
        try:
            next(spawned)
        except StopIteration as done:
            total += done.value
        n -= 1
    return str(total)


PROGRAMS = {"fib": lambda n: str(fib(n)), "fib_fiber": fib_fiber, "loop": loop, "spawns": spawns}

if __name__ == "__main__":
    print(PROGRAMS[sys.argv[1]](int(sys.argv[2])))
