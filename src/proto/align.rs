//! Where a read's destination should start in its buffer.
//!
//! The kernel copies a received segment to user memory with `rep movsb`.
//! On AMD Zen cores that copy runs several times slower when the
//! destination sits just past the source modulo 4 KiB (each load then
//! appears to depend on a store just made: 4K aliasing), and a socket's
//! data sits in page-aligned buffers. glibc hands out large blocks 16 bytes
//! into a page, which is the worst spot. `taskset -c 0 cargo bench --bench
//! socket_alignment` (AMD EPYC, Linux 6.18): receiving 64 KiB at page
//! offset 16 took 76–81 µs against 34–47 µs at 0, 64 or 2048; 1 MiB 789–896
//! µs against 241–342 µs.
//!
//! The same holds on the way out, where the kernel copies a payload into
//! its own pages after the frame header: a payload that starts at a page
//! then sits just *before* its destination. The same bench, writing a
//! 10-byte header and the payload in one `writev`: 64 KiB from page offset
//! 0 or 4090 took 56–64 µs against 19–26 µs from 16 or 64; 1 MiB 670–776 µs
//! against 151–306 µs. So a read starts on a cache line boundary that is
//! not also a page boundary.

/// The alignment a read's destination starts at.
pub(crate) const READ_ALIGN: usize = 64;

/// What a buffer needs beyond its contents to start them at [`to_aligned`].
pub(crate) const ALIGN_SLACK: usize = 2 * READ_ALIGN - 1;

const PAGE: usize = 4096;

/// How far past `ptr` the first [`READ_ALIGN`]-aligned byte that does not
/// start a page is (at most [`ALIGN_SLACK`]).
pub(crate) fn to_aligned(ptr: *const u8) -> usize {
    let off = ptr.addr().wrapping_neg() % READ_ALIGN;
    if (ptr.addr() + off) % PAGE == 0 {
        off + READ_ALIGN
    } else {
        off
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_offset_reaches_the_next_boundary() {
        // Two pages and a bit, so that some starts meet a page boundary.
        let buf = vec![0u8; 2 * PAGE + 4 * READ_ALIGN];
        let mut moved_off_a_page = 0;
        for skip in 0..2 * PAGE {
            let ptr = buf[skip..].as_ptr();
            let off = to_aligned(ptr);
            let start = ptr.addr() + off;
            assert!(off <= ALIGN_SLACK);
            assert_eq!(start % READ_ALIGN, 0, "skip {skip}");
            assert_ne!(start % PAGE, 0, "skip {skip}");
            if off >= READ_ALIGN {
                moved_off_a_page += 1;
            }
        }
        // For the READ_ALIGN starts of each page that would align onto its
        // first byte.
        assert_eq!(moved_off_a_page, 2 * READ_ALIGN);
    }
}
