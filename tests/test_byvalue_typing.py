"""Typing constructs by value and by reference: type hints, TypeVar and ParamSpec, Generic,
NamedTuple, TypedDict and Protocol classes, and annotations of by-value functions and classes."""

import abc
import collections
import gc
import typing

import pytest

# ----- type hints, TypeVar and ParamSpec ----------------------------------------------


def test_union_type_hints(roundtrip):
    for hint in (typing.Union[list, int], typing.Optional[str], int | str):  # noqa: UP007, UP045
        assert roundtrip(hint) == hint


def test_typevar_attributes(roundtrip):
    for var in (
        typing.TypeVar("T"),
        typing.TypeVar("Bounded", bound=int),
        typing.TypeVar("Constrained", int, str),
        typing.TypeVar("Co", covariant=True),
        typing.TypeVar("Contra", contravariant=True),
    ):
        loaded = roundtrip(var)
        for attribute in (
            "__name__",
            "__bound__",
            "__constraints__",
            "__covariant__",
            "__contravariant__",
        ):
            assert getattr(loaded, attribute) == getattr(var, attribute)


def test_paramspec_defined_locally(roundtrip):
    P = typing.ParamSpec("P")
    loaded = roundtrip(P)
    assert isinstance(loaded, typing.ParamSpec)
    assert loaded.__name__ == "P"


def test_typevar_twice_in_one_stream_is_one_object(roundtrip):
    T = typing.TypeVar("T")
    first, second = roundtrip((T, T))
    assert first is second


def test_typevar_is_tracked_in_the_process_that_made_it(roundtrip):
    T = typing.TypeVar("T")
    assert roundtrip(T) is T


# ----- Generic, NamedTuple, TypedDict and Protocol ------------------------------------


def test_generic_class_and_its_parametrised_alias(roundtrip):
    T = typing.TypeVar("T")

    class C(typing.Generic[T]):
        pass

    assert roundtrip(C) is C
    assert roundtrip(C[int]) == C[int]

    def make():
        U = typing.TypeVar("U")

        class Box(typing.Generic[U]):
            def __init__(self, item: U):
                self.item = item

        return Box[int], Box

    alias, box = roundtrip.rebuilt(make)
    assert alias.__origin__ is box
    assert alias.__args__ == (int,)
    assert len(box.__orig_bases__) == 1
    assert box.__orig_bases__[0].__origin__ is typing.Generic
    assert len(box.__parameters__) == 1
    assert box.__parameters__[0].__name__ == "U"
    assert alias(5).item == 5


def test_generic_subclasses_keep_their_mro(roundtrip):
    def make():
        T = typing.TypeVar("T")

        class Base(typing.Generic[T]):
            pass

        class DerivedAny(Base):
            pass

        class LeafAny(DerivedAny):
            pass

        class DerivedInt(Base[int]):
            pass

        class LeafInt(DerivedInt):
            pass

        class DerivedT(Base[T]):
            pass

        class LeafT(DerivedT[T]):
            pass

        return [Base, DerivedAny, LeafAny, DerivedInt, LeafInt, DerivedT, LeafT]

    expected = [[c.__name__ for c in klass.mro()] for klass in make()]
    gc.collect()
    loaded = roundtrip.rebuilt(make)
    assert [[c.__name__ for c in klass.mro()] for klass in loaded] == expected
    base = loaded[0]
    assert all(issubclass(klass, base) for klass in loaded)
    assert loaded[6].mro()[1] is loaded[5], "the MRO is made of classes from the same load"


def test_typing_namedtuple(roundtrip):
    class MyTuple(typing.NamedTuple):
        a: int
        b: int
        c: int = 0

    t1, loaded, t2 = roundtrip([MyTuple(1, 2, 3), MyTuple, MyTuple(3, 2)])
    assert loaded is MyTuple
    assert t1 == MyTuple(1, 2, 3)
    assert t2.c == 0

    def make():
        class Point(typing.NamedTuple):
            x: int
            y: int = 5

            def total(self):
                return self.x + self.y

        return [Point(1), Point]

    point, point_class = roundtrip.rebuilt(make)
    assert type(point) is point_class
    assert point.total() == 6
    assert point_class.__annotations__ == {"x": int, "y": int}
    assert point_class(2)._asdict() == {"x": 2, "y": 5}


