"""IR grammars: each IR declared once, most as a delta of the IR before it.

    GRAMMAR = Grammar("surface", '''
        Program ::= Program(body: Expr, source: Source)
        Expr ::= Int(value: int)
               | Lam(param: str, body: Expr)              \\\\param -> body
               | Tuple(elems: (Expr, ...))                {e0, e1, ...}
               | Spawn(body: Expr) | Yield()
        every Expr ends with span: Span
    ''', kinds=(annotation(Source, NO_SOURCE), annotation(Span, NO_SPAN)))

    GRAMMAR = surface.GRAMMAR.extend("typed", '''
        Expr ::= ... with type: Type
               - Lam
               + Lam(name: str, param: str, captures: (Capture, ...), body: Expr, type: FunT)
    ''', kinds=(Type, FunT, Capture))

A rule `N ::= A | B ...` gives the forms of the nonterminal N, each
`Form(field: kind, ...)`, with what it means after it: the rest of its line
and the lines below it that start no form. A kind is a nonterminal (a node
of any of its forms), a form (a node of that form), a terminal (`int`,
`str`, `bool`, or a class named in `kinds`), `(kind, ...)` (a tuple of
them), or `kind?` (that, or None). A field may end in `= value` (a default:
`()`, `None`, a number or a quoted string). `every N ends with field: kind`
gives each form of N that last field. An `annotation` kind (a span, a
source file) takes no part in equality and has a default.

`extend` declares the next IR as a delta: it keeps the rules it does not
name, with the very same classes. In a rule it names, `...` stands for the
base's forms, unchanged; `... with field: kind` for each of them with that
field added (before the fields every form ends with: new classes); then
`- Form, Form` removes forms and `+ Form(...)` adds one. A rule without
`...` is new, or replaces the base's rule whole. The first rule is the
program's.

From a grammar follow:
- its forms, as immutable value classes (ir/immutable.py), which `export`
  puts in a module (`typed.Int`); a nonterminal with forms of other names
  has a base class of its own (`Expr`), shared by the IRs that keep it;
- `check`, the structural part of an IR's verifier: every node is a form of
  this IR that its parent's field allows, every field holds its kind;
- `show`, the whole grammar as text (`python -m passes --show-ir NAME`), and
  `show_delta`, what it changes from another IR's (`--delta`);
- `print_node`, a generic printed form of a node, for IRs without a printer.
Classes are made at import, once each; everything else when first asked.
"""

from __future__ import annotations

import re

from ir import Node, VerifyError
from ir.immutable import uncompared, value_class

_MISSING = object()
_BUILTINS = {"int": int, "str": str, "bool": bool}


class GrammarError(ValueError):
    """A declaration that does not read, or names what does not exist."""


class annotation:
    """A terminal kind that takes no part in equality (a span, a source file),
    with a default: a value, or a factory called for each new node."""

    __slots__ = ("cls", "default", "factory")

    def __init__(self, cls: type, default=_MISSING, *, factory=None):
        self.cls, self.default, self.factory = cls, default, factory


# -- what a declaration holds ------------------------------------------------------


class Kind:
    """What a field holds, as written: a name (`shape` "name"), or a tuple
    ("tuple") or an optional value ("optional") of another kind."""

    __slots__ = ("shape", "name", "element", "text")

    def __init__(self, shape: str, name: str = "", element: Kind | None = None):
        self.shape, self.name, self.element = shape, name, element
        self.text = {"name": name, "tuple": f"({element.text}, ...)" if element else "",
                     "optional": f"{element.text}?" if element else ""}[shape]


class Field:
    __slots__ = ("name", "kind", "default")

    def __init__(self, name: str, kind: Kind, default=_MISSING):
        self.name, self.kind, self.default = name, kind, default

    def show(self) -> str:
        return f"{self.name}: {self.kind.text}" + ("" if self.default is _MISSING else f" = {self.default!r}")

    def same(self, other: Field) -> bool:
        return self.show() == other.show()


