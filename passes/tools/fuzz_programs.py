"""Well-typed co programs of real shape, for differential fuzzing.

    programs() -> a hypothesis strategy of surface programs (ir.surface.Program)

The generator is type-directed: it asks for an expression of a type and
picks a production that makes one. Beside the obvious forms it builds:

- nested lets with shadowing (names come from a small pool), and closures
  capturing whatever is in scope, 0 to 4 variables in practice;
- lambda sets of several members: a function type is a *slot*, and every
  lambda made for a slot joins its set, whether it is returned from an `if`,
  stored in a tuple, passed to a higher-order function or returned by a
  curried one;
- recursion that always ends: counted tail loops `loop {n, acc}`, non-tail
  recursion `r n` with a `let` around the recursive call, curried recursion
  whose inner lambda captures the function itself, each called with a small
  literal count wherever its slot is applied;
- fibers: `yield` inside nested calls, drive loops that resume a handle until
  it is done, handles passed to functions and to other fibers that resume
  them, `stat` on old handles (and so, sometimes, a second resume: a runtime
  error every level must report alike).

- closures that contain themselves, whose lambda sets the compiler boxes:
  compose chains `compose (compose f g) h`, Church numerals with succ, add
  and mul, chains of closures built by a recursion (`\\x -> g x + n` over
  `g = build (n - 1)`) and by a tail loop, and sets that reach themselves
  through a captured tuple or fiber.

Half of the programs have such closures; the other half have none, as
programs mostly have none, so that unboxed closures are not all boxed by the
way. A lambda capturing a variable often closes such a cycle by chance, so
for those the generator keeps a graph of which slot's closures hold which
slot's values, and never lets a lambda capture a variable that would close
a cycle in it.

A tuple read with `.i` gets its length from the tuples that flow there. Read
through the parameter of a lambda that is never called (or the result of a
function parameter that is never given a function), it has none, and co
rejects the program. Knowing which lambdas get called is inference itself, so
the generator takes that risk (every recursion template calls its function);
about 1 program in 5,000 is rejected so, and the fuzzer skips it
(`rejected_by_design`).

Choices are drawn so that the first alternative is the simplest, which is
where hypothesis's shrinking goes; the fuzzer reduces a failing program
further on its own (passes/reduce.py).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from ir import surface as S

UNKNOWN_TUPLE = "the type of this tuple is never known"
NAMES = ("x", "y", "z", "a", "b", "f", "g", "h", "n", "s", "t", "v", "w", "k")
LITERALS = (0, 1, 2, 3, 5, 7, 10, 42, 100, 1000, 65536, 2**31, 2**62, 2**63 - 1)
MAX_COUNT = 5  # the largest count a recursion is called with


# -- the generator's types ---------------------------------------------------------


@dataclass(frozen=True)
class Int:
    pass


@dataclass(frozen=True)
class Bool:
    pass


@dataclass(frozen=True)
class Tup:
    elems: tuple


@dataclass(frozen=True)
class Fiber:
    result: object


@dataclass(frozen=True)
class Fun:
    param: object
    result: object
    slot: int  # which lambda set: every lambda made for this type joins it
    counted: bool = False  # a recursion: always called with a small count


INT, BOOL, UNIT = Int(), Bool(), Tup(())


def held_slots(t) -> set[int]:
    """The slots whose closures a value of type t holds by value (not through
    a function's parameter or result, which are not part of its cells)."""
    match t:
        case Tup(elems):
            return set().union(*map(held_slots, elems))
        case Fiber(result):
            return held_slots(result)
        case Fun(slot=slot):
            return {slot}
    return set()


@dataclass(frozen=True)
class Binding:
    name: str
    type: object
    depth: int  # how many lambdas enclose the binding


@dataclass
class _State:
    budget: int
    cycles: bool = False  # whether closures may contain themselves
    slots: int = 0
    holds: dict[int, set[int]] = field(default_factory=dict)  # slot -> slots its closures hold
    enclosing: list[tuple[int, int]] = field(default_factory=list)  # (slot, depth) of lambdas around us


class Generator:
    """Makes every choice by drawing from a strategy: `draw` is hypothesis's
    draw function, `integers` and `sampled_from` its strategies (passed in
    so that importing this module does not import hypothesis)."""

    def __init__(self, draw, budget: int, integers, sampled_from):
        self.draw = draw
        self.integers, self.sampled_from = integers, sampled_from
        self.state = _State(budget)

    def integer(self, low: int, high: int) -> int:
        return self.draw(self.integers(low, high))

    def one_of(self, options):
        return self.draw(self.sampled_from(options))

    # -- choices (the first alternative is the simplest: shrinking goes there) --------

    def pick(self, options: list[tuple[int, object]]):
        """One of (weight, option), by weight."""
        total = sum(w for w, _ in options)
        roll = self.integer(0, total - 1)
        for weight, option in options:
            if roll < weight:
                return option
            roll -= weight
        raise AssertionError("unreachable")

    def maybe(self, percent: int) -> bool:
        return self.integer(0, 99) >= 100 - percent

    def count(self) -> int:
        return self.integer(0, MAX_COUNT)

    def name(self) -> str:
        return self.one_of(NAMES)

    def spend(self) -> bool:
        """Whether there is budget left for a compound expression (and take some)."""
        self.state.budget -= 1
        return self.state.budget > 0

    # -- types --------------------------------------------------------------------------

    def new_slot(self) -> int:
        self.state.slots += 1
        self.state.holds[self.state.slots] = set()
        return self.state.slots

    def fun_type(self, env, result=None, counted_param=None) -> Fun:
        """A function type: an existing slot from scope, or a new one."""
        known = [b.type for b in env if isinstance(b.type, Fun) and not b.type.counted
                 and (result is None or b.type.result == result)]
        if known and self.maybe(40):
            return self.one_of(known)
        param = self.type(env, 1)
        return Fun(param, result if result is not None else self.type(env, 1), self.new_slot())

    def type(self, env, depth: int = 2):
        """A value type: small, and often one already in scope (so values meet)."""
        options = [(4, "int"), (2, "bool")]
        if depth > 0:
            options += [(3, "tuple"), (2, "fun"), (2, "fiber"), (2, "scope")]
        match self.pick(options):
            case "int":
                return INT
            case "bool":
                return BOOL
            case "tuple":
                return Tup(tuple(self.type(env, depth - 1) for _ in range(self.integer(0, 3))))
            case "fun":
                return self.fun_type(env)
            case "fiber":
                return Fiber(self.type(env, depth - 1))
            case "scope":
                types = [b.type for b in env if not (isinstance(b.type, Fun) and b.type.counted)]
                return self.one_of(types) if types else INT

    # -- scope and captures ---------------------------------------------------------------

    def visible(self, env) -> list[Binding]:
        """The bindings a name reaches (the innermost of each name) that may be used here."""
        latest = {}
        for b in env:
            latest[b.name] = b
        return [b for b in latest.values() if self.capturable(b)]

    def lambdas_capturing(self, b: Binding) -> list[int]:
        return [slot for slot, depth in self.state.enclosing if depth > b.depth]

    def capturable(self, b: Binding) -> bool:
        """Whether using b here keeps every closure finite, if it must: each lambda
        between the use and the binding captures b, so its slot would hold b's slots."""
        if self.state.cycles:
            return True
        held = held_slots(b.type)
        return not any(self.reaches(h, slot) for slot in self.lambdas_capturing(b) for h in held)

    def reaches(self, start: int, goal: int) -> bool:
        seen, todo = set(), [start]
        while todo:
            slot = todo.pop()
            if slot == goal:
                return True
            if slot not in seen:
                seen.add(slot)
                todo.extend(self.state.holds[slot])
        return False

    def use(self, b: Binding) -> S.Var:
        for slot in self.lambdas_capturing(b):
            self.state.holds[slot] |= held_slots(b.type)
        return S.Var(b.name)

    def depth(self) -> int:
        return len(self.state.enclosing)

    def bind(self, env, name: str, t) -> list:
        return [*env, Binding(name, t, self.depth())]

    def lambda_(self, t: Fun, env, param: str, body_of) -> S.Lam:
        """A lambda of slot t; body_of(env) makes its body with the parameter bound."""
        self.state.enclosing.append((t.slot, self.depth() + 1))
        body = body_of(self.bind(env, param, t.param))
        self.state.enclosing.pop()
        return S.Lam(param, body)

    # -- expressions ------------------------------------------------------------------------

    def expr(self, t, env, depth: int) -> S.Expr:
        if depth <= 0 or not self.spend():
            return self.leaf(t, env)
        productions = [(3, self.leaf), (3, self.shaped)]
        productions += [(2, self.let), (1, self.if_), (1, self.seq), (2, self.apply), (1, self.project),
                        (1, self.stat), (1, self.handles), (1, self.recursion),
                        (2 if self.state.cycles else 0, self.boxes)]
        production = self.pick(productions)
        return production(t, env) if production == self.leaf else production(t, env, depth - 1)

    def leaf(self, t, env) -> S.Expr:
        """A variable of type t, or the smallest expression making one."""
        found = [b for b in self.visible(env) if b.type == t]
        if found and self.maybe(60):
            if t == INT and len(found) > 1 and self.maybe(30):
                return self.sum_of_variables(env, 0)
            return self.use(self.one_of(found))
        match t:
            case Int():
                return S.Int(self.one_of(LITERALS))
            case Bool():
                return S.Bool(self.maybe(50))
            case Tup(elems):
                return S.Tuple(tuple(self.leaf(e, env) for e in elems))
            case Fiber(result):
                return S.Spawn(self.leaf(result, env))
            case Fun():
                return self.lambda_(t, env, self.name(), lambda inner: self.leaf(t.result, inner))
        raise AssertionError(t)

    def shaped(self, t, env, depth: int) -> S.Expr:
        """A form that makes a value of t's own shape."""
        match t:
            case Int():
                return self.arithmetic(env, depth)
            case Bool():
                op = self.pick([(2, "<"), (2, "=="), (1, "bool==")])
                operand = BOOL if op == "bool==" else INT
                right = self.expr(operand, env, depth)
                return S.BinOp(op[-2:] if op == "bool==" else op, self.expr(operand, env, depth), right)
            case Tup(elems):
                if not elems and self.maybe(50):
                    return S.Yield()
                return S.Tuple(tuple(self.expr(e, env, depth) for e in elems))
            case Fiber(result):
                if self.maybe(30):
                    return S.Resume(self.expr(t, env, depth))
                return S.Spawn(self.fiber_body(result, env, depth))
            case Fun():
                return self.lambda_(t, env, self.name(), lambda inner: self.body(t.result, inner, depth))
        raise AssertionError(t)

    def arithmetic(self, env, depth: int) -> S.Expr:
        op = self.pick([(3, "+"), (2, "-"), (2, "*"), (1, "neg"), (1, "sum")])
        if op == "neg":
            return S.Neg(self.expr(INT, env, depth))
        if op == "sum":
            return self.sum_of_variables(env, depth)
        return S.BinOp(op, self.expr(INT, env, depth), self.expr(INT, env, depth))

    def sum_of_variables(self, env, depth: int) -> S.Expr:
        """Many variables at once: a lambda around this captures them all."""
        ints = [b for b in self.visible(env) if b.type == INT]
        if not ints:
            return self.expr(INT, env, depth)
        total = self.use(self.one_of(ints))
        for _ in range(self.integer(1, 4)):
            total = S.BinOp("+", total, self.use(self.one_of(ints)))
        return total

    def body(self, t, env, depth: int) -> S.Expr:
        """A function's body: often it yields first, so a fiber calling it suspends mid-call."""
        if t == INT and self.maybe(25):
            return self.sum_of_variables(env, depth)  # captures all it adds up
        if self.maybe(25):
            # Several variables of any types read at once: captures with records of mixed sizes.
            seen = self.visible(env)
            if seen:
                used = S.Tuple(tuple(self.use(self.one_of(seen)) for _ in range(self.integer(2, 5))))
                return S.Seq(used, self.expr(t, env, depth))
        if self.maybe(30):
            return S.Seq(S.Yield(), self.expr(t, env, depth))
        return self.expr(t, env, depth)

    def fiber_body(self, t, env, depth: int) -> S.Expr:
        """What a spawned fiber runs: usually something that yields on the way."""
        match self.pick([(1, "expr"), (2, "yields"), (1, "relay")]):
            case "yields":
                return S.Seq(S.Yield(), self.expr(t, env, depth))
            case "relay":
                # Resume a handle spawned elsewhere: the fiber becomes its parent.
                handle = self.expr(Fiber(self.type(env, 1)), env, depth)
                return S.Seq(S.Resume(handle), self.expr(t, env, depth))
        return self.expr(t, env, depth)

    def let(self, t, env, depth: int) -> S.Expr:
        name = self.name()
        value_type = self.type(env, 3)
        value = self.expr(value_type, env, depth)
        return S.Let(name, value, self.expr(t, self.bind(env, name, value_type), depth))

    def if_(self, t, env, depth: int) -> S.Expr:
        cond = self.expr(BOOL, env, depth)
        return S.If(cond, self.expr(t, env, depth), self.expr(t, env, depth))

    def seq(self, t, env, depth: int) -> S.Expr:
        handles = [b for b in self.visible(env) if isinstance(b.type, Fiber)]
        match self.pick([(2, "yield"), (3, "expr"), (1 if handles else 0, "resume")]):
            case "yield":
                first = S.Yield()
            case "resume":
                # Resumed for its effect: the handle is stale now, unless it was done.
                first = S.Resume(self.use(self.one_of(handles)))
            case _:
                first = self.expr(self.type(env, 1), env, depth)
        return S.Seq(first, self.expr(t, env, depth))

    def apply(self, t, env, depth: int) -> S.Expr:
        """A call of a function returning t: from scope, or made on the spot;
        sometimes curried, a call returning the function called next."""
        callee = self.fun_type(env, result=t)
        if self.maybe(25):
            outer = Fun(self.type(env, 1), callee, self.new_slot())
            fn = self.call(outer, self.expr(outer, env, depth), env, depth)
        else:
            fn = self.expr(callee, env, depth)
        return self.call(callee, fn, env, depth)

    def call(self, t: Fun, fn: S.Expr, env, depth: int) -> S.App:
        if t.counted:  # a recursion: a small count, and for a loop its accumulator
            count = S.Int(self.count())
            if isinstance(t.param, Tup):
                return S.App(fn, S.Tuple((count, self.expr(t.param.elems[1], env, depth))))
            return S.App(fn, count)
        return S.App(fn, self.expr(t.param, env, depth))

    def project(self, t, env, depth: int) -> S.Expr:
        elems = [self.type(env, 1) for _ in range(self.integer(0, 2))]
        index = self.integer(0, len(elems))
        elems.insert(index, t)
        return S.Proj(self.expr(Tup(tuple(elems)), env, depth), index)

    def stat(self, t, env, depth: int) -> S.Expr:
        result = self.type(env, 1)
        fiber = self.expr(Fiber(result), env, depth)
        name = self.name()
        pending = self.expr(t, env, depth)
        return S.Stat(fiber, pending, name, self.expr(t, self.bind(env, name, result), depth))

    def handles(self, t, env, depth: int) -> S.Expr:
        """let h = spawn (...) in let h2 = resume h in ...: an old handle and a
        new one in scope, for stat on either and, now and then, a second resume."""
        result = self.type(env, 1)
        old, new = self.two_names()
        spawned = S.Spawn(self.fiber_body(result, env, depth))
        inner = self.bind(self.bind(env, old, Fiber(result)), new, Fiber(result))
        body = self.expr(t, inner, depth)
        if self.maybe(7):
            body = S.Seq(S.Resume(S.Var(old)), body)  # a runtime error, if old was still pending
        return S.Let(old, spawned, S.Let(new, S.Resume(S.Var(old)), body))

    # -- recursion that ends --------------------------------------------------------------

    def recursion(self, t, env, depth: int) -> S.Expr:
        template = self.pick([(2, self.tail_loop), (2, self.counted_recursion), (1, self.curried_loop),
                              (2, self.drive_loop)])
        return template(t, env, depth)

    def recursive(self, env, fun: Fun, name: str, param: str, body_of, t, depth: int, then=None) -> S.LetRec:
        """let rec name = \\param -> body in (let v = name ARGS in ...), with name
        itself out of the body's scope, so the template's call is its only one.
        then(env, v) makes what follows (by default, any expression of type t)."""
        # Outside the template's call, name means the function: hide any outer name.
        without = [b for b in env if b.name != name]
        lam = self.lambda_(fun, without, param, body_of)
        result = self.name()
        call = self.call(fun, S.Var(name), without, depth)
        after = self.bind(self.bind(env, name, fun), result, fun.result)
        rest = self.expr(t, after, depth) if then is None else then(after, result)
        return S.LetRec(name, lam, S.Let(result, call, rest))

    def two_names(self) -> tuple[str, str]:
        first, second = self.distinct_names(2)
        return first, second

    def distinct_names(self, count: int, avoid: tuple[str, ...] = ()) -> list[str]:
        names: list[str] = []
        for _ in range(count):
            names.append(self.one_of([n for n in NAMES if n not in names and n not in avoid]))
        return names

    def tail_loop(self, t, env, depth: int) -> S.Expr:
        """let rec loop = \\s -> if s.0 < 1 then DONE else loop {s.0 - 1, STEP}"""
        acc, result = self.type(env, 1), self.type(env, 1)
        fun = Fun(Tup((INT, acc)), result, self.new_slot(), counted=True)
        name, s = self.two_names()

        def body(inner):
            own = self.own(name, fun)
            count = S.Proj(S.Var(s), 0)
            step = self.expr(acc, inner, depth)
            again = S.App(self.use(own), S.Tuple((S.BinOp("-", count, S.Int(1)), step)))
            if self.maybe(30):
                again = S.Seq(S.Yield(), again)  # still a tail call
            return S.If(S.BinOp("<", count, S.Int(1)), self.expr(result, inner, depth), again)

        return self.recursive(env, fun, name, s, body, t, depth)

    def own(self, name: str, fun: Fun) -> Binding:
        """How a `let rec` function sees itself from its lambda's body: bound by
        that lambda, so the lambda does not capture it, but lambdas inside do."""
        return Binding(name, fun, self.depth())

    def counted_recursion(self, t, env, depth: int) -> S.Expr:
        """let rec r = \\n -> if n < 1 then BASE else let v = r (n - 1) in COMBINE"""
        result = self.type(env, 1)
        fun = Fun(INT, result, self.new_slot(), counted=True)
        name, n = self.two_names()

        def body(inner):
            v = self.one_of([x for x in NAMES if x not in (name, n)])
            below = S.App(self.use(self.own(name, fun)), S.BinOp("-", S.Var(n), S.Int(1)))
            combine = S.Let(v, below, self.expr(result, self.bind(inner, v, result), depth))
            recurse = S.If(S.BinOp("<", S.Var(n), S.Int(1)), self.expr(result, inner, depth), combine)
            return S.Seq(S.Yield(), recurse) if self.maybe(40) else recurse

        return self.recursive(env, fun, name, n, body, t, depth)

    def curried_loop(self, t, env, depth: int) -> S.Expr:
        """let rec add = \\n -> \\acc -> if n < 1 then acc else add (n - 1) STEP:
        the inner lambda captures add itself, and its self call is a tail call."""
        acc = self.type(env, 1)
        inner_fun = Fun(acc, acc, self.new_slot())
        fun = Fun(INT, inner_fun, self.new_slot(), counted=True)
        name, n = self.two_names()
        a = self.one_of([x for x in NAMES if x not in (name, n)])

        def body(inner):
            own = self.own(name, fun)

            def inner_body(innermost):
                again = S.App(self.use(own), S.BinOp("-", S.Var(n), S.Int(1)))
                step = self.expr(acc, innermost, depth)
                return S.If(S.BinOp("<", S.Var(n), S.Int(1)), S.Var(a), S.App(again, step))

            return self.lambda_(inner_fun, inner, a, inner_body)

        return self.recursive(env, fun, name, n, body, t, depth)

    def drive_loop(self, t, env, depth: int) -> S.Expr:
        """let rec drive = \\h -> stat h | `Pending -> drive (resume h) | `Done v -> DONE"""
        result = self.type(env, 1)
        fun = Fun(Fiber(result), t if self.maybe(50) else self.type(env, 1), self.new_slot())
        name, h = self.two_names()
        v = self.one_of([x for x in NAMES if x not in (name, h)])

        def body(inner):
            again = S.App(self.use(self.own(name, fun)), S.Resume(S.Var(h)))
            if self.maybe(30):
                again = S.Seq(S.Yield(), again)  # a driver that is itself a fiber lets its parent in
            done = self.expr(fun.result, self.bind(inner, v, result), depth)
            return S.Stat(S.Var(h), again, v, done)

        return self.recursive(env, fun, name, h, body, t, depth)


    # -- closures that contain themselves (their lambda sets are boxed) ---------------------

    def boxes(self, t, env, depth: int) -> S.Expr:
        template = self.pick([(2, self.compose_chain), (2, self.church), (2, self.closure_chain),
                              (2, self.closure_loop), (2, self.tuple_chain), (2, self.fiber_chain),
                              (1, self.mutual_chain)])
        return template(t, env, depth)

    def applied(self, t, env, fun: Fun, value: S.Expr, depth: int) -> S.Expr:
        """let h = value in let r = h ARG in ...: the closure is called (as long as
        it gives functions), and both stay in scope for what follows, of type t."""
        h, r = self.two_names()
        inner = self.bind(env, h, fun)
        call = S.App(S.Var(h), self.expr(fun.param, inner, depth))
        if isinstance(fun.result, Fun):
            return S.Let(h, value, self.applied(t, inner, fun.result, call, depth))
        return S.Let(h, value, S.Let(r, call, self.expr(t, self.bind(inner, r, fun.result), depth)))

    def endo(self, env) -> tuple[object, Fun]:
        """A value type, and a new function type from it to itself."""
        value = self.type(env, 1)
        return value, Fun(value, value, self.new_slot())

    def calling(self, f: S.Expr, fun: Fun, param: str, env, depth: int) -> S.Expr:
        """The body of a lambda taking param: let y = f ARG in ..., which calls f."""
        (y,) = self.distinct_names(1, avoid=(param,))
        call = S.App(f, self.expr(fun.param, env, depth))
        return S.Let(y, call, self.expr(fun.result, self.bind(env, y, fun.result), depth))

    def compose_chain(self, t, env, depth: int) -> S.Expr:
        """let c = \\f -> \\g -> \\x -> f (g x) in ... c (c F G) H ...: the
        innermost lambda joins the set of f and g, and captures both."""
        _, fun = self.endo(env)
        outer = Fun(fun, Fun(fun, fun, self.new_slot()), self.new_slot())
        c, f, g, x = self.distinct_names(4)
        compose = self.lambda_(outer, env, f, lambda e1: self.lambda_(outer.result, e1, g, lambda e2: self.lambda_(
            fun, e2, x, lambda e3: S.App(S.Var(f), S.App(S.Var(g), S.Var(x))))))
        inner = self.bind(env, c, outer)

        def chain(links: int) -> S.Expr:
            if links == 0:
                return self.expr(fun, inner, depth)
            left, right = chain(links - 1), self.expr(fun, inner, depth)
            if self.maybe(50):
                left, right = right, left
            return S.App(S.App(S.Var(c), left), right)

        return S.Let(c, compose, self.applied(t, inner, fun, chain(self.integer(1, 3)), depth))

    def church(self, t, env, depth: int) -> S.Expr:
        """Church numerals: zero, succ, add and mul, a numeral made of them applied
        to a step and a start. succ's, add's and mul's closures capture numerals."""
        _, step = self.endo(env)
        numeral = Fun(step, step, self.new_slot())
        zero, succ, add, mul = self.distinct_names(4)
        m, n, f, x = self.distinct_names(4)
        apply_n = lambda num: S.App(S.App(S.Var(num), S.Var(f)), S.Var(x))  # noqa: E731 (num f x)
        binary = Fun(numeral, Fun(numeral, numeral, self.new_slot()), self.new_slot())
        defs = [
            (zero, numeral, self.lambda_(numeral, env, f, lambda e1: self.lambda_(step, e1, x, lambda e2: S.Var(x)))),
            (succ, Fun(numeral, numeral, self.new_slot()), None),
            (add, binary, None),
            (mul, binary, None),
        ]
        succ_t, add_t = defs[1][1], defs[2][1]
        defs[1] = (succ, succ_t, self.lambda_(succ_t, env, n, lambda e1: self.lambda_(numeral, e1, f, lambda e2: (
            self.lambda_(step, e2, x, lambda e3: S.App(S.Var(f), apply_n(n)))))))
        defs[2] = (add, add_t, self.lambda_(add_t, env, m, lambda e1: self.lambda_(add_t.result, e1, n, lambda e2: (
            self.lambda_(numeral, e2, f, lambda e3: self.lambda_(step, e3, x, lambda e4: S.App(
                S.App(S.Var(m), S.Var(f)), apply_n(n))))))))
        defs[3] = (mul, add_t, self.lambda_(add_t, env, m, lambda e1: self.lambda_(add_t.result, e1, n, lambda e2: (
            self.lambda_(numeral, e2, f, lambda e3: S.App(S.Var(m), S.App(S.Var(n), S.Var(f))))))))

        def number(size: int) -> S.Expr:
            match self.pick([(2, "zero"), (3 if size > 0 else 0, "succ"), (1 if size > 1 else 0, "add"),
                             (1 if size > 1 else 0, "mul")]):
                case "zero":
                    return S.Var(zero)
                case "succ":
                    return S.App(S.Var(succ), number(size - 1))
                case op:
                    return S.App(S.App(S.Var(add if op == "add" else mul), number(size // 2)), number(size // 2))

        inner = env
        for name, fun, _ in defs:
            inner = self.bind(inner, name, fun)
        body = self.applied(t, inner, numeral, number(self.integer(0, 6)), depth)
        for name, _, lam in reversed(defs):
            body = S.Let(name, lam, body)
        return body

    def closure_chain(self, t, env, depth: int) -> S.Expr:
        """let rec build = \\n -> if n < 1 then F else let g = build (n - 1) in
        \\x -> ... g ...: n + 1 closures, each capturing the one before."""
        _, fun = self.endo(env)
        build = Fun(INT, fun, self.new_slot(), counted=True)
        name, n = self.two_names()
        g, x = self.distinct_names(2, avoid=(name, n))

        def body(inner):
            below = S.App(self.use(self.own(name, build)), S.BinOp("-", S.Var(n), S.Int(1)))
            linked = self.bind(inner, g, fun)
            link = self.lambda_(fun, linked, x, lambda e: self.calling(S.Var(g), fun, x, e, depth))
            return S.If(S.BinOp("<", S.Var(n), S.Int(1)), self.expr(fun, inner, depth), S.Let(g, below, link))

        return self.recursive(env, build, name, n, body, t, depth,
                              then=lambda after, chain: self.applied(t, after, fun, S.Var(chain), depth))

    def closure_loop(self, t, env, depth: int) -> S.Expr:
        """let rec loop = \\s -> if s.0 < 1 then s.1 else loop {s.0 - 1, \\x -> ... s.1 ...}:
        each round's closure captures the tuple holding the one before."""
        _, fun = self.endo(env)
        loop = Fun(Tup((INT, fun)), fun, self.new_slot(), counted=True)
        name, s = self.two_names()
        (x,) = self.distinct_names(1, avoid=(name, s))

        def body(inner):
            count, last = S.Proj(S.Var(s), 0), S.Proj(S.Var(s), 1)
            link = self.lambda_(fun, inner, x, lambda e: self.calling(last, fun, x, e, depth))
            again = S.App(self.use(self.own(name, loop)), S.Tuple((S.BinOp("-", count, S.Int(1)), link)))
            return S.If(S.BinOp("<", count, S.Int(1)), last, again)

        return self.recursive(env, loop, name, s, body, t, depth,
                              then=lambda after, chain: self.applied(t, after, fun, S.Var(chain), depth))

    def tuple_chain(self, t, env, depth: int) -> S.Expr:
        """let mk = \\p -> \\x -> ... p.0 ... in mk {mk {F, u}, v}: the closure captures
        the tuple p, which holds a closure of its own set."""
        _, fun = self.endo(env)
        other = self.type(env, 1)
        maker = Fun(Tup((fun, other)), fun, self.new_slot())
        mk, p, x = self.distinct_names(3)
        lam = self.lambda_(maker, env, p, lambda e1: self.lambda_(
            fun, e1, x, lambda e2: self.calling(S.Proj(S.Var(p), 0), fun, x, e2, depth)))
        inner = self.bind(env, mk, maker)

        def chain(links: int) -> S.Expr:
            if links == 0:
                return self.expr(fun, inner, depth)
            return S.App(S.Var(mk), S.Tuple((chain(links - 1), self.expr(other, inner, depth))))

        return S.Let(mk, lam, self.applied(t, inner, fun, chain(self.integer(1, 3)), depth))

    def mutual_chain(self, t, env, depth: int) -> S.Expr:
        """let a = \\g -> \\x -> ... g ... in let b = \\f -> \\y -> ... f ... in a (b (a (b F))):
        two sets, each with a closure capturing one of the other."""
        value, fun = self.endo(env)
        other = Fun(value, value, self.new_slot())
        to_fun, to_other = Fun(other, fun, self.new_slot()), Fun(fun, other, self.new_slot())
        a, b, g, f, x = self.distinct_names(5)
        make_fun = self.lambda_(to_fun, env, g, lambda e1: self.lambda_(
            fun, e1, x, lambda e2: self.calling(S.Var(g), other, x, e2, depth)))
        make_other = self.lambda_(to_other, self.bind(env, a, to_fun), f, lambda e1: self.lambda_(
            other, e1, x, lambda e2: self.calling(S.Var(f), fun, x, e2, depth)))
        inner = self.bind(self.bind(env, a, to_fun), b, to_other)
        chain = self.expr(fun, inner, depth)
        for _ in range(self.integer(1, 3)):
            chain = S.App(S.Var(a), S.App(S.Var(b), chain))
        return S.Let(a, make_fun, S.Let(b, make_other, self.applied(t, inner, fun, chain, depth)))

    def fiber_chain(self, t, env, depth: int) -> S.Expr:
        """let wrap = \\h -> \\x -> stat h | `Pending -> ... | `Done g -> ... g ... in
        wrap (spawn (wrap (spawn F))): the closure captures a fiber whose result
        is a closure of its own set."""
        value, fun = self.endo(env)
        wrapper = Fun(Fiber(fun), fun, self.new_slot())
        wrap, h, x, g = self.distinct_names(4)

        def unwrap(e):
            done = self.bind(e, g, fun)
            return S.Stat(S.Var(h), self.expr(value, e, depth), g, self.calling(S.Var(g), fun, x, done, depth))

        lam = self.lambda_(wrapper, env, h, lambda e1: self.lambda_(fun, e1, x, unwrap))
        inner = self.bind(env, wrap, wrapper)

        def chain(links: int) -> S.Expr:
            if links == 0:
                return self.expr(fun, inner, depth)
            made = chain(links - 1)
            fiber = self.pick([(1, S.Spawn(made)), (1, S.Spawn(S.Seq(S.Yield(), made))),
                               (1, S.Resume(S.Spawn(S.Seq(S.Yield(), made))))])
            return S.App(S.Var(wrap), fiber)

        return S.Let(wrap, lam, self.applied(t, inner, fun, chain(self.integer(1, 3)), depth))


def programs(budget: int = 60):
    """A hypothesis strategy of well-typed programs: a few definitions, as
    programs start, then an expression of any type using them. hypothesis
    (a test dependency) is imported only here, when a strategy is asked for."""
    from hypothesis import strategies as st

    @st.composite
    def program(draw) -> S.Program:
        return build_program(Generator(draw, budget, st.integers, st.sampled_from))

    return program()


def build_program(gen: Generator) -> S.Program:
    gen.state.cycles = gen.maybe(50)
    env, definitions = [], []
    for _ in range(gen.integer(0, 5)):
        name, t = gen.name(), gen.type(env, 3)
        definitions.append((name, gen.expr(t, env, 4)))
        env = gen.bind(env, name, t)
    body = gen.expr(gen.type(env, 3), env, 8)
    for name, value in reversed(definitions):
        body = S.Let(name, value, body)
    return S.Program(body)


def rejected_by_design(verdict) -> bool:
    """Whether co rejects a generated program for the one reason the generator risks."""
    failed = verdict.mismatch
    return failed is not None and failed.stage == "infer" and failed.got.text.startswith(UNKNOWN_TUPLE)

