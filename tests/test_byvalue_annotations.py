"""Annotations and type parameters of code pickled by value.

* From 3.14 (PEP 649/749) annotations are deferred: a function or class
  holds an ``__annotate__`` function, run when they are first asked for.
  That function travels by value, so the receiver evaluates them lazily
  too, in any format, class-scope names (a ``__classdict__`` cell)
  included; the dump evaluates nothing.
* PEP 695 generics (3.12+) keep their ``__type_params__``, the very
  TypeVars their annotations name (cloudpickle drops them).

Sources are compiled at run time: their syntax does not exist on every
supported version, and each test says from which version it applies.
"""

import sys
import textwrap

import oxpickle
import pytest

DEFERRED = pytest.mark.skipif(
    sys.version_info < (3, 14), reason="annotations are deferred from 3.14 (PEP 649)"
)
GENERICS = pytest.mark.skipif(
    sys.version_info < (3, 12), reason="generic syntax arrived in 3.12 (PEP 695)"
)


def define(source: str) -> dict:
    """Runs `source` as the body of a module the receiver cannot import,
    so what it defines travels by value."""
    namespace = {"__name__": "not_importable_annotations_module"}
    exec(textwrap.dedent(source), namespace)
    return namespace


@DEFERRED
def test_a_name_undefined_when_dumped_is_resolved_when_asked_for():
    import annotationlib

    namespace = define(
        """
        def f(x: Later) -> int:
            return x
        """
    )
    loaded = oxpickle.loads(oxpickle.dumps(namespace["f"]))
    forward = annotationlib.get_annotations(loaded, format=annotationlib.Format.FORWARDREF)
    assert forward["x"].__forward_arg__ == "Later"
    assert forward["return"] is int
    with pytest.raises(NameError, match="Later"):
        _ = loaded.__annotations__
    loaded.__globals__["Later"] = float
    assert loaded.__annotations__ == {"x": float, "return": int}


@DEFERRED
def test_dumps_evaluates_no_annotation():
    namespace = define(
        """
        calls = []

        def note(name):
            calls.append(name)
            return name

        def f(x: note("x")):
            pass
        """
    )
    data = oxpickle.dumps(namespace["f"])
    assert namespace["calls"] == []
    loaded = oxpickle.loads(data)
    assert loaded.__annotations__ == {"x": "x"}
    assert loaded.__globals__["calls"] == ["x"]


@DEFERRED
def test_class_annotations_stay_lazy_and_see_class_scope_names(roundtrip):
    def make():
        namespace = define(
            """
            class Record:
                Alias = int
                field: Alias
                later: Pending

                def method(self, value: Alias) -> "Record":
                    return value
            """
        )
        return namespace["Record"]

    loaded = roundtrip.rebuilt(make)
    assert loaded.method.__annotations__ == {"value": int, "return": "Record"}
    with pytest.raises(NameError, match="Pending"):
        _ = loaded.__annotations__
    # The class's annotations look names up in the receiver's copy of the
    # module's globals, which its methods share.
    loaded.method.__globals__["Pending"] = str
    assert loaded.__annotations__ == {"field": int, "later": str}


@DEFERRED
def test_annotations_read_before_dumping_travel_too():
    namespace = define(
        """
        def f(x: int) -> str:
            return str(x)
        """
    )
    assert namespace["f"].__annotations__ == {"x": int, "return": str}
    loaded = oxpickle.loads(oxpickle.dumps(namespace["f"]))
    assert loaded.__annotations__ == {"x": int, "return": str}


def test_annotations_set_by_hand_travel_on_every_version():
    namespace = define(
        """
        def f(x):
            return x
        """
    )
    namespace["f"].__annotations__ = {"x": bytes}
    loaded = oxpickle.loads(oxpickle.dumps(namespace["f"]))
    assert loaded.__annotations__ == {"x": bytes}


@GENERICS
def test_a_generic_function_keeps_its_type_parameters():
    namespace = define(
        """
        def first[T](items: list[T]) -> T:
            return items[0]
        """
    )
    loaded = oxpickle.loads(oxpickle.dumps(namespace["first"]))
    (param,) = loaded.__type_params__
    assert param.__name__ == "T"
    assert loaded.__annotations__["return"] is param
    assert loaded([3, 4]) == 3


@GENERICS
def test_a_generic_class_keeps_its_type_parameters(roundtrip):
    def make():
        namespace = define(
            """
            class Box[T: (int, str)]:
                item: T

                def get(self) -> T:
                    return self.item
            """
        )
        return namespace["Box"]

    loaded = roundtrip.rebuilt(make)
    (param,) = loaded.__type_params__
    assert param.__name__ == "T"
    assert param.__constraints__ == (int, str)
    assert loaded.__annotations__ == {"item": param}
    assert loaded.get.__annotations__ == {"return": param}
    assert loaded[int].__args__ == (int,)


@DEFERRED
def test_closures_share_one_copy_of_their_annotate_qualname():
    """CPython 3.14 gives each closure's __annotate__ a fresh __qualname__
    string (3.15 shares one): equal ones are written once, then referenced."""
    namespace = define(
        """
        def make(factor):
            def scale(x: float) -> float:
                return x * factor
            return scale
        """
    )
    closures = [namespace["make"](n) for n in range(5)]
    data = oxpickle.dumps(closures)
    assert data.count(b"make.<locals>.scale.__annotate__") == 1
    loaded = oxpickle.loads(data)
    assert [f(2.0) for f in loaded] == [2.0 * n for n in range(5)]
    assert [f.__annotate__.__qualname__ for f in loaded] == ["make.<locals>.scale.__annotate__"] * 5
    assert loaded[3].__annotations__ == {"x": float, "return": float}


@DEFERRED
def test_stringified_annotations_travel_as_their_dict():
    """Under `from __future__ import annotations`, __annotate__ returns
    constant strings: the dict travels, not a function per closure."""
    namespace = define(
        """
        from __future__ import annotations

        def make(factor):
            def scale(x: float) -> Later:
                return x * factor
            return scale
        """
    )
    closures = [namespace["make"](n) for n in range(3)]
    data = oxpickle.dumps(closures)
    assert b"__annotate__" not in data
    loaded = oxpickle.loads(data)
    assert [f.__annotations__ for f in loaded] == [{"x": "float", "return": "Later"}] * 3
    assert [f.__annotate__ for f in loaded] == [None] * 3
    assert [f(2.0) for f in loaded] == [0.0, 2.0, 4.0]


@DEFERRED
def test_literal_annotations_travel_as_their_dict():
    namespace = define(
        """
        def f(x: 1, y: "text") -> (2, None):
            return x
        """
    )
    data = oxpickle.dumps(namespace["f"])
    assert b"__annotate__" not in data
    assert oxpickle.loads(data).__annotations__ == {"x": 1, "y": "text", "return": (2, None)}


@DEFERRED
def test_annotations_that_read_a_name_keep_their_function():
    """Reading a name (a global, a builtin, a cell) could run code or fail
    until the name exists: the function travels and nothing is evaluated."""
    namespace = define(
        """
        def make(kind):
            def f(x: kind, y: float) -> Later:
                return x
            return f
        """
    )
    data = oxpickle.dumps(namespace["make"](int))
    assert b"__annotate__" in data
    loaded = oxpickle.loads(data)
    with pytest.raises(NameError, match="Later"):
        _ = loaded.__annotations__
    loaded.__globals__["Later"] = str
    assert loaded.__annotations__ == {"x": int, "y": float, "return": str}
