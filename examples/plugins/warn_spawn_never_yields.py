"""A checker plugin: warn about `spawn e` where e can never yield.

Such a fiber runs to its end at once, so `spawn` hands back a handle that
is already Done: the fiber buys nothing. It reads the typed IR, writes
none, and runs after `infer`:

    python -m passes prog.co --plugin examples/plugins/warn_spawn_never_yields.py
    python -m passes prog.co --plugin examples/plugins/warn_spawn_never_yields.py \\
        --pass-option warn-spawn-never-yields.as_error=true

"Can yield" follows calls: a call can yield when some lambda of the
callee's lambda set can, which is a fixpoint over the program's lambdas.
A lambda written inside e, or a nested `spawn`, does not make e yield:
its code runs elsewhere, or in another fiber.
"""

from dataclasses import dataclass

from ir import typed as T
from ir.traverse import children, walk
from passes.framework import Diagnostic, Pass


@dataclass(frozen=True)
class WarnSpawnNeverYields(Pass):
    name = "warn-spawn-never-yields"
    input_ir = "typed"
    output_ir = None
    summary = "warn about spawn of an expression that never yields"
    runs_after = "infer"
    as_error: bool = False  # report an error (exit status 1) instead of a warning

    def run(self, program: T.Program) -> list[Diagnostic]:
        lambdas = [n for n in walk(program.body) if isinstance(n, T.Lam)]
        yielding: set[str] = set()
        grew = True
        while grew:  # a lambda yields if its body may: grow the set until it stops
            fresh = {lam.name for lam in lambdas if lam.name not in yielding and may_yield(lam.body, yielding)}
            yielding |= fresh
            grew = bool(fresh)
        severity = "error" if self.as_error else "warning"
        return [Diagnostic(severity, "this spawned expression never yields: the fiber runs to its end "
                                     "at once, and spawn returns a handle that is already done", node.span)
                for node in walk(program.body) if isinstance(node, T.Spawn) and not may_yield(node.body, yielding)]


def may_yield(e: T.Expr, yielding: set[str]) -> bool:
    """Whether evaluating e in the current fiber may reach a yield."""
    if isinstance(e, T.Yield):
        return True
    if isinstance(e, (T.Lam, T.Spawn)):
        return False
    if isinstance(e, T.App) and any(name in yielding for name in e.fn.type.lambdas.names):
        return True
    return any(may_yield(child, yielding) for child in children(e))
