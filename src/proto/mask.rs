//! The XOR masking kernel (RFC 6455 §5.3).
//!
//! Every byte a client sends and every byte a server receives passes through
//! [`apply_mask`], so it is the one loop on the data path that must run at
//! memory speed. It works on 32-byte blocks of four `u64` words, a shape the
//! compiler turns into vector instructions on every tier-1 target, and falls
//! back to single bytes only for the unaligned head and the short tail. No
//! `unsafe` is needed: `chunks_exact_mut` plus `u64::from_ne_bytes` compile to
//! plain wide loads and stores.

/// XORs `buf` in place with the 4-byte `key`, as if masking started `offset`
/// bytes into the frame payload.
///
/// Masking is its own inverse, so the same call masks and unmasks. `offset`
/// lets a payload that arrives in several pieces be unmasked piece by piece:
/// pass the number of payload bytes already processed.
#[inline]
pub fn apply_mask(buf: &mut [u8], key: [u8; 4], offset: usize) {
    let key = rotate_key(key, offset);
    apply_mask_aligned(buf, key);
}

/// The key as it applies to a buffer starting `offset` bytes into the payload.
#[inline]
fn rotate_key(key: [u8; 4], offset: usize) -> [u8; 4] {
    let mut k = key;
    k.rotate_left(offset % 4);
    k
}

fn apply_mask_aligned(buf: &mut [u8], key: [u8; 4]) {
    if buf.len() < 32 {
        return apply_mask_bytewise(buf, key, 0);
    }
    // Handle the bytes before the first 8-byte aligned address one at a time,
    // so the block loop below touches whole, aligned words.
    let head = buf.as_ptr().align_offset(8).min(buf.len());
    let (head_bytes, rest) = buf.split_at_mut(head);
    apply_mask_bytewise(head_bytes, key, 0);
    let key = rotate_key(key, head);

    let word_key = u32::from_ne_bytes(key) as u64;
    let word = word_key | (word_key << 32);
    let mut blocks = rest.chunks_exact_mut(32);
    for block in &mut blocks {
        for lane in block.chunks_exact_mut(8) {
            let v = u64::from_ne_bytes(lane.try_into().expect("8-byte lane")) ^ word;
            lane.copy_from_slice(&v.to_ne_bytes());
        }
    }
    let tail = blocks.into_remainder();
    let mut words = tail.chunks_exact_mut(8);
    for lane in &mut words {
        let v = u64::from_ne_bytes(lane.try_into().expect("8-byte lane")) ^ word;
        lane.copy_from_slice(&v.to_ne_bytes());
    }
    apply_mask_bytewise(words.into_remainder(), key, 0);
}

/// The reference implementation, straight from RFC 6455 §5.3:
/// `transformed[i] = original[i] ^ key[i % 4]`.
#[inline]
pub(crate) fn apply_mask_bytewise(buf: &mut [u8], key: [u8; 4], offset: usize) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b ^= key[(i + offset) & 3];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn reference(data: &[u8], key: [u8; 4], offset: usize) -> Vec<u8> {
        let mut v = data.to_vec();
        apply_mask_bytewise(&mut v, key, offset);
        v
    }

    #[test]
    fn rfc_example_hello() {
        // RFC 6455 §5.7: "Hello" masked with 37 fa 21 3d.
        let mut data = *b"Hello";
        apply_mask(&mut data, [0x37, 0xfa, 0x21, 0x3d], 0);
        assert_eq!(data, [0x7f, 0x9f, 0x4d, 0x51, 0x58]);
    }

    #[test]
    fn matches_reference_for_every_length_offset_and_alignment() {
        let key = [0x12, 0x34, 0x56, 0x78];
        let source: Vec<u8> = (0..300u32).map(|i| (i * 7 + 3) as u8).collect();
        for start in 0..8 {
            for len in 0..(source.len() - start) {
                for offset in 0..4 {
                    let mut buf = source[start..start + len].to_vec();
                    // Shift the data inside a larger buffer to vary alignment.
                    let mut padded = vec![0u8; start];
                    padded.extend_from_slice(&buf);
                    apply_mask(&mut padded[start..], key, offset);
                    apply_mask(&mut buf, key, offset);
                    let want = reference(&source[start..start + len], key, offset);
                    assert_eq!(buf, want, "len {len} offset {offset}");
                    assert_eq!(&padded[start..], &want[..], "start {start} len {len}");
                }
            }
        }
    }

    #[test]
    fn masking_twice_restores_the_input() {
        let original: Vec<u8> = (0..10_000u32).map(|i| (i % 251) as u8).collect();
        let mut buf = original.clone();
        apply_mask(&mut buf, [1, 2, 3, 4], 3);
        assert_ne!(buf, original);
        apply_mask(&mut buf, [1, 2, 3, 4], 3);
        assert_eq!(buf, original);
    }

    #[test]
    fn piecewise_equals_whole() {
        let original: Vec<u8> = (0..1000u32).map(|i| (i * 13) as u8).collect();
        let key = [0xde, 0xad, 0xbe, 0xef];
        let whole = reference(&original, key, 0);
        for split in [1usize, 3, 5, 33, 64, 999] {
            let mut buf = original.clone();
            let (a, b) = buf.split_at_mut(split);
            apply_mask(a, key, 0);
            apply_mask(b, key, split);
            assert_eq!(buf, whole, "split at {split}");
        }
    }
}