class Form:
    """One alternative of a rule: a form with its fields (those every form of
    the rule ends with aside), or a terminal kind alone (`fields` None)."""

    __slots__ = ("name", "fields", "comment", "cls")

    def __init__(self, name: str, fields: tuple[Field, ...] | None, comment: list[str]):
        self.name, self.fields, self.comment = name, fields, comment
        self.cls: type | None = None

    def show(self) -> str:
        if self.fields is None:
            return self.name
        return f"{self.name}({', '.join(f.show() for f in self.fields)})"


class Rule:
    __slots__ = ("name", "forms", "trailer", "base_class")

    def __init__(self, name: str, forms: list[Form], trailer: tuple[Field, ...], base_class: type):
        self.name, self.forms, self.trailer, self.base_class = name, forms, trailer, base_class


class _RuleDecl:
    """A rule as a declaration writes it, before it is applied to the base's."""

    def __init__(self, name: str, line: int):
        self.name, self.line = name, line
        self.keeps_base = False
        self.added_fields: tuple[Field, ...] = ()
        self.removed: list[str] = []
        self.forms: list[Form] = []  # alternatives, or (after `...`) the added forms
        self.trailer: tuple[Field, ...] | None = None


# -- reading a declaration -----------------------------------------------------------

_NAME = re.compile(r"[ \t]*([A-Za-z_][A-Za-z0-9_]*)")
_RULE_HEAD = re.compile(r"[ \t]*([A-Za-z_][A-Za-z0-9_]*)[ \t]*::=")
_EVERY = re.compile(r"[ \t]*every[ \t]+([A-Za-z_][A-Za-z0-9_]*)[ \t]+ends[ \t]+with\b")
_SPACE = re.compile(r"\s*")  # newlines too: inside parentheses
_BLANKS = re.compile(r"[ \t]*")
_LITERAL = re.compile(r"[ \t]*(\(\)|None|True|False|-?[0-9]+|\"[^\"\n]*\")")


