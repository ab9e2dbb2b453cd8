"""Errors that say where: a graph holding something that cannot travel.

Pickling fails with ``oxpickle.PicklingError`` (still a ``TypeError`` when the
original failure was one) whose message names the type of the offending
object and its path from the root, e.g.
``cannot pickle '_thread.lock' object at root['jobs'][2]['guard']``, plus a
hint; the original exception stays chained as ``__cause__``.

Where the spec fixes the path syntax (``[2]`` for sequence items, ``['key']``
for dict values, ``.conn`` for attributes) the tests check it exactly; for
dict keys, sets, reduce arguments and state, function globals, closures and
defaults they only check that the path leads there.
"""

import contextlib
import io
import pickle
import socket
import sqlite3
import sys
import textwrap
import threading
import zlib

import oxpickle
import pytest

# ----- helpers ----------------------------------------------------------------


def failure(obj, dump=oxpickle.dumps) -> oxpickle.PicklingError:
    with pytest.raises(oxpickle.PicklingError) as info:
        dump(obj)
    return info.value


def path_of(exc: BaseException) -> str:
    """The path part of the message: from 'root' to the end of its line."""
    for line in str(exc).splitlines():
        if "root" in line:
            return line[line.index("root") :]
    raise AssertionError(f"no path from the root in: {exc}")


def assert_says_where(exc: BaseException, type_name: str, path: str) -> None:
    message = str(exc)
    assert f"'{type_name}'" in message or type_name in message, message
    assert path_of(exc).startswith(path), message
    assert isinstance(exc, pickle.PicklingError)
    assert exc.__cause__ is not None, "the original exception must stay chained"


def assert_path_leads_through(exc: BaseException, *parts: str) -> None:
    """`parts` appear in order in the path, after 'root'."""
    path = path_of(exc)
    position = len("root")
    for part in parts:
        found = path.find(part, position)
        assert found >= 0, f"{part!r} missing from the path {path!r} (after {position})"
        position = found + len(part)


class Job:
    def __init__(self, **attributes):
        self.__dict__.update(attributes)


class Slotted:
    __slots__ = ("conn", "name")

    def __init__(self, conn):
        self.conn = conn
        self.name = "slotted"


class ReducesToArgs:
    def __init__(self, payload):
        self.payload = payload

    def __reduce__(self):
        return (ReducesToArgs, ({"needle": self.payload},))


class ReducesToState:
    def __init__(self, payload):
        self.payload = payload

    def __reduce__(self):
        return (ReducesToState, (None,), (0, {"needle": self.payload}))

    def __setstate__(self, state):
        self.payload = state[1]["needle"]


class GetState:
    def __init__(self, payload):
        self.payload = payload

    def __getstate__(self):
        return {"needle": self.payload}


class ListSubclass(list):
    pass


class RaisesOnReduce:
    def __init__(self, exc):
        self.exc = exc

    def __reduce__(self):
        raise self.exc


def namespace(source: str, **names) -> dict:
    scope = {"__name__": "__main__", **names}
    exec(textwrap.dedent(source), scope)
    return scope


# ----- what cannot travel ----------------------------------------------------


def _generator():
    yield 1


@pytest.fixture
def resources():
    with contextlib.ExitStack() as stack:
        yield stack


UNPICKLABLE = {
    "_thread.lock": lambda stack: threading.Lock(),
    "_thread.RLock": lambda stack: threading.RLock(),
    "socket": lambda stack: stack.enter_context(socket.socket()),
    "generator": lambda stack: _generator(),
    "frame": lambda stack: sys._getframe(),
    "sqlite3.Connection": lambda stack: stack.enter_context(
        contextlib.closing(sqlite3.connect(":memory:"))
    ),
    "zlib.Compress": lambda stack: zlib.compressobj(),
}


@pytest.mark.parametrize("type_name", list(UNPICKLABLE))
def test_each_kind_of_unpicklable_object_is_named_with_its_path(resources, type_name):
    thing = UNPICKLABLE[type_name](resources)
    exc = failure({"jobs": [{}, {"ok": 1}, {"guard": thing}]})
    assert_says_where(exc, type_name, "root['jobs'][2]['guard']")
    assert isinstance(exc, TypeError), "still catchable as the stdlib's TypeError"
    assert isinstance(exc.__cause__, TypeError)
    assert type_name.split(".")[-1] in str(exc.__cause__)


