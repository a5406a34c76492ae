//! Where a read's destination should start in its buffer.
//!
//! The kernel copies a received segment to user memory with `rep movsb`.
//! On AMD Zen cores that copy runs several times slower when the
//! destination sits just past the source modulo 4 KiB (each load then
//! appears to depend on a store just made: 4K aliasing), and a socket's
//! data sits in page-aligned buffers. glibc hands out large blocks 16 bytes
//! into a page, which is the worst spot: `cargo bench --bench
//! recv_alignment` (a write and a receive of one message over loopback) took
//! 86 µs per 64 KiB at page offset 16 against 38–41 µs at 0, 64 or 2048, and
//! 926 µs per 1 MiB against 248–316 µs (AMD EPYC, Linux 6.18). Reads that
//! start on a cache line boundary stay out of that window.

/// The alignment a read's destination starts at.
pub(crate) const READ_ALIGN: usize = 64;

/// How far past `ptr` the first [`READ_ALIGN`]-aligned byte is.
pub(crate) fn to_aligned(ptr: *const u8) -> usize {
    ptr.addr().wrapping_neg() % READ_ALIGN
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_reaches_the_next_boundary() {
        let buf = vec![0u8; 4 * READ_ALIGN];
        for skip in 0..2 * READ_ALIGN {
            let ptr = buf[skip..].as_ptr();
            let off = to_aligned(ptr);
            assert!(off < READ_ALIGN);
            assert_eq!((ptr.addr() + off) % READ_ALIGN, 0, "skip {skip}");
        }
    }
}
