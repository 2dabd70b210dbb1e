"""affine: a checker on typed (opt-in: `--check affine`).

The rule: a fiber handle is affine for `resume`. Resuming a handle uses it
up (resume returns a new handle, and the old one is stale); a program is
rejected if some run of it may resume a handle that an earlier resume
already used up, however the handle got there: a `let` alias, a tuple, a
function's argument or result, a closure's captures, a fiber's result.
`stat` on an old handle is fine.

How: an abstract interpretation of the program in evaluation order (right
to left). Every handle value is a token, made fresh by each `spawn` and
`resume` evaluated; tuples and closures carry the tokens inside them; a
state records which tokens were resumed, and where. Calls are followed
into the callee with the actual argument and captures. Branches are kept
apart (a handle resumed in one arm of an `if` is fresh in the other), up
to MAX_OUTCOMES paths; past that they are merged, conservatively.

Where it must be conservative: a recursive call is not followed. It is
taken to resume whatever its function may resume of its argument and
captures (a summary computed once per function, to a fixpoint), and it
returns handles the checker treats as new. The diagnostic says so when a
report rests on such a call.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from typing import Any

from pyrsistent import pmap

from ir import typed as T
from ir.source import Note, Span
from ir.traverse import walk
from ir.types import BoolT, FiberT, FunT, IntT, TupleT, Type
from passes.framework import Diagnostic, Pass

MAX_OUTCOMES = 32  # paths kept apart; beyond this they merge (the result can only get stricter)


@dataclass(frozen=True)
class Affine(Pass):
    name = "affine"
    input_ir = "typed"
    output_ir = None
    summary = "reject programs that may resume a stale fiber handle"
    runs_after = "infer"

    def run(self, program: T.Program) -> list[Diagnostic]:
        return _Analyzer(program).check()


# -- abstract values: None (int, bool), tuples of values, Handle, Closures -------------------

@dataclass(frozen=True, eq=False)
class Token:
    """One handle value. path and owner: set only for a summary's symbolic inputs."""

    serial: int
    path: tuple = ()
    owner: object = None


@dataclass(frozen=True)
class Handle:
    tokens: tuple[Token, ...]  # the handle is one of these
    result: Any  # the value it holds once done


@dataclass(frozen=True)
class Closure:
    lam: str
    env: tuple[tuple[str, Any], ...]  # its captures' values


@dataclass(frozen=True)
class Closures:
    members: tuple[Closure, ...]  # the function is one of these


@dataclass(frozen=True)
class Site:
    """Where a resume happened: the calls that led there (outermost first), then
    the resume itself; `recursive` names the function when the last span is a
    recursive call assumed to resume it."""

    chain: tuple[Span, ...]
    recursive: str | None = None


def join(a: Any, b: Any) -> Any:
    if a is None or b is None or a == b:
        return a if b is None else b
    if isinstance(a, Handle):
        return Handle(_union(a.tokens, b.tokens), join(a.result, b.result))
    if isinstance(a, Closures):
        return Closures(_union(a.members, b.members))
    return tuple(join(x, y) for x, y in zip(a, b))


def _union(xs: tuple, ys: tuple) -> tuple:
    return xs + tuple(y for y in ys if y not in xs)


def tokens_of(value: Any) -> tuple[Token, ...]:
    return value.tokens if isinstance(value, Handle) else ()


