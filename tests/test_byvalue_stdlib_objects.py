"""Objects the stdlib's pickle refuses but oxpickle reduces (builtin methods, descriptors,
operator callables, views, memoryview, WeakSet...), and general round-trip and API tests."""

import collections
import copyreg
import io
import itertools
import logging
import math
import multiprocessing
import operator
import os
import os.path
import pickle
import sys
import types
import typing
import weakref
from fractions import Fraction
from typing import Any

import numpy as np
import oxpickle
import pytest
from byvalue_helpers import LOADERS

# ----- helpers ------------------------------------------------------------------------


def name_of(obj: Any) -> str:
    """A stable test id: no memory addresses, no hash-dependent set order."""
    for attribute in ("__qualname__", "__name__"):
        name = getattr(obj, attribute, None)
        if isinstance(name, str):
            return name
    return f"a {type(obj).__name__}"


# Module-level objects: this test module is importable, so these travel by
# reference.


def module_level_function(x):
    return 3 * x


class ModuleLevelClass:
    def triple(self, x):
        return 3 * x


class _Singleton:
    def __reduce__(self):
        return "SINGLETON"


SINGLETON = _Singleton()
MODULE_T = typing.TypeVar("MODULE_T")


# ----- by reference or by value -------------------------------------------------------


@pytest.mark.parametrize(
    "obj",
    [
        module_level_function,
        ModuleLevelClass,
        os.path.join,
        collections.OrderedDict,
        zip,
        len,
        os.mkdir,
        str.upper,
        typing.AnyStr,
        MODULE_T,
        np.add,
    ],
    ids=name_of,
)
def test_importable_functions_and_classes_travel_by_reference(roundtrip, obj):
    assert roundtrip(obj) is obj


@pytest.mark.parametrize("protocol", [2, 5])
@pytest.mark.parametrize(
    "obj",
    [
        module_level_function,
        ModuleLevelClass,
        os.path.join,
        zip,
        [1, "two", (3.0, b"four"), {"five": None}],
        ModuleLevelClass(),
    ],
    ids=name_of,
)
def test_what_the_stdlib_can_pickle_is_pickled_byte_identically(obj, protocol):
    # A Pickler writes what the stdlib's writes. (One-shot dumps() leaves
    # out memo entries for objects that cannot be reached twice, so its
    # bytes may be shorter; it must still load to the same thing.)
    ours, theirs = io.BytesIO(), io.BytesIO()
    oxpickle.Pickler(ours, protocol).dump(obj)
    pickle.Pickler(theirs, protocol).dump(obj)
    assert ours.getvalue() == theirs.getvalue()
    # Instances need not define ==: compare what the stdlib makes of them.
    loaded = pickle.loads(oxpickle.dumps(obj, protocol=protocol))
    assert pickle.dumps(loaded, protocol) == theirs.getvalue()


def test_object_whose_reduce_returns_a_string_is_that_global(roundtrip):
    assert roundtrip(SINGLETON) is SINGLETON


# ----- builtins and descriptors -------------------------------------------------------


@pytest.mark.parametrize("func", [zip, len, os.mkdir, math.floor])
def test_builtin_functions_travel_by_reference(roundtrip, func):
    assert roundtrip(func) is func


@pytest.mark.parametrize("cls", [list, tuple, set, frozenset, dict, object])
def test_builtin_type_constructors(roundtrip, cls):
    assert isinstance(roundtrip(cls.__new__)(cls), cls)


def test_builtin_method_descriptors_travel_by_reference(roundtrip):
    for descriptor in (
        str.upper,
        float.hex,
        float.__dict__["hex"],
        float.__repr__,
        float.__dict__["__repr__"],
    ):
        assert roundtrip(descriptor) is descriptor
    assert roundtrip(str.upper)("abc") == "ABC"


def test_builtin_methods_bound_to_objects(roundtrip):
    assert roundtrip((1.5).hex)() == (1.5).hex()
    assert roundtrip((1.5).__repr__)() == "1.5"
    assert roundtrip((1.5).fromhex)("0x1") == 1.0
    assert roundtrip(float.fromhex)("0x1") == 1.0
    assert roundtrip([1, 2, 2].count)(2) == 2


def test_builtin_method_bound_to_an_unhashable_object(roundtrip):
    get = roundtrip({"a": 1}.get)
    assert get("a") == 1
    assert get("b") is None


def test_builtin_staticmethods(roundtrip):
    assert roundtrip("foo".maketrans) is str.maketrans
    assert roundtrip(str.maketrans) is str.maketrans
    in_dict = str.__dict__["maketrans"]
    loaded = roundtrip(in_dict)
    assert type(loaded) is staticmethod
    assert loaded.__func__ is in_dict.__func__


