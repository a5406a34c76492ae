//! Keeping a read buffer that holds large whole frames, so that their
//! payloads reach the application as views of it instead of copies, or
//! that starts a large frame, as that frame's own buffer.

use std::ops::Range;

use bytes::{Buf, Bytes, BytesMut};

use super::Connection;
use crate::proto::State;
use crate::proto::frame::FrameHeader;
use crate::proto::mask::apply_mask;
use crate::proto::recycle;

impl Connection {
    /// Receives the bytes read into `buf[read]`, as
    /// [`Self::receive_bytes`]`(&buf[read])` would, but without copying
    /// large payloads: if, after the rest of a frame being gathered, the
    /// read goes on with whole data frames of at least `keep_from` payload
    /// bytes each, the connection takes `buf` (leaving an empty `Vec` in
    /// its place), unmasks those frames where they lie, and reports their
    /// payloads as views of it; a data frame the read ends inside is then
    /// gathered from it (copied once), not copied in as input first. A
    /// read that starts with such a frame (of at least `keep_from` payload
    /// bytes) and has room in `buf` for all of it is taken too, as that
    /// frame's buffer: the rest of the frame is read in after it
    /// ([`Self::payload_buf`]), and none of it is copied (size reads with
    /// [`Self::read_size_hint`] to make this the usual case for a stream of
    /// large messages). Returns whether it took `buf`.
    ///
    /// For transports that read into a buffer of their own (in whole-frame
    /// mode only, see [`Self::set_whole_frames`]; otherwise it copies like
    /// `receive_bytes`). A payload keeps the whole buffer alive until its
    /// last view is dropped, so pass a `keep_from` that bounds the waste: a
    /// quarter of the buffer, say, lets no kept message hold more than four
    /// times its size. A large buffer, taken, returns to a per-thread list
    /// of spare buffers once its last view drops; it still holds the bytes
    /// read into it.
    ///
    /// # Panics
    ///
    /// If `read` is not within `buf`.
    pub fn receive_owned(
        &mut self,
        buf: &mut Vec<u8>,
        read: Range<usize>,
        keep_from: usize,
    ) -> bool {
        let may_keep = self.whole_frames
            && self.in_buf.is_empty()
            && self.kept.is_empty()
            && (self.rx_frame.is_none() || !self.gathered.is_empty())
            && read.len() >= keep_from;
        if !may_keep || !self.accepts_input() {
            self.receive_bytes(&buf[read]);
            return false;
        }
        // The frame being gathered, if any, takes what is its own first.
        let data = &buf[read.clone()];
        let after_gathered = if self.gathered.is_empty() {
            data
        } else {
            self.gather_payload(data)
        };
        let start = read.end - after_gathered.len();
        let end = start + unmask_whole_frames(&mut buf[start..read.end], keep_from);
        if end == start {
            // No whole frame to keep; perhaps the start of a large one.
            return self.receive_frame_start(buf, start..read.end, keep_from);
        }
        // What follows the kept frames is parsed after them, in order, not
        // started here (their headers are checked only as they are
        // reported). A data frame the read ends inside stays in the buffer
        // too, its piece gathered from there once the frame is started:
        // copied once, not into the input buffer and out again.
        let tail = &buf[end..read.end];
        let kept_end = if ends_inside_data_frame(tail) {
            read.end
        } else {
            self.in_buf.extend_from_slice(tail);
            end
        };
        let mut kept = recycle::freeze(std::mem::take(buf));
        kept.truncate(kept_end);
        kept.advance(start);
        self.kept = kept;
        true
    }