class _Reader:
    def __init__(self, name: str, text: str):
        self.name, self.text, self.pos = name, text, 0
        self.rules: list[_RuleDecl] = []

    def fail(self, message: str):
        line = self.text.count("\n", 0, self.pos) + 1
        raise GrammarError(f"grammar {self.name!r}, line {line}: {message}")

    def read(self) -> list[_RuleDecl]:
        text, rule, last = self.text, None, None
        while self.pos < len(text):
            end = text.find("\n", self.pos)
            end = len(text) if end < 0 else end
            line = text[self.pos:end].strip()
            head, every = _RULE_HEAD.match(text, self.pos), _EVERY.match(text, self.pos)
            if not line:
                self.pos = end + 1
            elif head:
                rule = _RuleDecl(head.group(1), len(self.rules))
                self.rules.append(rule)
                self.pos = head.end()
                last = self.items(rule, first=True) or rule
            elif every:
                self.pos = every.end()
                target = next((r for r in self.rules if r.name == every.group(1)), None)
                if target is None:
                    self.fail(f"`every {every.group(1)}` before a rule for {every.group(1)}")
                target.trailer = self.fields_until_comment()
                self.end_of_line()
            elif line[0] in "|+-" and rule is not None:
                self.pos = _BLANKS.match(text, self.pos).end()
                last = self.items(rule, first=False) or last
            elif last is not None and isinstance(last, Form):
                last.comment.append(line)  # what the form above means, continued
                self.pos = end + 1
            else:
                self.fail(f"expected a rule `Name ::= ...`, found {line!r}")
        return self.rules

    def items(self, rule: _RuleDecl, first: bool) -> Form | None:
        """The alternatives, removals or additions on the rest of this line, and
        the comment after them; the last form read, if any."""
        text, form = self.text, None
        self.pos = _BLANKS.match(text, self.pos).end()
        if first and text.startswith("...", self.pos):
            self.pos += 3
            rule.keeps_base = True
            if _NAME.match(text, self.pos) and _NAME.match(text, self.pos).group(1) == "with":
                self.pos = _NAME.match(text, self.pos).end()
                rule.added_fields = self.fields_until_comment()
            self.end_of_line()
            return None
        marker = "|" if first else text[self.pos]
        if not first:
            self.pos += 1
        if marker == "-":
            rule.removed.append(self.name_here("a form to remove"))
            while self.skip(","):
                rule.removed.append(self.name_here("a form to remove"))
            self.end_of_line()
            return None
        if (marker == "+") != rule.keeps_base:
            self.fail("after `...`, a form is added with `+`" if rule.keeps_base
                      else "`+` adds a form to the base's (`N ::= ...`)")
        while True:
            form = self.form()
            rule.forms.append(form)
            if not (marker == "|" and self.skip("|")):
                break
        comment = self.end_of_line()
        if comment:
            form.comment.append(comment)
        return form

    def form(self) -> Form:
        name = self.name_here("a form")
        if not self.skip("("):
            return Form(name, None, [])  # a terminal kind alone
        fields: list[Field] = []
        while not self.skip(")", newlines=True):
            if fields and not self.skip(",", newlines=True):
                self.fail(f"expected `,` or `)` in the fields of {name}")
            self.pos = _SPACE.match(self.text, self.pos).end()
            fields.append(self.field())
        return Form(name, tuple(fields), [])

    def field(self) -> Field:
        name = self.name_here("a field name")
        if not self.skip(":"):
            self.fail(f"expected `: kind` after the field {name}")
        kind = self.kind()
        default = _MISSING
        if self.skip("="):
            literal = _LITERAL.match(self.text, self.pos)
            if not literal:
                self.fail(f"the default of {name} must be (), None, True, False, a number or a quoted string")
            self.pos = literal.end()
            written = literal.group(1)
            default = {"()": (), "None": None, "True": True, "False": False}.get(written, written)
            if written[0] == '"':
                default = written[1:-1]
            elif written not in ("()", "None", "True", "False"):
                default = int(written)
        return Field(name, kind, default)

    def kind(self) -> Kind:
        if self.skip("("):
            element = self.kind()
            if not (self.skip(",") and self.skip("...") and self.skip(")")):
                self.fail("a tuple kind reads `(kind, ...)`")
            kind = Kind("tuple", element=element)
        else:
            kind = Kind("name", self.name_here("a kind"))
        if self.skip("?"):
            kind = Kind("optional", element=kind)
        return kind

    def fields_until_comment(self) -> tuple[Field, ...]:
        fields = [self.field()]
        while self.skip(","):
            fields.append(self.field())
        return tuple(fields)

    def name_here(self, what: str) -> str:
        found = _NAME.match(self.text, self.pos)
        if not found:
            self.fail(f"expected {what}")
        self.pos = found.end()
        return found.group(1)

    def skip(self, token: str, newlines: bool = False) -> bool:
        at = (_SPACE if newlines else _BLANKS).match(self.text, self.pos).end()
        if self.text.startswith(token, at):
            self.pos = at + len(token)
            return True
        return False

    def end_of_line(self) -> str:
        """The rest of the line (a comment), stripped; moves to the next line."""
        end = self.text.find("\n", self.pos)
        end = len(self.text) if end < 0 else end
        comment = self.text[self.pos:end].strip()
        self.pos = end + 1
        return comment


# -- a grammar ----------------------------------------------------------------------


