"""Helpers shared by the test_byvalue_*.py files, which ship by value every kind of object
cloudpickle's own test-suite ships (their `roundtrip` fixture is in conftest.py).

What the receiver can import by name travels by reference; what it cannot
(lambdas, closures, classes defined inside functions, anything from
``__main__``, from a module registered with ``register_pickle_by_value`` or
from a dynamic module) travels by value. Each test pickles with
``oxpickle.dumps`` and loads through the ``roundtrip`` fixture, once with
``oxpickle.loads`` and once with the standard library's ``pickle.loads``
(plus protocol 2, as cloudpickle checks), and then *uses* what came back.

In one process a class pickled by value comes back as the very class that
was pickled (class tracking), so a round trip alone cannot prove that the
class was rebuilt from the stream. Tests that are about rebuilding use
``roundtrip.rebuilt(factory)``: the original is dropped and collected
before the load, so everything the loaded object can do came from bytes.

BYVALUE_COVERAGE.md maps each test of cloudpickle's suite to the test of
test_byvalue_*.py that covers the same kind of object. Cross-process
behaviour, determinism and the Python-version guard are in
test_byvalue_crossprocess.py.
"""

import dataclasses
import gc
import pickle
import sys
import textwrap
import types
import typing
import weakref
from collections.abc import Callable
from typing import Any

import oxpickle
import pytest


def _classes_reachable(obj: Any) -> list[type]:
    """The non-builtin classes `obj` is or is an instance of, looking into
    lists, tuples, dict values, closures and bound methods: what must be
    collected before a load for the load to rebuild them."""
    if isinstance(obj, (list, tuple)):
        return [c for item in obj for c in _classes_reachable(item)]
    if isinstance(obj, dict) and type(obj) is dict:
        return [c for item in obj.values() for c in _classes_reachable(item)]
    if isinstance(obj, types.FunctionType):
        cells = obj.__closure__ or ()
        return [c for cell in cells for c in _classes_reachable(cell.cell_contents)]
    if isinstance(obj, types.MethodType):
        return _classes_reachable(obj.__self__)
    cls = obj if isinstance(obj, type) else type(obj)
    module = sys.modules.get(getattr(cls, "__module__", None) or "")
    if getattr(module, cls.__qualname__, None) is cls:
        return []  # importable: travels by reference, nothing to rebuild
    return [cls]


@dataclasses.dataclass(frozen=True)
class Channel:
    """oxpickle.dumps on one side, `load` on the other."""

    load: Callable[[bytes], Any]
    protocol: int

    def dumps(self, obj: Any, **kwargs: Any) -> bytes:
        return oxpickle.dumps(obj, protocol=self.protocol, **kwargs)

    def __call__(self, obj: Any) -> Any:
        return self.load(self.dumps(obj))

    def rebuilt(self, factory: Callable[[], Any]) -> Any:
        """Pickles what `factory` makes, lets the original classes die, then
        loads: the receiver must rebuild them from the stream instead of
        finding the originals through class tracking."""
        obj = factory()
        data = self.dumps(obj)
        witnesses = [weakref.ref(cls) for cls in _classes_reachable(obj)]
        assert witnesses, "nothing to rebuild: the factory made only builtins"
        del obj
        # typing caches parametrised aliases (C[int]) and with them C itself:
        # empty those caches the way CPython's own test runner does.
        for clear_cache in getattr(typing, "_cleanups", ()):
            clear_cache()
        gc.collect()
        alive = [w() for w in witnesses if w() is not None]
        assert not alive, f"precondition: originals still alive: {alive}"
        return self.load(data)


CHANNELS = [
    pytest.param(Channel(oxpickle.loads, 5), id="oxpickle.loads-p5"),
    pytest.param(Channel(pickle.loads, 5), id="pickle.loads-p5"),
    pytest.param(Channel(pickle.loads, 2), id="pickle.loads-p2"),
]


LOADERS = [
    pytest.param(oxpickle.loads, id="oxpickle.loads"),
    pytest.param(pickle.loads, id="pickle.loads"),
]


def namespace(source: str, module: str = "__main__", **names: Any) -> dict[str, Any]:
    """Runs `source` as the body of a module called `module` in a fresh
    globals dict, the way a script or an interactive session defines things:
    the receiver cannot import what it defines."""
    scope: dict[str, Any] = {"__name__": module, **names}
    exec(compile(textwrap.dedent(source), f"<{module} test source>", "exec"), scope)
    return scope
