//! Unpredictable bytes for masking keys and handshake nonces.
//!
//! RFC 6455 §5.3 requires masking keys from "a strong source of entropy"
//! (§10.3 explains the proxy-cache attack that predictable keys enable). A
//! system call per frame would be too slow, so each thread runs a ChaCha12
//! stream cipher seeded once from the operating system (`getrandom`): a
//! cryptographically secure generator that costs nanoseconds per key.

use std::cell::RefCell;

use rand_chacha::ChaCha12Rng;
use rand_chacha::rand_core::{RngCore, SeedableRng};

thread_local! {
    static RNG: RefCell<ChaCha12Rng> = RefCell::new(seeded());
}

fn seeded() -> ChaCha12Rng {
    let mut seed = [0u8; 32];
    // Without OS entropy no secure key can be made; refusing to run is the
    // only safe answer, and every supported platform provides it.
    getrandom::fill(&mut seed).expect("the operating system's random source is unavailable");
    ChaCha12Rng::from_seed(seed)
}

/// Fills `buf` with unpredictable bytes.
pub(crate) fn fill(buf: &mut [u8]) {
    RNG.with(|rng| rng.borrow_mut().fill_bytes(buf));
}

/// A fresh masking key.
pub(crate) fn mask_key() -> [u8; 4] {
    RNG.with(|rng| rng.borrow_mut().next_u32().to_ne_bytes())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_vary() {
        let keys: std::collections::HashSet<[u8; 4]> = (0..1000).map(|_| mask_key()).collect();
        assert!(keys.len() > 990, "{} distinct keys of 1000", keys.len());
        let (mut a, mut b) = ([0u8; 16], [0u8; 16]);
        fill(&mut a);
        fill(&mut b);
        assert_ne!(a, b);
    }
}
