"""infer: surface -> typed.

Complete type inference by unification over a union-find, with lambda sets.

1. Name every lambda (LANGUAGE.md: a let-bound lambda takes the let's name,
   anonymous ones are lam, lam1, ... in source order; repeats get a suffix).
2. Walk the program, giving every node a type term and unifying. A lambda's
   type carries a lambda set holding just itself; unifying two function
   types unions their sets. A variable used inside lambdas nested deeper than
   its binding is a capture of each of them, in order of first use.
3. Close the remaining constraints: `==` operands still unknown become int
   (as OCaml would accept `\\a -> \\b -> a == b`); tuple types known only by
   their accessed indices must have become whole tuples; other unknowns
   default to `{}`.
4. Freeze every term into an immutable ir.types value and build the typed IR:
   the surface tree rebuilt by the shared traversal, with a type on each form.

Errors name both types and point at the expression, with a note at the
place the other type came from. A closure that would contain itself is no
error: defunc boxes its lambda set (ir/boxing.py).
"""

from __future__ import annotations


from ir import surface as S
from ir import typed as T
from ir.immutable import immutable
from ir.scope import Scope
from ir.source import CompileError, Note, Span
from ir.traverse import Rewriter, children
from ir.types import BOOL, INT, UNIT, Capture, FiberT, FunT, LambdaSet, LambdaTable, TupleT, Type
from passes.framework import Pass


class Term:
    """A type in the making: a union-find node. shape None means still unknown."""

    __slots__ = ("parent", "shape", "args", "origin")

    def __init__(self, shape=None, args=(), origin: Span | None = None):
        self.parent: Term | None = None
        self.shape = shape  # None | "int" | "bool" | "tuple" | "sparse" | "fiber" | "fun"
        self.args = args  # tuple: list of Terms; sparse: dict index -> Term; fiber: (T,); fun: (A, LSet, B)
        self.origin = origin


class LSet:
    """A lambda set in the making: lambda indices (source order), unioned on unification."""

    __slots__ = ("parent", "members")

    def __init__(self, members: list[int]):
        self.parent: LSet | None = None
        self.members = members


def find(t):
    root = t
    while root.parent is not None:
        root = root.parent
    while t.parent is not None and t.parent is not root:
        t.parent, t = root, t.parent
    return root


@immutable
class LambdaInfo:
    name: str
    span: Span
    node_id: int  # id() of its surface node
    captures: dict[str, Term]  # in order of first use


def name_lambdas(program: S.Program) -> dict[int, str]:
    """Lambda names keyed by id(node): a let's name or `lam`, made unique in source order."""
    found: list[tuple[int, int, str, int]] = []  # (source position, visit order, base name, id)
    let_named: dict[int, str] = {}
    stack: list[S.Expr] = [program.body]
    while stack:
        e = stack.pop()
        if isinstance(e, (S.Let, S.LetRec)) and isinstance(e.value, S.Lam):
            let_named[id(e.value)] = e.name
        if isinstance(e, S.Lam):
            found.append((e.span.start, len(found), let_named.get(id(e), "lam"), id(e)))
        stack.extend(reversed(children(e)))
    used: set[str] = set()
    counters: dict[str, int] = {}
    names: dict[int, str] = {}
    for _, _, base, node_id in sorted(found):
        n = counters.get(base, 0)
        while (candidate := base if n == 0 else f"{base}{n}") in used:
            n += 1
        counters[base] = n + 1
        used.add(candidate)
        names[node_id] = candidate
    return names


class InfiniteType(Exception):
    """Unification made a cyclic type; the eager re-run reports where."""


