"""CPython's own pickle conformance suite, run against oxpickle.

The abstract test classes of ``test.pickletester`` are wired to oxpickle the
way ``Lib/test/test_pickle.py`` wires them to the C accelerator ``_pickle``:
same mixins, same ``bad_stack_errors`` / ``truncated_errors`` as the C
classes, plus the mixed pairs where one side is oxpickle and the other side
is the standard library (both its C and its pure-Python implementation).

Deliberately not ported from test_pickle.py:

* ``SizeofTests``: checks ``__sizeof__`` of the C structs, an implementation
  detail of ``_pickle.c``.
* ``CompatPickleTests``: checks the ``_compat_pickle`` mapping tables only;
  no pickler is involved.
* ``PyPickleTests`` & co.: they test the pure-Python ``pickle._Pickler``
  against itself; only the mixed pairs with oxpickle are kept.

``BigmemPickleTests`` is wired in, but its tests need several GiB of memory and
are skipped by CPython's own ``bigmemtest`` decorator unless a memory limit is
given, as with ``python -m test -M``: set ``OXPICKLE_BIGMEM=20G`` (for instance)
to run them.
"""

import _pickle
import collections
import io
import os
import pickle
import unittest
import weakref

import oxpickle
import pytest
from test import support
from test.pickletester import (
    AbstractCustomPicklerClass,
    AbstractDispatchTableTests,
    AbstractHookTests,
    AbstractIdentityPersistentPicklerTests,
    AbstractPersistentPicklerTests,
    AbstractPickleModuleTests,
    AbstractPicklerUnpicklerObjectTests,
    AbstractPickleTests,
    AbstractUnpickleTests,
    BigmemPickleTests,
)

if os.environ.get("OXPICKLE_BIGMEM"):
    support.set_memlimit(os.environ["OXPICKLE_BIGMEM"])


@pytest.fixture(autouse=True, scope="module")
def _run_in_tmp_dir(tmp_path_factory):
    # pickletester writes scratch files and modules under the relative name
    # support.os_helper.TESTFN; keep them out of the checkout. One directory
    # for the whole module, as the import system caches finders per sys.path
    # entry and TESTFN is put on sys.path as a relative path.
    with pytest.MonkeyPatch.context() as mp:
        mp.chdir(tmp_path_factory.mktemp("cpython_suite"))
        yield


# What the C unpickler raises; oxpickle is held to the C accelerator, not to
# the looser tuple that CPython keeps for its pure-Python fallback.
C_BAD_STACK_ERRORS = (pickle.UnpicklingError,)
C_TRUNCATED_ERRORS = (pickle.UnpicklingError,)
# From 3.15's suite: the error (and text) for a length running past the end,
# and for a length no object can have.
C_TRUNCATED_DATA_ERROR = (pickle.UnpicklingError, "truncated")
C_SIZE_OVERFLOW_ERROR = (OverflowError, "exceeds")


class Cellar:
    """Methods of every kind, importable by reference from this module."""

    @staticmethod
    def cheese():
        return "cheese"

    @classmethod
    def wine(cls):
        return cls.__name__

    def biscuits(self):
        return type(self).__name__


class ShipsCodeByValue:
    """Where oxpickle deliberately goes beyond CPython (issue 3).

    Three tests of the suite assert that something *cannot* be pickled: a
    local function (test_local_lookup_error) and the staticmethod and
    classmethod objects found in a class's ``__dict__`` (the descriptor part
    of test_py_methods and test_c_methods). oxpickle pickles these by value
    by design, so where oxpickle is the pickler these three are replaced by
    checks that the same objects round-trip. The method round-trips those
    tests also make are kept here, and the stdlib-pickler classes below run
    CPython's originals unchanged.
    """

    def test_local_lookup_error(self):
        def local(x):
            return x + 1

        for proto in range(pickle.HIGHEST_PROTOCOL + 1):
            self.assertEqual(self.loads(self.dumps(local, proto))(41), 42)

    def test_py_methods(self):
        bound = (Cellar.cheese, Cellar.wine, Cellar().biscuits)
        descriptors = (Cellar.__dict__["cheese"], Cellar.__dict__["wine"])
        for proto in range(pickle.HIGHEST_PROTOCOL + 1):
            for method in bound:
                self.assertEqual(self.loads(self.dumps(method, proto))(), method())
            unbound = self.loads(self.dumps(Cellar.biscuits, proto))
            self.assertEqual(unbound(Cellar()), "Cellar")
            for descriptor in descriptors:
                copy = self.loads(self.dumps(descriptor, proto))
                self.assertIs(type(copy), type(descriptor))
                self.assertEqual(copy.__func__.__qualname__, descriptor.__func__.__qualname__)

    def test_c_methods(self):
        calls = (("abcd".index, ("c",)), (dict.fromkeys, ("ab",)), ([1, 2].__len__, ()))
        for proto in range(pickle.HIGHEST_PROTOCOL + 1):
            for method, args in calls:
                self.assertEqual(self.loads(self.dumps(method, proto))(*args), method(*args))
            # A staticmethod wrapping a builtin travels by value...
            maketrans = self.loads(self.dumps(bytearray.__dict__["maketrans"], proto))
            self.assertEqual(maketrans.__func__(b"ab", b"xy"), bytearray.maketrans(b"ab", b"xy"))
            # ...but a C classmethod descriptor still cannot be pickled.
            with self.assertRaises((TypeError, pickle.PicklingError)):
                self.dumps(dict.__dict__["fromkeys"], proto)


