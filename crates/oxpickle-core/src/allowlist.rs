//! Named allowlists of globals: the only names restricted loading
//! resolves and the names the scanner calls safe.
//!
//! Entries are exact `(module, qualname)` pairs. A name is allowed only as
//! listed: allowing `zoneinfo:ZoneInfo._unpickle` does not allow
//! `zoneinfo:ZoneInfo` or anything else reachable from it. No profile
//! holds a callable that runs code it is handed, imports, touches files
//! other than the time-zone database, sockets or processes; what a listed
//! callable could still allocate from a small input is bounded by the
//! loader's argument checks (see `SECURITY.md`).

use std::collections::HashSet;

/// A named set of globals.
#[derive(Debug)]
pub struct Profile {
    /// What `allow=` and `--allow` call it.
    pub name: &'static str,
    /// One line on what it is for.
    pub summary: &'static str,
    /// `(module, qualname)` pairs.
    pub globals: &'static [(&'static str, &'static str)],
}

/// Builtin scalars and containers, and the standard library's plain value
/// types. Containers and scalars made by opcodes need no global at all;
/// these are the names pickle uses for the rest, at every protocol.
pub const DATA: Profile = Profile {
    name: "data",
    summary: "builtin scalars and containers, datetime, Decimal, Fraction, UUID, collections",
    globals: &[
        ("builtins", "bool"),
        ("builtins", "bytearray"),
        ("builtins", "bytes"),
        ("builtins", "complex"),
        ("builtins", "dict"),
        ("builtins", "float"),
        ("builtins", "frozenset"),
        // New in 3.15; pickled as frozendict.__new__ on a dict (NEWOBJ).
        ("builtins", "frozendict"),
        ("builtins", "int"),
        ("builtins", "list"),
        ("builtins", "object"),
        ("builtins", "range"),
        ("builtins", "set"),
        ("builtins", "slice"),
        ("builtins", "str"),
        ("builtins", "tuple"),
        ("builtins", "Ellipsis"),
        ("builtins", "NotImplemented"),
        // Protocols 0–2 spell bytes as `_codecs.encode(text, "latin1")`;
        // the loader accepts no other encoding (see `ArgumentCheck`).
        ("_codecs", "encode"),
        // Protocols 0 and 1 rebuild instances of listed classes with it;
        // it only calls `base.__new__(cls, state)` on what it is given.
        ("copyreg", "_reconstructor"),
        ("collections", "Counter"),
        ("collections", "OrderedDict"),
        ("collections", "defaultdict"),
        ("collections", "deque"),
        ("datetime", "date"),
        ("datetime", "datetime"),
        ("datetime", "time"),
        ("datetime", "timedelta"),
        ("datetime", "timezone"),
        ("decimal", "Decimal"),
        ("fractions", "Fraction"),
        ("uuid", "UUID"),
        ("uuid", "SafeUUID"),
        // Both read only the time-zone database, by a key ZoneInfo
        // validates; pickles spell the second getattr(ZoneInfo, ...).
        ("zoneinfo", "ZoneInfo"),
        ("zoneinfo", "ZoneInfo._unpickle"),
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
        ("numpy", "dtype"),
        ("numpy", "ndarray"),
        ("numpy.core.multiarray", "_reconstruct"),
        ("numpy.core.multiarray", "scalar"),
        ("numpy.core.numeric", "_frombuffer"),
        ("numpy._core.multiarray", "_reconstruct"),
        ("numpy._core.multiarray", "scalar"),
        ("numpy._core.numeric", "_frombuffer"),
        ("numpy.ma", "MaskedArray"),
        ("numpy.ma.core", "MaskedArray"),
        ("numpy.ma.core", "_mareconstruct"),
        ("_codecs", "encode"),
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
        ("collections", "OrderedDict"),
        ("torch._utils", "_rebuild_tensor"),
        ("torch._utils", "_rebuild_tensor_v2"),
        ("torch._utils", "_rebuild_parameter"),
        ("torch._utils", "_rebuild_parameter_with_state"),
        ("torch", "Size"),
        ("torch", "device"),
        ("torch", "BFloat16Storage"),
        ("torch", "BoolStorage"),
        ("torch", "ByteStorage"),
        ("torch", "CharStorage"),
        ("torch", "ComplexDoubleStorage"),
        ("torch", "ComplexFloatStorage"),
        ("torch", "DoubleStorage"),
        ("torch", "FloatStorage"),
        ("torch", "HalfStorage"),
        ("torch", "IntStorage"),
        ("torch", "LongStorage"),
        ("torch", "ShortStorage"),
        ("torch", "bfloat16"),
        ("torch", "bool"),
        ("torch", "complex64"),
        ("torch", "complex128"),
        ("torch", "float16"),
        ("torch", "float32"),
        ("torch", "float64"),
        ("torch", "int8"),
        ("torch", "int16"),
        ("torch", "int32"),
        ("torch", "int64"),
        ("torch", "uint8"),
    ],
};

