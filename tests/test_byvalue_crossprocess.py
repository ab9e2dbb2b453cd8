"""Code by value across processes, deterministic output, and the Python-version guard.

The dumping side is always a script run as ``__main__`` from one directory;
the receiving side is a fresh interpreter started in another directory, so
it cannot import the script (or anything next to it) and must rebuild every
function and class from the stream. The receiver loads with the *standard
library's* ``pickle.loads``: oxpickle is installed, but nothing there imports
it on purpose before the load.

Worker scenarios (cloudpickle's "interactive" tests) keep one worker process
alive for a whole script: the script sends ``(function, args)`` pickled with
oxpickle, the worker loads them with ``pickle.loads``, calls, and sends the
result back pickled with oxpickle.
"""

import json
import os
import pickle
import subprocess
import sys
import textwrap
import types
import typing
from pathlib import Path

import cloudpickle
import oxpickle
import pytest

TIMEOUT = 120

# ----- plumbing ------------------------------------------------------------------

WORKER = r'''
"""Loads (function, args) with the stdlib, calls, replies with oxpickle."""
import pickle
import struct
import sys
import traceback

import oxpickle


def serve(read, write):
    while True:
        header = read.read(8)
        if not header:
            return
        (size,) = struct.unpack("<Q", header)
        payload = read.read(size)
        try:
            func, args = pickle.loads(payload)
            reply = ("ok", func(*args))
        except BaseException as exc:
            kinds = [cls.__name__ for cls in type(exc).__mro__]
            reply = ("error", kinds, f"{type(exc).__name__}: {exc}", traceback.format_exc())
        try:
            data = oxpickle.dumps(reply)
        except BaseException as exc:
            kinds = [cls.__name__ for cls in type(exc).__mro__]
            data = oxpickle.dumps(("error", kinds, f"reply: {exc!r}", traceback.format_exc()))
        write.write(struct.pack("<Q", len(data)) + data)
        write.flush()


serve(sys.stdin.buffer, sys.stdout.buffer)
'''

WORKERLIB = r'''
"""The sender's side of the worker protocol (importable by the sender only)."""
import pickle
import struct
import subprocess
import sys

import oxpickle


class RemoteError(Exception):
    def __init__(self, kinds, message, trace):
        super().__init__(f"{message}\n--- worker traceback ---\n{trace}")
        self.kinds = kinds


class Worker:
    def __init__(self):
        script, cwd = sys.argv[1], sys.argv[2]
        self.proc = subprocess.Popen(
            [sys.executable, script], cwd=cwd, stdin=subprocess.PIPE, stdout=subprocess.PIPE
        )

    def run(self, func, *args):
        data = oxpickle.dumps((func, args))
        self.proc.stdin.write(struct.pack("<Q", len(data)) + data)
        self.proc.stdin.flush()
        header = self.proc.stdout.read(8)
        if len(header) != 8:
            raise RuntimeError("the worker died")
        (size,) = struct.unpack("<Q", header)
        reply = pickle.loads(self.proc.stdout.read(size))
        if reply[0] == "ok":
            return reply[1]
        raise RemoteError(*reply[1:])

    def fails_to_import(self, func, *args):
        """Whether running func fails in the worker with an ImportError."""
        try:
            self.run(func, *args)
        except RemoteError as exc:
            return "ImportError" in exc.kinds
        return False

    def __enter__(self):
        return self

    def __exit__(self, *exc_info):
        self.proc.stdin.close()
        self.proc.wait(timeout=60)
'''


def _run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> str:
    environment = dict(os.environ)
    environment.update(env or {})
    proc = subprocess.run(
        [sys.executable, *args],
        cwd=cwd,
        env=environment,
        capture_output=True,
        timeout=TIMEOUT,
        text=True,
    )
    assert proc.returncode == 0, f"{args[0]} failed:\n{proc.stdout}\n{proc.stderr}"
    return proc.stdout


@pytest.fixture
def sender_dir(tmp_path) -> Path:
    path = tmp_path / "sender"
    path.mkdir()
    return path


@pytest.fixture
def receiver_dir(tmp_path) -> Path:
    path = tmp_path / "receiver"
    path.mkdir()
    return path