class Grammar:
    """An IR's grammar: its rules, its forms as classes, and what follows from them."""

    def __init__(self, name: str, declaration: str, kinds=(), *, base: Grammar | None = None,
                 module: str | None = None):
        self.name, self.base = name, base
        self.module = module or _caller_module()
        self.kinds: dict[str, type | annotation] = dict(base.kinds) if base else {}
        for kind in kinds:
            self.kinds[(kind.cls if isinstance(kind, annotation) else kind).__name__] = kind
        self.rules: dict[str, Rule] = {}
        order = list(base.rules) if base else []
        anchor = -1
        for decl in _Reader(name, declaration).read():
            if decl.name in order:
                anchor = order.index(decl.name)
            else:
                anchor += 1
                order.insert(anchor, decl.name)
            self.rules[decl.name] = self._rule(decl, base.rules.get(decl.name) if base else None)
        self.rules = {n: self.rules.get(n) or base.rules[n] for n in order}
        self.forms: tuple[type, ...] = tuple(f.cls for r in self.rules.values() for f in r.forms if f.cls)
        self._by_name = {f.__name__: f for f in self.forms}
        self._resolve_kinds()
        self._checks: dict[type, tuple] | None = None

    def extend(self, name: str, delta: str, kinds=(), *, module: str | None = None) -> Grammar:
        """The grammar of the IR after this one, declared as a delta of this one."""
        return Grammar(name, delta, kinds, base=self, module=module or _caller_module())

    def form(self, name: str) -> type | None:
        return self._by_name.get(name)

    @classmethod
    def of_forms(cls, name: str, forms: tuple[type, ...]) -> Grammar:
        """The grammar of an IR declared by its classes alone (`@immutable`), read
        back from them, to be shown: a rule per base class (a form whose base is
        Node is a rule of its own), the program's first; each field of the kind it
        is annotated with (or declared with, for a form a grammar made); the
        uncompared fields that every form of a rule ends with, its trailer."""
        grammar = cls.__new__(cls)
        grammar.name, grammar.base, grammar.kinds, grammar._checks = name, None, {}, None
        grouped: dict[str, list[type]] = {}
        for form in sorted(forms, key=lambda form: form.__name__ != "Program"):
            base = form.__bases__[0]
            grouped.setdefault(form.__name__ if base is Node else base.__name__, []).append(form)
        grammar.rules = {rule: _rule_of_classes(rule, classes) for rule, classes in grouped.items()}
        grammar.forms = tuple(forms)
        grammar._by_name = {form.__name__: form for form in forms}
        return grammar


    @property
    def root(self) -> Rule:
        return next(iter(self.rules.values()))

    def export(self, namespace: dict) -> None:
        """Put the forms, and the nonterminals' base classes, in a module's namespace."""
        for rule in self.rules.values():
            if rule.base_class is not Node:
                namespace[rule.name] = rule.base_class
            for form in rule.forms:
                if form.cls is not None:
                    namespace[form.name] = form.cls

    # -- making the forms --------------------------------------------------------

    def _rule(self, decl: _RuleDecl, old: Rule | None) -> Rule:
        trailer = decl.trailer if decl.trailer is not None else (old.trailer if old else ())
        names = {f.name for f in decl.forms}
        if decl.keeps_base:
            if old is None:
                self._fail(decl, f"`{decl.name} ::= ...`, but {self.base.name if self.base else 'no base'} "
                                 f"has no rule {decl.name}")
            base_class = old.base_class
            kept = {f.name for f in old.forms}
            for gone in decl.removed:
                if gone not in kept:
                    self._fail(decl, f"`- {gone}`, but {self.base.name}'s {decl.name} has no form {gone}")
            carried = [f for f in old.forms if f.name not in decl.removed]
            if decl.added_fields:
                carried = [self._make(Form(f.name, (*f.fields, *decl.added_fields), list(f.comment)),
                                      trailer, base_class) for f in carried]
            for form in carried:
                if form.name in names:
                    self._fail(decl, f"`+ {form.name}`, but {decl.name} still has a {form.name}: remove it first")
            added = {f.name: self._make(f, trailer, base_class) for f in decl.forms}
            # A form removed and added again takes its old place.
            by_name = {f.name: f for f in carried}
            forms = [by_name.get(f.name) or added.pop(f.name) for f in old.forms
                     if f.name in by_name or f.name in added]
            forms += added.values()
        else:
            if decl.removed or decl.added_fields:
                self._fail(decl, "`-` and `with` change the base's forms: write `...` first")
            multiple = decl.name not in names
            if not multiple:
                base_class = Node
            elif old is not None and old.base_class is not Node:
                base_class = old.base_class
            else:
                base_class = type(decl.name, (Node,), {"__slots__": (), "__module__": self.module})
            forms = [self._make(f, trailer, base_class) for f in decl.forms]
        if len({f.name for f in forms}) != len(forms):
            self._fail(decl, f"two forms of {decl.name} have one name")
        return Rule(decl.name, forms, trailer, base_class)

    def _make(self, form: Form, trailer: tuple[Field, ...], base_class: type) -> Form:
        """form, with its class."""
        if form.fields is None:
            return form
        fields = (*form.fields, *trailer)
        defaults = {}
        for field in fields:
            kind = self.kinds.get(field.kind.name)
            if isinstance(kind, annotation):
                defaults[field.name] = (uncompared(factory=kind.factory) if kind.factory
                                        else uncompared() if kind.default is _MISSING else uncompared(kind.default))
            elif field.default is not _MISSING:
                defaults[field.name] = field.default
        # For the shared traversal (ir/traverse.py): what it copies as it is (values
        # of no kind a pass rewrites), and what it rewrites element by element.
        plain = tuple(f.name for f in fields if f.kind.shape == "name" and (
            f.kind.name in _BUILTINS or isinstance(self.kinds.get(f.kind.name), annotation)))
        tuples = tuple(f.name for f in fields if f.kind.shape == "tuple")
        try:
            form.cls = value_class(form.name, (base_class,), tuple(f.name for f in fields), defaults,
                                   {"__module__": self.module, "__qualname__": form.name,
                                    "_plain_fields": plain, "_tuple_fields": tuples, "_declared": fields})
        except TypeError as wrong:
            raise GrammarError(f"grammar {self.name!r}: {wrong}") from None
        return form

    def _resolve_kinds(self) -> None:
        for rule in self.rules.values():
            for form in rule.forms:
                if form.fields is None:
                    self._known(form.name, f"{rule.name}'s alternative {form.name}", terminal_only=True)
                for field in (*(form.fields or ()), *rule.trailer):
                    kind = field.kind
                    while kind.shape != "name":
                        kind = kind.element
                    self._known(kind.name, f"{form.name}'s field {field.name}")

    def _known(self, name: str, where: str, terminal_only: bool = False) -> None:
        if name in self.kinds or name in _BUILTINS:
            return
        if not terminal_only and (name in self.rules or name in self._by_name):
            return
        raise GrammarError(f"grammar {self.name!r}: {where} is of kind {name}, which is no rule, form or "
                           f"terminal kind of it (terminals: {', '.join([*_BUILTINS, *self.kinds])})")

    def _fail(self, decl: _RuleDecl, message: str):
        raise GrammarError(f"grammar {self.name!r}, rule {decl.name}: {message}")

    # -- the structural verifier -------------------------------------------------

    def check(self, program: object) -> None:
        """Every node a form of this IR where its parent's field allows it, every
        field holding its kind; raises VerifyError ("forms" or "fields") if not."""
        checks = self._checks if self._checks is not None else self._compile_checks()
        todo: list = []
        problem = self._checker(Kind("name", self.root.name))(program, todo)
        if problem is not None:
            raise self._problem(None, "", problem)
        while todo:
            node = todo.pop()
            for name, check in checks[node.__class__]:
                problem = check(getattr(node, name), todo)
                if problem is not None:
                    raise self._problem(node, name, problem)

    def _compile_checks(self) -> dict[type, tuple]:
        self._checks = {}
        for rule in self.rules.values():
            for form in rule.forms:
                if form.cls is not None:
                    self._checks[form.cls] = tuple((f.name, self._checker(f.kind))
                                                   for f in (*form.fields, *rule.trailer))
        return self._checks

    def _checker(self, kind: Kind):
        """What checks a field's value against kind: a function of (value, the
        nodes still to check) giving None, or (rule, what it should be, value)."""
        if kind.shape == "optional":
            inner = self._checker(kind.element)
            return lambda value, todo: None if value is None else inner(value, todo)
        if kind.shape == "tuple":
            inner, wanted = self._checker(kind.element), ("fields", f"a tuple {kind.text}")

            def check_tuple(value, todo):
                if value.__class__ is not tuple:
                    return (*wanted, value)
                for element in value:
                    problem = inner(element, todo)
                    if problem is not None:
                        return problem
                return None
            return check_tuple
        name = kind.name
        if name in self.rules or name in self._by_name:
            rule = self.rules.get(name)
            allowed = frozenset(f.cls for f in rule.forms if f.cls) if rule else frozenset((self._by_name[name],))
            terminals = tuple(self._terminal(f.name) for f in rule.forms if f.fields is None) if rule else ()
            wanted = ("forms", f"a form of {self.name}'s {name}" if rule else f"{self.name}'s {name}")

            def check_node(value, todo):
                if value.__class__ in allowed:
                    todo.append(value)
                    return None
                if terminals and isinstance(value, terminals):
                    return None
                return (*wanted, value)
            return check_node
        cls = self._terminal(name)
        wanted = ("fields", _a(name))
        if name in _BUILTINS:  # exactly: a bool is no int here
            return lambda value, todo: None if value.__class__ is cls else (*wanted, value)
        return lambda value, todo: None if isinstance(value, cls) else (*wanted, value)

    def _terminal(self, name: str) -> type:
        kind = self.kinds.get(name) or _BUILTINS[name]
        return kind.cls if isinstance(kind, annotation) else kind

    def _problem(self, node, field: str, problem: tuple) -> VerifyError:
        rule, wanted, value = problem
        if isinstance(value, Node):
            own = self._by_name.get(value.__class__.__name__)
            shown = _a(value.__class__.__name__) + (f" of {value.__class__.__module__}"
                                                    if own is not None and own is not value.__class__ else "")
        else:
            shown = "None" if value is None else f"{_a(value.__class__.__name__)} {value!r}"
        where = "the program" if node is None else f"{node.__class__.__name__}'s field {field}"
        blamed = value if rule == "forms" and isinstance(value, Node) else node
        return VerifyError(rule, f"{where} holds {shown}, not {wanted}", blamed if blamed is not None else value)

    # -- the grammar as text ------------------------------------------------------

    def show(self) -> str:
        """The whole grammar: every rule with its forms and what they mean."""
        out: list[str] = []
        for rule in self.rules.values():
            out += _show_rule(rule.name, [("|", f.show(), f.comment) for f in rule.forms])
            if rule.trailer:
                out.append(f"every {rule.name} ends with {', '.join(f.show() for f in rule.trailer)}")
        return _indent(out) + self._annotations()

    def show_delta(self, before: Grammar | None) -> str:
        """What this grammar changes from `before`'s (everything, if None), in the
        words of a delta's declaration: each rule it adds (+), removes (-) or
        changes; in a changed rule, `...` for the forms it keeps (`... with f`:
        each given the field f), then the forms it removes (-), adds (+) or
        gives other new fields (marked +); last, the terminal kinds it adds."""
        old_rules = before.rules if before else {}
        out: list[str] = []
        for name, rule in self.rules.items():
            old = old_rules.get(name)
            if old is None:
                out += _show_rule(f"+ {name}", [("|", f.show(), f.comment) for f in rule.forms])
            else:
                out += _show_changed_rule(name, old, rule)
                if [f.show() for f in rule.trailer] != [f.show() for f in old.trailer]:
                    out.append(f"every {name} ends with {', '.join(f.show() for f in rule.trailer) or 'nothing'}")
        for name, old in old_rules.items():
            if name not in self.rules:
                out += _show_rule(f"- {name}", [("|", f.show(), []) for f in old.forms])
        new_kinds = [name for name in self.kinds if before is None or name not in before.kinds]
        if new_kinds:
            out.append(f"+ terminal kinds {', '.join(new_kinds)}")
        return _indent(out or ["(no change)"])

    def _annotations(self) -> str:
        names = sorted(n for n, k in self.kinds.items() if isinstance(k, annotation))
        if not names:
            return ""
        return (f"\n{_join_words(names)} {'is an annotation' if len(names) == 1 else 'are annotations'}: "
                "no part of equality, and a default when left out.\n")

    # -- a generic printed form ---------------------------------------------------

    def print_node(self, node: object) -> str:
        """node as its form's constructor call, with every compared field:
        `Let(x, Int(1, int), Var(x, int), int)`."""
        from ir import pretty as pp

        def doc(value) -> pp.Doc:
            if isinstance(value, Node) and hasattr(value, "_compared"):
                parts = [doc(getattr(value, name)) for name in value._compared]
                return pp.group(value.__class__.__name__, "(", pp.nest(2, pp.join(pp.concat(",", pp.line), parts)),
                                ")")
            if isinstance(value, tuple):
                return pp.group("(", pp.nest(1, pp.join(pp.concat(",", pp.line), [doc(v) for v in value])),
                                ",)" if len(value) == 1 else ")")
            return pp.text(str(value))

        return pp.render(doc(node))

    def print_program(self, program: object) -> str:
        return self.print_node(program) + "\n"


