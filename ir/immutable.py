"""Immutable value classes: IR forms, types, spans, declared like frozen dataclasses.

    @immutable
    class Let(Expr):
        name: str
        value: Expr
        body: Expr
        span: Span = uncompared(NO_SPAN)

The class gets a slot per field, a constructor taking the fields in order or
by name (then `__post_init__`, if it has one), `__match_args__`, equality,
a hash and a repr over the compared fields, and no assignment. `fields` and
`replace` work on it, and so do `dataclasses.fields`, `replace` and
`is_dataclass`. A field marked `uncompared` (a span, a source file) takes
no part in equality, the hash or the repr.

Why not @dataclass: it writes and compiles every method of every class when
its module is imported, about half a millisecond a class; a hundred classes
took longer than compiling and running a small program. Here the methods are
shared, constructor included, until a class has made COMPILE_AFTER values:
then it gets a constructor of its own, compiled, twice as fast.
"""

from __future__ import annotations

from operator import attrgetter

_MISSING = object()

# Compiling a constructor takes as long as making a few hundred values with
# the shared one; most classes make a handful in a small run.
COMPILE_AFTER = 200
_made: dict[type, int] = {}  # values each class has made with the shared constructor


class uncompared:
    """A field that takes no part in equality, the hash or the repr; with its
    default (a value, or a factory called for each new value), if any."""

    __slots__ = ("default", "factory")

    def __init__(self, default=_MISSING, *, factory=None):
        self.default = default
        self.factory = factory


def immutable(cls: type) -> type:
    """cls, remade as an immutable value class of its annotated fields (after its bases')."""
    inherited = getattr(cls, "_fields", ())
    own = [name for name, note in cls.__dict__.get("__annotations__", {}).items()
           if not str(note).startswith("ClassVar") and name not in inherited]
    extra_slots = tuple(cls.__dict__.get("__slots__", ()))  # caches that are not fields
    fields = (*inherited, *own)
    defaults = {**getattr(cls, "_defaults", {}), **{name: cls.__dict__[name] for name in own if name in cls.__dict__}}
    _check_order(cls.__name__, fields, defaults)
    compared = tuple(name for name in fields if not isinstance(defaults.get(name), uncompared))
    namespace = {key: value for key, value in cls.__dict__.items()
                 if key not in (*own, *extra_slots, "__dict__", "__weakref__")}
    namespace.update(
        __slots__=(*own, *extra_slots), __match_args__=fields, _fields=fields, _defaults=defaults,
        _compared=compared, _key=staticmethod(attrgetter(*compared) if compared else _no_key),
        __init__=_shared_init)
    bases = cls.__bases__ if issubclass(cls, Value) else (*(b for b in cls.__bases__ if b is not object), Value)
    return type(cls)(cls.__name__, bases, namespace)


def fields(value_or_class) -> tuple[str, ...]:
    """The names of the fields, in order (of a dataclass too)."""
    names = getattr(value_or_class, "_fields", None)
    if names is None:
        import dataclasses

        names = tuple(f.name for f in dataclasses.fields(value_or_class))
    return names


def replace(value, **changes):
    """value with some fields changed."""
    new = type(value)(*[changes.pop(name) if name in changes else getattr(value, name) for name in value._fields])
    if changes:
        raise TypeError(f"{type(value).__name__} has no field {next(iter(changes))!r}")
    return new


def _check_order(name: str, fields: tuple[str, ...], defaults: dict) -> None:
    """Fields with defaults come last, as a constructor's parameters must."""
    seen_default = None
    for field in fields:
        default = defaults.get(field, _MISSING)
        given = default is not _MISSING and not (isinstance(default, uncompared) and default.default is _MISSING
                                                 and default.factory is None)
        if given:
            seen_default = field
        elif seen_default is not None:
            raise TypeError(f"{name}: field {field!r} has no default but comes after {seen_default!r}, which has one")


def _no_key(value) -> tuple:
    return ()


def _shared_init(self, *args, **kwargs) -> None:
    """The constructor of every class, until the class has made COMPILE_AFTER values."""
    cls = type(self)
    made = _made[cls] = _made.get(cls, 0) + 1
    if made >= COMPILE_AFTER:
        cls.__init__ = _constructor(cls)
        cls.__init__(self, *args, **kwargs)
        return
    for name, value in zip(cls._fields, _bind(cls, args, kwargs)):
        object.__setattr__(self, name, value)
    if hasattr(cls, "__post_init__"):
        self.__post_init__()