def run_worker_scenario(sender_dir: Path, receiver_dir: Path, body: str) -> None:
    """Runs `body` as a __main__ script in sender_dir, next to workerlib.py,
    with a worker whose working directory is receiver_dir."""
    (sender_dir / "workerlib.py").write_text(WORKERLIB)
    (receiver_dir / "worker.py").write_text(WORKER)
    script = sender_dir / "scenario.py"
    script.write_text(textwrap.dedent(body) + '\nprint("scenario ok")\n')
    out = _run([str(script), str(receiver_dir / "worker.py"), str(receiver_dir)], cwd=sender_dir)
    assert out.strip().endswith("scenario ok")


# ----- a script's objects, loaded by another interpreter --------------------------

SENDER = r"""
import dataclasses
import enum
import sys

import cloudpickle
import numpy as np

import oxpickle

CONSTANT = 42


class Foo:
    def method(self, x):
        return x


foo = Foo()


def f0(x):
    return x**2


def f1():
    return Foo


def f2(x):
    return Foo().method(x)


def f3():
    return Foo().method(CONSTANT)


def f4(x):
    return foo.method(x)


def f5(x):
    # Recursive call to a function defined in __main__.
    if x <= 0:
        return f4(x)
    return f5(x - 1) + 1


class Color(enum.Enum):
    RED = 1
    GREEN = 2

    def is_green(self):
        return self is Color.GREEN


@dataclasses.dataclass(frozen=True)
class Point:
    x: int
    y: int = 0

    def norm2(self):
        return self.x**2 + self.y**2


class Base:
    def greet(self):
        return "base"


class Derived(Base):
    def greet(self):
        return "derived+" + super().greet()


def make_counter():
    count = 0

    def increment():
        nonlocal count
        count += 1
        return count

    def read():
        return count

    return increment, read


def countdown(n):
    while n > 0:
        yield n
        n -= 1


def norm(vector):
    return float(np.linalg.norm(vector))


payload = {
    "lambda": lambda x: x**2,
    "f0": f0,
    "f1": f1,
    "f2": f2,
    "f3": f3,
    "f4": f4,
    "f5": f5,
    "Foo": Foo,
    "foo": Foo(),
    "Color": Color,
    "green": Color.GREEN,
    "Point": Point,
    "point": Point(3, 4),
    "Derived": Derived,
    "counter": make_counter(),
    "countdown": countdown,
    "norm": norm,
}
with open(sys.argv[1], "wb") as f:
    oxpickle.dump(payload, f)
with open(sys.argv[2], "wb") as f:
    cloudpickle.dump({"f5": f5, "Color": Color, "green": Color.GREEN, "Derived": Derived}, f)
"""

LOADER = r"""
import dataclasses
import importlib.util
import pickle
import sys

import oxpickle

# The receiver cannot import the sender's script or its directory.
assert importlib.util.find_spec("sender") is None

with open(sys.argv[1], "rb") as f:
    p = pickle.load(f)

assert p["lambda"](3) == 9
assert p["f0"](3) == 9
assert p["f1"]()().method("a") == "a"
assert p["f2"](2) == 2
assert p["f3"]() == 42
assert p["f4"](2) == 2
assert p["f5"](7) == 7
assert p["Foo"]().method(5) == 5
assert p["foo"].method(6) == 6
assert type(p["foo"]) is p["Foo"], "one class per load"
assert p["Foo"].__module__ == "__main__"

color = p["Color"]
assert p["green"] is color.GREEN, "enum members keep identity within a load"
assert p["green"].is_green() and not color.RED.is_green()

assert p["point"] == p["Point"](3, 4)
assert p["point"].norm2() == 25
try:
    p["point"].x = 1
except dataclasses.FrozenInstanceError:
    pass
else:
    raise AssertionError("frozen dataclass became mutable")

assert p["Derived"]().greet() == "derived+base"

increment, read = p["counter"]
increment()
increment()
assert read() == 2

assert list(p["countdown"](3)) == [3, 2, 1]
assert p["norm"]([3.0, 4.0]) == 5.0

# Nothing leaks into the receiver's own __main__.
main = sys.modules["__main__"]
for name in ("Foo", "f0", "Color", "CONSTANT", "Point"):
    assert not hasattr(main, name), name

# oxpickle reads cloudpickle's output too.
with open(sys.argv[2], "rb") as f:
    c = oxpickle.load(f)
assert c["f5"](7) == 7
assert c["green"] is c["Color"].GREEN
assert c["green"].is_green()
assert c["Derived"]().greet() == "derived+base"
print("loader ok")
"""


