"""Behaviours that cloudpickle's users rely on, each found by running
cloudpickle's own suite against oxpickle (``make test-cloudpickle``): class
attribute order through a chain of processes, file names in deterministic
payloads, endless recursion, and the public halves of the suite's tests of
cloudpickle's private helpers."""

import gc
import pickle
import sys
import textwrap
import weakref

import oxpickle
import pytest
from child import run_child

_MODULE_GLOBAL = "module-level value"

# ----- a class rebuilt elsewhere and pickled again ----------------------------

CLASS_SOURCE = '''
class A:
    name = "A"
    __doc__ = "set after another attribute"

    def method(self):
        """A method's own docstring."""
        return self.name
'''


def test_rebuilt_class_pickles_to_the_bytes_of_its_original():
    """The docstring is set after another attribute, so a class whose
    docstring came after its skeleton would list its attributes in another
    order than the original."""
    namespace = {"__name__": "__main__"}
    exec(CLASS_SOURCE, namespace)
    original = namespace["A"]
    stream = oxpickle.dumps(original, deterministic=True)
    alive = weakref.ref(original)
    del namespace, original
    gc.collect()
    assert alive() is None, "nothing holds the class, so the load rebuilds it"
    rebuilt = pickle.loads(stream)
    assert rebuilt.__doc__ == "set after another attribute"
    assert oxpickle.dumps(rebuilt, deterministic=True) == stream


def test_deterministic_bytes_survive_a_chain_of_processes(tmp_path):
    """Defined in one process, loaded and pickled again in a second, with
    deterministic mode: the second process writes the first one's bytes."""
    first, second = tmp_path / "first.pickle", tmp_path / "second.pickle"
    source = textwrap.indent(CLASS_SOURCE, "        ")
    run_child(
        f"""
        import json, oxpickle
{source}
        with open({str(first)!r}, "wb") as f:
            f.write(oxpickle.dumps(A, deterministic=True))
        print(json.dumps("written"))
        """
    )
    run_child(
        f"""
        import json, pickle, oxpickle
        with open({str(first)!r}, "rb") as f:
            A = pickle.loads(f.read())
        with open({str(second)!r}, "wb") as f:
            f.write(oxpickle.dumps(A, deterministic=True))
        print(json.dumps("written"))
        """
    )
    assert first.read_bytes() == second.read_bytes()


# ----- where code was compiled ------------------------------------------------


def _compiled_in(filename: str):
    namespace: dict = {"__name__": "__main__"}
    exec(compile("def get_pi():\n    return 3.1415\n", filename, "exec"), namespace)
    return namespace["get_pi"]


def test_deterministic_payload_does_not_depend_on_the_file_name():
    """The same cell in two notebook kernels is compiled under two file names."""
    one = _compiled_in("/tmp/ipykernel_1111/2222.py")
    other = _compiled_in("/tmp/ipykernel_3333/4444.py")
    assert oxpickle.dumps(one, deterministic=True) == oxpickle.dumps(other, deterministic=True)
    assert pickle.loads(oxpickle.dumps(one, deterministic=True))() == 3.1415


def test_default_payload_keeps_the_file_name_for_tracebacks():
    func = _compiled_in("/srv/jobs/pipeline.py")
    assert pickle.loads(oxpickle.dumps(func)).__code__.co_filename == "/srv/jobs/pipeline.py"


# ----- endless recursion -------------------------------------------------------


def test_endless_recursion_is_a_pickling_error_and_a_recursion_error():
    class SelfReferring:
        def __getattribute__(self, name):
            return getattr(self, name)

    with pytest.raises(oxpickle.DeepRecursionError, match="deep recursion") as raised:
        oxpickle.dumps({"jobs": [SelfReferring()]})
    assert isinstance(raised.value, pickle.PicklingError)
    assert isinstance(raised.value, RecursionError)
    assert "root['jobs'][0]" in str(raised.value)
    assert "sys.setrecursionlimit" in str(raised.value)
    assert isinstance(raised.value.__cause__, RecursionError)


def test_a_path_too_long_to_read_is_shortened():
    limit = sys.getrecursionlimit()
    deep: list = []
    for _ in range(limit * 2):
        deep = [deep]
    with pytest.raises(oxpickle.DeepRecursionError) as raised:
        oxpickle.dumps(deep)
    assert len(str(raised.value)) < 2000
    assert "characters)" in str(raised.value)


# ----- register_pickle_by_value with something else than a module ------------


@pytest.mark.parametrize(
    "call", [oxpickle.register_pickle_by_value, oxpickle.unregister_pickle_by_value]
)
def test_registering_a_name_instead_of_a_module_says_so(call):
    with pytest.raises(ValueError) as raised:
        call("json")
    message = str(raised.value)
    assert message.startswith("Input should be a module object, got json instead")
    assert "pass the imported module itself" in message


# ----- the public halves of tests of cloudpickle's private helpers ------------


def test_nested_function_reaches_the_global_it_declares():
    def factory():
        def inner():
            global _MODULE_GLOBAL
            return _MODULE_GLOBAL

        return inner

    loaded = pickle.loads(oxpickle.dumps(factory))
    assert loaded()() == _MODULE_GLOBAL