    /// Receives `buf[data]`, which holds no whole frame to keep. If it is
    /// the start of a data frame of at least `keep_from` payload bytes that
    /// `buf` has room for in full, that frame is gathered in `buf` itself:
    /// the connection takes `buf`, unmasks the piece where it lies, and the
    /// rest of the frame is read in after it ([`Self::payload_buf`]), so
    /// none of it is copied. Anything else goes in as any input does.
    /// Returns whether it took `buf`.
    fn receive_frame_start(
        &mut self,
        buf: &mut Vec<u8>,
        data: Range<usize>,
        keep_from: usize,
    ) -> bool {
        let start = match FrameHeader::decode(&buf[data.clone()]) {
            Ok(Some((header, len))) if self.rx_frame.is_none() && !header.opcode.is_control() => {
                let piece = data.start + len..data.end;
                let room = buf.capacity() - piece.start;
                // (A read holding the header alone gathers nothing here.)
                let in_place = usize::try_from(header.payload_len)
                    .is_ok_and(|p| p >= keep_from && p > piece.len() && p <= room);
                (in_place && !piece.is_empty()).then_some((header, piece))
            }
            _ => None,
        };
        let Some((header, piece)) = start else {
            self.receive_bytes(&buf[data]);
            return false;
        };
        if !self.start_first_frame(header) {
            return false;
        }
        if !self.begin_gathering() {
            // Compressed text: inflated (and judged) piece by piece.
            self.in_buf.extend_from_slice(&buf[piece]);
            return false;
        }
        self.gathered.adopt(std::mem::take(buf), piece.start);
        // The piece counts as if read into the frame's room.
        self.commit_gathered(piece.len());
        true
    }

    /// Takes the next kept frame: a whole one's header and payload (already
    /// unmasked), or the frame the read ended inside, header and piece as
    /// read.
    pub(super) fn next_kept(&mut self) -> KeptFrame {
        let (header, len) = FrameHeader::decode(&self.kept)
            .ok()
            .flatten()
            .expect("kept frames have whole headers");
        if header.payload_len > (self.kept.len() - len) as u64 {
            return KeptFrame::Piece(std::mem::take(&mut self.kept));
        }
        self.kept.advance(len);
        let payload = self.kept.split_to(header.payload_len as usize);
        KeptFrame::Whole(header, payload)
    }

    /// Starts the frame a kept read ended inside as a read that begins
    /// with it would ([`Self::start_from_read`]): its piece is gathered
    /// straight from the kept buffer, or, where it is not gathered, goes in
    /// as input ahead of what was received after it.
    pub(super) fn start_kept_piece(&mut self, piece: &[u8]) {
        let rest = self.start_from_read(piece);
        if !rest.is_empty() {
            let mut input = BytesMut::with_capacity(rest.len() + self.in_buf.len());
            input.extend_from_slice(rest);
            input.extend_from_slice(&self.in_buf);
            self.in_buf = input;
        }
    }

    /// Whether received bytes are still taken in (not after the peer's
    /// close, a bad header, or the end of the transport).
    pub(super) fn accepts_input(&self) -> bool {
        !matches!(self.state, State::Closed | State::RemoteClosing)
            && !self.eof
            && self.deferred_failure.is_none()
    }
}

/// A frame taken from a kept read.
pub(super) enum KeptFrame {
    /// A whole data frame and its unmasked payload.
    Whole(FrameHeader, Bytes),
    /// The data frame the read ended inside: its header and piece as read.
    Piece(Bytes),
}

/// Whether `tail` is the start of a single data frame that runs past it.
fn ends_inside_data_frame(tail: &[u8]) -> bool {
    matches!(
        FrameHeader::decode(tail),
        Ok(Some((header, len)))
            if !header.opcode.is_control() && header.payload_len > (tail.len() - len) as u64
    )
}

/// Unmasks the whole data frames of at least `keep_from` payload bytes
/// that `data` starts with, in place; returns the bytes they span.
fn unmask_whole_frames(data: &mut [u8], keep_from: usize) -> usize {
    let mut at = 0;
    while let Ok(Some((header, len))) = FrameHeader::decode(&data[at..]) {
        let payload_len = header.payload_len;
        if header.opcode.is_control()
            || payload_len < keep_from as u64
            || payload_len > (data.len() - at - len) as u64
        {
            break;
        }
        let payload = at + len..at + len + payload_len as usize;
        if let Some(key) = header.mask {
            apply_mask(&mut data[payload.clone()], key, 0);
        }
        at = payload.end;
    }
    at
}

#[cfg(test)]
mod tests;