def test_main_script_functions_and_classes_run_in_a_fresh_interpreter(sender_dir, receiver_dir):
    (sender_dir / "sender.py").write_text(SENDER)
    (receiver_dir / "loader.py").write_text(LOADER)
    ours, theirs = receiver_dir / "payload.ox", receiver_dir / "payload.cloudpickle"
    _run([str(sender_dir / "sender.py"), str(ours), str(theirs)], cwd=sender_dir)
    out = _run([str(receiver_dir / "loader.py"), str(ours), str(theirs)], cwd=receiver_dir)
    assert out.strip() == "loader ok"


INTERACTIVE_SESSION = """\
import sys
import oxpickle
LIMIT = 3
def square(x):
    return x * x

class Greeter:
    def hello(self):
        return "hello from the prompt"

items = [square, Greeter, lambda: Greeter().hello(), lambda: LIMIT]
_ = sys.stdout.write(oxpickle.dumps(items).hex())
"""

INTERACTIVE_LOADER = """\
import pickle, sys
square, greeter, hello, limit = pickle.loads(bytes.fromhex(sys.stdin.read()))
assert square(4) == 16
assert greeter().hello() == "hello from the prompt"
assert hello() == "hello from the prompt"
assert limit() == 3
assert square.__module__ == "__main__"
print("interactive ok")
"""