class OxModuleFunctionsTests(AbstractPickleModuleTests, unittest.TestCase):
    """Module-level API (like CPickleTests)."""

    dump = staticmethod(oxpickle.dump)
    dumps = staticmethod(oxpickle.dumps)
    load = staticmethod(oxpickle.load)
    loads = staticmethod(oxpickle.loads)
    Pickler = oxpickle.Pickler
    Unpickler = oxpickle.Unpickler


class OxInMemoryPickleTests(
    ShipsCodeByValue,
    AbstractPickleTests,
    AbstractUnpickleTests,
    BigmemPickleTests,
    unittest.TestCase,
):
    """oxpickle.dumps / oxpickle.loads (like InMemoryPickleTests)."""

    bad_stack_errors = C_BAD_STACK_ERRORS
    truncated_errors = C_TRUNCATED_ERRORS
    truncated_data_error = C_TRUNCATED_DATA_ERROR
    size_overflow_error = C_SIZE_OVERFLOW_ERROR

    def dumps(self, arg, protocol=None, **kwargs):
        return oxpickle.dumps(arg, protocol, **kwargs)

    def loads(self, buf, **kwds):
        return oxpickle.loads(buf, **kwds)

    # Need a Pickler or Unpickler class; covered by OxPicklerTests and
    # OxUnpicklerTests (as in test_pickle.py).
    test_framed_write_sizes_with_delayed_writer = None
    test_find_class = None
    test_custom_find_class = None


class FilePicklerMixin:
    """dumps/loads through Pickler/Unpickler objects on a BytesIO."""

    def dumps(self, arg, proto=None, **kwargs):
        f = io.BytesIO()
        self.pickler(f, proto, **kwargs).dump(arg)
        return f.getvalue()

    def loads(self, buf, **kwds):
        return self.unpickler(io.BytesIO(buf), **kwds).load()


class OxUnpicklerTests(FilePicklerMixin, AbstractUnpickleTests, unittest.TestCase):
    """oxpickle.Unpickler on a file (like CUnpicklerTests)."""

    unpickler = oxpickle.Unpickler
    bad_stack_errors = C_BAD_STACK_ERRORS
    truncated_errors = C_TRUNCATED_ERRORS
    truncated_data_error = C_TRUNCATED_DATA_ERROR
    size_overflow_error = C_SIZE_OVERFLOW_ERROR


class OxPicklerTests(ShipsCodeByValue, FilePicklerMixin, AbstractPickleTests, unittest.TestCase):
    """oxpickle.Pickler + oxpickle.Unpickler on files (like CPicklerTests)."""

    pickler = oxpickle.Pickler
    unpickler = oxpickle.Unpickler


# Mixed pairs: oxpickle writes and the standard library reads, and the reverse.


class OxDumpPyLoadTests(ShipsCodeByValue, FilePicklerMixin, AbstractPickleTests, unittest.TestCase):
    pickler = oxpickle.Pickler
    unpickler = pickle._Unpickler


class OxDumpCLoadTests(ShipsCodeByValue, FilePicklerMixin, AbstractPickleTests, unittest.TestCase):
    pickler = oxpickle.Pickler
    unpickler = _pickle.Unpickler


class PyDumpOxLoadTests(FilePicklerMixin, AbstractPickleTests, unittest.TestCase):
    pickler = pickle._Pickler
    unpickler = oxpickle.Unpickler


class CDumpOxLoadTests(FilePicklerMixin, AbstractPickleTests, unittest.TestCase):
    pickler = _pickle.Pickler
    unpickler = oxpickle.Unpickler


class PersistentPicklerUnpicklerMixin:
    """Route persistent_id/persistent_load of Pickler subclasses to the test."""

    def dumps(self, arg, proto=None):
        test = self

        class PersPickler(self.pickler):
            def persistent_id(self, obj):
                return test.persistent_id(obj)

        f = io.BytesIO()
        PersPickler(f, proto).dump(arg)
        return f.getvalue()

    def loads(self, buf, **kwds):
        test = self

        class PersUnpickler(self.unpickler):
            def persistent_load(self, pid):
                return test.persistent_load(pid)

        return PersUnpickler(io.BytesIO(buf), **kwds).load()


