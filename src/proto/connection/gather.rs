//! The buffer a data frame is gathered into, in whole-frame mode, when it
//! does not arrive in one read: its payload so far (unmasked), and for text
//! the UTF-8 verdict on it, judged as the bytes come.

use bytes::{Buf, Bytes};

use crate::proto::align::{ALIGN_SLACK, to_aligned};

use crate::proto::mask::apply_mask;
use crate::proto::recycle;
use crate::proto::utf8::Utf8Stream;

/// Payload is unmasked and judged this much at a time, each piece right
/// after it is copied, while it is still in the CPU's cache.
const CHUNK: usize = 16 << 10;

/// A frame's payload being gathered.
///
/// The buffer's length counts its *initialized* bytes, which may run past
/// the payload gathered so far (`filled`): a recycled buffer keeps what an
/// earlier message left there. That is what lets a transport read straight
/// into the room after the payload ([`Gather::room_mut`]) without zeroing it
/// first, and safely: those bytes are overwritten before they count, and
/// [`Gather::freeze`] hands out only the first `filled`.
///
/// The payload starts `head` bytes into the buffer, on a cache line
/// boundary, because the rest of a large frame is read straight into it and
/// where a read lands decides how fast the kernel copies (`proto::align`);
/// in a read buffer adopted as the frame's ([`Gather::adopt`]) it starts
/// where the read put it, after the frame's header.
#[derive(Debug, Default)]
pub(super) struct Gather {
    buf: Vec<u8>,
    /// Where the payload starts in `buf` (the bytes before it are padding).
    head: usize,
    filled: usize,
    /// For text: the message's UTF-8 state after the gathered bytes.
    utf8: Option<Utf8Stream>,
    /// The gathered text held invalid UTF-8.
    invalid: bool,
}

/// Where gathered bytes sit in their frame, to unmask them.
#[derive(Debug, Clone, Copy)]
pub(super) struct Masking {
    pub(super) key: Option<[u8; 4]>,
    /// The payload offset of the first byte.
    pub(super) offset: usize,
}

impl Gather {
    /// Whether no payload has been gathered (no frame is being gathered).
    #[inline]
    pub(super) fn is_empty(&self) -> bool {
        self.filled == 0
    }

    /// Payload bytes gathered so far.
    pub(super) fn len(&self) -> usize {
        self.filled
    }

    /// Payload bytes the buffer has room for, gathered or not (the padding
    /// before `head` does not count).
    pub(super) fn capacity(&self) -> usize {
        self.buf.capacity().saturating_sub(self.head)
    }

    /// Starts a frame; `utf8` is the message's UTF-8 state for text.
    pub(super) fn begin(&mut self, utf8: Option<Utf8Stream>) {
        self.utf8 = utf8;
        self.invalid = false;
    }

    /// Gathers the frame in `buf` itself, its payload starting at `head`:
    /// the bytes read there are then committed ([`Gather::commit`]) as if
    /// read into the room, and the rest is gathered after them.
    pub(super) fn adopt(&mut self, buf: Vec<u8>, head: usize) {
        debug_assert!(self.is_empty(), "a frame is being gathered already");
        self.buf = buf;
        self.head = head;
        self.filled = 0;
    }

    /// Whether the gathered text held invalid UTF-8.
    pub(super) fn invalid(&self) -> bool {
        self.invalid
    }

    /// Makes room for `n` more bytes of a frame with `still_to_come` bytes
    /// after them. Grows by at most four times what has arrived with them,
    /// so a header's claim alone never sizes an allocation.
    fn reserve(&mut self, n: usize, still_to_come: usize) {
        if self.capacity() - self.filled >= n {
            return;
        }
        // Room for the payload wherever in its first cache line the
        // allocation starts.
        let room = n + still_to_come.min(4 * (self.filled + n)) + ALIGN_SLACK;
        if self.buf.capacity() == 0 {
            self.buf = recycle::take(room);
            self.head = to_aligned(self.buf.as_ptr());
            if self.buf.len() < self.head {
                self.buf.resize(self.head, 0);
            }
        } else {
            // `reserve` counts from the length, which may be past the
            // payload.
            let end = self.head + self.filled;
            self.buf.truncate(end);
            self.buf.reserve(room);
            let head = to_aligned(self.buf.as_ptr());
            if head != self.head {
                // Moved to memory aligned differently: realign the payload.
                if self.buf.len() < head + self.filled {
                    self.buf.resize(head + self.filled, 0);
                }
                self.buf.copy_within(self.head..end, head);
                self.head = head;
            }
        }
    }

