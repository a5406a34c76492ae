//! Reading a large frame's payload straight into the buffer it is gathered
//! in, skipping the copy out of the transport's own read buffer.

use std::fmt;
use std::ops::{Deref, DerefMut};

use super::Connection;
use super::gather::Masking;

impl Connection {
    /// Room to read the rest of the data frame being gathered straight into
    /// (in whole-frame mode, see [`Self::set_whole_frames`]), instead of
    /// into a read buffer and then [`Self::receive_bytes`], which copies.
    ///
    /// Offered only while nothing else is buffered, some of the frame has
    /// been gathered already (and, for text, found valid so far), and at
    /// least `at_least` of its payload bytes are still to come: pass the size of your own read buffer, so that
    /// frames it holds at once (and the headers after them) still come in
    /// one read. The room never runs past the frame's end, and grows with
    /// what has arrived, as gathering does, not with the header's claim
    /// (a frame gathered in the read buffer it started in has room for all
    /// of its rest from the start: see [`Self::receive_owned`]).
    ///
    /// Read into it, then call [`PayloadBuf::filled`] with the count read;
    /// dropping it unfilled receives nothing.
    #[inline]
    pub fn payload_buf(&mut self, at_least: usize) -> Option<PayloadBuf<'_>> {
        // Asked before every read; mostly no frame is being gathered.
        if self.gathered.is_empty() {
            return None;
        }
        self.gathered_room(at_least)
    }

    /// [`Self::payload_buf`] while a frame is being gathered.
    fn gathered_room(&mut self, at_least: usize) -> Option<PayloadBuf<'_>> {
        if !self.accepts_input()
            || !self.in_buf.is_empty()
            || !self.kept.is_empty()
            || self.gathered.invalid()
        {
            return None;
        }
        let remaining = self.rx_frame.as_ref()?.remaining;
        let remaining = usize::try_from(remaining).unwrap_or(usize::MAX);
        if remaining == 0 || remaining < at_least {
            return None;
        }
        let len = self.gathered.prepare_room(remaining);
        Some(PayloadBuf { conn: self, len })
    }

    /// Counts the `n` bytes read into the room after the gathered payload
    /// as the frame's next ones: unmasked, judged, and taken off what the
    /// frame still owes.
    pub(super) fn commit_gathered(&mut self, n: usize) {
        let frame = self
            .rx_frame
            .as_mut()
            .expect("payload is gathered only inside a frame");
        let masking = Masking {
            key: frame.header.mask,
            offset: frame.consumed,
        };
        frame.consumed += n;
        frame.remaining -= n as u64;
        self.gathered.commit(n, masking);
    }
}

/// Room for payload bytes of the frame being gathered, from
/// [`Connection::payload_buf`]: a `&mut [u8]` to read into, then
/// [`PayloadBuf::filled`]. Until read into, it holds whatever earlier
/// messages on this thread left there (recycled memory is not zeroed), so
/// count only the bytes actually read.
pub struct PayloadBuf<'a> {
    conn: &'a mut Connection,
    len: usize,
}

impl PayloadBuf<'_> {
    /// Receives the first `n` bytes of the room, as [`Connection::receive_bytes`]
    /// would have (unmasked, and judged as UTF-8 for text); events follow
    /// from [`Connection::next_event`].
    ///
    /// # Panics
    ///
    /// If `n` exceeds the room's length.
    pub fn filled(self, n: usize) {
        assert!(
            n <= self.len,
            "{n} bytes filled into a payload buffer of {}",
            self.len
        );
        if n > 0 {
            self.conn.commit_gathered(n);
        }
    }
}

impl Deref for PayloadBuf<'_> {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        self.conn.gathered.room(self.len)
    }
}

impl DerefMut for PayloadBuf<'_> {
    fn deref_mut(&mut self) -> &mut [u8] {
        self.conn.gathered.room_mut(self.len)
    }
}

impl fmt::Debug for PayloadBuf<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PayloadBuf")
            .field("len", &self.len)
            .finish()
    }
}
