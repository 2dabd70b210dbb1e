"""A transformation plugin that brings its own IR: constant folding.

`fold-constants` (typed -> folded) replaces every operator applied to
literals alone by its value: `2 * 3 + x` becomes `6 + x`, `1 < 2` becomes
`true`, `-(1 + 2)` becomes `-3`. Its output IR, `folded`, is declared
below as a delta of typed: typed without Neg, since a negation is folded
into its literal or else written `0 - e` (the same value, wrapping
included), so that later passes meet one form of subtraction. Its verifier
adds what a grammar cannot say: no operator is left with only literal
operands. The pass `forget-folded` (folded -> typed) hands the program back
to the built-in passes, so the default pipeline goes on to run it:

    python -m passes prog.co --plugin examples/plugins/fold_constants.py --print-after fold-constants
    python -m passes --show-ir folded --delta --plugin examples/plugins/fold_constants.py

Arithmetic wraps around at 64 bits, as on the machine. With the option
`comparisons=false` it folds arithmetic only, and then its output is not
`folded` IR: the verifier says so (try it with --verify-each).
"""

from dataclasses import dataclass, replace

from ir import IRSpec, VerifyError
from ir import typed as T
from ir.traverse import Rewriter, walk
from passes.framework import Pass

ARITHMETIC = {"+": lambda a, b: a + b, "-": lambda a, b: a - b, "*": lambda a, b: a * b}
COMPARISONS = {"<": lambda a, b: a < b, "==": lambda a, b: a == b}
LITERALS = (T.Int, T.Bool)


def wrap(n: int) -> int:
    return (n + 2**63) % 2**64 - 2**63


GRAMMAR = T.GRAMMAR.extend("folded", """
    Expr ::= ...
           - Neg
""")


def verify_folded(program: T.Program) -> None:
    GRAMMAR.check(program)  # every form a folded one: no Neg
    T.check_typing(program)
    for node in walk(program.body):
        if isinstance(node, T.BinOp) and isinstance(node.left, LITERALS) and isinstance(node.right, LITERALS):
            raise VerifyError("no-literal-operations", "an operator on literals alone is left unfolded", node)


IR = IRSpec(
    grammar=GRAMMAR,
    summary="typed, with no negation, and no operator applied to literals alone",
    printer=T.print_program,
    node_printer=T.print_node,
    verifier=verify_folded,
)


@dataclass(frozen=True)
class FoldConstants(Pass):
    name = "fold-constants"
    input_ir = "typed"
    output_ir = "folded"
    summary = "replace operators on literals by their values"
    runs_after = "infer"
    comparisons: bool = True  # fold `<` and `==` too

    def run(self, program: T.Program) -> T.Program:
        return replace(program, body=_Folder(IR, self.comparisons)(program.body))


class _Folder(Rewriter):
    pass_name = "fold-constants"

    def __init__(self, output: IRSpec, comparisons: bool):
        super().__init__(output)
        self.comparisons = comparisons

    def BinOp(self, node: T.BinOp) -> T.Expr:
        left, right = self(node.left), self(node.right)
        folded = replace(node, left=left, right=right)
        if not (isinstance(left, LITERALS) and isinstance(right, LITERALS)):
            return folded
        if node.op in ARITHMETIC:
            return T.Int(wrap(ARITHMETIC[node.op](left.value, right.value)), node.type, node.span)
        if self.comparisons:
            return T.Bool(COMPARISONS[node.op](left.value, right.value), node.type, node.span)
        return folded

    def Neg(self, node: T.Neg) -> T.Expr:
        operand = self(node.operand)
        if isinstance(operand, T.Int):
            return T.Int(wrap(-operand.value), node.type, node.span)
        return T.BinOp("-", T.Int(0, node.type, node.span), operand, node.type, node.span)


@dataclass(frozen=True)
class ForgetFolded(Pass):
    name = "forget-folded"
    input_ir = "folded"
    output_ir = "typed"
    summary = "hand a folded program on as typed (every folded program is one)"
    runs_after = "fold-constants"

    def run(self, program: T.Program) -> T.Program:
        return program
