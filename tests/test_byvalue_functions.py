"""By-value functions: lambdas, closures and their cells, defaults and other function
attributes, the globals a function takes along, generators, coroutines and partials."""

import asyncio
import dis
import functools
import pickle
import sys
import types

import numpy as np
import oxpickle
import pytest
from byvalue_helpers import namespace

# ----- lambdas and closures -----------------------------------------------------------


def test_lambda_runs_after_round_trip(roundtrip):
    assert roundtrip(lambda: 1)() == 1
    assert roundtrip(lambda x, y=2: x * y)(21) == 42


def test_lambda_calling_another_lambda_from_its_closure(roundtrip):
    a, b = 1, 2
    first = lambda x: x + a  # noqa: E731
    second = lambda x: first(x) // b  # noqa: E731
    assert roundtrip(second)(1) == 1
    assert roundtrip(second)(9) == 5


def test_nested_function_reads_its_enclosing_variables(roundtrip):
    def make(base):
        offset = 10

        def add(x):
            return base + offset + x

        return add

    assert roundtrip(make(5))(1) == 16


def test_function_that_returns_itself_through_its_closure(roundtrip):
    def make():
        def me():
            return me

        return me

    loaded = roundtrip(make())
    assert loaded() is loaded


def test_recursive_closure_computes_through_itself(roundtrip):
    def make(base):
        def factorial_from(n):
            return base if n <= 1 else n * factorial_from(n - 1)

        return factorial_from

    assert roundtrip(make(2))(5) == 240


def test_function_without_free_variables_keeps_no_closure(roundtrip):
    def plain():
        """No closure cells."""

    assert plain.__closure__ is None
    assert roundtrip(plain).__closure__ is None


def test_empty_closure_cell_stays_empty(roundtrip):
    def make():
        if False:  # pragma: no cover
            never_bound = None

        def read():
            return never_bound

        return read

    loaded = roundtrip(make())
    with pytest.raises(NameError):
        loaded()
    with pytest.raises(ValueError):
        _ = loaded.__closure__[0].cell_contents


def test_closure_over_an_unhashable_value(roundtrip):
    def make():
        items = {1, 2}

        def count():
            return len(items)

        return count

    assert roundtrip(make())() == 2


def test_cell_shared_by_two_functions_stays_shared_after_one_load(roundtrip):
    def make_counter():
        count = 0

        def increment():
            nonlocal count
            count += 1
            return count

        def read():
            return count

        return increment, read

    increment, read = make_counter()
    increment()
    loaded_increment, loaded_read = roundtrip((increment, read))
    assert loaded_increment.__closure__[0] is loaded_read.__closure__[0]
    assert loaded_read() == 1
    loaded_increment()
    loaded_increment()
    assert loaded_read() == 3
    assert read() == 1, "the sender's cell must not change"


def test_closure_holding_a_class_defined_alongside(roundtrip):
    def make():
        class Point:
            def __init__(self, x):
                self.x = x

        def build(x):
            return Point(x)

        return build

    build = roundtrip.rebuilt(lambda: make())
    point = build(7)
    assert point.x == 7
    assert type(point).__name__ == "Point"


# ----- function attributes ------------------------------------------------------------


def test_positional_defaults_and_keyword_only_defaults(roundtrip):
    def f(a, b=2, *, c=3, d):
        return (a, b, c, d)

    loaded = roundtrip(f)
    assert loaded(1, d=4) == (1, 2, 3, 4)
    assert loaded.__defaults__ == (2,)
    assert loaded.__kwdefaults__ == {"c": 3}


def test_keyword_only_argument_with_default(roundtrip):
    def f(a, *, b=1):
        return a + b

    loaded = roundtrip(f)
    assert loaded(2) == 3
    assert loaded(2, b=5) == 7
    assert loaded.__kwdefaults__ == {"b": 1}


def test_positional_only_arguments(roundtrip):
    def f(a, /, b=1):
        return a + b

    loaded = roundtrip(f)
    assert loaded(2) == 3
    assert loaded.__code__.co_posonlyargcount == 1
    with pytest.raises(TypeError):
        loaded(a=2)


def test_name_qualname_doc_module_and_dict(roundtrip):
    def original(x):
        """The docstring."""
        return x

    original.__qualname__ = "<modified qualname>"
    original.tag = {"kind": "marker"}
    loaded = roundtrip(original)
    assert loaded.__name__ == "original"
    assert loaded.__qualname__ == "<modified qualname>"
    assert loaded.__doc__ == "The docstring."
    assert loaded.__module__ == original.__module__
    assert loaded.tag == {"kind": "marker"}
    assert loaded(5) == 5


@pytest.mark.parametrize("kind", ["nested function", "lambda"])
def test_module_of_a_by_value_function_is_kept(roundtrip, kind):
    def local(x):
        return x

    func = local if kind == "nested function" else (lambda x: x)
    assert roundtrip(func).__module__ == func.__module__ == __name__


def test_functools_wraps_keeps_name_doc_annotations_and_wrapped(roundtrip):
    def inner(x: int) -> float:
        """Forty-two."""
        return x / 2

    @functools.wraps(inner)
    def outer(x):
        return inner(x) + 1

    loaded = roundtrip(outer)
    assert loaded.__name__ == "inner"
    assert loaded.__doc__ == "Forty-two."
    assert loaded.__annotations__ == {"x": int, "return": float}
    assert loaded.__wrapped__(4) == 2
    assert loaded(4) == 3


def test_function_with_module_none_and_a_non_module_in_sys_modules(roundtrip, monkeypatch):
    def func(x):
        return x**2

    func.__module__ = None

    class NonModuleObject:
        def __getattr__(self, name):
            if name == "func":
                return func
            raise AttributeError(name)

    monkeypatch.setitem(sys.modules, "oxbv_non_module_object", NonModuleObject())
    assert roundtrip(func)(2) == 4