def test_getset_and_member_descriptors_travel_by_reference(roundtrip):
    assert isinstance(float.real, types.GetSetDescriptorType)
    assert roundtrip(float.real) is float.real
    member = types.FunctionType.__dict__["__globals__"]
    assert isinstance(member, types.MemberDescriptorType)
    assert roundtrip(member) is member


def test_classmethod_and_staticmethod_objects(roundtrip):
    class A:
        @staticmethod
        def static():
            return "sm"

        @classmethod
        def clsm(cls):
            return ("cm", cls.__name__)

    loaded_static = roundtrip(A.__dict__["static"])
    loaded_class = roundtrip(A.__dict__["clsm"])
    assert type(loaded_static) is staticmethod
    assert type(loaded_class) is classmethod

    class B:
        static = loaded_static
        clsm = loaded_class

    assert B.static() == "sm"
    assert B.clsm() == ("cm", "B")


def test_property_object(roundtrip):
    def get(self):
        return self._x * 2

    def set_(self, value):
        self._x = value

    loaded = roundtrip(property(get, set_, doc="Twice x."))
    assert loaded.__doc__ == "Twice x."

    class Holder:
        x = loaded

    holder = Holder()
    holder.x = 4
    assert holder.x == 8


# ----- operator callables and numpy ufuncs --------------------------------------------


def test_itemgetter(roundtrip):
    data = range(10)
    assert roundtrip(operator.itemgetter(1))(data) == 1
    assert roundtrip(operator.itemgetter(0, 3))(data) == (0, 3)


def test_attrgetter(roundtrip):
    class Echo:
        def __getattr__(self, item):
            return item

    obj = Echo()
    obj.e = Echo()
    assert roundtrip(operator.attrgetter("a"))(obj) == "a"
    assert roundtrip(operator.attrgetter("a", "b"))(obj) == ("a", "b")
    assert roundtrip(operator.attrgetter("e.a"))(obj) == "a"
    assert roundtrip(operator.attrgetter("e.a", "e.b"))(obj) == ("a", "b")


def test_methodcaller(roundtrip):
    assert roundtrip(operator.methodcaller("upper"))("abc") == "ABC"
    split = roundtrip(operator.methodcaller("split", ",", maxsplit=1))
    assert split("a,b,c") == ["a", "b,c"]


def test_numpy_ufunc_travels_by_reference(roundtrip):
    assert roundtrip(np.add) is np.add


# ----- singletons, views, buffers, and other stdlib objects ---------------------------


@pytest.mark.parametrize(
    "obj", [Ellipsis, NotImplemented, type(None), type(Ellipsis), type(NotImplemented)]
)
def test_singletons_and_their_types(roundtrip, obj):
    assert roundtrip(obj) is obj


@pytest.mark.parametrize("name", [None, "oxpickle.test_byvalue_stdlib_objects.dummy"])
def test_loggers_travel_by_name(roundtrip, name):
    logger = logging.getLogger(name)
    assert roundtrip(logger) is logger


def test_weakset_keeps_members_that_travel_with_it(roundtrip):
    class Thing:
        def __init__(self, x):
            self.x = x

    one, two, three = Thing(1), Thing(2), Thing(3)
    weakset, loaded_one, loaded_two, loaded_three = roundtrip(
        [weakref.WeakSet([one, two]), one, two, three]
    )
    assert isinstance(weakset, weakref.WeakSet)
    assert (loaded_one.x, loaded_two.x, loaded_three.x) == (1, 2, 3)
    assert set(weakset) == {loaded_one, loaded_two}


def test_dict_views(roundtrip):
    source = {"a": 1, "b": 2}
    keys = roundtrip(source.keys())
    values = roundtrip(source.values())
    items = roundtrip(source.items())
    assert type(keys) is type(source.keys())
    assert type(values) is type(source.values())
    assert type(items) is type(source.items())
    assert keys == source.keys()
    assert sorted(values) == [1, 2]
    assert items == source.items()


def test_ordered_dict_views(roundtrip):
    source = collections.OrderedDict([("a", 1), ("b", 2)])
    keys = roundtrip(source.keys())
    values = roundtrip(source.values())
    items = roundtrip(source.items())
    assert type(keys) is type(source.keys())
    assert type(values) is type(source.values())
    assert type(items) is type(source.items())
    assert keys == source.keys()
    assert list(values) == [1, 2]
    assert items == source.items()


@pytest.mark.parametrize(
    "view",
    [
        pytest.param(memoryview(b"Hello"), id="contiguous"),
        pytest.param(memoryview(b"Hello!" * 3)[2:15:2], id="sliced-non-contiguous"),
        pytest.param(memoryview(b"0123456789abcdef" * (1 << 18)), id="4MiB"),
    ],
)
def test_memoryview_travels_as_its_bytes(roundtrip, view):
    assert roundtrip(view) == view.tobytes()


def test_mappingproxy(roundtrip):
    proxy = types.MappingProxyType({"some_key": "some value"})
    loaded = roundtrip(proxy)
    assert type(loaded) is types.MappingProxyType
    assert loaded == proxy