class OxPersPicklerTests(
    AbstractPersistentPicklerTests, PersistentPicklerUnpicklerMixin, unittest.TestCase
):
    pickler = oxpickle.Pickler
    unpickler = oxpickle.Unpickler


class OxIdPersPicklerTests(
    AbstractIdentityPersistentPicklerTests, PersistentPicklerUnpicklerMixin, unittest.TestCase
):
    pickler = oxpickle.Pickler
    unpickler = oxpickle.Unpickler

    # test_pickle.py runs the next three on the C classes only (cpython_only):
    # they check that the C types hold no reference cycle through a bound
    # persistent_id / persistent_load or through dispatch_table. oxpickle is a
    # C-API extension type too, so the same holds for it.

    def _persistent_picklers(self):
        class MethodPickler(self.pickler):
            def persistent_id(self, obj):
                return obj

        class ClassMethodPickler(self.pickler):
            @classmethod
            def persistent_id(cls, obj):
                return obj

        class StaticMethodPickler(self.pickler):
            @staticmethod
            def persistent_id(obj):
                return obj

        return [MethodPickler, ClassMethodPickler, StaticMethodPickler]

    def _persistent_unpicklers(self):
        class MethodUnpickler(self.unpickler):
            def persistent_load(self, pid):
                return pid

        class ClassMethodUnpickler(self.unpickler):
            @classmethod
            def persistent_load(cls, pid):
                return pid

        class StaticMethodUnpickler(self.unpickler):
            @staticmethod
            def persistent_load(pid):
                return pid

        return [MethodUnpickler, ClassMethodUnpickler, StaticMethodUnpickler]

    def test_pickler_reference_cycle(self):
        for pickler_class in self._persistent_picklers():
            with self.subTest(pickler=pickler_class.__name__):
                for proto in range(pickle.HIGHEST_PROTOCOL + 1):
                    buf = io.BytesIO()
                    pickler_class(buf, proto).dump("abc")
                    self.assertEqual(self.loads(buf.getvalue()), "abc")
                pickler = pickler_class(io.BytesIO())
                self.assertEqual(pickler.persistent_id("def"), "def")
                ref = weakref.ref(pickler)
                del pickler
                # Freed by reference counting alone, without the cycle collector.
                self.assertIsNone(ref())

    def test_unpickler_reference_cycle(self):
        for unpickler_class in self._persistent_unpicklers():
            with self.subTest(unpickler=unpickler_class.__name__):
                for proto in range(pickle.HIGHEST_PROTOCOL + 1):
                    unpickler = unpickler_class(io.BytesIO(self.dumps("abc", proto)))
                    self.assertEqual(unpickler.load(), "abc")
                unpickler = unpickler_class(io.BytesIO())
                self.assertEqual(unpickler.persistent_load("def"), "def")
                ref = weakref.ref(unpickler)
                del unpickler
                self.assertIsNone(ref())

    def test_custom_pickler_dispatch_table_memleak(self):
        # https://github.com/python/cpython/issues/89988
        class Table:
            pass

        tables = [Table()]

        class TablePickler(self.pickler):
            def __init__(self, *args, **kwargs):
                self.dispatch_table = tables[0]
                super().__init__(*args, **kwargs)

        pickler = TablePickler(io.BytesIO())
        self.assertIs(pickler.dispatch_table, tables[0])
        table_ref = weakref.ref(tables[0])
        del pickler
        tables.clear()
        support.gc_collect()
        self.assertIsNone(table_ref())


class OxPicklerUnpicklerObjectTests(AbstractPicklerUnpicklerObjectTests, unittest.TestCase):
    pickler_class = oxpickle.Pickler
    unpickler_class = oxpickle.Unpickler

    def test_issue18339(self):
        # The C class (and so oxpickle) validates what is assigned to memo.
        unpickler = self.unpickler_class(io.BytesIO())
        with self.assertRaises(TypeError):
            unpickler.memo = object
        with self.assertRaises(ValueError):
            unpickler.memo = {-1: None}
        unpickler.memo = {1: None}


class OxDispatchTableTests(AbstractDispatchTableTests, unittest.TestCase):
    pickler_class = oxpickle.Pickler

    def get_dispatch_table(self):
        return pickle.dispatch_table.copy()


class OxChainDispatchTableTests(AbstractDispatchTableTests, unittest.TestCase):
    pickler_class = oxpickle.Pickler

    def get_dispatch_table(self):
        return collections.ChainMap({}, pickle.dispatch_table)


class OxPicklerHookTests(AbstractHookTests, unittest.TestCase):
    class CustomOxPicklerClass(oxpickle.Pickler, AbstractCustomPicklerClass):
        pass

    pickler_class = CustomOxPicklerClass