    /// Copies `payload` in after what is gathered, unmasking and judging it
    /// piece by piece; `still_to_come` is the rest of the frame after it.
    pub(super) fn append(&mut self, payload: &[u8], masking: Masking, still_to_come: usize) {
        self.reserve(payload.len(), still_to_come);
        let mut offset = masking.offset;
        for piece in payload.chunks(CHUNK) {
            let start = self.filled;
            let end = start + piece.len();
            // `filled` never runs past the initialized bytes.
            let init = self.buf.len() - self.head;
            let at = self.head;
            if end <= init {
                self.buf[at + start..at + end].copy_from_slice(piece);
            } else {
                let (old, new) = piece.split_at(init - start);
                self.buf[at + start..at + init].copy_from_slice(old);
                self.buf.extend_from_slice(new);
            }
            self.filled = end;
            self.absorb(start, masking.key, offset);
            offset += piece.len();
        }
    }

    /// Makes room for up to `max` more payload bytes (at least one when
    /// `max` > 0), growing as [`Gather::append`] would for what is gathered
    /// so far; returns its length. The room is [`Gather::room_mut`], to be
    /// read into and then counted by [`Gather::commit`].
    pub(super) fn prepare_room(&mut self, max: usize) -> usize {
        if self.capacity() == self.filled && max > 0 {
            self.reserve(1, max - 1);
        }
        let len = max.min(self.capacity() - self.filled);
        let end = self.head + self.filled + len;
        if self.buf.len() < end {
            // Fresh memory: zeroed once, then kept initialized across reuse.
            self.buf.resize(end, 0);
        }
        len
    }

    /// The `len` bytes of room after the payload (as prepared).
    pub(super) fn room(&self, len: usize) -> &[u8] {
        let at = self.head + self.filled;
        &self.buf[at..at + len]
    }

    /// The `len` bytes of room after the payload, to read into.
    pub(super) fn room_mut(&mut self, len: usize) -> &mut [u8] {
        let at = self.head + self.filled;
        &mut self.buf[at..at + len]
    }

    /// Counts `n` bytes read into [`Gather::room_mut`] as gathered, unmasking
    /// and judging them.
    pub(super) fn commit(&mut self, n: usize, masking: Masking) {
        let start = self.filled;
        assert!(
            self.head + start + n <= self.buf.len(),
            "more bytes committed than the room given"
        );
        let mut offset = masking.offset;
        let mut at = start;
        while at < start + n {
            let end = (at + CHUNK).min(start + n);
            self.filled = end;
            self.absorb(at, masking.key, offset);
            offset += end - at;
            at = end;
        }
    }

    /// Unmasks and judges the gathered bytes from `start` on.
    fn absorb(&mut self, start: usize, key: Option<[u8; 4]>, offset: usize) {
        let added = &mut self.buf[self.head + start..self.head + self.filled];
        if let Some(key) = key {
            apply_mask(added, key, offset);
        }
        if let Some(utf8) = &mut self.utf8 {
            self.invalid |= utf8.check(added).is_err();
        }
    }

    /// Hands the gathered payload out, with the UTF-8 state after it (for
    /// text), and starts afresh.
    pub(super) fn freeze(&mut self) -> (Bytes, Option<Utf8Stream>) {
        let mut buf = std::mem::take(&mut self.buf);
        let head = std::mem::take(&mut self.head);
        buf.truncate(head + self.filled);
        self.filled = 0;
        self.invalid = false;
        let mut payload = recycle::freeze(buf);
        payload.advance(head);
        (payload, self.utf8.take())
    }

