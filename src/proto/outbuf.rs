//! The outgoing byte queue.
//!
//! Small writes (headers, masked payloads, control frames) are appended to
//! one contiguous buffer; large unmasked payloads are queued as they are, so
//! a server can send a `Bytes` it was given without copying it, and a writer
//! can hand the pieces to a vectored write. Once everything is written the
//! buffer is let go, so an idle connection holds no output memory.

use std::collections::VecDeque;
use std::io::IoSlice;

use bytes::{Buf, Bytes, BytesMut};

/// Payloads at least this long are queued by reference rather than copied.
const ZERO_COPY_MIN: usize = 4096;

#[derive(Debug, Default)]
pub(crate) struct OutBuffer {
    /// Finished pieces, oldest first.
    queue: VecDeque<Bytes>,
    /// The piece being appended to; it follows everything in `queue`.
    tail: BytesMut,
    /// Total bytes in `queue` and `tail`.
    len: usize,
}

impl OutBuffer {
    pub(crate) fn len(&self) -> usize {
        self.len
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Lets `write` append to the contiguous buffer and accounts for what it
    /// appended; returns the offset where the appended bytes start.
    pub(crate) fn append(&mut self, write: impl FnOnce(&mut BytesMut)) -> usize {
        let start = self.tail.len();
        write(&mut self.tail);
        self.len += self.tail.len() - start;
        start
    }

    /// The contiguous buffer's bytes from `start` on, e.g. to mask them in
    /// place after [`Self::append`].
    pub(crate) fn tail_from(&mut self, start: usize) -> &mut [u8] {
        &mut self.tail[start..]
    }

    pub(crate) fn extend_from_slice(&mut self, data: &[u8]) {
        self.tail.extend_from_slice(data);
        self.len += data.len();
    }

    /// Appends a payload, by reference when it is large.
    pub(crate) fn push_bytes(&mut self, data: Bytes) {
        if data.len() < ZERO_COPY_MIN {
            return self.extend_from_slice(&data);
        }
        if !self.tail.is_empty() {
            self.queue.push_back(self.tail.split().freeze());
        }
        self.len += data.len();
        self.queue.push_back(data);
    }

    /// Takes everything queued as one buffer.
    pub(crate) fn take_all(&mut self) -> Bytes {
        self.len = 0;
        if self.queue.is_empty() {
            return std::mem::take(&mut self.tail).freeze();
        }
        let mut all = BytesMut::with_capacity(
            self.queue.iter().map(Bytes::len).sum::<usize>() + self.tail.len(),
        );
        for piece in self.queue.drain(..) {
            all.extend_from_slice(&piece);
        }
        all.extend_from_slice(&self.tail);
        self.tail = BytesMut::new();
        all.freeze()
    }

    /// Appends everything queued to `dst` and empties the queue.
    pub(crate) fn take_into(&mut self, dst: &mut Vec<u8>) {
        dst.reserve(self.len);
        for piece in self.queue.drain(..) {
            dst.extend_from_slice(&piece);
        }
        dst.extend_from_slice(&self.tail);
        self.tail = BytesMut::new();
        self.len = 0;
    }

    /// Fills `dst` with the queued pieces in order, for a vectored write, and
    /// returns how many slices were filled.
    pub(crate) fn chunks_vectored<'a>(&'a self, dst: &mut [IoSlice<'a>]) -> usize {
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
        self.len -= n;
        while n > 0 {
            let Some(front) = self.queue.front_mut() else {
                self.tail.advance(n);
                break;
            };
            if n < front.len() {
                front.advance(n);
                return;
            }
            n -= front.len();
            self.queue.pop_front();
        }
        if self.len == 0 {
            // Drained: hold no buffer while there is nothing to send.
            self.tail = BytesMut::new();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn filled() -> OutBuffer {
        let mut out = OutBuffer::default();
        out.extend_from_slice(b"ab");
        out.push_bytes(Bytes::from(vec![b'x'; ZERO_COPY_MIN]));
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
}