def test_the_spec_example_message():
    exc = failure({"jobs": [0, 1, {"guard": threading.Lock()}]})
    assert "cannot pickle '_thread.lock' object at root['jobs'][2]['guard']" in str(exc)


def test_message_carries_a_hint():
    message = str(failure([threading.Lock()]))
    assert "__reduce__" in message or "__getstate__" in message
    assert "reducer" in message


def test_unpicklable_root():
    exc = failure(threading.Lock())
    assert_says_where(exc, "_thread.lock", "root")
    assert not path_of(exc).startswith(("root[", "root."))


# ----- the path through containers --------------------------------------------


@pytest.mark.parametrize(
    "make, path",
    [
        pytest.param(lambda x: [0, 1, x], "root[2]", id="list"),
        pytest.param(lambda x: (0, (1, x)), "root[1][1]", id="tuple"),
        pytest.param(lambda x: {"guard": x}, "root['guard']", id="dict-str-key"),
        pytest.param(lambda x: {3: x}, "root[3]", id="dict-int-key"),
        pytest.param(lambda x: {"a": [{"b": (x,)}]}, "root['a'][0]['b'][0]", id="nested"),
        pytest.param(lambda x: [[], [[0, x]]], "root[1][0][1]", id="nested-lists"),
    ],
)
def test_path_through_sequences_and_dict_values(make, path):
    exc = failure(make(threading.Lock()))
    assert_says_where(exc, "_thread.lock", path)


def test_path_to_a_dict_key_says_it_is_a_key():
    exc = failure({"index": {sys._getframe(): "value"}})
    assert_says_where(exc, "frame", "root['index']")
    after = path_of(exc)[len("root['index']") :]
    assert "key" in after.lower(), path_of(exc)


def test_path_into_a_set():
    exc = failure({"pool": [0, {threading.Lock()}]})
    assert_says_where(exc, "_thread.lock", "root['pool'][1]")


def test_path_into_a_frozenset():
    exc = failure((0, frozenset({threading.Lock()})))
    assert_says_where(exc, "_thread.lock", "root[1]")


# ----- the path through objects -------------------------------------------------


def test_path_through_an_instance_attribute():
    exc = failure({"jobs": [0, 1, 2, Job(conn=threading.Lock())]})
    assert_says_where(exc, "_thread.lock", "root['jobs'][3].conn")


def test_path_through_nested_attributes(resources):
    sock = resources.enter_context(socket.socket())
    exc = failure({"jobs": [0, 1, 2, Job(conn=Job(sock=sock))]})
    assert_says_where(exc, "socket", "root['jobs'][3].conn.sock")


def test_path_through_a_slot():
    exc = failure([Slotted(threading.Lock())])
    assert_says_where(exc, "_thread.lock", "root[0].conn")


def test_path_through_reduce_arguments():
    exc = failure({"item": ReducesToArgs(threading.Lock())})
    assert_says_where(exc, "_thread.lock", "root['item']")
    assert_path_leads_through(exc, "['needle']")


def test_path_through_reduce_state():
    exc = failure({"item": ReducesToState(threading.Lock())})
    assert_says_where(exc, "_thread.lock", "root['item']")
    assert_path_leads_through(exc, "needle")


def test_path_through_getstate():
    exc = failure([GetState(threading.Lock())])
    assert_says_where(exc, "_thread.lock", "root[0]")
    assert_path_leads_through(exc, "needle")


def test_path_through_items_of_a_list_subclass():
    exc = failure({"items": ListSubclass([0, threading.Lock()])})
    assert_says_where(exc, "_thread.lock", "root['items']")
    assert_path_leads_through(exc, "[1]")


# ----- the path through code shipped by value -----------------------------------


def test_path_through_function_globals():
    scope = namespace(
        """
        def uses_global():
            return guard_global
        """,
        guard_global=threading.Lock(),
    )
    exc = failure({"task": scope["uses_global"]})
    assert_says_where(exc, "_thread.lock", "root['task']")
    assert_path_leads_through(exc, "guard_global")


def test_path_through_a_closure():
    guard_cell = threading.Lock()

    def uses_closure():
        return guard_cell

    exc = failure([uses_closure])
    assert_says_where(exc, "_thread.lock", "root[0]")
    assert_path_leads_through(exc, "guard_cell")