def _rule_of_classes(name: str, classes: list[type]) -> Rule:
    """A rule read back from its forms' classes (see Grammar.of_forms)."""
    declared = [_fields_of_class(cls) for cls in classes]
    trailer: list[Field] = []
    while len(classes) > 1 and all(len(fields) > len(trailer) for fields in declared):
        last = {fields[-1 - len(trailer)].show() for fields in declared}
        field = declared[0][-1 - len(trailer)]
        if len(last) > 1 or field.name in classes[0]._compared:
            break
        trailer.insert(0, field)
    forms = []
    for cls, fields in zip(classes, declared):
        form = Form(cls.__name__, tuple(fields[:len(fields) - len(trailer)]), [])
        form.cls = cls
        forms.append(form)
    base = classes[0].__bases__[0] if len(classes) > 1 or classes[0].__bases__[0] is not Node else Node
    return Rule(name, forms, tuple(trailer), base)


def _fields_of_class(cls: type) -> list[Field]:
    declared = getattr(cls, "_declared", None)
    if declared is not None:
        return list(declared)
    notes: dict[str, object] = {}
    for klass in reversed(cls.__mro__):
        notes.update(klass.__dict__.get("__annotations__", {}))
    return [Field(name, _kind_of_note(str(notes.get(name, "object")))) for name in cls._fields]


