//! Large payload buffers, recycled per thread.
//!
//! A frame that does not arrive in one read is gathered into a buffer of its
//! own (perhaps the read buffer it started in), handed to the application
//! as [`Bytes`]; a read buffer kept for its frames, or swapped for one of
//! another size, comes here too. Left to the allocator, every
//! such message takes fresh memory and gives it back when dropped; glibc
//! returns the top of its heap to the kernel once a few hundred KiB there
//! are free, so the next message faults every page in again. At 300 KB
//! messages on 16 connections that was about a hundred page faults per
//! message and a fifth of the messages per second of a server that reuses
//! its buffer. Here a buffer comes back when the last `Bytes` of its message
//! is dropped (on whichever thread that happens) and waits for the next
//! large frame read on that thread, bounded in count and in bytes, so an
//! idle connection still holds nothing.

use std::cell::RefCell;

use bytes::Bytes;

/// Smaller buffers are left to the allocator, which serves them well.
pub(crate) const MIN_RECYCLED: usize = 64 << 10;

/// At most this many buffers wait per thread...
const MAX_WAITING: usize = 8;

/// ...holding at most this many bytes in all.
const MAX_WAITING_BYTES: usize = 8 << 20;

thread_local! {
    static WAITING: RefCell<Vec<Vec<u8>>> = const { RefCell::new(Vec::new()) };
}

/// A buffer with room for at least `capacity` bytes: a recycled one when
/// one fits (without wasting more than its size again), else new. A
/// recycled buffer keeps the bytes its last message left (its length counts
/// them), so that a caller reading into it need not zero it first; they are
/// the caller's to overwrite, and never its payload.
pub(crate) fn take(capacity: usize) -> Vec<u8> {
    take_waiting(capacity).unwrap_or_else(|| Vec::with_capacity(capacity))
}

/// A waiting buffer that fits `capacity`, as [`take`] would pick it; `None`
/// when none does.
pub(crate) fn take_waiting(capacity: usize) -> Option<Vec<u8>> {
    if capacity < MIN_RECYCLED {
        return None;
    }
    WAITING.with(|waiting| {
        let mut waiting = waiting.try_borrow_mut().ok()?;
        let best = waiting
            .iter()
            .enumerate()
            .filter(|(_, b)| fits(b.capacity(), capacity))
            .min_by_key(|(_, b)| b.capacity())
            .map(|(i, _)| i)?;
        Some(waiting.swap_remove(best))
    })
}

/// Whether [`take_waiting`] would find a buffer for `capacity` now.
pub(crate) fn has_waiting(capacity: usize) -> bool {
    capacity >= MIN_RECYCLED
        && WAITING.with(|waiting| {
            waiting
                .try_borrow()
                .is_ok_and(|w| w.iter().any(|b| fits(b.capacity(), capacity)))
        })
}

/// Whether a buffer of `have` bytes serves a request for `capacity`
/// without wasting more than its size again.
fn fits(have: usize, capacity: usize) -> bool {
    (capacity..=2 * capacity).contains(&have)
}

/// Hands `buf` out as `Bytes`; a large buffer returns to the thread's
/// waiting list once the last `Bytes` viewing it is dropped.
pub(crate) fn freeze(buf: Vec<u8>) -> Bytes {
    if buf.capacity() >= MIN_RECYCLED {
        Bytes::from_owner(Recycled(buf))
    } else {
        Bytes::from(buf)
    }
}

/// A buffer that goes back to the waiting list when dropped.
struct Recycled(Vec<u8>);

