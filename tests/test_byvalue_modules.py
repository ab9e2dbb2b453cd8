"""Modules: importable ones travel by reference; dynamic modules and modules registered with
register_pickle_by_value travel by value; submodules and packages are imported on load."""

import collections
import importlib
import logging
import os.path
import pickle
import sys
import textwrap
import types
import uuid

import oxpickle
import pytest
from byvalue_helpers import LOADERS, namespace

# ----- helpers ------------------------------------------------------------------------


@pytest.fixture
def make_package(tmp_path, monkeypatch):
    """Writes a uniquely named package under tmp_path (on sys.path) from
    {relative path: source}; forgets its modules and registrations after."""
    made: list[str] = []
    monkeypatch.syspath_prepend(str(tmp_path))

    def make(files: dict[str, str]) -> str:
        name = f"oxbv_pkg_{uuid.uuid4().hex[:10]}"
        made.append(name)
        for relative, text in files.items():
            path = tmp_path / name / relative
            path.parent.mkdir(parents=True, exist_ok=True)
            path.write_text(textwrap.dedent(text))
        importlib.invalidate_caches()
        return name

    yield make
    for registered in oxpickle.list_registry_pickle_by_value():
        if registered.split(".")[0] in made:
            stand_in = sys.modules.get(registered) or types.ModuleType(registered)
            oxpickle.unregister_pickle_by_value(stand_in)
    for module in list(sys.modules):
        if module.split(".")[0] in made:
            del sys.modules[module]


def forget_package(name: str) -> None:
    """Drops a package and its submodules from sys.modules."""
    for module in list(sys.modules):
        if module == name or module.startswith(name + "."):
            del sys.modules[module]


# ----- by reference -------------------------------------------------------------------


@pytest.mark.parametrize("module", [pickle, os.path, collections, collections.abc, logging])
def test_importable_modules_travel_by_reference(roundtrip, module):
    assert roundtrip(module) is module


@pytest.mark.parametrize("base", [object, types.ModuleType])
@pytest.mark.parametrize("module_name", ["_oxbv_missing_module", None])
def test_faulty_unrelated_module_in_sys_modules(roundtrip, monkeypatch, base, module_name):
    class FaultyModule(base):
        def __getattr__(self, name):
            raise Exception("faulty module")

    class Foo:
        __module__ = module_name

        def foo(self):
            return "it works!"

    def foo():
        return "it works!"

    foo.__module__ = module_name
    faulty = FaultyModule("_oxbv_faulty") if base is types.ModuleType else FaultyModule()
    monkeypatch.setitem(sys.modules, "_oxbv_faulty", faulty)
    assert roundtrip(Foo()).foo() == "it works!"
    assert roundtrip(foo)() == "it works!"


# ----- dynamic modules ----------------------------------------------------------------


_DYNAMIC_SOURCE = """
x = 1

def f(y):
    return x + y

class Foo:
    def method(self, x):
        return f(x)
"""


@pytest.mark.parametrize("package", ["none", "deleted"])
def test_dynamic_module_travels_by_value(roundtrip, package):
    module = types.ModuleType("oxbv_dynamic")
    if package == "deleted":
        del module.__package__
    exec(textwrap.dedent(_DYNAMIC_SOURCE), module.__dict__)
    loaded = roundtrip(module)
    assert isinstance(loaded, types.ModuleType)
    assert loaded is not module
    assert loaded.__name__ == "oxbv_dynamic"
    assert loaded.x == 1
    assert loaded.f(5) == 6
    assert loaded.Foo().method(5) == 6
    assert loaded.f.__globals__ is loaded.Foo.method.__globals__
    assert "oxbv_dynamic" not in sys.modules


def test_dynamic_module_twice_in_one_stream_is_one_module(roundtrip):
    module = types.ModuleType("oxbv_dynamic")
    exec("x = 1", module.__dict__)
    first, second = roundtrip([module, module])
    assert first is second


def test_loaded_dynamic_module_is_still_dynamic(roundtrip):
    module = types.ModuleType("oxbv_dynamic")
    exec(textwrap.dedent(_DYNAMIC_SOURCE), module.__dict__)
    again = roundtrip(roundtrip(module))
    assert again.f(1) == 2
    assert again.Foo().method(2) == 3


def test_function_of_a_dynamic_module_placed_in_sys_modules(roundtrip, monkeypatch):
    module = types.ModuleType("oxbv_dynamic_in_sys_modules")
    exec(textwrap.dedent(_DYNAMIC_SOURCE), module.__dict__)
    monkeypatch.setitem(sys.modules, module.__name__, module)
    assert roundtrip(module.f)(5) == 6
    assert roundtrip(module) is module