def test_typed_dict(roundtrip):
    def make():
        class Movie(typing.TypedDict, total=False):
            title: str
            year: int

        return Movie

    loaded = roundtrip.rebuilt(make)
    assert loaded.__annotations__ == {"title": str, "year": int}
    assert loaded.__total__ is False
    assert loaded(title="x") == {"title": "x"}


def test_runtime_checkable_protocol(roundtrip):
    def make():
        @typing.runtime_checkable
        class Closable(typing.Protocol):
            def close(self) -> None: ...

        class Resource:
            def close(self) -> None:
                pass

        return [Closable, Resource()]

    protocol, resource = roundtrip.rebuilt(make)
    assert isinstance(resource, protocol)
    assert not isinstance(42, protocol)
    with pytest.raises(TypeError):
        protocol()


def test_objects_with_typing_lookalike_attributes(roundtrip):
    class HasValues:
        @property
        def __values__(self):
            return ()

    class HasType:
        @property
        def __type__(self):
            return int

    assert isinstance(roundtrip(HasValues()), HasValues)
    assert isinstance(roundtrip(HasType()), HasType)


# ----- annotations --------------------------------------------------------------------


def test_function_annotations(roundtrip):
    def f(a: int, b: "str" = "x") -> float:
        return float(a)

    loaded = roundtrip(f)
    assert loaded.__annotations__ == {"a": int, "b": "str", "return": float}
    assert loaded(2) == 2.0


def test_annotations_using_typing_constructs(roundtrip):
    P = typing.ParamSpec("P")

    def f(
        mode: typing.Literal["r", "w"],
        value: typing.Union[int, str],  # noqa: UP007
        maybe: typing.Optional[bytes],  # noqa: UP045
        meta: typing.Annotated[int, "units"],
        callback: typing.Callable[P, int],
        items: list[tuple[int, ...]],
        either: int | None,
    ) -> typing.Any:
        return mode

    loaded = roundtrip(f)
    hints = loaded.__annotations__
    assert hints["mode"] == typing.Literal["r", "w"]
    assert hints["value"] == typing.Union[int, str]  # noqa: UP007
    assert hints["maybe"] == typing.Optional[bytes]  # noqa: UP045
    assert typing.get_args(hints["meta"]) == (int, "units")
    assert typing.get_origin(hints["callback"]) is collections.abc.Callable
    assert typing.get_args(hints["callback"])[0].__name__ == "P"
    assert hints["items"] == list[tuple[int, ...]]
    assert hints["either"] == int | None
    assert hints["return"] is typing.Any
    assert loaded("r", 1, None, 1, len, [], None) == "r"


def test_class_annotations(roundtrip):
    def make():
        class C:
            pass

        C.__annotations__ = {"a": int}
        return C

    assert roundtrip.rebuilt(make).__annotations__ == {"a": int}


def test_class_annotations_of_an_abstract_class(roundtrip):
    def make():
        class C(abc.ABC):
            a: int

        return C

    loaded = roundtrip.rebuilt(make)
    assert loaded.__annotations__ == {"a": int}
    again = roundtrip(loaded)
    assert again.__annotations__ == {"a": int}
    assert isinstance(again(), again)


def _types_to_test():
    T = typing.TypeVar("T")

    class C(typing.Generic[T]):
        pass

    return [
        C,
        C[int],
        T,
        typing.Any,
        typing.Optional,
        typing.Generic,
        typing.Union,
        typing.Optional[int],  # noqa: UP045
        typing.Generic[T],
        typing.Callable[[int], typing.Any],
        typing.Callable[..., typing.Any],
        typing.Callable[[], typing.Any],
        typing.Tuple[int, ...],  # noqa: UP006
        typing.Tuple[int, C[int]],  # noqa: UP006
        typing.List[int],  # noqa: UP006
        typing.Dict[int, str],  # noqa: UP006
        typing.ClassVar,
        typing.ClassVar[C[int]],
        typing.NoReturn,
        typing.Literal["a", 1],
        typing.Annotated[int, "meta"],
    ]


@pytest.mark.parametrize("index", range(len(_types_to_test())))
def test_class_with_type_hints_of_every_kind(roundtrip, index):
    def make():
        hint = _types_to_test()[index]

        class MyClass:
            def method(self, arg: hint) -> hint:
                return arg

        MyClass.__annotations__ = {"attribute": hint}
        return MyClass(), hint

    obj, hint = roundtrip.rebuilt(make)
    assert type(obj).__annotations__["attribute"] == hint
    assert obj.method.__annotations__ == {"arg": hint, "return": hint}
