"""How dumps and loads find the module of a global: like `import`, from
`sys.modules` when the module is there, and the long way otherwise."""

import builtins
import io
import pickle
import sys
import types

import oxpickle
import pytest


def triple(x):
    return 3 * x


def _module_holding_triple(name: str) -> types.ModuleType:
    module = types.ModuleType(name)
    module.triple = triple
    return module


@pytest.fixture
def fake_module(monkeypatch):
    """A module `oxpickle_fake_mod` in sys.modules whose `triple` is ours."""
    name = "oxpickle_fake_mod"
    module = _module_holding_triple(name)
    monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(triple, "__module__", name)
    return module


@pytest.fixture
def import_calls(monkeypatch):
    """The names `builtins.__import__` is asked for from here on."""
    calls = []
    real_import = builtins.__import__

    def recording_import(name, *args, **kwargs):
        calls.append(name)
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", recording_import)
    return calls


def _dumps_both_ways(obj):
    return {"oxpickle": oxpickle.dumps(obj), "pickle": pickle.dumps(obj)}


def test_globals_of_a_module_in_sys_modules_round_trip(fake_module):
    for name, stream in _dumps_both_ways(triple).items():
        assert b"oxpickle_fake_mod" in stream, name
        assert oxpickle.loads(stream) is triple
        assert pickle.loads(stream) is triple


def test_a_module_still_initialising_is_imported_the_long_way(fake_module, import_calls):
    """While another thread runs a module's import, `import` waits for it
    to finish; so do dumps and loads, by going through __import__."""
    fake_module.__spec__ = types.SimpleNamespace(name=fake_module.__name__, _initializing=True)
    stream = oxpickle.dumps(triple)
    assert "oxpickle_fake_mod" in import_calls
    import_calls.clear()
    assert oxpickle.loads(stream) is triple
    assert "oxpickle_fake_mod" in import_calls


def test_a_module_blocked_in_sys_modules_fails_as_in_the_stdlib(fake_module, monkeypatch):
    stream = pickle.dumps(triple)
    monkeypatch.setitem(sys.modules, fake_module.__name__, None)
    for loads in (pickle.loads, oxpickle.loads):
        with pytest.raises(ModuleNotFoundError, match="halted; None in sys.modules"):
            loads(stream)


def test_a_module_not_imported_yet_is_imported_by_loads(monkeypatch):
    name = "colorsys"
    stream = pickle.dumps(__import__(name).rgb_to_hsv)
    monkeypatch.delitem(sys.modules, name)
    loaded = oxpickle.loads(stream)
    assert loaded.__module__ == name and name in sys.modules


def test_the_pickler_class_finds_modules_the_same_way(fake_module):
    out = io.BytesIO()
    oxpickle.Pickler(out).dump(triple)
    assert oxpickle.Unpickler(io.BytesIO(out.getvalue())).load() is triple


def test_a_global_a_module_serves_from_its_getattr_is_found(monkeypatch):
    """A module `__getattr__` (PEP 562) is asked for names its namespace
    lacks, so what it serves pickles by name, as with the stdlib."""
    name = "oxpickle_lazy_mod"
    module = types.ModuleType(name)
    module.__getattr__ = lambda attribute: _served(attribute, {"lazy_triple": triple})
    monkeypatch.setitem(sys.modules, name, module)
    monkeypatch.setattr(triple, "__module__", name)
    monkeypatch.setattr(triple, "__qualname__", "lazy_triple")
    for dumper, stream in _dumps_both_ways(triple).items():
        assert b"lazy_triple" in stream, dumper
        assert oxpickle.loads(stream) is triple


def _served(attribute, served):
    if attribute not in served:
        raise AttributeError(attribute)
    return served[attribute]


def test_a_function_its_module_does_not_hold_travels_by_value(fake_module, monkeypatch):
    """The stdlib refuses it; oxpickle, finding no such name, sends the code."""
    monkeypatch.setattr(triple, "__qualname__", "not_there")
    with pytest.raises(pickle.PicklingError, match="not_there"):
        pickle.dumps(triple)
    loaded = oxpickle.loads(oxpickle.dumps(triple))
    assert loaded is not triple and loaded(2) == 6


def test_a_global_whose_name_has_a_lone_surrogate_is_found_by_dumps(fake_module, monkeypatch):
    """Such a name has no UTF-8 form; dumps still finds it by name."""
    name = "\udcff"
    monkeypatch.setattr(fake_module, name, triple, raising=False)
    monkeypatch.setattr(triple, "__qualname__", name)
    stream = oxpickle.dumps(triple, 4)
    assert stream == pickle.dumps(triple, 4)
    assert pickle.loads(stream) is triple