def test_dynamic_module_with_an_unpicklable_builtin(roundtrip, monkeypatch):
    class Unpicklable:
        def __reduce__(self):
            raise ValueError("unpicklable")

    module = types.ModuleType("oxbv_dynamic")
    exec("f = lambda x: abs(x)", module.__dict__)
    builtins_ns = module.__dict__["__builtins__"]
    if isinstance(builtins_ns, dict):
        monkeypatch.setitem(builtins_ns, "oxbv_unpicklable", Unpicklable())
    else:
        monkeypatch.setattr(builtins_ns, "oxbv_unpicklable", Unpicklable(), raising=False)
    loaded = roundtrip(module)
    assert loaded.f(-1) == 1
    assert module.f(-1) == 1


def test_modules_in_sys_modules_travel_by_reference_even_if_made_dynamically(
    make_package, roundtrip
):
    package = make_package(
        {
            "__init__.py": "",
            "mod.py": """
                import sys
                import types

                # Dynamic submodules that the import system finds in sys.modules.
                dynamic_submodule = types.ModuleType(__name__ + ".dynamic_submodule")
                sys.modules[dynamic_submodule.__name__] = dynamic_submodule
                other = types.ModuleType(__name__ + ".dynamic_submodule_two")
                sys.modules[other.__name__] = other
                nested = types.ModuleType(__name__ + ".dynamic_submodule.deeper")
                dynamic_submodule.deeper = nested
                sys.modules[nested.__name__] = nested

                # Reachable only as an attribute: not importable by name.
                submodule_three = types.ModuleType(__name__ + ".dynamic_submodule_three")
                exec("def f(x):\\n    return x\\n", vars(submodule_three))
                """,
        }
    )
    mod = importlib.import_module(f"{package}.mod")
    for module in (mod.dynamic_submodule, mod.other, mod.nested):
        assert roundtrip(module) is module
    with pytest.raises(ImportError):
        importlib.import_module(f"{package}.mod.dynamic_submodule_three")
    loaded = roundtrip(mod.submodule_three)
    assert loaded is not mod.submodule_three
    assert loaded.f(1) == 1


# ----- submodules and packages --------------------------------------------------------


def test_submodule_reached_by_attribute_chain_is_imported_on_load(make_package, roundtrip):
    package = make_package(
        {
            "__init__.py": "",
            "deep/__init__.py": "",
            "deep/leaf.py": "VALUE = 'leaf value'\n",
        }
    )
    importlib.import_module(f"{package}.deep.leaf")
    scope = namespace(
        f"""
        import {package}

        def read():
            return {package}.deep.leaf.VALUE
        """
    )
    data = roundtrip.dumps(scope["read"])
    forget_package(package)
    assert roundtrip.load(data)() == "leaf value"


def test_submodule_imported_in_enclosing_scope(make_package, roundtrip):
    package = make_package(
        {
            "__init__.py": "",
            "deep/__init__.py": "",
            "deep/leaf.py": "VALUE = 'from the closure'\n",
        }
    )
    scope = namespace(
        f"""
        def scope():
            import {package}.deep.leaf

            def read():
                return {package}.deep.leaf.VALUE

            return read
        """
    )
    data = roundtrip.dumps(scope["scope"]())
    forget_package(package)
    assert roundtrip.load(data)() == "from the closure"


def test_relative_imports_inside_by_value_functions(make_package, roundtrip):
    package = make_package(
        {
            "__init__.py": """
                from . import mod

                def package_function():
                    return "hello from a package"

                def relative_imports_factory():
                    def from_module():
                        from .mod import module_function

                        return module_function()

                    def from_package():
                        from . import package_function

                        return package_function()

                    return from_module, from_package
                """,
            "mod.py": """
                def module_function():
                    return "hello from a module"
                """,
        }
    )
    from_module, from_package = importlib.import_module(package).relative_imports_factory()
    assert roundtrip(from_module)() == "hello from a module"
    assert roundtrip(from_package)() == "hello from a package"


# ----- register_pickle_by_value -------------------------------------------------------


_LOCAL_MODULE = """
import typing

GREETING = "hello from a function importable locally"

def local_function():
    return GREETING

class LocalClass:
    def method(self):
        return "hello from a class importable locally"

LocalT = typing.TypeVar("LocalT")
"""