class Inference:
    def __init__(self, program: S.Program, eager_occurs: bool):
        self.program = program
        # The occurs check on every binding costs time proportional to the
        # type being bound, which makes deeply nested lambdas quadratic. So
        # by default cycles are looked for once, at the end, and only a
        # program that has one is inferred again with the eager check, which
        # stops at the exact binding that closes the cycle.
        self.eager_occurs = eager_occurs
        self.names = name_lambdas(program)
        self.lambdas: list[LambdaInfo] = []  # by lambda index, in visit order
        self.lambda_index: dict[int, int] = {}  # id(Lam node) -> index
        self.term_of: dict[int, Term] = {}  # id(surface node) -> its type term
        self.enclosing: list[tuple[int, int]] = []  # (lambda index, depth) of the lambdas we are inside
        self.equalities: list[tuple[Term, S.Expr]] = []
        self.sparse_sites: dict[int, tuple[Span, int]] = {}

    # -- unification -------------------------------------------------------------

    def unify(self, expected: Term, actual: Term, at: Span) -> None:
        a, b = find(expected), find(actual)
        if a is b:
            return
        if a.shape is None or b.shape is None:
            var, other = (a, b) if a.shape is None else (b, a)
            self.check_occurs(var, other, at)
            var.parent = other
            return
        if a.shape == "sparse" or b.shape == "sparse":
            self.unify_sparse(a, b, at)
            return
        if a.shape != b.shape or (a.shape == "tuple" and len(a.args) != len(b.args)):
            self.mismatch(a, b, at)
        # Merge first, then unify the parts: unification always terminates.
        b.parent = a
        if a.shape == "tuple":
            for x, y in zip(a.args, b.args):
                self.unify(x, y, at)
        elif a.shape == "fiber":
            self.unify(a.args[0], b.args[0], at)
        elif a.shape == "fun":
            self.unify(a.args[0], b.args[0], at)
            self.union_lambda_sets(a.args[1], b.args[1])
            self.unify(a.args[2], b.args[2], at)

    def check_occurs(self, var: Term, other: Term, at: Span) -> None:
        """With the eager check: that binding var to other makes no cyclic type."""
        if self.eager_occurs and self.occurs(var, other):
            raise CompileError(f"this expression would have an infinite type: {self.show(var)} occurs inside "
                               f"{self.show(other)}", at)

    def unify_sparse(self, a: Term, b: Term, at: Span) -> None:
        sparse, other = (a, b) if a.shape == "sparse" else (b, a)
        # A sparse tuple is bound like a variable, and may close a cycle as one does.
        self.check_occurs(sparse, other, at)
        if other.shape == "sparse":
            self.check_occurs(other, sparse, at)
            merged = dict(sparse.args)
            for index, t in other.args.items():
                if index in merged:
                    self.unify(merged[index], t, at)
                else:
                    merged[index] = t
            other.args = merged
            sparse.parent = other
            self.sparse_sites[id(other)] = min(self.sparse_sites[id(other)], self.sparse_sites[id(sparse)],
                                               key=lambda site: site[0].start)
            return
        if other.shape != "tuple":
            self.mismatch(a, b, at)
        for index, t in sorted(sparse.args.items()):
            if index >= len(other.args):
                site, _ = self.sparse_sites[id(sparse)]
                raise CompileError(
                    f"this tuple has {len(other.args)} element{'s' if len(other.args) != 1 else ''}: "
                    f"there is no element {index} ({self.show(other)})", at,
                    (Note(f"element {index} is accessed here", site),))
        sparse.parent = other
        for index, t in sorted(sparse.args.items()):
            self.unify(other.args[index], t, at)

    def union_lambda_sets(self, x: LSet, y: LSet) -> None:
        a, b = find(x), find(y)
        if a is not b:
            b.parent = a
            a.members = sorted(set(a.members) | set(b.members))

    def occurs(self, var: Term, t: Term) -> bool:
        stack, seen = [t], set()
        while stack:
            node = find(stack.pop())
            if node is var:
                return True
            if id(node) in seen:
                continue
            seen.add(id(node))
            if node.shape in ("tuple", "fiber"):
                stack.extend(node.args)
            elif node.shape == "sparse":
                stack.extend(node.args.values())
            elif node.shape == "fun":
                stack.extend((node.args[0], node.args[2]))
        return False

    def mismatch(self, expected: Term, actual: Term, at: Span) -> None:
        names: dict[int, str] = {}
        notes = []
        for term, word in ((expected, "expected"), (actual, "found")):
            if term.origin is not None and term.origin != at:
                notes.append(Note(f"the type {self.show(term, names)} comes from here", term.origin))
        raise CompileError(
            f"type mismatch: expected {self.show(expected, names)}, found {self.show(actual, names)}",
            at, tuple(notes))

    # -- showing terms in messages ----------------------------------------------

    def show(self, t: Term, names: dict[int, str] | None = None, depth: int = 0) -> str:
        names = {} if names is None else names
        t = find(t)
        if depth > 12:
            return "..."
        match t.shape:
            case None:
                return names.setdefault(id(t), "'" + chr(ord("a") + len(names) % 26))
            case "int" | "bool":
                return t.shape
            case "tuple":
                return "{" + "; ".join(self.show(x, names, depth + 1) for x in t.args) + "}"
            case "sparse":
                known = ", ".join(f"{i}: {self.show(x, names, depth + 1)}" for i, x in sorted(t.args.items()))
                return "{" + known + ", ...}"
            case "fiber":
                inner = self.show(t.args[0], names, depth + 1)
                return f"Fiber ({inner})" if find(t.args[0]).shape in ("fiber", "fun") else f"Fiber {inner}"
            case "fun":
                param, lset, result = t.args
                shown_param = self.show(param, names, depth + 1)
                if find(param).shape in ("fiber", "fun"):
                    shown_param = f"({shown_param})"
                members = " | ".join(self.lambdas[i].name for i in find(lset).members)
                return f"{shown_param} -[{members}]-> {self.show(result, names, depth + 1)}"
        raise AssertionError(t.shape)

    # -- walking the program -----------------------------------------------------

    def depth(self) -> int:
        return len(self.enclosing)

    def infer(self, e: S.Expr, env) -> Term:
        rule = _INFER_RULES.get(e.__class__)
        if rule is None:
            rule = _INFER_RULES[e.__class__] = getattr(Inference, "infer_" + e.__class__.__name__)
        t = self.term_of[id(e)] = rule(self, e, env)
        return t

    def infer_Int(self, e, env):
        return Term("int", origin=e.span)

    def infer_Bool(self, e, env):
        return Term("bool", origin=e.span)

    def infer_Var(self, e, env):
        binding = env.get(e.name)
        if binding is None:
            import difflib  # only for this message: it is slow to import

            close = difflib.get_close_matches(e.name, sorted(env.names()), n=1)
            hint = f"; did you mean `{close[0]}`?" if close else ""
            raise CompileError(f"unbound variable `{e.name}`{hint}", e.span)
        term, bound_depth = binding
        # Every lambda between the use and the binding captures the variable.
        for index, depth in reversed(self.enclosing):
            if depth <= bound_depth:
                break
            captures = self.lambdas[index].captures
            if e.name in captures:
                break
            captures[e.name] = term
        return term

    def infer_Lam(self, e, env, self_name: str | None = None):
        index = len(self.lambdas)
        self.lambdas.append(LambdaInfo(self.names[id(e)], e.span, id(e), {}))
        self.lambda_index[id(e)] = index
        param, result = Term(), Term()
        fun = Term("fun", (param, LSet([index]), result), origin=e.span)
        depth = self.depth() + 1
        mark = env.mark()
        if self_name is not None:
            env.bind(self_name, (fun, depth))
        env.bind(e.param, (param, depth))
        self.enclosing.append((index, depth))
        body = self.infer(e.body, env)
        self.enclosing.pop()
        env.restore(mark)
        self.unify(result, body, e.body.span)
        return fun

    def infer_App(self, e, env):
        fn = self.infer(e.fn, env)
        arg = self.infer(e.arg, env)
        root = find(fn)
        if root.shape == "fun":
            self.unify(root.args[0], arg, e.arg.span)
            return root.args[2]
        if root.shape is not None:
            raise CompileError(f"this expression is not a function: it has type {self.show(root)}",
                               e.fn.span, _origin_note(root, e.fn.span))
        result = Term()
        self.unify(fn, Term("fun", (arg, LSet([]), result), origin=e.fn.span), e.fn.span)
        return result

    def infer_Let(self, e, env):
        value = self.infer(e.value, env)
        mark = env.bind(e.name, (value, self.depth()))
        body = self.infer(e.body, env)
        env.restore(mark)
        return body

    def infer_LetRec(self, e, env):
        fun = self.infer_Lam(e.value, env, self_name=e.name)
        self.term_of[id(e.value)] = fun
        mark = env.bind(e.name, (fun, self.depth()))
        body = self.infer(e.body, env)
        env.restore(mark)
        return body

    def infer_If(self, e, env):
        self.unify(Term("bool"), self.infer(e.cond, env), e.cond.span)
        then = self.infer(e.then, env)
        self.unify(then, self.infer(e.else_, env), e.else_.span)
        return then

    def infer_BinOp(self, e, env):
        left = self.infer(e.left, env)
        right = self.infer(e.right, env)
        if e.op == "==":
            self.unify(left, right, e.right.span)
            self.equalities.append((left, e))
            return Term("bool", origin=e.span)
        operand = Term("int", origin=e.span)
        self.unify(operand, left, e.left.span)
        self.unify(operand, right, e.right.span)
        return Term("bool" if e.op == "<" else "int", origin=e.span)

    def infer_Neg(self, e, env):
        self.unify(Term("int", origin=e.span), self.infer(e.operand, env), e.operand.span)
        return Term("int", origin=e.span)

    def infer_Tuple(self, e, env):
        return Term("tuple", [self.infer(x, env) for x in e.elems], origin=e.span)

    def infer_Proj(self, e, env):
        tup = find(self.infer(e.tuple, env))
        if tup.shape == "tuple":
            if e.index >= len(tup.args):
                raise CompileError(
                    f"no element {e.index} in a tuple of {len(tup.args)} element"
                    f"{'s' if len(tup.args) != 1 else ''} ({self.show(tup)})", e.span,
                    _origin_note(tup, e.span))
            return tup.args[e.index]
        element = Term()
        sparse = Term("sparse", {e.index: element}, origin=e.span)
        self.sparse_sites[id(sparse)] = (e.span, e.index)
        self.unify(tup, sparse, e.span)
        return element

    def infer_Seq(self, e, env):
        self.infer(e.first, env)
        return self.infer(e.second, env)

    def infer_Spawn(self, e, env):
        return Term("fiber", (self.infer(e.body, env),), origin=e.span)

    def infer_Yield(self, e, env):
        return Term("tuple", [], origin=e.span)

    def expect_fiber(self, e: S.Expr, env) -> Term:
        """The type of the fiber's result, after checking that e is a fiber."""
        t = self.infer(e, env)
        result = Term()
        self.unify(Term("fiber", (result,), origin=e.span), t, e.span)
        return result

    def infer_Resume(self, e, env):
        self.expect_fiber(e.fiber, env)
        return self.term_of[id(e.fiber)]

    def infer_Stat(self, e, env):
        result = self.expect_fiber(e.fiber, env)
        pending = self.infer(e.pending, env)
        mark = env.bind(e.done_name, (result, self.depth()))
        done = self.infer(e.done, env)
        env.restore(mark)
        self.unify(pending, done, e.done.span)
        return pending

    def has_cycle(self) -> bool:
        """Whether some type contains itself (what the occurs check forbids)."""
        DONE, ACTIVE = 1, 2
        state: dict[int, int] = {}
        roots = [find(t) for t in self.term_of.values()]
        for start in roots:
            if id(start) in state:
                continue
            state[id(start)] = ACTIVE
            stack = [(start, iter(_parts(start)))]
            while stack:
                node, parts = stack[-1]
                child = next(parts, None)
                if child is None:
                    state[id(node)] = DONE
                    stack.pop()
                    continue
                child = find(child)
                seen = state.get(id(child))
                if seen == ACTIVE:
                    return True
                if seen is None:
                    state[id(child)] = ACTIVE
                    stack.append((child, iter(_parts(child))))
        return False

    # -- closing the constraints ------------------------------------------------

    def close(self) -> None:
        for term, e in self.equalities:
            root = find(term)
            if root.shape is None:
                root.shape = "int"  # an == whose operands nothing else constrains compares ints
            elif root.shape not in ("int", "bool"):
                raise CompileError(f"`==` compares two ints or two bools, not {self.show(root)}", e.span,
                                   _origin_note(root, e.span))
        unknown_tuples = {id(r): r for r in map(find, self.term_of.values()) if r.shape == "sparse"}
        if unknown_tuples:
            span, index = min((self.sparse_sites[key] for key in unknown_tuples), key=lambda s: s[0].start)
            raise CompileError(
                f"the type of this tuple is never known: it is accessed at index {index}, "
                f"but no tuple of known length ever flows here", span)


