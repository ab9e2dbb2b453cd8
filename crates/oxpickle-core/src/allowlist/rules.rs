//! The rules a call on an allowed global is checked under before it runs,
//! and the decisions they share between restricted loading (on real
//! objects) and the scanner (on the values a stream spells out).

/// How the arguments of a call on an allowed global are checked.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ArgumentRule {
    /// Any arguments: the callable's work is bounded by what it is handed.
    Any,
    /// Ints and int tuples among the arguments are sizes it allocates
    /// (`bytearray(n)`, `range(n)`).
    Sizes,
    /// Allocates an array: the shape at argument `shape`, times the item
    /// size of the dtype right after it.
    ArrayShape { shape: usize },
    /// `_codecs.encode(text, "latin1")`, as pickle spells bytes below
    /// protocol 3; other codecs are refused.
    Latin1Only,
    /// A number written as text: an exponent would make it compute
    /// 10**exponent, so none is accepted (`Fraction("1e999999999")`).
    NoExponent,
    /// `copyreg._reconstructor(cls, base, state)`: `base`'s rule, on `state`.
    Reconstructor,
    /// `getattr(global, "name")`, as pickle spells bound class methods
    /// below protocol 4 (`ZoneInfo._unpickle`): allowed only when
    /// `global.name` is itself listed, and its result counts as that global.
    ListedAttribute,
}

impl ArgumentRule {
    /// What the rule checks, for a person reading a profile.
    pub fn describe(self) -> &'static str {
        match self {
            ArgumentRule::Any => "any arguments",
            ArgumentRule::Sizes => "int arguments are sizes, counted against the limits",
            ArgumentRule::ArrayShape { .. } => {
                "the shape times the item size, counted against the limits"
            }
            ArgumentRule::Latin1Only => "only the codec 'latin1'",
            ArgumentRule::NoExponent => "numbers written as text without an exponent",
            ArgumentRule::Reconstructor => "the base class's rule, on the state",
            ArgumentRule::ListedAttribute => "only names the allowlist lists",
        }
    }
}

/// The global that resolves in every restricted load, under
/// [`ArgumentRule::ListedAttribute`]: pickle spells class methods with it.
pub const ATTRIBUTE_LOOKUP: (&str, &str) = ("builtins", "getattr");

/// Whether `_codecs.encode` may use `codec` ([`ArgumentRule::Latin1Only`]).
pub fn is_latin1(codec: &str) -> bool {
    matches!(codec, "latin1" | "latin-1")
}

/// Whether a number written as `text` has an exponent
/// ([`ArgumentRule::NoExponent`]).
pub fn has_exponent(text: &str) -> bool {
    text.contains(['e', 'E'])
}

/// The largest size one call may ask for under a rule, by default: the
/// default of the loader's `Limits(max_allocation=...)`, and the size over
/// which the scanner reports a literal argument.
pub const DEFAULT_MAX_ALLOCATION: u64 = 1 << 30;

/// The item size assumed for a dtype given as a one-character typecode
/// (NumPy's own pickles pass `b'b'` or `'b'`): no such code names an item
/// over 32 bytes ([`ArgumentRule::ArrayShape`]).
pub const LARGEST_TYPECODE_ITEM: u64 = 32;
