"""Tests of cloudpickle's suite that do not apply to oxpickle, with why.

``NOT_APPLICABLE`` holds the tests that exercise cloudpickle's own private
code (``cloudpickle.cloudpickle._*``) rather than behaviour at the public
API. Where such a test also checks public behaviour, the last column says
which oxpickle test covers that part.

``BYTE_IDENTITY`` holds the tests that compare the bytes of two dumps made
in different processes. That is what ``deterministic=True`` promises; the
default mode skips memo entries for objects referenced once, so equal
values can pickle to different bytes (README, "Deterministic mode"). They
are expected to fail in the default run and must pass in the deterministic
one (``OXPICKLE_CLOUDPICKLE_MODE=deterministic``).

Everything else in the suite must pass in both runs.
"""

_WHICHMODULE = (
    "calls cloudpickle's private _whichmodule; the public half (a function whose "
    "__module__ is None, with a non-module in sys.modules) is "
    "tests/test_byvalue_functions.py::"
    "test_function_with_module_none_and_a_non_module_in_sys_modules"
)
_BACKWARD = (
    "loads pickles written by cloudpickle 1.x/2.x, which name cloudpickle's own "
    "reconstructors (cloudpickle.cloudpickle._make_function, ...): only cloudpickle "
    "itself can load them, and with cloudpickle installed beside oxpickle they load as before"
)

NOT_APPLICABLE: dict[str, str] = {
    "cloudpickle_test::test_extract_class_dict": (
        "tests cloudpickle's private _extract_class_dict; the behaviour (a rebuilt class "
        "holds only its own attributes) is tests/test_byvalue_classes.py::"
        "test_rebuilt_class_dict_holds_only_its_own_attributes"
    ),
    "cloudpickle_test::CloudPickleTest::test_cloudpickle_extract_nested_globals": (
        "calls cloudpickle's private _extract_code_globals; the public half (a nested "
        "function's `global` statement) is tests/test_byvalue_cloudpickle_parity.py::"
        "test_nested_function_reaches_the_global_it_declares"
    ),
    "cloudpickle_test::Protocol2CloudPickleTest::test_cloudpickle_extract_nested_globals": (
        "as CloudPickleTest::test_cloudpickle_extract_nested_globals, at protocol 2"
    ),
    "cloudpickle_test::CloudPickleTest::test_module_importability": (
        "asserts what cloudpickle's private _should_pickle_by_reference returns for each "
        "kind of module; oxpickle's by-reference rules are tested in "
        "tests/test_byvalue_modules.py"
    ),
    "cloudpickle_test::Protocol2CloudPickleTest::test_module_importability": (
        "as CloudPickleTest::test_module_importability, at protocol 2"
    ),
    "cloudpickle_test::CloudPickleTest::test_non_module_object_passing_whichmodule_test": (
        _WHICHMODULE
    ),
    "cloudpickle_test::Protocol2CloudPickleTest::"
    "test_non_module_object_passing_whichmodule_test": _WHICHMODULE,
    "cloudpickle_test::CloudPickleTest::"
    "test_importing_multiprocessing_does_not_impact_whichmodule": (
        "prints what cloudpickle's private _whichmodule returns in a script"
    ),
    "cloudpickle_test::Protocol2CloudPickleTest::"
    "test_importing_multiprocessing_does_not_impact_whichmodule": (
        "prints what cloudpickle's private _whichmodule returns in a script"
    ),
    "cloudpickle_test::test_lookup_module_and_qualname_dynamic_typevar": (
        "tests cloudpickle's private _lookup_module_and_qualname"
    ),
    "cloudpickle_test::test_lookup_module_and_qualname_importable_typevar": (
        "tests cloudpickle's private _lookup_module_and_qualname"
    ),
    "cloudpickle_test::test_lookup_module_and_qualname_stdlib_typevar": (
        "tests cloudpickle's private _lookup_module_and_qualname"
    ),
    "test_backward_compat::test_simple_func": _BACKWARD,
    "test_backward_compat::test_simple_class": _BACKWARD,
    "test_backward_compat::test_dynamic_module": _BACKWARD,
    "test_backward_compat::test_simple_enum": _BACKWARD,
    "test_backward_compat::test_complex_class": _BACKWARD,
    "test_backward_compat::test_complex_function": _BACKWARD,
    "test_backward_compat::test_nested_function": _BACKWARD,
}

BYTE_IDENTITY: frozenset[str] = frozenset(
    {
        "cloudpickle_ipykernel_test::test_deterministic_payload_for_dynamic_func_in_notebook",
        *(
            f"cloudpickle_test::{case}::{name}"
            for case in ("CloudPickleTest", "Protocol2CloudPickleTest")
            for name in (
                "test_deterministic_dynamic_class_attr_ordering_for_chained_pickling",
                "test_deterministic_str_interning_for_chained_dynamic_class_pickling",
                "test_dynamic_class_determinist_subworker_tuple_memoization",
                "test_dynamic_func_deterministic_roundtrip",
            )
        ),
    }
)
