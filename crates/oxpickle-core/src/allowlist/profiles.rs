//! The profiles: every global each one allows, with the rule its calls'
//! arguments are checked under. This table is the one place that says
//! which globals are allowed and how their calls are checked: restricted
//! loading, the scanner, `python -m oxpickle allowlist` and the tests read
//! it. An entry that allocates what its arguments ask for (a size, a shape)
//! or computes in proportion to them must say so with a rule; `any` is
//! for callables whose work is bounded by the input they are handed.

use super::rules::ArgumentRule::{self, ArrayShape, Latin1Only, NoExponent, Reconstructor, Sizes};

/// A named set of globals.
#[derive(Debug)]
pub struct Profile {
    /// What `allow=` and `--allow` call it.
    pub name: &'static str,
    /// One line on what it is for.
    pub summary: &'static str,
    /// The globals, each with its argument rule.
    pub globals: &'static [Entry],
}

/// One allowed global.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Entry {
    pub module: &'static str,
    /// A dotted path from protocol 4 (`ZoneInfo._unpickle`).
    pub qualname: &'static str,
    pub rule: ArgumentRule,
}

/// A global whose calls take any arguments.
const fn any(module: &'static str, qualname: &'static str) -> Entry {
    Entry { module, qualname, rule: ArgumentRule::Any }
}

/// A global whose calls' arguments are checked under `rule`.
const fn checked(module: &'static str, qualname: &'static str, rule: ArgumentRule) -> Entry {
    Entry { module, qualname, rule }
}

/// Builtin scalars and containers, and the standard library's plain value
/// types. Containers and scalars made by opcodes need no global at all;
/// these are the names pickle uses for the rest, at every protocol.
pub const DATA: Profile = Profile {
    name: "data",
    summary: "builtin scalars and containers, datetime, Decimal, Fraction, UUID, collections",
    globals: &[
        any("builtins", "bool"),
        checked("builtins", "bytearray", Sizes),
        checked("builtins", "bytes", Sizes),
        any("builtins", "complex"),
        any("builtins", "dict"),
        any("builtins", "float"),
        any("builtins", "frozenset"),
        // New in 3.15; pickled as frozendict.__new__ on a dict (NEWOBJ).
        any("builtins", "frozendict"),
        any("builtins", "int"),
        any("builtins", "list"),
        any("builtins", "object"),
        checked("builtins", "range", Sizes),
        any("builtins", "set"),
        any("builtins", "slice"),
        any("builtins", "str"),
        any("builtins", "tuple"),
        any("builtins", "Ellipsis"),
        any("builtins", "NotImplemented"),
        // Protocols 0–2 spell bytes as `_codecs.encode(text, "latin1")`;
        // the loader accepts no other encoding (see `ArgumentRule::Latin1Only`).
        checked("_codecs", "encode", Latin1Only),
        // Protocols 0 and 1 rebuild instances of listed classes with it;
        // it only calls `base.__new__(cls, state)` on what it is given.
        checked("copyreg", "_reconstructor", Reconstructor),
        any("collections", "Counter"),
        any("collections", "OrderedDict"),
        any("collections", "defaultdict"),
        any("collections", "deque"),
        any("datetime", "date"),
        any("datetime", "datetime"),
        any("datetime", "time"),
        any("datetime", "timedelta"),
        any("datetime", "timezone"),
        any("decimal", "Decimal"),
        checked("fractions", "Fraction", NoExponent),
        any("uuid", "UUID"),
        any("uuid", "SafeUUID"),
        // Both read only the time-zone database, by a key ZoneInfo
        // validates; pickles spell the second getattr(ZoneInfo, ...).
        any("zoneinfo", "ZoneInfo"),
        any("zoneinfo", "ZoneInfo._unpickle"),
    ],
};

/// NumPy arrays, scalars, dtypes and masked arrays, under the names both
/// NumPy 1 (`numpy.core`) and NumPy 2 (`numpy._core`) write. The items
/// of an object array are ordinary pickled values: their globals must be
/// allowed on their own.
pub const NUMPY: Profile = Profile {
    name: "numpy",
    summary: "NumPy arrays, scalars and dtypes (object arrays only with their items' globals)",
    globals: &[
        any("numpy", "dtype"),
        checked("numpy", "ndarray", ArrayShape { shape: 0 }),
        checked("numpy.core.multiarray", "_reconstruct", ArrayShape { shape: 1 }),
        any("numpy.core.multiarray", "scalar"),
        any("numpy.core.numeric", "_frombuffer"),
        checked("numpy._core.multiarray", "_reconstruct", ArrayShape { shape: 1 }),
        any("numpy._core.multiarray", "scalar"),
        any("numpy._core.numeric", "_frombuffer"),
        any("numpy.ma", "MaskedArray"),
        any("numpy.ma.core", "MaskedArray"),
        checked("numpy.ma.core", "_mareconstruct", ArrayShape { shape: 2 }),
        checked("_codecs", "encode", Latin1Only),
    ],
};

/// The names a PyTorch checkpoint's `data.pkl` uses for tensors, storages
/// and parameters: the rebuild functions only view a storage that the
/// caller's `persistent_load` supplies, with sizes checked by torch. The
/// same reasoning backs `torch.load(weights_only=True)`.
pub const TORCH: Profile = Profile {
    name: "torch",
    summary: "PyTorch tensors, storages and parameters (loading needs torch's persistent_load)",
    globals: &[
        any("collections", "OrderedDict"),
        any("torch._utils", "_rebuild_tensor"),
        any("torch._utils", "_rebuild_tensor_v2"),
        any("torch._utils", "_rebuild_parameter"),
        any("torch._utils", "_rebuild_parameter_with_state"),
        any("torch", "Size"),
        any("torch", "device"),
        any("torch", "BFloat16Storage"),
        any("torch", "BoolStorage"),
        any("torch", "ByteStorage"),
        any("torch", "CharStorage"),
        any("torch", "ComplexDoubleStorage"),
        any("torch", "ComplexFloatStorage"),
        any("torch", "DoubleStorage"),
        any("torch", "FloatStorage"),
        any("torch", "HalfStorage"),
        any("torch", "IntStorage"),
        any("torch", "LongStorage"),
        any("torch", "ShortStorage"),
        any("torch", "bfloat16"),
        any("torch", "bool"),
        any("torch", "complex64"),
        any("torch", "complex128"),
        any("torch", "float16"),
        any("torch", "float32"),
        any("torch", "float64"),
        any("torch", "int8"),
        any("torch", "int16"),
        any("torch", "int32"),
        any("torch", "int64"),
        any("torch", "uint8"),
    ],
};

/// Every profile, by name.
pub const PROFILES: &[&Profile] = &[&DATA, &NUMPY, &TORCH];
