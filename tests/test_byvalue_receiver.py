"""By-value code runs in a fresh process exactly as it runs where it was defined.

Each function here is defined inside its test, so it travels by value. It is
pickled in this process and loaded in a fresh interpreter that has never
seen it: there it must find builtins the way the sender's code did, whether
it reads them through bytecode, ``eval``/``exec``/``globals()``, an import
at call time, or C code that imports through ``PyImport_Import`` (NumPy's
``ndarray.sum``, ``pickle.dumps`` of a builtin).
"""

import pickle
import types

import numpy as np
import oxpickle
import pytest
from child import run_child

LOADERS = ["pickle", "oxpickle"]


def call_in_fresh_interpreter(tmp_path, loader: str, calls: dict) -> dict:
    """Pickles ``{name: (function, args)}`` with oxpickle, loads it with
    ``loader`` in a fresh interpreter and returns each call's ``repr`` (or
    the exception it raised, as ``"error: Type: message"``)."""
    payload = tmp_path / "calls.pickle"
    payload.write_bytes(oxpickle.dumps(calls))
    return run_child(
        f"""
        import json
        import {loader} as loader

        with open({str(payload)!r}, "rb") as f:
            calls = loader.loads(f.read())
        results = {{}}
        for name, (function, args) in calls.items():
            try:
                results[name] = repr(function(*args))
            except BaseException as exc:
                results[name] = f"error: {{type(exc).__name__}}: {{exc}}"
        print(json.dumps(results))
        """
    )


@pytest.mark.parametrize("loader", LOADERS)
def test_numpy_methods_that_import_through_c_code(tmp_path, loader):
    def total(a):
        return float(a.sum())

    calls = {
        "sum": (total, (np.arange(10.0),)),
        "lambda": (lambda a: float(a.mean()), (np.ones(4),)),
        "std": (lambda a: round(float(a.std()), 6), (np.array([1.0, 3.0]),)),
    }
    assert call_in_fresh_interpreter(tmp_path, loader, calls) == {
        "sum": "45.0",
        "lambda": "1.0",
        "std": "1.0",
    }


@pytest.mark.parametrize("loader", LOADERS)
def test_imports_at_call_time(tmp_path, loader):
    def encode(value):
        import json

        return json.dumps(value)

    def import_by_name():
        import importlib

        return importlib.import_module("colorsys").rgb_to_hsv(1.0, 0.0, 0.0)

    calls = {
        "import": (encode, ({"a": 1},)),
        "importlib": (import_by_name, ()),
        "__import__": (lambda: __import__("math").floor(2.5), ()),
    }
    assert call_in_fresh_interpreter(tmp_path, loader, calls) == {
        "import": "'{\"a\": 1}'",
        "importlib": "(0.0, 1.0, 1.0)",
        "__import__": "2",
    }


@pytest.mark.parametrize("loader", LOADERS)
def test_eval_exec_and_globals(tmp_path, loader):
    def run_exec():
        namespace = {}
        exec("result = abs(-3) + len('ab')", namespace)
        return namespace["result"]

    def builtins_in_globals():
        found = globals()["__builtins__"]
        found = found if isinstance(found, dict) else vars(found)
        return found["len"] is len

    calls = {
        "eval": (lambda: eval("len([1, 2, 3])"), ()),
        "exec": (run_exec, ()),
        "eval_with_globals": (lambda: eval("max(1, 5)", globals()), ()),
        "globals": (builtins_in_globals, ()),
    }
    assert call_in_fresh_interpreter(tmp_path, loader, calls) == {
        "eval": "3",
        "exec": "5",
        "eval_with_globals": "5",
        "globals": "True",
    }


@pytest.mark.parametrize("loader", LOADERS)
def test_pickling_a_builtin_from_inside_loaded_code(tmp_path, loader):
    """``pickle.dumps(len)`` looks up the builtins module through the calling
    frame's globals."""

    def pickle_len():
        return pickle.loads(pickle.dumps(len)) is len

    def pickle_len_with_oxpickle():
        return oxpickle.loads(oxpickle.dumps(len)) is len

    calls = {"pickle": (pickle_len, ()), "oxpickle": (pickle_len_with_oxpickle, ())}
    assert call_in_fresh_interpreter(tmp_path, loader, calls) == {
        "pickle": "True",
        "oxpickle": "True",
    }


@pytest.mark.parametrize("loader", LOADERS)
def test_dynamic_module_has_builtins(tmp_path, loader):
    module = types.ModuleType("made_at_run_time")
    exec("def double(x):\n    return abs(x) * 2\n", module.__dict__)

    def call_through_module(mod):
        return (mod.double(-4), "__builtins__" in vars(mod))

    calls = {"module": (call_through_module, (module,))}
    assert call_in_fresh_interpreter(tmp_path, loader, calls) == {"module": "(8, True)"}


def test_a_loaded_function_sees_the_receivers_builtins_not_a_copy():
    def probe():
        return globals()["__builtins__"]

    loaded = pickle.loads(oxpickle.dumps(probe))
    builtins_seen = loaded()
    import builtins

    assert builtins_seen is builtins or builtins_seen is vars(builtins)


def test_a_dynamic_modules_own_builtins_are_not_pickled():
    """A module's ``__builtins__`` may hold what cannot be pickled (SciPy
    puts objects there); the receiver uses its own."""

    class Unpicklable:
        def __reduce__(self):
            raise ValueError("not picklable")

    module = types.ModuleType("with_odd_builtins")
    module.__dict__["__builtins__"] = {"abs": abs, "odd": Unpicklable()}
    exec("f = lambda x: abs(x)", module.__dict__)
    loaded = pickle.loads(oxpickle.dumps(module))
    assert loaded.f(-2) == 2
    assert "odd" not in vars(loaded.__builtins__)
