//! The outgoing byte queue.
//!
//! Small writes (headers, masked payloads, control frames) are appended to
//! one contiguous buffer; large unmasked payloads are queued as they are, so
//! a server can send a `Bytes` it was given without copying it, and a writer
//! can hand the pieces to a vectored write. Once everything is written the
//! buffer is let go, so an idle connection holds no output memory.
//!
//! Let go to the thread rather than to the allocator: a drained buffer
//! waits as the thread's one spare for the next connection that appends,
//! so a server answering small messages does not allocate, grow and free
//! a buffer per reply (a third of its allocator calls, at 1 KiB x 16
//! connections ping-pong).

use std::cell::Cell;
use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};

use crate::proto::mask::apply_mask;

/// Payloads at least this long are queued by reference rather than copied.
const ZERO_COPY_MIN: usize = 4096;

/// A drained buffer larger than this is freed rather than kept as the
/// thread's spare, so a burst of output leaves no large buffer behind, and
/// a connection handed the spare (which may then stall on a slow peer)
/// holds at most this much more than its output needs.
const SPARE_MAX: usize = 16 << 10;

thread_local! {
    /// The thread's spare output buffer: empty, with room.
    static SPARE: Cell<Option<BytesMut>> = const { Cell::new(None) };
}

#[derive(Debug, Default)]
pub(crate) struct OutBuffer {
    /// Finished pieces, oldest first.
    queue: VecDeque<Bytes>,
    /// The piece being appended to; it follows everything in `queue`.
    tail: BytesMut,
    /// Total bytes in `queue` and `tail`.
    len: usize,
    /// `tail` was advanced or split since it was last empty, so room at
    /// its front may have to be won back when it drains.
    tail_moved: bool,
}

impl OutBuffer {
    #[inline]
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    #[inline]
    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Makes room for `additional` more bytes in the contiguous buffer,
    /// starting from the thread's spare when the buffer holds none.
    fn reserve(&mut self, additional: usize) {
        if self.tail.capacity() == 0 {
            if let Some(spare) = SPARE.try_with(Cell::take).ok().flatten() {
                self.tail = spare;
            }
        }
        self.tail.reserve(additional);
    }

    /// Lets the drained contiguous buffer go: to the thread as its spare if
    /// it is small (of it and a spare already there, the larger stays),
    /// else to the allocator.
    fn release_tail(&mut self) {
        let mut tail = std::mem::take(&mut self.tail);
        tail.clear();
        if std::mem::take(&mut self.tail_moved) {
            // Bytes of earlier partial writes were advanced past (or split
            // off), taking their room with them: win all of it back (asking
            // for more than is left does; it moves nothing, the buffer
            // being empty).
            let left = tail.capacity();
            let _ = tail.try_reclaim(left + 1);
        }
        if (1..=SPARE_MAX).contains(&tail.capacity()) {
            // During thread teardown the slot may be gone: then just free.
            let _ = SPARE.try_with(|spare| {
                let held = spare.take();
                spare.set(Some(match held {
                    Some(held) if held.capacity() >= tail.capacity() => held,
                    _ => tail,
                }));
            });
        }
    }

    /// Appends one frame: its header, then its payload (copied if `mask`
    /// is given, which is applied to the copy, or if it is small; queued by
    /// reference otherwise), with room for what is copied made at once.
    pub(crate) fn push_frame(&mut self, header: &[u8], payload: Bytes, mask: Option<[u8; 4]>) {
        if mask.is_none() && payload.len() >= ZERO_COPY_MIN {
            self.extend_from_slice(header);
            return self.push_large(payload);
        }
        self.reserve(header.len() + payload.len());
        self.put(header);
        let start = self.tail.len();
        self.put(&payload);
        if let Some(key) = mask {
            apply_mask(&mut self.tail[start..], key, 0);
        }
    }

    /// Lets `write` append to the contiguous buffer and accounts for what it
    /// appended; returns the offset where the appended bytes start.
    pub(crate) fn append(&mut self, write: impl FnOnce(&mut BytesMut)) -> usize {
        self.reserve(0);
        let start = self.tail.len();
        write(&mut self.tail);
        self.len += self.tail.len() - start;
        if self.len == 0 {
            // Nothing written after all: the spare is not this one's to hold.
            self.release_tail();
        }
        start
    }

    pub(crate) fn extend_from_slice(&mut self, data: &[u8]) {
        if data.is_empty() {
            return;
        }
        self.reserve(data.len());
        self.put(data);
    }

    /// Copies `data` into room already made.
    fn put(&mut self, data: &[u8]) {
        self.tail.extend_from_slice(data);
        self.len += data.len();
    }

    /// Queues a large payload by reference, after what is appended so far.
    fn push_large(&mut self, data: Bytes) {
        if !self.tail.is_empty() {
            self.queue.push_back(self.tail.split().freeze());
            self.tail_moved = true;
        }
        self.len += data.len();
        self.queue.push_back(data);
    }