/// Every profile, by name.
pub const PROFILES: &[&Profile] = &[&DATA, &NUMPY, &TORCH];

/// The profile called `name`.
pub fn profile(name: &str) -> Option<&'static Profile> {
    PROFILES.iter().copied().find(|profile| profile.name == name)
}

/// What an allowlist entry named that is neither a profile nor a global.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BadEntry(pub String);

impl std::fmt::Display for BadEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = PROFILES.iter().map(|profile| profile.name).collect();
        write!(
            f,
            "{:?} is neither a profile ({}) nor a global written \"module.qualname\" \
             or \"module:qualname\"",
            self.0,
            names.join(", ")
        )
    }
}

impl std::error::Error for BadEntry {}

/// A set of allowed globals built from profile names and global names.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Allowlist {
    /// Exact pairs, from profiles and from `module:qualname` entries.
    pairs: HashSet<(String, String)>,
    /// `module.qualname` entries, which say where the module ends only
    /// together with the name: matched against the two joined by a dot.
    joined: HashSet<String>,
}

impl Allowlist {
    /// An allowlist that allows nothing.
    pub fn new() -> Allowlist {
        Allowlist::default()
    }

    /// Adds a profile name, `module:qualname` or `module.qualname`.
    pub fn add(&mut self, entry: &str) -> Result<(), BadEntry> {
        if let Some(profile) = profile(entry) {
            for &(module, name) in profile.globals {
                self.pairs.insert((module.to_owned(), name.to_owned()));
            }
            return Ok(());
        }
        let bad = || BadEntry(entry.to_owned());
        if let Some((module, name)) = entry.split_once(':') {
            if !is_dotted_name(module) || !is_dotted_name(name) {
                return Err(bad());
            }
            self.pairs.insert((module.to_owned(), name.to_owned()));
        } else {
            if !is_dotted_name(entry) || !entry.contains('.') {
                return Err(bad());
            }
            self.joined.insert(entry.to_owned());
        }
        Ok(())
    }

    /// An allowlist of these entries.
    pub fn from_entries<'a>(
        entries: impl IntoIterator<Item = &'a str>,
    ) -> Result<Allowlist, BadEntry> {
        let mut allowlist = Allowlist::new();
        for entry in entries {
            allowlist.add(entry)?;
        }
        Ok(allowlist)
    }

    /// Whether `module` / `name` is allowed, exactly as spelled.
    pub fn allows(&self, module: &str, name: &str) -> bool {
        if self.pairs.contains(&(module.to_owned(), name.to_owned())) {
            return true;
        }
        !self.joined.is_empty() && self.joined.contains(&format!("{module}.{name}"))
    }

    /// Whether nothing is allowed.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty() && self.joined.is_empty()
    }
}

/// `a`, `a.b`, …: identifiers joined by dots.
fn is_dotted_name(text: &str) -> bool {
    text.split('.').all(|part| {
        let mut chars = part.chars();
        chars.next().is_some_and(|first| first == '_' || first.is_alphabetic())
            && chars.all(|c| c == '_' || c.is_alphanumeric())
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn profiles_allow_exact_names_only() {
        let allow = Allowlist::from_entries(["data"]).unwrap();
        assert!(allow.allows("collections", "OrderedDict"));
        assert!(allow.allows("zoneinfo", "ZoneInfo._unpickle"));
        assert!(!allow.allows("zoneinfo", "ZoneInfo.from_file"));
        assert!(!allow.allows("collections.OrderedDict", "__init__"));
        assert!(!allow.allows("os", "system"));
        assert!(!allow.allows("builtins", "getattr"));
    }

    #[test]
    fn entries_mix_profiles_and_names() {
        let allow = Allowlist::from_entries(["numpy", "mypkg.models:Point", "a.b.C"]).unwrap();
        assert!(allow.allows("numpy", "ndarray"));
        assert!(allow.allows("mypkg.models", "Point"));
        assert!(!allow.allows("mypkg", "models.Point"));
        assert!(allow.allows("a.b", "C"));
        assert!(allow.allows("a", "b.C"));
        assert!(!allow.allows("builtins", "list"));
    }

    #[test]
    fn bad_entries_say_what_is_accepted() {
        for entry in ["nosuchprofile", "", "a..b", "a:b:c", "os.system()", "1a.b"] {
            let error = Allowlist::from_entries([entry]).unwrap_err();
            assert!(
                error.to_string().contains("neither a profile (data, numpy, torch)"),
                "{error}"
            );
        }
    }

    #[test]
    fn no_profile_lists_a_known_code_path() {
        for profile in PROFILES {
            for &(module, name) in profile.globals {
                assert!(
                    !matches!(
                        (module, name),
                        ("builtins", "eval" | "exec" | "getattr" | "__import__" | "open")
                            | ("os" | "posix" | "subprocess" | "socket" | "pickle", _)
                    ),
                    "{module}.{name} in {}",
                    profile.name
                );
            }
        }
    }
}