def _kind_of_note(note: str) -> Kind:
    """A kind from a field's annotation as written: `tuple[X, ...]`, `X | None`, or as it is."""
    note = note.strip()
    if note.startswith("tuple[") and note.endswith(", ...]"):
        return Kind("tuple", element=_kind_of_note(note[len("tuple["):-len(", ...]")]))
    if note.endswith("| None"):
        return Kind("optional", element=_kind_of_note(note[:-len("| None")]))
    return Kind("name", note)


def _caller_module() -> str:
    """The module that declares a grammar (as collections.namedtuple finds it)."""
    import sys

    return sys._getframe(2).f_globals.get("__name__", "__main__")


def _a(noun: str) -> str:
    return f"{'an' if noun[0] in 'AEIOUaeiou' else 'a'} {noun}"


def _join_words(words: list[str]) -> str:
    return words[0] if len(words) == 1 else f"{', '.join(words[:-1])} and {words[-1]}"


def _show_changed_rule(name: str, old: Rule, rule: Rule) -> list[str]:
    """The lines of a rule that both grammars have: none if it is unchanged."""
    now_names = {f.name for f in rule.forms}
    old_forms = {f.name: f for f in old.forms}
    kept = [f for f in rule.forms if f.name in old_forms and f.show() == old_forms[f.name].show()]
    carried = [f for f in rule.forms if f.name in old_forms]
    # A field added to every form it keeps reads as the declaration writes it: `... with field`.
    common = _added_to_all(old_forms, carried) if carried and not kept else None
    head = [("|", "..." if kept else f"... with {', '.join('+ ' + f.show() for f in common)}", [])] \
        if kept or common else []
    changes = [("-", f.show(), []) for f in old.forms if f.name not in now_names]
    for form in rule.forms:
        was = old_forms.get(form.name)
        if was is None:
            changes.append(("+", form.show(), form.comment))
        elif form in kept or common and _added(was, form) == common:
            continue
        elif _only_adds(was, form):
            changes.append(("|", _show_added(was, form), form.comment if form.comment != was.comment else []))
        else:
            changes += [("-", was.show(), []), ("+", form.show(), form.comment)]
    return _show_rule(name, head + changes) if changes or common else []