def test_path_through_positional_defaults():
    def with_default(x=threading.Lock()):  # noqa: B008
        return x

    exc = failure([with_default])
    assert_says_where(exc, "_thread.lock", "root[0]")
    assert "default" in path_of(exc).lower()


def test_path_through_keyword_only_defaults():
    def with_kwdefault(*, guard_kw=threading.Lock()):  # noqa: B008
        return guard_kw

    exc = failure([with_kwdefault])
    assert_says_where(exc, "_thread.lock", "root[0]")
    assert "default" in path_of(exc).lower()
    assert_path_leads_through(exc, "guard_kw")


def test_path_through_a_function_attribute():
    def tagged():
        return None

    tagged.guard_attribute = threading.Lock()
    exc = failure([tagged])
    assert_says_where(exc, "_thread.lock", "root[0]")
    assert_path_leads_through(exc, "guard_attribute")


def test_path_through_a_function_held_by_an_object():
    guard_cell = threading.Lock()

    def callback():
        return guard_cell

    exc = failure({"tasks": [Job(callback=callback)]})
    assert_says_where(exc, "_thread.lock", "root['tasks'][0].callback")
    assert_path_leads_through(exc, "guard_cell")


def test_path_through_a_by_value_class_attribute():
    class Holder:
        guard_class_attribute = threading.Lock()

    exc = failure({"cls": Holder})
    assert_says_where(exc, "_thread.lock", "root['cls']")
    assert_path_leads_through(exc, "guard_class_attribute")


# ----- every entry point, every time -------------------------------------------------


ENTRY_POINTS = {
    "dumps": lambda obj, **kw: oxpickle.dumps(obj, **kw),
    "dump": lambda obj, **kw: oxpickle.dump(obj, io.BytesIO(), **kw),
    "Pickler.dump": lambda obj, **kw: oxpickle.Pickler(io.BytesIO(), **kw).dump(obj),
}


@pytest.mark.parametrize("entry_point", list(ENTRY_POINTS))
@pytest.mark.parametrize("protocol", [None, 2])
def test_path_from_every_entry_point(entry_point, protocol):
    def dump(obj):
        ENTRY_POINTS[entry_point](obj, protocol=protocol)

    exc = failure({"jobs": [0, 1, {"guard": threading.Lock()}]}, dump=dump)
    assert_says_where(exc, "_thread.lock", "root['jobs'][2]['guard']")


def test_a_failed_dump_leaves_no_path_behind_for_the_next():
    failure([0, 0, {"deep": [threading.Lock()]}])
    exc = failure({"x": threading.Lock()})
    assert path_of(exc).startswith("root['x']")
    assert "deep" not in path_of(exc)


def test_pickler_reused_after_a_failure_reports_the_new_path():
    pickler = oxpickle.Pickler(io.BytesIO())
    with pytest.raises(oxpickle.PicklingError):
        pickler.dump([0, 0, {"deep": [threading.Lock()]}])
    with pytest.raises(oxpickle.PicklingError) as info:
        pickler.dump({"x": threading.Lock()})
    assert path_of(info.value).startswith("root['x']")
    assert "deep" not in path_of(info.value)


# ----- errors raised by the objects themselves ------------------------------------


@pytest.mark.parametrize("exc_type", [Exception, ValueError, TypeError, RuntimeError])
def test_exception_raised_by_reduce_keeps_its_type_or_becomes_a_pickling_error(exc_type):
    with pytest.raises((exc_type, pickle.PicklingError)):
        oxpickle.dumps([RaisesOnReduce(exc_type("foo"))])


def test_type_error_raised_by_reduce_says_where():
    exc = failure({"a": [RaisesOnReduce(TypeError("no way"))]})
    assert isinstance(exc, TypeError)
    assert_says_where(exc, "RaisesOnReduce", "root['a'][0]")
    assert str(exc.__cause__) == "no way"


def test_pickling_error_raised_by_reduce_says_where():
    original = pickle.PicklingError("refused")
    exc = failure({"a": [RaisesOnReduce(original)]})
    assert_says_where(exc, "RaisesOnReduce", "root['a'][0]")
    assert exc.__cause__ is original
