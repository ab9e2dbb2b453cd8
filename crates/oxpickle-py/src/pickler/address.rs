//! Tables keyed by object address: the memo, the classes seen in a dump,
//! the reducers by type. An address is unique while its object is held, so
//! it needs no cryptographic hash; one multiply spreads it.

use std::collections::{HashMap, HashSet};
use std::hash::{BuildHasherDefault, Hasher};

pub type AddressMap<V> = HashMap<usize, V, BuildHasherDefault<AddressHasher>>;
pub type AddressSet = HashSet<usize, BuildHasherDefault<AddressHasher>>;

/// The fold brings high bits down because the table indexes by the low
/// bits and addresses are 16-byte aligned.
#[derive(Default)]
pub struct AddressHasher(u64);

impl Hasher for AddressHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &byte in bytes {
            self.write_u64(u64::from(byte) ^ self.0.rotate_left(8));
        }
    }

    #[inline]
    fn write_usize(&mut self, address: usize) {
        self.write_u64(address as u64);
    }

    #[inline]
    fn write_u64(&mut self, value: u64) {
        let mixed = value.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        self.0 = mixed ^ (mixed >> 29);
    }

    #[inline]
    fn finish(&self) -> u64 {
        self.0
    }
}