_INFER_RULES: dict[type, object] = {}  # surface form -> Inference.infer_<form>


class Freezer:
    """Turns terms into immutable types; captures go to the program's lambda table."""

    def __init__(self, inference: Inference):
        self.inf = inference
        self.table = LambdaTable()
        self.types: dict[int, Type] = {}
        self.sets: dict[int, LambdaSet] = {}

    def type(self, t: Term) -> Type:
        root = find(t)
        key = id(root)
        done = self.types.get(key)
        if done is not None:
            return done
        match root.shape:
            case None:
                root.shape, root.args = "tuple", []  # unconstrained: defaults to {}
                out: Type = UNIT
            case "int":
                out = INT
            case "bool":
                out = BOOL
            case "tuple":
                out = TupleT(tuple(self.type(x) for x in root.args))
            case "fiber":
                out = FiberT(self.type(root.args[0]))
            case "fun":
                param, lset, result = root.args
                out = FunT(self.type(param), self.lambda_set(lset), self.type(result))
            case _:
                raise AssertionError(root.shape)
        self.types[key] = out
        return out

    def lambda_set(self, s: LSet) -> LambdaSet:
        root = find(s)
        if id(root) not in self.sets:
            names = tuple(self.inf.lambdas[i].name for i in root.members)
            self.sets[id(root)] = LambdaSet(names, self.table)
        return self.sets[id(root)]

    def captures(self, index: int) -> tuple[Capture, ...]:
        return tuple(Capture(name, self.type(t)) for name, t in self.inf.lambdas[index].captures.items())

    def fill_table(self) -> None:
        for index, info in enumerate(self.inf.lambdas):
            self.table.define(info.name, self.captures(index))