    /// Takes everything queued as one buffer.
    pub(crate) fn take_all(&mut self) -> Bytes {
        self.len = 0;
        if self.queue.is_empty() {
            if self.tail.capacity() <= 2 * self.tail.len() {
                self.tail_moved = false;
                return std::mem::take(&mut self.tail).freeze();
            }
            // Mostly room (the spare, say): the caller may hold what it is
            // given, so it gets the bytes alone and the room stays here.
            let all = Bytes::copy_from_slice(&self.tail);
            self.release_tail();
            return all;
        }
        let mut all = BytesMut::with_capacity(
            self.queue.iter().map(Bytes::len).sum::<usize>() + self.tail.len(),
        );
        for piece in self.queue.drain(..) {
            all.extend_from_slice(&piece);
        }
        all.extend_from_slice(&self.tail);
        self.tail = BytesMut::new();
        self.tail_moved = false;
        all.freeze()
    }

    /// Appends everything queued to `dst` and empties the queue.
    pub(crate) fn take_into(&mut self, dst: &mut Vec<u8>) {
        dst.reserve(self.len);
        for piece in self.queue.drain(..) {
            dst.extend_from_slice(&piece);
        }
        dst.extend_from_slice(&self.tail);
        self.release_tail();
        self.len = 0;
    }