class _Analyzer:
    def __init__(self, program: T.Program):
        self.source = program.source
        self.body = program.body
        nodes = list(walk(program.body))
        self.lambdas = {n.name: n for n in nodes if isinstance(n, T.Lam)}
        self.rec_names = {n.value.name: n.name for n in nodes if isinstance(n, T.LetRec)}
        self.serials = itertools.count()
        self.summaries: dict[str, frozenset] = {}
        self.in_progress: set[str] = set()
        self.quiet = 0  # > 0 while computing a summary: its findings are not reports
        self.reports: dict[tuple, Diagnostic] = {}

    def check(self) -> list[Diagnostic]:
        self.eval(self.body, pmap(), pmap(), ())
        return list(self.reports.values())

    def token(self, path: tuple = (), owner: object = None) -> Token:
        return Token(next(self.serials), path, owner)

    # -- evaluation: every function returns the list of outcomes (value, state) ------------

    def eval(self, e: T.Expr, env, state, stack: tuple) -> list:
        """stack: ((lambda name, call span), ...) of the calls being followed."""
        match e:
            case T.Int() | T.Bool() | T.Yield():
                return [(None, state)]
            case T.Var(name=name):
                return [(env.get(name), state)]
            case T.Lam():
                return [(Closures((Closure(e.name, self.captured(e, env)),)), state)]
            case T.Let(name=name, value=value, body=body):
                return self.then(self.eval(value, env, state, stack),
                                 lambda v, s: self.eval(body, env.set(name, v), s, stack))
            case T.LetRec(name=name, value=lam, body=body):
                own = Closures((Closure(lam.name, self.captured(lam, env)),))
                return self.eval(body, env.set(name, own), state, stack)
            case T.If(cond=cond, then=then, else_=else_):
                return self.then(self.eval(cond, env, state, stack), lambda _, s: (
                    self.eval(then, env, s, stack) + self.eval(else_, env, s, stack)))
            case T.Stat(fiber=fiber, pending=pending, done_name=name, done=done):
                return self.then(self.eval(fiber, env, state, stack), lambda f, s: (
                    self.eval(pending, env, s, stack)
                    + self.eval(done, env.set(name, f.result if isinstance(f, Handle) else None), s, stack)))
            case T.Tuple(elems=elems):
                return [(tuple(reversed(vs)), s) for vs, s in self.eval_all(elems[::-1], env, state, stack)]
            case T.Proj(tuple=tup, index=index):
                return [(v[index] if isinstance(v, tuple) else None, s) for v, s in self.eval(tup, env, state, stack)]
            case T.Seq(first=first, second=second):
                return self.then(self.eval(first, env, state, stack), lambda _, s: self.eval(second, env, s, stack))
            case T.Spawn(body=body):
                return [(Handle((self.token(),), v), s) for v, s in self.eval(body, env, state, stack)]
            case T.Resume(fiber=fiber):
                return [self.resume(e, v, s, stack) for v, s in self.eval(fiber, env, state, stack)]
            case T.App(fn=fn, arg=arg):
                return self.merge([out for (a, f), s in self.eval_all((arg, fn), env, state, stack)
                                   for out in self.call(e, f, a, s, stack)])
            case T.BinOp() | T.Neg():
                operands = (e.right, e.left) if isinstance(e, T.BinOp) else (e.operand,)
                return [(None, s) for _, s in self.eval_all(operands, env, state, stack)]
        raise TypeError(f"affine: no rule for {type(e).__name__}")

    def then(self, outcomes: list, continue_with) -> list:
        return self.merge([out for v, s in outcomes for out in continue_with(v, s)])

    def eval_all(self, exprs, env, state, stack) -> list:
        """Evaluate exprs in the order given: outcomes (tuple of their values, state)."""
        results = [((), state)]
        for e in exprs:
            results = self.merge([(vs + (v,), s2) for vs, s in results for v, s2 in self.eval(e, env, s, stack)])
        return results

    def merge(self, outcomes: list) -> list:
        distinct = []
        for out in outcomes:
            if out not in distinct:
                distinct.append(out)
        if len(distinct) <= MAX_OUTCOMES:
            return distinct
        value, state = distinct[0]
        for v, s in distinct[1:]:
            value, state = join(value, v), state.update({t: site for t, site in s.items() if t not in state})
        return [(value, state)]

    def captured(self, lam: T.Lam, env) -> tuple:
        return tuple((c.name, env.get(c.name)) for c in lam.captures)

    # -- resumes and calls -----------------------------------------------------------------

    def resume(self, node: T.Resume, handle: Any, state, stack: tuple):
        site = Site(tuple(span for _, span in stack) + (node.span,))
        state = self.use_up(tokens_of(handle), site, state, node.fiber.span)
        return Handle((self.token(),), handle.result if isinstance(handle, Handle) else None), state

    def use_up(self, tokens: tuple[Token, ...], site: Site, state, handle_span: Span):
        for t in tokens:
            if t in state:
                self.report(site, state[t], handle_span)
            else:
                state = state.set(t, site)
        return state

    def call(self, app: T.App, fn: Any, arg: Any, state, stack: tuple) -> list:
        outcomes = []
        for closure in fn.members if isinstance(fn, Closures) else ():
            lam = self.lambdas[closure.lam]
            if any(name == closure.lam for name, _ in stack):
                outcomes.append(self.recursive_call(app, lam, closure, arg, state, stack))
                continue
            env = pmap(dict(closure.env)).set(lam.param, arg)
            if lam.name in self.rec_names:
                env = env.set(self.rec_names[lam.name], Closures((closure,)))
            outcomes += self.eval(lam.body, env, state, stack + ((lam.name, app.span),))
        return outcomes

    def recursive_call(self, app: T.App, lam: T.Lam, closure: Closure, arg: Any, state, stack: tuple):
        site = Site(tuple(span for _, span in stack) + (app.span,), recursive=lam.name)
        for path in sorted(self.summary(lam.name), key=repr):
            state = self.use_up(resolve(path, closure, arg), site, state, app.arg.span)
        return self.shape(lam.type.result, lambda path: self.token()), state

    def summary(self, name: str) -> frozenset:
        """The paths into its argument and captures that a call of `name` may resume."""
        if name in self.summaries:  # done, or in progress: its current approximation
            return self.summaries[name]
        lam = self.lambdas[name]
        self.in_progress.add(name)
        self.summaries[name] = frozenset()
        self.quiet += 1
        while True:
            owner = object()
            symbolic = lambda path: self.token(path, owner)  # noqa: E731 (one use, below)
            captures = tuple((c.name, self.shape(c.type, symbolic, (("capture", c.name),))) for c in lam.captures)
            closure = Closure(name, captures)
            env = pmap(dict(captures)).set(lam.param, self.shape(lam.type.param, symbolic, ("param",)))
            if name in self.rec_names:
                env = env.set(self.rec_names[name], Closures((closure,)))
            outcomes = self.eval(lam.body, env, pmap(), ((name, lam.span),))
            found = frozenset(t.path for _, s in outcomes for t in s if t.owner is owner)
            if found <= self.summaries[name]:
                break
            self.summaries[name] |= found
        self.quiet -= 1
        self.in_progress.discard(name)
        return self.summaries[name]

    def shape(self, t: Type, make_token, path: tuple = (), expanding: frozenset = frozenset()) -> Any:
        """A value of type t about which nothing is known but its shape. A
        closure of a set that contains itself (a boxed set) is shaped one
        level deep: inside, its own set's closures capture values unknown."""
        match t:
            case IntT() | BoolT():
                return None
            case TupleT(elems):
                return tuple(self.shape(x, make_token, path + (i,), expanding) for i, x in enumerate(elems))
            case FiberT(result):
                return Handle((make_token(path),), self.shape(result, make_token, path + ("result",), expanding))
            case FunT(lambdas=lambdas):
                if lambdas.names in expanding:
                    return Closures(tuple(Closure(m.name, tuple((c.name, None) for c in m.captures))
                                          for m in lambdas.members))
                inner = expanding | {lambdas.names}
                return Closures(tuple(
                    Closure(m.name, tuple((c.name, self.shape(c.type, make_token, path + ((m.name, c.name),), inner))
                                          for c in m.captures))
                    for m in lambdas.members))
        return None

    # -- reports ---------------------------------------------------------------------------

    def report(self, again: Site, first: Site, handle_span: Span) -> None:
        key = (again.chain, again.recursive, first.chain, first.recursive)
        if self.quiet or key in self.reports:
            return
        handle = self.source.text[handle_span.start:handle_span.end]
        if len(again.chain) > 1:
            message = "this call may resume a stale fiber handle, one that was already resumed"
        elif again.recursive:
            message = (f"this recursive call of `{again.recursive}` may resume a stale fiber handle "
                       f"in `{handle}`, one that was already resumed")
        else:
            message = f"`{handle}` may be a stale fiber handle: it may already have been resumed"
        assumed = again.recursive or first.recursive
        if assumed:
            message += (f" (conservatively: the checker assumes a recursive call of `{assumed}` resumes "
                        f"whatever `{assumed}` may resume, without following it)")
        notes = (*self.chain_notes(again, first=False)[1:], *self.chain_notes(first, first=True))
        self.reports[key] = Diagnostic("error", message, again.chain[0], notes)

    def chain_notes(self, site: Site, first: bool) -> list[Note]:
        """One note per span of the site's chain: the calls, then the resume (or recursive call)."""
        notes = []
        for i, span in enumerate(site.chain):
            if i < len(site.chain) - 1:
                text = "the handle was first resumed through this call" if first and i == 0 else "...through this call"
            elif site.recursive:
                text = f"a recursive call of `{site.recursive}`, which may resume it"
                text = f"the handle was first passed to {text}" if first and i == 0 else f"...then {text}"
            else:
                text = "the handle was first resumed here" if first and i == 0 else "...which resumes it here"
            notes.append(Note(text, span))
        return notes


def resolve(path: tuple, closure: Closure, arg: Any) -> tuple[Token, ...]:
    """The tokens at a summary's path in an actual call's captures and argument."""
    root, *steps = path
    values = [arg] if root == "param" else [dict(closure.env).get(root[1])]
    for step in steps:
        if isinstance(step, int):
            values = [v[step] for v in values if isinstance(v, tuple)]
        elif step == "result":
            values = [v.result for v in values if isinstance(v, Handle)]
        else:
            lam, capture = step
            values = [dict(c.env).get(capture) for v in values if isinstance(v, Closures)
                      for c in v.members if c.lam == lam]
    return tuple(t for v in values for t in tokens_of(v))