impl AsRef<[u8]> for Recycled {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

impl Drop for Recycled {
    fn drop(&mut self) {
        // Kept initialized (not cleared): see `take`.
        let buf = std::mem::take(&mut self.0);
        // During thread teardown the list may be gone: then just free it.
        let _ = WAITING.try_with(|waiting| {
            let Ok(mut waiting) = waiting.try_borrow_mut() else {
                return;
            };
            let held: usize = waiting.iter().map(Vec::capacity).sum();
            if held + buf.capacity() > MAX_WAITING_BYTES {
                return;
            }
            if waiting.len() == MAX_WAITING {
                // Make room by letting the smallest go: large ones are what
                // is costly to fault in again.
                let smallest = (0..waiting.len()).min_by_key(|&i| waiting[i].capacity());
                match smallest {
                    Some(i) if waiting[i].capacity() < buf.capacity() => {
                        waiting.swap_remove(i);
                    }
                    _ => return,
                }
            }
            waiting.push(buf);
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn waiting() -> Vec<usize> {
        WAITING.with(|w| w.borrow().iter().map(Vec::capacity).collect())
    }

    fn clear() {
        WAITING.with(|w| w.borrow_mut().clear());
    }

    #[test]
    fn a_large_buffer_comes_back_when_its_last_view_drops() {
        clear();
        let mut buf = take(100_000);
        let ptr = buf.as_ptr();
        buf.extend_from_slice(&[7; 100_000]);
        let bytes = freeze(buf);
        let tail = bytes.slice(50_000..);
        drop(bytes);
        assert!(waiting().is_empty(), "a view is still alive");
        assert_eq!(tail.len(), 50_000);
        assert!(tail.iter().all(|&b| b == 7));
        drop(tail);
        assert_eq!(waiting().len(), 1);
        let again = take(90_000);
        assert_eq!(again.as_ptr(), ptr, "the same memory is handed out again");
        assert_eq!(again.len(), 100_000, "still initialized, to be overwritten");
        assert!(waiting().is_empty());
    }

    #[test]
    fn small_buffers_are_left_to_the_allocator() {
        clear();
        let mut buf = take(1000);
        buf.extend_from_slice(b"small");
        drop(freeze(buf));
        assert!(waiting().is_empty());
        // A small request never takes a waiting large buffer.
        drop(freeze(Vec::with_capacity(MIN_RECYCLED)));
        assert_eq!(waiting().len(), 1);
        assert!(take(1000).capacity() < MIN_RECYCLED);
        assert_eq!(waiting().len(), 1);
    }

    #[test]
    fn a_waiting_buffer_is_used_only_where_it_fits_without_much_waste() {
        clear();
        drop(freeze(Vec::with_capacity(1 << 20)));
        // Too small a request for it: a new buffer.
        assert!(take(300_000).capacity() < 1 << 20);
        // Too large: a new buffer too.
        assert!(take(2 << 20).capacity() >= 2 << 20);
        assert_eq!(waiting(), [1 << 20]);
        assert_eq!(take(600_000).capacity(), 1 << 20);
    }

    #[test]
    fn the_waiting_list_is_bounded_in_count_and_bytes() {
        clear();
        for _ in 0..MAX_WAITING + 3 {
            drop(freeze(Vec::with_capacity(MIN_RECYCLED)));
        }
        assert_eq!(waiting().len(), MAX_WAITING);
        // A larger one displaces the smallest...
        drop(freeze(Vec::with_capacity(2 * MIN_RECYCLED)));
        assert_eq!(waiting().len(), MAX_WAITING);
        assert!(waiting().contains(&(2 * MIN_RECYCLED)));
        // ...and none is kept past the byte bound.
        clear();
        drop(freeze(Vec::with_capacity(MAX_WAITING_BYTES)));
        drop(freeze(Vec::with_capacity(MIN_RECYCLED)));
        assert_eq!(waiting(), [MAX_WAITING_BYTES]);
        clear();
        drop(freeze(Vec::with_capacity(MAX_WAITING_BYTES + 1)));
        assert!(waiting().is_empty());
    }

    #[test]
    fn a_buffer_dropped_on_another_thread_waits_there() {
        clear();
        let bytes = freeze(vec![1; MIN_RECYCLED]);
        std::thread::spawn(move || {
            drop(bytes);
            assert_eq!(waiting().len(), 1);
        })
        .join()
        .unwrap();
        assert!(waiting().is_empty());
    }
}