def test_code_typed_at_an_interactive_prompt_runs_elsewhere(sender_dir, receiver_dir):
    # `python -i` reading its commands from a pipe: a real interactive
    # session, whose code has no source file (co_filename is '<stdin>').
    session = subprocess.run(
        [sys.executable, "-i", "-q"],
        input=INTERACTIVE_SESSION,
        cwd=sender_dir,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert "Traceback" not in session.stderr, session.stderr
    loader = subprocess.run(
        [sys.executable, "-c", INTERACTIVE_LOADER],
        input=session.stdout,
        cwd=receiver_dir,
        capture_output=True,
        text=True,
        timeout=TIMEOUT,
    )
    assert loader.returncode == 0, loader.stderr
    assert loader.stdout.strip() == "interactive ok"


# ----- worker scenarios --------------------------------------------------------------


def test_worker_runs_main_functions_without_keeping_state(sender_dir, receiver_dir):
    run_worker_scenario(
        sender_dir,
        receiver_dir,
        """
        import logging
        import sys

        from workerlib import Worker

        GLOBAL_VARIABLE = 0
        VARIABLE = "default_value"


        class CustomClass:
            def mutate_globals(self):
                global GLOBAL_VARIABLE
                GLOBAL_VARIABLE += 1
                return GLOBAL_VARIABLE


        def interactive_function(x):
            return x + 1


        def wrapper_func(x):
            return interactive_function(x)


        def f0():
            global VARIABLE
            VARIABLE = "changed_by_f0"


        def f1():
            return VARIABLE


        def set_then_get(pair):
            setter, getter = pair
            setter()
            return getter(), setter.__globals__ is getter.__globals__


        def is_in_main(name):
            return hasattr(sys.modules["__main__"], name)


        def log_name(logger):
            return logger.name, logger is logging.getLogger(logger.name)


        with Worker() as w:
            assert w.run(lambda x: x**2, 3) == 9
            assert w.run(interactive_function, 41) == 42

            # A new definition in __main__ reaches the worker with the next call.
            def interactive_function(x):
                return x - 1

            assert w.run(wrapper_func, 41) == 40

            # The worker gets its own copy of the globals: nothing comes back.
            custom_object = CustomClass()
            assert w.run(custom_object.mutate_globals) == 1
            assert GLOBAL_VARIABLE == 0
            assert w.run(custom_object.mutate_globals) == 1, "no state kept between calls"

            # Functions that shared globals here share one dict there...
            assert w.run(set_then_get, [f0, f1]) == ("changed_by_f0", True)
            # ...but each load gets its own.
            assert w.run(f1) == "default_value"
            assert VARIABLE == "default_value"

            # __main__ names are not planted in the worker's __main__.
            assert is_in_main("CustomClass")
            assert not w.run(is_in_main, "CustomClass")
            assert not w.run(is_in_main, "GLOBAL_VARIABLE")

            # Loggers travel by name.
            assert w.run(log_name, logging.getLogger("oxpickle.test.worker")) == (
                "oxpickle.test.worker",
                True,
            )
        """,
    )


def test_worker_classes_are_matched_back_to_their_definitions(sender_dir, receiver_dir):
    run_worker_scenario(
        sender_dir,
        receiver_dir,
        """
        import dataclasses
        import enum
        import sys
        import typing

        from workerlib import Worker


        def echo(*args):
            return args


        def store(x):
            storage = sys.__dict__.setdefault("_oxbv_storage", {})
            key = len(storage)
            storage[key] = x
            return key


        def lookup(key):
            return sys._oxbv_storage[key]


        class CustomCounter:
            def __init__(self):
                self.count = 0

            def increment(self):
                self.count += 1
                return self


        with Worker() as w:
            counter = CustomCounter().increment()
            returned = w.run(counter.increment)
            assert returned.count == 2
            # The class of the returned instance is matched back to the original.
            assert isinstance(returned, CustomCounter)
            C1, C2, c1, c2 = w.run(echo, CustomCounter, CustomCounter, CustomCounter(), returned)
            assert C1 is CustomCounter and C2 is CustomCounter
            assert isinstance(c1, CustomCounter) and isinstance(c2, CustomCounter)

            # Instances kept by the worker stay tied to the definition they came with.
            class A:
                '''Original class definition'''

            id1 = w.run(store, A())
            assert w.run(lambda key: isinstance(lookup(key), A), id1)
            assert isinstance(w.run(lookup, id1), A)

            class A:
                '''Updated class definition'''

            assert not w.run(lambda key: isinstance(lookup(key), A), id1)
            retrieved = w.run(lookup, id1)
            assert not isinstance(retrieved, A)
            assert retrieved.__class__.__doc__ == "Original class definition"
            a = A()
            id2 = w.run(store, a)
            assert w.run(lambda key: isinstance(lookup(key), A), id2)
            assert isinstance(w.run(lookup, id2), A)

            # Enums: members come back as this process's members; redefinitions win.
            class Color(enum.Enum):
                RED = 1
                GREEN = 2

            def check_positive(x):
                return Color.GREEN if x >= 0 else Color.RED

            assert w.run(check_positive, 1) is Color.GREEN

            class Color(enum.Enum):
                RED = 1
                BLUE = 2

            def check_positive(x):
                return Color.BLUE if x >= 0 else Color.RED

            assert w.run(check_positive, 1) is Color.BLUE

            # Dataclasses with InitVar and ClassVar fields.
            @dataclasses.dataclass
            class SampleDataclass:
                x: int
                y: dataclasses.InitVar[int] = None
                z: typing.ClassVar[int] = 42

                def __post_init__(self, y=0):
                    self.x += y

                def large_enough(self):
                    return self.x > self.z

            def check_dataclass_instance(value):
                assert isinstance(value, SampleDataclass)
                assert value.x == 4 and value.z == 42
                assert dataclasses.asdict(value) == {"x": 4}
                assert [f.name for f in dataclasses.fields(value)] == ["x"]
                assert not value.large_enough()
                try:
                    SampleDataclass.z = 0
                    assert value.large_enough()
                finally:
                    SampleDataclass.z = 42
                return "ok"

            value = SampleDataclass(2, y=2)
            assert check_dataclass_instance(value) == "ok"
            assert w.run(check_dataclass_instance, value) == "ok"
            cloned_value, cloned_type = w.run(echo, value, SampleDataclass)
            assert cloned_type is SampleDataclass
            assert isinstance(cloned_value, SampleDataclass)

            # A method added here reaches the worker's copy of the class, even
            # for instances the worker already holds.
            A.echo = lambda self, x: x
            assert w.run(a.echo, 42) == 42
            assert w.run(lambda key: lookup(key).echo(43), id2) == 43
        """,
    )


def test_worker_rebuilds_typing_constructs(sender_dir, receiver_dir):
    run_worker_scenario(
        sender_dir,
        receiver_dir,
        """
        import typing

        from workerlib import Worker


        def echo(*args):
            return args


        T = typing.TypeVar("T", bound=int)
        P = typing.ParamSpec("P")


        @typing.runtime_checkable
        class Closable(typing.Protocol):
            def close(self) -> None: ...


        class Resource:
            def close(self) -> None:
                pass


        def hints_of(func):
            return func.__annotations__


        def annotated(
            mode: typing.Literal["r", "w"],
            value: typing.Union[int, str],
            meta: typing.Annotated[int, "units"],
            callback: typing.Callable[P, T],
        ) -> typing.Optional[typing.List[T]]:
            return None


        class Movie(typing.TypedDict):
            title: str
            year: int


        with Worker() as w:
            assert w.run(echo, T)[0] is T, "a TypeVar sent and returned is the original"
            assert w.run(lambda: (T.__name__, T.__bound__)) == ("T", int)
            assert w.run(echo, P)[0] is P
            assert w.run(lambda r: isinstance(r, Closable), Resource())
            assert not w.run(lambda: isinstance(42, Closable))
            assert w.run(hints_of, annotated) == annotated.__annotations__
            assert w.run(lambda: Movie(title="x", year=1)) == {"title": "x", "year": 1}
            assert w.run(lambda: Movie.__annotations__) == {"title": str, "year": int}
        """,
    )


def test_worker_rebuilds_generic_classes(sender_dir, receiver_dir):
    run_worker_scenario(
        sender_dir,
        receiver_dir,
        """
        import typing

        from workerlib import Worker

        T = typing.TypeVar("T")


        class C(typing.Generic[T]):
            pass


        def check_generic(generic, origin, type_value):
            assert generic.__origin__ is origin
            assert len(origin.__orig_bases__) == 1
            assert origin.__orig_bases__[0].__origin__ is typing.Generic
            assert generic.__args__ == (type_value,)
            assert len(origin.__orig_bases__[0].__parameters__) == 1
            return "ok"


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


        def mro_names(klass):
            return [c.__qualname__ for c in klass.mro()]


        def check_annotations(obj, expected):
            assert type(obj).__annotations__["attribute"] == expected
            assert obj.method.__annotations__ == {"arg": expected, "return": expected}
            return "ok"


        with Worker() as w:
            assert w.run(check_generic, C[int], C, int) == "ok"
            assert w.run(lambda: C) is C
            for klass in (Base, DerivedAny, LeafAny, DerivedInt, LeafInt, DerivedT, LeafT):
                assert w.run(mro_names, klass) == mro_names(klass), klass
                assert w.run(lambda k: k, klass) is klass
            for hint in (C, C[int], T, typing.Any, typing.Optional[int], typing.Union,
                         typing.Callable[[int], typing.Any], typing.Callable[..., typing.Any],
                         typing.Tuple[int, C[int]], typing.Dict[int, str],
                         typing.ClassVar[C[int]], typing.NoReturn, typing.Generic[T]):
                class MyClass:
                    def method(self, arg: hint) -> hint:
                        return arg

                MyClass.__annotations__ = {"attribute": hint}
                assert w.run(check_annotations, MyClass(), hint) == "ok", hint
        """,
    )


LOCAL_FOLDER = {
    # A namespace package (no __init__.py), as cloudpickle's mock_local_folder.
    "local_folder/mod.py": """
        import typing

        GREETING = "hello from a function importable locally"


        def local_function():
            return GREETING


        class LocalClass:
            def method(self):
                return "hello from a class importable locally"


        LocalT = typing.TypeVar("LocalT")
        """,
    "local_folder/subfolder/submod.py": """
        import typing


        def local_submod_function():
            return "hello from a file located in a locally-importable subfolder"


        class LocalSubmodClass:
            def method(self):
                return "hello from a class located in a locally-importable subfolder"


        LocalSubmodT = typing.TypeVar("LocalSubmodT")
        """,
}


def test_worker_gets_registered_modules_by_value(sender_dir, receiver_dir):
    for relative, text in LOCAL_FOLDER.items():
        path = sender_dir / relative
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(textwrap.dedent(text))
    run_worker_scenario(
        sender_dir,
        receiver_dir,
        """
        import oxpickle
        from workerlib import Worker

        import local_folder
        import local_folder.mod as mod
        import local_folder.subfolder
        import local_folder.subfolder.submod as submod
        from local_folder.mod import LocalClass, LocalT, local_function
        from local_folder.subfolder.submod import (
            LocalSubmodClass,
            LocalSubmodT,
            local_submod_function,
        )

        with Worker() as w:
            # Unregistered: travels by reference, which the worker cannot import.
            for obj in (mod, local_function, LocalT, LocalClass):
                assert w.fails_to_import(lambda o: o, obj), obj
            assert w.fails_to_import(lambda: __import__("local_folder.mod"))

            oxpickle.register_pickle_by_value(mod)
            assert w.run(lambda: local_function()) == local_function()
            assert w.run(lambda: LocalT.__name__) == "LocalT"
            assert w.run(lambda: LocalClass().method()) == LocalClass().method()
            assert w.run(lambda: mod.local_function()) == local_function()
            # By value: the worker sees the global as it is now, here.
            mod.GREETING = "modified global"
            assert w.run(lambda: local_function()) == "modified global"
            # A sibling package is not covered by the registration.
            assert w.fails_to_import(lambda: local_submod_function)
            oxpickle.unregister_pickle_by_value(mod)
            assert w.fails_to_import(lambda: local_function)

            # Registering the namespace package covers its subpackages.
            oxpickle.register_pickle_by_value(local_folder)
            assert w.run(lambda: local_function()) == "modified global"
            assert w.run(lambda: local_submod_function()) == local_submod_function()
            oxpickle.unregister_pickle_by_value(local_folder)
            assert w.fails_to_import(lambda: local_function)
            assert w.fails_to_import(lambda: local_submod_function)

            # Registering one submodule does not cover its parents.
            oxpickle.register_pickle_by_value(submod)
            assert w.run(lambda: local_submod_function()) == local_submod_function()
            assert w.run(lambda: LocalSubmodT.__name__) == "LocalSubmodT"
            assert w.run(lambda: LocalSubmodClass().method()) == LocalSubmodClass().method()
            assert w.fails_to_import(lambda: local_function)
            oxpickle.unregister_pickle_by_value(submod)
            assert w.fails_to_import(lambda: local_submod_function)

            # Registering the subfolder package.
            oxpickle.register_pickle_by_value(local_folder.subfolder)
            assert w.run(lambda: local_submod_function()) == local_submod_function()
            oxpickle.unregister_pickle_by_value(local_folder.subfolder)
            assert oxpickle.list_registry_pickle_by_value() == set()
        """,
    )


def test_dynamic_module_loaded_in_one_process_travels_on_by_value(sender_dir, receiver_dir):
    run_worker_scenario(
        sender_dir,
        receiver_dir,
        """
        import textwrap
        import types

        from workerlib import Worker

        mod = types.ModuleType("oxbv_dynamic_mod")
        exec(textwrap.dedent('''
            x = 1

            def f(y):
                return x + y
        '''), mod.__dict__)


        def check(module):
            import sys
            assert module.__name__ not in sys.modules
            return module.f(1)


        with Worker() as first:
            # The first worker loads the module, and pickles it again to reply.
            returned = first.run(lambda m: m, mod)
            assert returned is not mod and returned.f(1) == 2
            with Worker() as second:
                assert second.run(check, returned) == 2
        """,
    )


# ----- deterministic mode -------------------------------------------------------

DETERMINISTIC = r'''
import collections
import dataclasses
import enum
import hashlib
import json
import sys

import oxpickle

WORDS = [f"word{i}" for i in range(64)] + ["", "a", "é", "日本", "ünïcode"]
G1 = "global one"
G2 = frozenset(WORDS[:10])


def with_globals():
    return G1, G2, len(WORDS)


def make_closure():
    hidden = {"k": set(WORDS[:5])}

    def inner(x):
        return hidden, x

    return inner


class Dynamic:
    """A class defined in __main__."""

    attr_set = set(WORDS)
    attr_frozen = frozenset(WORDS[::2])

    def method(self):
        return self.attr_set

    @property
    def prop(self):
        return with_globals()


class Color(enum.Enum):
    RED = "r"
    GREEN = "g"


@dataclasses.dataclass
class Record:
    name: str
    tags: frozenset = frozenset()


instance = Dynamic()
instance.extra = {w: set(w) for w in WORDS[:8]}

cases = {
    "set_of_str": set(WORDS),
    "frozenset_of_str": frozenset(WORDS),
    "set_of_mixed_types": {1, 2.5, "x", b"y", (1, "z"), None, frozenset({"a", "b"}), -7, 10**30},
    "frozenset_of_frozensets": frozenset({frozenset(WORDS[:3]), frozenset(WORDS[3:6])}),
    "nested_data": {
        "sets": [set(WORDS[:20]), {("t", w) for w in WORDS[:9]}],
        "by_word": {w: {w, w.upper()} for w in WORDS[:10]},
        "ordered": collections.OrderedDict((w, frozenset(w)) for w in WORDS[:5]),
    },
    "function_with_globals": with_globals,
    "closure": make_closure(),
    "lambda_with_set_default": lambda s=frozenset(WORDS): sorted(s),
    "class": Dynamic,
    "instance": instance,
    "enum": Color,
    "dataclass_instance": Record("r", frozenset(WORDS[:7])),
    "everything": [with_globals, Dynamic, instance, Color.GREEN, set(WORDS)],
    # Payloads this large are not copied through the pickler's buffer.
    "set_of_large_bytes": {b"x" * 2**20 + bytes([i]) for i in range(4)},
}
json.dump({name: hashlib.sha256(oxpickle.dumps(obj, deterministic=True)).hexdigest()
           for name, obj in cases.items()}, sys.stdout)
'''


def test_deterministic_output_is_identical_whatever_the_hash_seed(sender_dir):
    script = sender_dir / "deterministic.py"
    script.write_text(DETERMINISTIC)
    runs = {
        seed: json.loads(_run([str(script)], cwd=sender_dir, env={"PYTHONHASHSEED": seed}))
        for seed in ("0", "1", "12345")
    }
    first = runs["0"]
    assert set(first) == set(runs["1"]) == set(runs["12345"])
    differing = [name for name in first if len({runs[seed][name] for seed in runs}) != 1]
    assert not differing, f"output depends on PYTHONHASHSEED for: {differing}"


def test_deterministic_set_bytes_do_not_depend_on_insertion_history():
    words = [f"w{i}" for i in range(200)]
    forward = set(words)
    backward = set(reversed(words))
    churned = set(words + [f"tmp{i}" for i in range(500)])
    for i in range(500):
        churned.discard(f"tmp{i}")
    assert forward == backward == churned
    expected = oxpickle.dumps(forward, deterministic=True)
    assert oxpickle.dumps(backward, deterministic=True) == expected
    assert oxpickle.dumps(churned, deterministic=True) == expected
    assert oxpickle.dumps(frozenset(churned), deterministic=True) == oxpickle.dumps(
        frozenset(forward), deterministic=True
    )


@pytest.mark.parametrize(
    "obj",
    [
        {"a", "b", "c"},
        frozenset({1, "x", b"y", (2, 3)}),
        {"k": [{1, 2}, frozenset({"z"})]},
    ],
    ids=["set", "frozenset", "nested"],
)
def test_deterministic_output_loads_back(obj):
    data = oxpickle.dumps(obj, deterministic=True)
    assert pickle.loads(data) == obj
    assert oxpickle.loads(data) == obj


def test_deterministic_output_of_code_loads_and_runs():
    words = {"b", "a", "c"}

    def uses_closure(extra):
        return sorted(words | {extra})

    data = oxpickle.dumps(uses_closure, deterministic=True)
    assert pickle.loads(data)("d") == ["a", "b", "c", "d"]


# ----- the Python-version guard -------------------------------------------------

TAG = sys.implementation.cache_tag
FAKE_TAG = TAG[:-2] + "99"  # 'cpython-311' -> 'cpython-399': same length


def _by_value_samples():
    def closure_factory():
        n = 1
        return lambda x: x + n

    class WithMethod:
        def method(self):
            return "m"

    module = types.ModuleType("oxbv_guard_module")
    exec("def f():\n    return 'f'\n", module.__dict__)
    return {
        "lambda": closure_factory(),
        "class": WithMethod,
        "dynamic module": module,
    }


@pytest.mark.parametrize("kind", list(_by_value_samples()))
def test_by_value_code_carries_the_python_that_made_it(kind):
    assert FAKE_TAG != TAG and len(FAKE_TAG) == len(TAG)
    data = oxpickle.dumps(_by_value_samples()[kind])
    assert TAG.encode() in data
    assert b"check_python" in data


@pytest.mark.parametrize("load", [oxpickle.loads, pickle.loads], ids=["oxpickle", "pickle"])
@pytest.mark.parametrize("kind", list(_by_value_samples()))
def test_code_from_another_python_version_is_refused_naming_both(load, kind):
    data = oxpickle.dumps(_by_value_samples()[kind])
    forged = data.replace(TAG.encode(), FAKE_TAG.encode())
    assert forged != data
    with pytest.raises(oxpickle.UnpicklingError) as info:
        load(forged)
    assert isinstance(info.value, pickle.UnpicklingError)
    message = str(info.value)
    assert FAKE_TAG in message
    assert TAG in message


@pytest.mark.parametrize("load", [oxpickle.loads, pickle.loads], ids=["oxpickle", "pickle"])
def test_version_is_checked_before_any_code_object_is_built(load):
    built: list[tuple] = []
    real_code_type = types.CodeType

    def spy(*args):
        built.append(args)
        return real_code_type(*args)

    def closure_factory():
        n = 1
        return lambda x: x + n

    data = oxpickle.dumps(closure_factory())
    forged = data.replace(TAG.encode(), FAKE_TAG.encode())
    # Patched by hand, and restored before any assertion: pytest itself
    # needs the real types.CodeType to report a failure.
    types.CodeType = spy
    try:
        honest_result = load(data)(1)
        built_by_honest = len(built)
        built.clear()
        try:
            load(forged)
        except Exception as exc:  # noqa: BLE001 - checked below, after the restore
            forged_error = exc
        else:
            forged_error = None
    finally:
        types.CodeType = real_code_type
    # Control: an honest pickle builds its code through types.CodeType.
    assert honest_result == 2
    assert built_by_honest > 0, "the spy must see code objects being built"
    assert isinstance(forged_error, oxpickle.UnpicklingError), forged_error
    assert built == [], "a code object was built before the version check"


class _Plain:
    def __init__(self):
        self.values = [1, 2.0, "three"]

    def __eq__(self, other):
        return type(other) is _Plain and other.values == self.values


@pytest.mark.parametrize(
    "obj",
    [
        {"a": [1, 2.5, "x", b"y", None, True], "b": (frozenset({1}), {2})},
        list(range(100)),
        _Plain(),
        os.path.join,
        typing.List[int],  # noqa: UP006
    ],
    ids=["data", "list", "instance", "function", "typing-alias"],
)
def test_plain_data_pickles_stay_portable(obj):
    data = oxpickle.dumps(obj)
    assert b"check_python" not in data
    assert TAG.encode() not in data
    assert pickle.loads(data) == obj


# ----- cloudpickle's output ----------------------------------------------------------


def test_oxpickle_reads_cloudpickle_functions_and_closures():
    base = 10

    def add(x, *, extra=0):
        return base + x + extra

    def make_counter():
        count = 0

        def increment():
            nonlocal count
            count += 1
            return count

        return increment

    loaded_add = oxpickle.loads(cloudpickle.dumps(add))
    assert loaded_add(1, extra=2) == 13
    counter = oxpickle.loads(cloudpickle.dumps(make_counter()))
    assert counter() == 1 and counter() == 2
    assert oxpickle.loads(cloudpickle.dumps(lambda: "lambda"))() == "lambda"


def test_oxpickle_reads_cloudpickle_classes_and_enums():
    import enum
    import gc

    def make():
        class Base:
            def greet(self):
                return "base"

        class Derived(Base):
            def greet(self):
                return "derived+" + super().greet()

        class Color(enum.Enum):
            RED = 1
            GREEN = 2

        return cloudpickle.dumps([Derived, Derived(), Color, Color.GREEN, Color.GREEN])

    data = make()
    gc.collect()
    derived, instance, color, green, green_again = oxpickle.loads(data)
    assert derived().greet() == "derived+base"
    assert type(instance) is derived
    assert green is green_again is color.GREEN
    assert [m.name for m in color] == ["RED", "GREEN"]