def test_registry_api(make_package):
    package = make_package({"__init__.py": "from . import mod\n", "mod.py": "X = 1\n"})
    pkg = importlib.import_module(package)
    mod = importlib.import_module(f"{package}.mod")
    before = oxpickle.list_registry_pickle_by_value()
    assert package not in before

    oxpickle.register_pickle_by_value(pkg)
    assert oxpickle.list_registry_pickle_by_value() == before | {package}
    oxpickle.register_pickle_by_value(mod)
    assert oxpickle.list_registry_pickle_by_value() == before | {package, mod.__name__}
    oxpickle.unregister_pickle_by_value(mod)
    assert oxpickle.list_registry_pickle_by_value() == before | {package}

    with pytest.raises(ValueError, match="module"):
        oxpickle.unregister_pickle_by_value(package)  # a name, not a module
    oxpickle.unregister_pickle_by_value(pkg)
    assert oxpickle.list_registry_pickle_by_value() == before
    with pytest.raises(ValueError, match="not registered"):
        oxpickle.unregister_pickle_by_value(pkg)
    with pytest.raises(ValueError, match="module"):
        oxpickle.register_pickle_by_value(package)
    with pytest.raises(ValueError, match="import"):
        oxpickle.register_pickle_by_value(types.ModuleType("oxbv_never_imported"))


def test_registry_listing_is_a_copy(make_package):
    package = make_package({"__init__.py": ""})
    listing = oxpickle.list_registry_pickle_by_value()
    listing.add(package)
    assert package not in oxpickle.list_registry_pickle_by_value()


@pytest.mark.parametrize("load", LOADERS)
def test_registered_module_constructs_travel_by_value(make_package, tmp_path, monkeypatch, load):
    package = make_package({"__init__.py": "", "mod.py": _LOCAL_MODULE})
    mod = importlib.import_module(f"{package}.mod")
    oxpickle.register_pickle_by_value(mod)
    data = oxpickle.dumps([mod.local_function, mod.LocalClass, mod.LocalT, mod, mod.LocalClass()])
    # The receiver cannot import the module any more: only by-value works.
    forget_package(package)
    monkeypatch.setattr(sys, "path", [p for p in sys.path if p != str(tmp_path)])
    importlib.invalidate_caches()
    with pytest.raises(ImportError):
        importlib.import_module(f"{package}.mod")
    function, cls, typevar, module, instance = load(data)
    assert function() == "hello from a function importable locally"
    assert cls().method() == "hello from a class importable locally"
    assert typevar.__name__ == "LocalT"
    assert module.local_function() == "hello from a function importable locally"
    assert type(instance) is cls
    assert f"{package}.mod" not in sys.modules


def test_registration_covers_submodules_but_not_parents(make_package):
    package = make_package(
        {
            "__init__.py": "",
            "mod.py": _LOCAL_MODULE,
            "subfolder/__init__.py": "",
            "subfolder/submod.py": """
                def local_submod_function():
                    return "from the subfolder"
                """,
        }
    )
    mod = importlib.import_module(f"{package}.mod")
    submod = importlib.import_module(f"{package}.subfolder.submod")
    pkg = sys.modules[package]
    assert oxpickle.loads(oxpickle.dumps(mod.local_function)) is mod.local_function

    oxpickle.register_pickle_by_value(pkg)
    assert oxpickle.loads(oxpickle.dumps(mod.local_function)) is not mod.local_function
    assert oxpickle.loads(oxpickle.dumps(submod.local_submod_function))() == "from the subfolder"
    assert (
        oxpickle.loads(oxpickle.dumps(submod.local_submod_function))
        is not submod.local_submod_function
    )
    oxpickle.unregister_pickle_by_value(pkg)
    assert oxpickle.loads(oxpickle.dumps(mod.local_function)) is mod.local_function

    oxpickle.register_pickle_by_value(submod)
    assert (
        oxpickle.loads(oxpickle.dumps(submod.local_submod_function))
        is not submod.local_submod_function
    )
    assert oxpickle.loads(oxpickle.dumps(mod.local_function)) is mod.local_function
    oxpickle.unregister_pickle_by_value(submod)
    assert (
        oxpickle.loads(oxpickle.dumps(submod.local_submod_function)) is submod.local_submod_function
    )


def test_by_value_copy_captures_module_globals_at_dump_time(make_package, roundtrip):
    package = make_package(
        {
            "__init__.py": """
                global_variable = "some global variable"

                def function_with_global():
                    return global_variable
                """
        }
    )
    pkg = importlib.import_module(package)
    by_reference = roundtrip.dumps(pkg.function_with_global)
    oxpickle.register_pickle_by_value(pkg)
    pkg.global_variable = "modified global"
    by_value = roundtrip.dumps(pkg.function_with_global)
    oxpickle.unregister_pickle_by_value(pkg)
    pkg.global_variable = "changed again"

    reference_copy = roundtrip.load(by_reference)
    value_copy = roundtrip.load(by_value)
    assert reference_copy is pkg.function_with_global
    assert reference_copy() == "changed again"
    assert value_copy is not pkg.function_with_global
    assert value_copy() == "modified global"