def _bind(cls: type, args: tuple, kwargs: dict) -> list:
    """The values of cls's fields, in order, from a call's arguments and the defaults."""
    names = cls._fields
    if len(args) > len(names):
        raise TypeError(f"{cls.__name__}() takes {len(names)} arguments but {len(args)} were given")
    values = list(args)
    for name in names[len(args):]:
        if name in kwargs:
            values.append(kwargs.pop(name))
            continue
        default = cls._defaults.get(name, _MISSING)
        if isinstance(default, uncompared):
            default = default.factory() if default.factory is not None else default.default
        if default is _MISSING:
            raise TypeError(f"{cls.__name__}() missing argument {name!r}")
        values.append(default)
    if kwargs:
        name = next(iter(kwargs))
        what = "multiple values for" if name in names else "an unexpected keyword"
        raise TypeError(f"{cls.__name__}() got {what} argument {name!r}")
    return values


def _constructor(cls: type):
    """cls's own constructor, compiled: _bind's work, written out for its fields."""
    params, lines, env = [], [], {"_MISSING": _MISSING}
    for i, name in enumerate(cls._fields):
        default, factory = cls._defaults.get(name, _MISSING), None
        if isinstance(default, uncompared):
            default, factory = default.default, default.factory
        if factory is not None:
            params.append(f"{name}=_MISSING")
            lines.append(f"    if {name} is _MISSING: {name} = _factory{i}()")
            env[f"_factory{i}"] = factory
        elif default is not _MISSING:
            params.append(f"{name}=_default{i}")
            env[f"_default{i}"] = default
        else:
            params.append(name)
        lines.append(f"    _set{i}(self, {name})")
        env[f"_set{i}"] = getattr(cls, name).__set__  # the slot's own setter: no __setattr__
    if hasattr(cls, "__post_init__"):
        lines.append("    self.__post_init__()")
    exec(f"def __init__(self, {', '.join(params)}):\n" + ("\n".join(lines) or "    pass") + "\n", env)
    init = env["__init__"]
    init.__qualname__ = f"{cls.__qualname__}.__init__"
    return init


class _DataclassFields:
    """`__dataclass_fields__`, so that the dataclasses module's functions work
    on these classes too: built on first use (importing dataclasses is slow)."""

    def __get__(self, value, cls):
        import dataclasses

        specs = []
        for name in cls._fields:
            default = cls._defaults.get(name, _MISSING)
            options = {}
            if isinstance(default, uncompared):
                options["compare"] = False
                if default.factory is not None:
                    options["default_factory"] = default.factory
                default = default.default
            if default is not _MISSING:
                options["default"] = default
            specs.append((name, object, dataclasses.field(**options)))
        shadow = dataclasses.make_dataclass(cls.__name__, specs, frozen=True)
        type.__setattr__(cls, "__dataclass_fields__", shadow.__dataclass_fields__)
        type.__setattr__(cls, "__dataclass_params__", shadow.__dataclass_params__)
        return shadow.__dataclass_fields__


class Value:
    """The methods every immutable class shares; immutable() makes it a base of
    each (after the class's own bases, whose methods of these names come first):
    equality, a hash and a repr over the compared fields (`_key(value)`, a
    static method of each class), no assignment, copies made by the constructor."""

    __slots__ = ()

    def __eq__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return self is other or self._key(self) == self._key(other)

    def __ne__(self, other):
        if other.__class__ is not self.__class__:
            return NotImplemented
        return not (self is other or self._key(self) == self._key(other))

    def __hash__(self) -> int:
        return hash(self._key(self))

    def __repr__(self) -> str:
        return f"{type(self).__name__}({', '.join(f'{name}={getattr(self, name)!r}' for name in self._compared)})"

    def __setattr__(self, name, value):
        raise AttributeError(f"cannot assign to field {name!r} of an immutable {type(self).__name__}")

    def __delattr__(self, name):
        raise AttributeError(f"cannot delete field {name!r} of an immutable {type(self).__name__}")

    def __reduce__(self):
        return type(self), tuple(getattr(self, name) for name in self._fields)

    __dataclass_fields__ = _DataclassFields()