@pytest.mark.skipif(sys.version_info >= (3, 14), reason="3.14 removed itertools pickling")
def test_itertools_count_continues_where_it_was(roundtrip):
    counter = itertools.count(1, step=2)
    next(counter)
    next(counter)
    loaded = roundtrip(counter)
    assert loaded is not counter
    assert [next(loaded) for _ in range(5)] == [next(counter) for _ in range(5)]


@pytest.mark.skipif(sys.version_info < (3, 14), reason="itertools pickles before 3.14")
def test_itertools_iterators_are_refused_with_what_to_do_instead():
    counter = itertools.count(1, step=2)
    with pytest.raises(oxpickle.UnpicklableError) as refused:
        oxpickle.dumps({"jobs": [counter]})
    message = str(refused.value)
    assert message.startswith("cannot pickle 'itertools.count' object at root['jobs'][0]")
    assert "Python 3.14 removed pickling from itertools iterators" in message
    # The stdlib refuses it too, with the TypeError oxpickle's error also is.
    with pytest.raises(TypeError):
        pickle.dumps(counter)


def test_copyreg_dispatch_table_changes_are_seen(roundtrip):
    class MyClass:
        pass

    def reduce_myclass(obj):
        return MyClass, (), {"custom_reduce": True}

    copyreg.dispatch_table[MyClass] = reduce_myclass
    try:
        assert roundtrip(MyClass()).custom_reduce is True
    finally:
        del copyreg.dispatch_table[MyClass]


def test_out_of_band_buffers_inside_a_by_value_class():
    class LocallyDefined:
        data = np.arange(10.0)

    buffers: list[pickle.PickleBuffer] = []
    data = oxpickle.dumps(LocallyDefined(), protocol=5, buffer_callback=buffers.append)
    assert len(buffers) == 1
    for load in (oxpickle.loads, pickle.loads):
        rebuilt = load(data, buffers=buffers)
        np.testing.assert_array_equal(type(rebuilt).data, np.arange(10.0))


# ----- memory and errors --------------------------------------------------------------


def test_dumps_keeps_no_reference_to_what_it_pickled():
    class MyClass:
        pass

    def closure_over(value):
        return lambda: value

    obj = MyClass()
    witness = weakref.ref(obj)
    oxpickle.dumps(obj)
    oxpickle.dumps(closure_over(obj))
    del obj
    assert witness() is None


def test_endless_recursion_while_pickling_raises_instead_of_crashing():
    class A:
        def __getattribute__(self, name):
            return getattr(self, name)

    with pytest.raises((RecursionError, pickle.PicklingError)):
        oxpickle.dumps(A())


def test_multiprocessing_lock_refuses_with_its_own_error():
    with pytest.raises(RuntimeError, match="only be shared between processes through inheritance"):
        oxpickle.dumps(multiprocessing.Lock())


# ----- API ----------------------------------------------------------------------------


def test_loads_and_load_read_what_dumps_and_dump_write():
    obj = (1, 2, lambda: 3)
    loaded = oxpickle.loads(oxpickle.dumps(obj))
    assert loaded[:2] == (1, 2)
    assert loaded[2]() == 3
    buffer = io.BytesIO()
    oxpickle.dump(obj, buffer)
    buffer.seek(0)
    loaded = oxpickle.load(buffer)
    assert loaded[2]() == 3


@pytest.mark.parametrize("load", LOADERS)
def test_pickler_class_ships_code_by_value(load):
    def make(n):
        return lambda x: x + n

    buffer = io.BytesIO()
    pickler = oxpickle.Pickler(buffer)
    pickler.dump(make(1))
    assert load(buffer.getvalue())(1) == 2


def test_pickler_subclass_ships_code_by_value():
    class Counting(oxpickle.Pickler):
        seen = 0

        def persistent_id(self, obj):
            Counting.seen += 1
            return None

    buffer = io.BytesIO()
    Counting(buffer).dump([lambda: "sub"])
    assert Counting.seen > 0
    assert pickle.loads(buffer.getvalue())[0]() == "sub"


def test_a_dispatch_table_that_is_a_mapping_with_missing_is_asked():
    """A dispatch table is any mapping: a dict subclass's __missing__
    answers too, as with the stdlib's pickler."""

    class Reducing(dict):
        def __missing__(self, cls):
            if cls is Fraction:
                return lambda value: (Fraction, (value.numerator * 2, value.denominator))
            raise KeyError(cls)

    for pickler_class in (pickle.Pickler, oxpickle.Pickler):
        out = io.BytesIO()
        pickler = pickler_class(out, 5)
        pickler.dispatch_table = Reducing()
        pickler.dump([Fraction(1, 3), 7])
        assert pickle.loads(out.getvalue()) == [Fraction(2, 3), 7], pickler_class