def _origin_note(term: Term, at: Span) -> tuple[Note, ...]:
    if term.origin is not None and term.origin != at:
        return (Note("its type comes from here", term.origin),)
    return ()


class Builder(Rewriter):
    """Builds the typed IR from the surface tree: every form as it is, with the
    type inference found for it; a lambda also gets its name and captures."""

    pass_name = "infer"

    def __init__(self, inference: Inference, freezer: Freezer):
        super().__init__(T.IR)
        self.inf = inference
        self.freeze = freezer

    def fill_type(self, e: S.Expr) -> Type:
        return self.freeze.type(self.inf.term_of[id(e)])

    def Lam(self, e: S.Lam) -> T.Lam:
        index = self.inf.lambda_index[id(e)]
        return T.Lam(self.inf.lambdas[index].name, e.param, self.freeze.captures(index),
                     self(e.body), self.fill_type(e), e.span)


def _parts(t: Term) -> list[Term]:
    """The types a type is built from (a lambda set's captures are not among them)."""
    if t.shape in ("tuple", "fiber"):
        return list(t.args)
    if t.shape == "sparse":
        return list(t.args.values())
    if t.shape == "fun":
        return [t.args[0], t.args[2]]
    return []


def infer_program(program: S.Program) -> T.Program:
    try:
        return _infer(program, eager_occurs=False)
    except InfiniteType:
        return _infer(program, eager_occurs=True)  # reports where the cycle is made


def _infer(program: S.Program, eager_occurs: bool) -> T.Program:
    inference = Inference(program, eager_occurs)
    try:
        inference.infer(program.body, Scope())
    except CompileError:
        if not eager_occurs and inference.has_cycle():
            raise InfiniteType from None  # report the first error, as the eager check would
        raise
    if not eager_occurs and inference.has_cycle():
        raise InfiniteType
    inference.close()
    freezer = Freezer(inference)
    freezer.fill_table()
    body = Builder(inference, freezer)(program.body)
    return T.Program(body, program.source, freezer.table)


class Infer(Pass):
    name = "infer"
    input_ir = "surface"
    output_ir = "typed"
    summary = "infer every type and lambda set; name lambdas and record their captures"

    def run(self, program: S.Program) -> T.Program:
        return infer_program(program)