def _added(was: Form, now: Form) -> tuple[Field, ...] | None:
    """The fields now has after all of was's, if it only adds those."""
    if was.fields is None or now.fields is None or len(now.fields) < len(was.fields):
        return None
    if any(not a.same(b) for a, b in zip(was.fields, now.fields)):
        return None
    return now.fields[len(was.fields):] or None


def _added_to_all(old_forms: dict[str, Form], carried: list[Form]) -> tuple[Field, ...] | None:
    """The fields added at the end of most of the carried forms (all but those
    shown on their own), if the same for at least two of them."""
    counts: dict[str, int] = {}
    for form in carried:
        added = _added(old_forms[form.name], form)
        if added:
            key = ", ".join(f.show() for f in added)
            counts[key] = counts.get(key, 0) + 1
    if not counts:
        return None
    best = max(counts, key=lambda key: counts[key])
    if counts[best] < 2:
        return None
    return next(added for form in carried
                if (added := _added(old_forms[form.name], form)) and ", ".join(f.show() for f in added) == best)


def _only_adds(was: Form, now: Form) -> bool:
    """Whether now has all of was's fields, in their order, and more."""
    if was.fields is None or now.fields is None:
        return False
    rest = iter(now.fields)
    return all(any(old.same(f) for f in rest) for old in was.fields)


