//! Named allowlists of globals: the only names restricted loading
//! resolves and the names the scanner calls safe.
//!
//! Entries are exact `(module, qualname)` pairs. A name is allowed only as
//! listed: allowing `zoneinfo:ZoneInfo._unpickle` does not allow
//! `zoneinfo:ZoneInfo` or anything else reachable from it. No profile
//! holds a callable that runs code it is handed, imports, touches files
//! other than the time-zone database, sockets or processes; what a listed
//! callable could still allocate from a small input is bounded by the
//! loader's argument checks (see `SECURITY.md`): each entry of the
//! profile table names the [`ArgumentRule`] its calls are checked under.

mod profiles;
mod rules;

use std::collections::{HashMap, HashSet};

pub use profiles::{Entry, Profile, DATA, NUMPY, PROFILES, TORCH};
pub use rules::{
    has_exponent, is_latin1, ArgumentRule, ATTRIBUTE_LOOKUP, DEFAULT_MAX_ALLOCATION,
    LARGEST_TYPECODE_ITEM,
};

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
    /// Exact pairs, from profiles and from `module:qualname` entries, with
    /// the rule their calls are checked under.
    pairs: HashMap<(String, String), ArgumentRule>,
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
            for entry in profile.globals {
                let key = (entry.module.to_owned(), entry.qualname.to_owned());
                self.pairs.insert(key, entry.rule);
            }
            return Ok(());
        }
        let bad = || BadEntry(entry.to_owned());
        if let Some((module, name)) = entry.split_once(':') {
            if !is_dotted_name(module) || !is_dotted_name(name) {
                return Err(bad());
            }
            self.pairs.insert((module.to_owned(), name.to_owned()), table_rule(module, name));
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
        self.listed_rule(module, name).is_some()
    }

    /// What a restricted load may resolve `module` / `name` as: None when
    /// it is not allowed, else the rule its calls are checked under.
    /// [`ATTRIBUTE_LOOKUP`] always resolves, under a rule that lets it
    /// look up only listed names.
    pub fn rule(&self, module: &str, name: &str) -> Option<ArgumentRule> {
        if (module, name) == ATTRIBUTE_LOOKUP {
            return Some(ArgumentRule::ListedAttribute);
        }
        self.listed_rule(module, name)
    }

    fn listed_rule(&self, module: &str, name: &str) -> Option<ArgumentRule> {
        if let Some(&rule) = self.pairs.get(&(module.to_owned(), name.to_owned())) {
            return Some(rule);
        }
        let joined = !self.joined.is_empty() && self.joined.contains(&format!("{module}.{name}"));
        joined.then(|| table_rule(module, name))
    }

    /// Whether nothing is allowed.
    pub fn is_empty(&self) -> bool {
        self.pairs.is_empty() && self.joined.is_empty()
    }
}

/// The rule the profile table gives `module` / `name`, for a global listed
/// by name: listing `builtins:bytearray` on its own checks its sizes just as
/// the `data` profile does. Names no profile holds take any arguments: the
/// caller vouched for them.
fn table_rule(module: &str, name: &str) -> ArgumentRule {
    PROFILES
        .iter()
        .flat_map(|profile| profile.globals)
        .find(|entry| (entry.module, entry.qualname) == (module, name))
        .map_or(ArgumentRule::Any, |entry| entry.rule)
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
    fn listed_names_keep_the_table_rule() {
        let allow =
            Allowlist::from_entries(["builtins:bytearray", "builtins.range", "a:b"]).unwrap();
        assert_eq!(allow.rule("builtins", "bytearray"), Some(ArgumentRule::Sizes));
        assert_eq!(allow.rule("builtins", "range"), Some(ArgumentRule::Sizes));
        assert_eq!(allow.rule("a", "b"), Some(ArgumentRule::Any));
        assert_eq!(allow.rule("builtins", "getattr"), Some(ArgumentRule::ListedAttribute));
        assert!(!allow.allows("builtins", "getattr"));
        assert_eq!(allow.rule("builtins", "bytes"), None);
    }

    #[test]
    fn every_allocating_builtin_has_a_rule() {
        // What a new profile must not list under `any`.
        let allocating = [("builtins", "bytes"), ("builtins", "bytearray"), ("builtins", "range")];
        for profile in PROFILES {
            for entry in profile.globals {
                if allocating.contains(&(entry.module, entry.qualname)) {
                    assert_eq!(entry.rule, ArgumentRule::Sizes, "{entry:?}");
                }
                if entry.module.starts_with("numpy") && entry.qualname.contains("reconstruct") {
                    assert!(matches!(entry.rule, ArgumentRule::ArrayShape { .. }), "{entry:?}");
                }
            }
        }
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
            for &Entry { module, qualname: name, .. } in profile.globals {
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
