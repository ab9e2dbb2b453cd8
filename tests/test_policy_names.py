"""Every name the Rust engine reads from the package's Python modules exists.

The engine looks these up on first use; without this test, renaming one on
the Python side would fail only in a user's dump."""

import importlib

import pytest
from oxpickle import _oxpickle


def test_the_engine_lists_its_names():
    names = _oxpickle._policy_names()
    assert ("oxpickle._reducers", "REDUCERS") in names
    assert len(set(names)) == len(names)


@pytest.mark.parametrize(("module", "name"), _oxpickle._policy_names())
def test_every_name_the_engine_reads_exists(module, name):
    assert hasattr(importlib.import_module(module), name), f"{module}.{name} is gone"