    /// Fills `dst` with the queued pieces in order, for a vectored write, and
    /// returns how many slices were filled.
    pub(crate) fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
        if self.queue.is_empty() {
            // Only copied bytes (every small reply): one slice or none.
            if self.tail.is_empty() || dst.is_empty() {
                return 0;
            }
            dst[0] = IoSlice::new(&self.tail);
            return 1;
        }
        let pieces = self
            .queue
            .iter()
            .map(|b| &b[..])
            .chain(std::iter::once(&self.tail[..]));
        let mut n = 0;
        for piece in pieces.filter(|p| !p.is_empty()) {
            if n == dst.len() {
                break;
            }
            dst[n] = IoSlice::new(piece);
            n += 1;
        }
        n
    }

    /// Removes the first `n` queued bytes (they were written).
    pub(crate) fn advance(&mut self, mut n: usize) {
        assert!(n <= self.len, "advanced past the end of the output");
        if n == self.len {
            // All written (the usual case): nothing to advance through.
            if !self.queue.is_empty() {
                self.queue.clear();
            }
            self.len = 0;
            return self.release_tail();
        }
        self.len -= n;
        while n > 0 {
            let Some(front) = self.queue.front_mut() else {
                self.tail.advance(n);
                self.tail_moved = true;
                break;
            };
            if n < front.len() {
                front.advance(n);
                return;
            }
            n -= front.len();
            self.queue.pop_front();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled() -> OutBuffer {
        let mut out = OutBuffer::default();
        out.extend_from_slice(b"ab");
        out.push_large(Bytes::from(vec![b'x'; ZERO_COPY_MIN]));
        out.extend_from_slice(b"cd");
        out
    }

    #[test]
    fn take_all_keeps_order() {
        let mut out = filled();
        assert_eq!(out.len(), ZERO_COPY_MIN + 4);
        let all = out.take_all();
        assert_eq!(&all[..2], b"ab");
        assert_eq!(&all[all.len() - 2..], b"cd");
        assert!(out.is_empty());
        assert!(out.take_all().is_empty());
    }

    #[test]
    fn vectored_pieces_and_partial_advance() {
        let mut out = filled();
        let mut slices = [IoSlice::new(&[]); 8];
        assert_eq!(out.chunks_vectored(&mut slices), 3);
        out.advance(3);
        let mut rest = Vec::new();
        out.take_into(&mut rest);
        assert_eq!(rest.len(), ZERO_COPY_MIN + 1);
        assert_eq!(&rest[rest.len() - 2..], b"cd");
        let mut out = filled();
        out.advance(ZERO_COPY_MIN + 3);
        assert_eq!(out.take_all(), Bytes::from_static(b"d"));
    }

    #[test]
    fn a_drained_buffer_holds_no_memory() {
        let mut out = filled();
        out.advance(out.len());
        assert_eq!(out.tail.capacity(), 0);
        let mut out = filled();
        drop(out.take_all());
        assert_eq!(out.tail.capacity(), 0);
        let mut out = filled();
        out.take_into(&mut Vec::new());
        assert_eq!(out.tail.capacity(), 0);
        // Partly written: the rest stays.
        let mut out = filled();
        out.advance(ZERO_COPY_MIN + 3);
        assert_eq!(out.len(), 1);
        assert!(out.tail.capacity() > 0);
    }

    fn take_spare() -> Option<BytesMut> {
        SPARE.with(Cell::take)
    }

    /// Appends `n` bytes to a fresh buffer and writes them all.
    fn drained(n: usize) {
        let mut out = OutBuffer::default();
        out.extend_from_slice(&vec![0; n]);
        out.advance(n);
    }

    #[test]
    fn a_drained_buffer_is_the_next_appends_spare() {
        take_spare();
        let mut a = OutBuffer::default();
        a.push_frame(b"hd", Bytes::from_static(b"payload"), None);
        let ptr = a.tail.as_ptr();
        a.advance(a.len());
        assert_eq!(a.tail.capacity(), 0, "the connection holds nothing");
        let mut b = OutBuffer::default();
        b.push_frame(b"hd", Bytes::from_static(b"other"), Some([1, 2, 3, 4]));
        assert_eq!(
            b.tail.as_ptr(),
            ptr,
            "the same memory, taken from the thread"
        );
        assert_eq!(&b.tail[..2], b"hd");
        let unmasked: Vec<u8> = b.tail[2..]
            .iter()
            .zip([1, 2, 3, 4].iter().cycle())
            .map(|(x, k)| x ^ k)
            .collect();
        assert_eq!(unmasked, b"other");
        assert!(take_spare().is_none(), "taken, not shared");
    }

    #[test]
    fn copied_bytes_alone_are_one_slice() {
        let mut out = OutBuffer::default();
        assert_eq!(out.chunks_vectored(&mut [IoSlice::new(&[]); 4]), 0);
        out.push_frame(b"hd", Bytes::from_static(b"small"), None);
        let mut dst = [IoSlice::new(&[]); 4];
        assert_eq!(out.chunks_vectored(&mut dst), 1);
        assert_eq!(&*dst[0], b"hdsmall");
        assert_eq!(out.chunks_vectored(&mut []), 0);
    }

    #[test]
    fn a_drained_buffer_gets_back_the_room_written_or_split_off() {
        // Written in two parts: the first advance takes its room along.
        take_spare();
        let mut out = OutBuffer::default();
        out.extend_from_slice(&[7; 1000]);
        let room = out.tail.capacity();
        out.advance(600);
        assert!(out.tail.capacity() < room);
        out.advance(400);
        assert_eq!(take_spare().map(|s| s.capacity()), Some(room));
        // A large payload queued after small bytes splits them off, with
        // their room; once they are written and dropped, it comes back.
        let mut out = OutBuffer::default();
        out.extend_from_slice(&[7; 100]);
        out.push_frame(b"hd", Bytes::from(vec![1; ZERO_COPY_MIN]), None);
        let room = out.tail.capacity() + 102;
        out.advance(out.len());
        assert_eq!(take_spare().map(|s| s.capacity()), Some(room));
    }

    #[test]
    fn the_spare_keeps_the_larger_of_two_and_never_a_large_one() {
        take_spare();
        drained(100);
        drained(1000);
        drained(10);
        assert!(take_spare().unwrap().capacity() >= 1000);
        drained(SPARE_MAX + 1);
        assert!(
            take_spare().is_none(),
            "a large buffer goes to the allocator"
        );
        // Written in two goes: the room the first took is won back.
        let mut out = OutBuffer::default();
        out.extend_from_slice(&[1; 2000]);
        let room = out.tail.capacity();
        out.advance(1500);
        out.advance(500);
        assert_eq!(out.tail.capacity(), 0);
        assert_eq!(take_spare().unwrap().capacity(), room);
    }

    #[test]
    fn one_frame_is_one_allocation() {
        take_spare();
        let mut out = OutBuffer::default();
        let payload = Bytes::from(vec![7; ZERO_COPY_MIN - 1]);
        out.push_frame(&[0x82, 126, 0x0f, 0xff], payload, None);
        assert_eq!(
            out.tail.capacity(),
            ZERO_COPY_MIN + 3,
            "room made once, exactly"
        );
        // A large payload is queued by reference: room for the header only.
        let mut out = OutBuffer::default();
        out.push_frame(b"head", Bytes::from(vec![7; ZERO_COPY_MIN]), None);
        let mut slices = [IoSlice::new(&[]); 4];
        assert_eq!(out.chunks_vectored(&mut slices), 2);
        assert_eq!(&slices[0][..], b"head");
        assert_eq!(slices[1].len(), ZERO_COPY_MIN);
    }

    #[test]
    fn writing_nothing_leaves_the_spare_with_the_thread() {
        take_spare();
        drained(1000);
        let mut idle = OutBuffer::default();
        idle.extend_from_slice(b"");
        idle.append(|_| {});
        assert_eq!(idle.tail.capacity(), 0);
        assert!(take_spare().is_some_and(|s| s.capacity() >= 1000));
    }

    #[test]
    fn taking_a_little_output_does_not_take_the_spares_room_along() {
        take_spare();
        drained(8000);
        let mut small = OutBuffer::default();
        small.extend_from_slice(b"hi");
        let taken = small.take_all();
        assert_eq!(taken, Bytes::from_static(b"hi"));
        assert_eq!(small.tail.capacity(), 0);
        assert!(
            take_spare().is_some_and(|s| s.capacity() >= 8000),
            "the room went back to the thread, not out with the bytes"
        );
        // Output that fills its buffer is handed out as it is.
        let mut full = OutBuffer::default();
        full.extend_from_slice(&[2; 3000]);
        let ptr = full.tail.as_ptr();
        assert_eq!(full.take_all().as_ptr(), ptr);
    }
}
