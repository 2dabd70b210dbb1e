"""ir.immutable: value classes that behave as frozen dataclasses do, with either constructor."""

from __future__ import annotations

import copy
import dataclasses
import pickle

import pytest

from ir import immutable as im
from ir.immutable import fields, immutable, replace, uncompared


class Base:
    __slots__ = ()


@immutable
class Pair(Base):
    left: int
    right: object = None
    note: str = uncompared("")
    made: list = uncompared(factory=list)


@immutable
class Counted(Base):
    __slots__ = ("_twice",)  # a cache, not a field
    n: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "_twice", 2 * self.n)


@pytest.fixture(params=["shared", "compiled"])
def constructed(request, monkeypatch):
    """Make values with the shared constructor, or with each class's compiled one."""
    if request.param == "compiled":
        for cls in (Pair, Counted):
            monkeypatch.setattr(cls, "__init__", im._constructor(cls))
    else:
        for cls in (Pair, Counted):
            monkeypatch.setattr(cls, "__init__", im._shared_init)
        monkeypatch.setattr(im, "_made", {})
    return request.param


def test_fields_defaults_and_factories(constructed):
    p = Pair(1)
    assert (p.left, p.right, p.note, p.made) == (1, None, "", [])
    assert Pair(1).made is not Pair(1).made
    assert Pair(left=1, right=2, note="n") == Pair(1, 2)
    assert fields(p) == Pair.__match_args__ == ("left", "right", "note", "made")


def test_equality_hash_and_repr_leave_out_uncompared_fields(constructed):
    assert Pair(1, 2, "a") == Pair(1, 2, "b") and hash(Pair(1, 2, "a")) == hash(Pair(1, 2, "b"))
    assert Pair(1, 2) != Pair(1, 3)
    assert Pair(1, 2) != (1, 2)
    assert repr(Pair(1, "x", "note")) == "Pair(left=1, right='x')"


def test_values_are_frozen_and_match_by_position(constructed):
    p = Pair(1, 2)
    with pytest.raises(AttributeError):
        p.left = 3
    with pytest.raises(AttributeError):
        del p.left
    match p:
        case Pair(left, right):
            assert (left, right) == (1, 2)


def test_bad_arguments_are_type_errors(constructed):
    with pytest.raises(TypeError):
        Pair()
    with pytest.raises(TypeError):
        Pair(1, 2, "", [], "one too many")
    with pytest.raises(TypeError):
        Pair(1, nothing=2)
    with pytest.raises(TypeError):
        Pair(1, left=2)


def test_post_init_and_caches(constructed):
    assert Counted(4)._twice == 8
    assert replace(Counted(4), n=5)._twice == 10


def test_replace_copy_pickle_and_dataclasses(constructed):
    p = Pair(1, 2, "note")
    assert replace(p, right=3) == Pair(1, 3) and replace(p, right=3).note == "note"
    with pytest.raises(TypeError):
        replace(p, nothing=1)
    assert copy.deepcopy(p) == p and pickle.loads(pickle.dumps(p)) == p
    assert dataclasses.is_dataclass(p)
    assert [f.name for f in dataclasses.fields(p)] == ["left", "right", "note", "made"]
    assert dataclasses.replace(p, left=5) == Pair(5, 2)


def test_a_class_compiles_its_constructor_after_making_many_values(monkeypatch):
    monkeypatch.setattr(Pair, "__init__", im._shared_init)
    monkeypatch.setattr(im, "_made", {})
    for i in range(im.COMPILE_AFTER - 1):
        assert Pair(i).left == i
    assert Pair.__init__ is im._shared_init
    assert Pair(-1, right=2) == Pair(-1, 2)
    assert Pair.__init__ is not im._shared_init
    assert Pair(7).made == [] and Pair(7) == Pair(left=7)


def test_an_order_that_a_constructor_could_not_take_is_refused():
    class Late(Base):
        first: int = 0
        second: int

    with pytest.raises(TypeError, match="no default but comes after"):
        immutable(Late)