# ----- globals ------------------------------------------------------------------------


def test_only_the_globals_the_code_uses_travel(roundtrip):
    scope = namespace(
        """
        import math

        USED = 40
        UNUSED = "UNUSED-GLOBAL-MARKER"

        def helper(x):
            return x + 1

        def unwanted_function(x):
            return math.exp(x)

        def small_function(x):
            return helper(x) + USED
        """
    )
    data = roundtrip.dumps(scope["small_function"])
    assert b"small_function" in data
    assert b"helper" in data
    assert b"UNUSED-GLOBAL-MARKER" not in data
    assert b"unwanted_function" not in data
    assert b"math" not in data
    loaded = roundtrip.load(data)
    assert loaded(1) == 42
    assert "UNUSED" not in loaded.__globals__
    assert "unwanted_function" not in loaded.__globals__


def test_builtins_stay_available_to_by_value_functions(roundtrip):
    scope = namespace(
        """
        def uses_builtins(n):
            return sum(range(n)) + len(str(n)) + abs(-1)
        """
    )
    assert roundtrip(scope["uses_builtins"])(10) == 45 + 2 + 1


def test_attribute_names_are_not_mistaken_for_globals(roundtrip):
    class Unpicklable:
        def __reduce__(self):
            raise RuntimeError("must not be pickled")

    scope = namespace(
        """
        import sys

        def stop():
            sys.exit(0)
        """,
        exit=Unpicklable(),
    )
    assert "exit" in scope["stop"].__code__.co_names
    loaded = roundtrip(scope["stop"])
    assert "exit" not in loaded.__globals__
    assert loaded.__globals__["sys"] is sys


def test_globals_used_only_by_nested_code_objects_travel(roundtrip):
    scope = namespace(
        """
        DEEP = "deep value"

        def factory():
            def inner():
                global DEEP
                return DEEP

            return inner
        """
    )
    assert roundtrip(scope["factory"])()() == "deep value"


def test_modules_used_as_globals_travel_by_reference(roundtrip):
    scope = namespace(
        """
        import numpy as np

        def norm(vector):
            return float(np.linalg.norm(vector))
        """
    )
    loaded = roundtrip(scope["norm"])
    assert loaded.__globals__["np"] is np
    assert loaded([3.0, 4.0]) == 5.0


def test_functions_sharing_globals_share_one_dict_after_one_load(roundtrip):
    scope = namespace(
        """
        VARIABLE = "default"

        def set_variable():
            global VARIABLE
            VARIABLE = "changed"

        def get_variable():
            return VARIABLE
        """
    )
    set_variable, get_variable = roundtrip([scope["set_variable"], scope["get_variable"]])
    assert set_variable.__globals__ is get_variable.__globals__
    assert set_variable.__globals__ is not scope
    set_variable()
    assert get_variable() == "changed"
    assert scope["VARIABLE"] == "default", "loading must not touch the sender's globals"


def test_separate_loads_get_separate_globals(roundtrip):
    scope = namespace(
        """
        VARIABLE = "default"

        def set_variable():
            global VARIABLE
            VARIABLE = "changed"

        def get_variable():
            return VARIABLE
        """
    )
    set_variable = roundtrip(scope["set_variable"])
    get_variable = roundtrip(scope["get_variable"])
    set_variable()
    assert get_variable.__globals__ is not set_variable.__globals__
    assert get_variable() == "default"


def test_global_reassigned_in_sender_after_dump_does_not_leak(roundtrip):
    scope = namespace(
        """
        LIMIT = 3

        def limit():
            return LIMIT
        """
    )
    data = roundtrip.dumps(scope["limit"])
    scope["LIMIT"] = 99
    assert roundtrip.load(data)() == 3


def test_function_with_more_globals_than_an_opcode_argument_holds():
    # Global references whose index does not fit in one byte carry
    # EXTENDED_ARG prefixes; past 2**15 names LOAD_GLOBAL needs two of them.
    # The scan for the globals the code uses must follow them.
    names = [f"g{i}" for i in range(2**15 + 300)]
    values = {name: i % 7 for i, name in enumerate(names)}
    scope = namespace(f"def total():\n    return sum(({', '.join(names)},))\n", **values)
    func = scope["total"]
    ops = [instruction.opname for instruction in dis.get_instructions(func)]
    assert any(
        ops[i : i + 3] == ["EXTENDED_ARG", "EXTENDED_ARG", "LOAD_GLOBAL"] for i in range(len(ops))
    ), "precondition: the code must use two EXTENDED_ARG prefixes"
    expected = func()
    data = oxpickle.dumps([func, func])
    for load in (oxpickle.loads, pickle.loads):
        first, second = load(data)
        assert first is second
        assert first() == expected
        assert len(first.__globals__.keys() & set(names)) == len(names)


# ----- generators, coroutines and partials --------------------------------------------


def test_generator_function(roundtrip):
    def count_up(n):
        yield from range(n)

    loaded = roundtrip(count_up)
    assert isinstance(loaded(3), types.GeneratorType)
    assert list(loaded(3)) == [0, 1, 2]


def test_coroutine_function_with_closure(roundtrip):
    step = 1

    async def add_later(x):
        await asyncio.sleep(0)
        return x + step

    loaded = roundtrip(add_later)
    assert asyncio.iscoroutinefunction(loaded)
    assert asyncio.run(loaded(41)) == 42


def test_partial_of_builtin_and_of_lambda(roundtrip):
    assert roundtrip(functools.partial(min, 1))(4) == 1
    loaded = roundtrip(functools.partial(lambda a, b, c=0: a - b + c, 10, c=5))
    assert loaded(3) == 12