def _show_added(was: Form, now: Form) -> str:
    kept = {f.show() for f in was.fields}
    return f"{now.name}({', '.join(f.show() if f.show() in kept else '+ ' + f.show() for f in now.fields)})"


COMMENT_COLUMN = 64  # what a form means starts beside it, in one column, if it fits before this
WIDTH = 100


def _show_rule(head: str, items: list[tuple[str, str, list[str]]]) -> list[str]:
    """A rule's lines: `head ::= A`, then `| B` (or `- B`, `+ B`) under it, each
    form with the first line of what it means beside it (below it if either
    does not fit on one line), the rest below it."""
    lead = f"{head} ::= "
    lines = []
    fitting = [len(lead) + len(text) for _, text, _ in items if len(lead) + len(text) <= COMMENT_COLUMN]
    column = max(fitting, default=COMMENT_COLUMN - 2) + 2
    for i, (marker, text, comment) in enumerate(items):
        if i == 0:
            prefix = lead + ("" if marker == "|" else marker + " ")
        else:
            prefix = " " * (len(lead) - 2) + marker + " "
        wrapped = _wrap(prefix + text, len(prefix) + text.find("(") + 1)
        rest = list(comment)
        if rest and len(wrapped) == 1 and len(wrapped[0]) + 2 <= column and column + len(rest[0]) <= WIDTH:
            wrapped[0] = wrapped[0].ljust(column) + rest.pop(0)
        lines += wrapped + [" " * (len(prefix) + 4) + line for line in rest]
    return lines


def _wrap(line: str, hang: int) -> list[str]:
    """line, broken after commas to fit WIDTH, continued under its form's first field."""
    lines = []
    while len(line) > WIDTH and ", " in line[hang:WIDTH]:
        cut = line.rindex(", ", hang, WIDTH) + 1
        lines.append(line[:cut])
        line = " " * hang + line[cut + 1:]
    return lines + [line]


def _indent(lines: list[str]) -> str:
    return "".join(f"    {line}".rstrip() + "\n" for line in lines)