    /// Drops what is gathered and lets go of the buffer.
    pub(super) fn clear(&mut self) {
        *self = Gather::default();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::align::READ_ALIGN;

    const KEY: [u8; 4] = [1, 2, 3, 4];

    fn masked(data: &[u8], offset: usize) -> Vec<u8> {
        let mut out = data.to_vec();
        apply_mask(&mut out, KEY, offset);
        out
    }

    fn at(offset: usize) -> Masking {
        Masking {
            key: Some(KEY),
            offset,
        }
    }

    #[test]
    fn appended_and_committed_bytes_are_unmasked_in_order() {
        let payload: Vec<u8> = (0..100_000u32).map(|i| (i * 7 % 253) as u8).collect();
        let wire = masked(&payload, 0);
        let mut g = Gather::default();
        g.begin(None);
        g.append(&wire[..30_001], at(0), 69_999);
        let room = g.prepare_room(69_999);
        assert!((1..=69_999).contains(&room));
        let n = room.min(20_000);
        g.room_mut(room)[..n].copy_from_slice(&wire[30_001..30_001 + n]);
        g.commit(n, at(30_001));
        let done = 30_001 + n;
        g.append(&wire[done..], at(done), 0);
        assert_eq!(g.len(), 100_000);
        let (bytes, utf8) = g.freeze();
        assert!(bytes == payload && utf8.is_none());
        assert!(g.is_empty());
    }

    #[test]
    fn spare_room_grows_with_what_arrived_not_with_the_frame() {
        let mut g = Gather::default();
        g.begin(None);
        g.append(
            &[0; 1000],
            Masking {
                key: None,
                offset: 0,
            },
            10 << 20,
        );
        assert!(g.capacity() <= 5 * 1000 + ALIGN_SLACK);
        let room = g.prepare_room(10 << 20);
        assert!((1..=4 * 5000).contains(&room), "{room}");
    }

    #[test]
    fn leftovers_of_a_reused_buffer_never_show() {
        let mut g = Gather::default();
        g.begin(None);
        let none = Masking {
            key: None,
            offset: 0,
        };
        g.append(&[9; 200_000], none, 0);
        let (first, _) = g.freeze();
        let first_at = first.as_ptr();
        drop(first); // back to the thread's waiting list, 9s and all
        g.begin(None);
        g.append(&[1; 100_000], none, 100_000);
        let room = g.prepare_room(100_000);
        g.room_mut(room)[..10].copy_from_slice(&[2; 10]);
        g.commit(10, none);
        let (second, _) = g.freeze();
        assert_eq!(second.as_ptr(), first_at, "the buffer was reused");
        assert_eq!(second.len(), 100_010);
        assert!(second[..100_000].iter().all(|&b| b == 1));
        assert!(second[100_000..].iter().all(|&b| b == 2));
    }

    #[test]
    fn the_payload_starts_on_a_cache_line_through_growth() {
        let none = Masking {
            key: None,
            offset: 0,
        };
        for first in [1, 100, 5000, 70_000] {
            let mut g = Gather::default();
            g.begin(None);
            let data: Vec<u8> = (0..first * 40).map(|i| i as u8).collect();
            // Each append claims little still to come, so the buffer grows
            // (and may move) several times.
            let mut at = 0;
            while at < data.len() {
                let end = (at + first).min(data.len());
                g.append(&data[at..end], none, first);
                assert_eq!(
                    g.room(0).as_ptr().addr() % READ_ALIGN,
                    (g.len()) % READ_ALIGN
                );
                at = end;
            }
            let (bytes, _) = g.freeze();
            assert_eq!(bytes.as_ptr().addr() % READ_ALIGN, 0, "first {first}");
            assert!(bytes == data, "first {first}");
        }
    }

    #[test]
    fn text_is_judged_as_it_is_gathered() {
        let mut g = Gather::default();
        g.begin(Some(Utf8Stream::default()));
        let none = Masking {
            key: None,
            offset: 0,
        };
        g.append("zł€".as_bytes(), none, 4);
        assert!(!g.invalid());
        let room = g.prepare_room(4);
        g.room_mut(room)[..2].copy_from_slice(&[0xf0, 0x28]);
        g.commit(2, none);
        assert!(g.invalid());
    }
}
