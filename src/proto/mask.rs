//! The XOR masking kernel (RFC 6455 §5.3).
//!
//! Every byte a client sends and every byte a server receives passes through
//! [`apply_mask`], so it is the one loop on the data path that must run at
//! memory speed. It works on 64-byte blocks of eight `u64` words, a shape the
//! compiler turns into vector instructions on every tier-1 target, and falls
//! back to single bytes only for the unaligned head and the short tail;
//! `chunks_exact_mut` plus `u64::from_ne_bytes` compile to plain wide loads
//! and stores. On x86-64 CPUs with AVX2 the same loop runs compiled for
//! AVX2 (detected at run time), the one `unsafe` call here.

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
    // Byte `i` of the result is byte `i + offset` (mod 4) of the key: in
    // a little-endian word, a right rotation by that many bytes (a single
    // instruction, where the slice rotation was a call).
    let shift = 8 * (offset % 4) as u32;
    u32::from_le_bytes(key).rotate_right(shift).to_le_bytes()
}

fn apply_mask_aligned(buf: &mut [u8], key: [u8; 4]) {
    if buf.len() < 64 {
        // Small payloads (most messages): a word at a time, then the last
        // bytes; a whole number of words leaves the key where it started.
        // (16 B: 68 -> 38 instructions per call, counted by callgrind.)
        let tail = xor_single_words(buf, word_of(key));
        return apply_mask_bytewise(tail, key, 0);
    }
    // Handle the bytes before the first 32-byte aligned address one at a
    // time, so the block loop below touches whole, aligned words, and no
    // 32-byte vector straddles a cache line. (`ci/bench-mask`, 64 KiB just
    // after a 14-byte header, where a kept read leaves a large frame's
    // payload: 2.13 µs aligning to 8 bytes, 1.49 µs aligning to 32.)
    let head = buf.as_ptr().align_offset(32).min(buf.len());
    let (head_bytes, rest) = buf.split_at_mut(head);
    apply_mask_bytewise(head_bytes, key, 0);
    let key = rotate_key(key, head);

    let tail = xor_words(rest, word_of(key));
    apply_mask_bytewise(tail, key, 0);
}

/// The key twice over, as one native-endian word to XOR 8 bytes with.
#[inline]
fn word_of(key: [u8; 4]) -> u64 {
    let word_key = u32::from_ne_bytes(key) as u64;
    word_key | (word_key << 32)
}

/// XORs every whole 8-byte word of `buf` with `word` one at a time, without
/// the block loop's set-up (for short buffers, and the block loop's rest);
/// returns the bytes after the last whole word.
#[inline(always)]
fn xor_single_words(buf: &mut [u8], word: u64) -> &mut [u8] {
    let mut words = buf.chunks_exact_mut(8);
    for lane in &mut words {
        let v = u64::from_ne_bytes(lane.try_into().expect("8-byte lane")) ^ word;
        lane.copy_from_slice(&v.to_ne_bytes());
    }
    words.into_remainder()
}

/// XORs every whole 8-byte word of `buf` with `word`, on the widest vector
/// unit the CPU has; returns the bytes after the last whole word.
fn xor_words(buf: &mut [u8], word: u64) -> &mut [u8] {
    #[cfg(target_arch = "x86_64")]
    if std::arch::is_x86_feature_detected!("avx2") {
        // SAFETY: `xor_words_avx2` only needs the CPU to support AVX2,
        // which was just detected; it is otherwise the safe portable loop.
        return unsafe { xor_words_avx2(buf, word) };
    }
    xor_words_portable(buf, word)
}

/// [`xor_words_portable`] compiled for AVX2: the same loop in 32-byte
/// registers instead of the baseline's 16-byte ones. `ci/bench-mask`, 64 KiB
/// in place: 1.5x memcpy of the same buffer, against 0.8x for the baseline.
///
/// # Safety
///
/// The CPU must support AVX2.
#[cfg(target_arch = "x86_64")]
#[target_feature(enable = "avx2")]
unsafe fn xor_words_avx2(buf: &mut [u8], word: u64) -> &mut [u8] {
    xor_words_portable(buf, word)
}

/// 64-byte blocks of eight `u64` lanes, a shape the compiler turns into
/// vector instructions on every tier-1 target, then single words.
#[inline(always)]
fn xor_words_portable(buf: &mut [u8], word: u64) -> &mut [u8] {
    let mut blocks = buf.chunks_exact_mut(64);
    for block in &mut blocks {
        for lane in block.chunks_exact_mut(8) {
            let v = u64::from_ne_bytes(lane.try_into().expect("8-byte lane")) ^ word;
            lane.copy_from_slice(&v.to_ne_bytes());
        }
    }
    xor_single_words(blocks.into_remainder(), word)
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
    fn a_rotated_key_starts_at_the_offset() {
        let key = [1, 2, 3, 4];
        assert_eq!(rotate_key(key, 0), [1, 2, 3, 4]);
        assert_eq!(rotate_key(key, 1), [2, 3, 4, 1]);
        assert_eq!(rotate_key(key, 2), [3, 4, 1, 2]);
        assert_eq!(rotate_key(key, 7), [4, 1, 2, 3]);
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
        for start in 0..40 {
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

    /// Each word kernel XORs exactly the whole words and hands back the
    /// rest untouched, whatever the length.
    fn check_word_kernel(kernel: fn(&mut [u8], u64) -> &mut [u8]) {
        let key = [0x9a, 0xbc, 0xde, 0xf0];
        let word_key = u32::from_ne_bytes(key) as u64;
        let word = word_key | (word_key << 32);
        let source: Vec<u8> = (0..600u32).map(|i| (i * 31 + 7) as u8).collect();
        for len in 0..source.len() {
            let mut buf = source[..len].to_vec();
            let tail_len = kernel(&mut buf, word).len();
            assert_eq!(tail_len, len % 8, "len {len}");
            let words = len - tail_len;
            assert_eq!(
                buf[..words],
                reference(&source[..words], key, 0)[..],
                "len {len}"
            );
            assert_eq!(buf[words..], source[words..len], "tail of len {len}");
        }
    }

    #[test]
    fn portable_word_kernel_matches_the_reference() {
        check_word_kernel(xor_words_portable);
    }

    #[cfg(target_arch = "x86_64")]
    #[test]
    fn avx2_word_kernel_matches_the_reference() {
        if !std::arch::is_x86_feature_detected!("avx2") {
            eprintln!("no AVX2 on this CPU: its kernel is not exercised");
            return;
        }
        // SAFETY: AVX2 was just detected.
        check_word_kernel(|buf, word| unsafe { xor_words_avx2(buf, word) });
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
