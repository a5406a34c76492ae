//! The receive side of [`Connection`]: taking bytes in, gathering frames,
//! parsing them into events, and failing the connection on a violation.

use bytes::{Buf, Bytes, BytesMut};

use super::gather::Masking;
use super::kept::KeptFrame;
use super::{Connection, Events, RxFrame, RxMessage};
use crate::proto::close::{BadClosePayload, CloseCode, MAX_REASON_LEN, parse_close_payload};
use crate::proto::error::{Answer, RemoteProtocolError};
use crate::proto::events::{
    BytesMessage, CloseConnection, Event, Ping, Pong, TextMessage, Utf8Bytes,
};
use crate::proto::frame::{FrameHeader, OpCode};
use crate::proto::mask::apply_mask;
use crate::proto::recycle;
use crate::proto::utf8::Utf8Stream;
use crate::proto::{Role, State};
use crate::trace::{ws_debug, ws_trace};

/// The reason given when a text message is not UTF-8.
const TEXT_NOT_UTF8: &str = "text message is not valid UTF-8";

impl Connection {
    /// Feeds bytes received from the peer. They are parsed lazily, by
    /// [`Self::next_event`], except in whole-frame mode, where the header of
    /// a frame that starts `data` is checked here already, and its payload
    /// gathered (unmasked) if it runs past `data`; either way events,
    /// failures included, come only from `next_event`. Bytes arriving after the peer's close frame, after a
    /// bad header, or after the connection closed are discarded.
    pub fn receive_bytes(&mut self, data: &[u8]) {
        if !self.accepts_input() {
            return;
        }
        let rest = if !self.in_buf.is_empty() || !self.kept.is_empty() {
            data
        } else if !self.gathered.is_empty() {
            // The frame being gathered continues: straight into its buffer.
            self.gather_payload(data)
        } else {
            self.start_from_read(data)
        };
        if self.in_buf.capacity() == 0 && !rest.is_empty() {
            // The usual case (the buffer is let go of once drained): a
            // buffer made to measure skips `reserve`'s bookkeeping, about
            // a hundred instructions per small message.
            self.in_buf = BytesMut::from(rest);
        } else {
            self.in_buf.extend_from_slice(rest);
        }
    }

    /// With nothing buffered (whole-frame mode), the frame that starts
    /// `data` is started here, so `next_event` need not decode its header
    /// again; a data frame that runs past the end of `data` is gathered from
    /// `data` itself rather than first copied into the input buffer (and
    /// then out again). Returns what is left for the input buffer.
    pub(super) fn start_from_read<'d>(&mut self, data: &'d [u8]) -> &'d [u8] {
        if !self.whole_frames || self.rx_frame.is_some() {
            return data;
        }
        let Ok(Some((header, len))) = FrameHeader::decode(data) else {
            // Incomplete, or bad: `next_event` decodes it again and fails.
            return data;
        };
        if !self.start_first_frame(header) {
            return &[];
        }
        let payload = &data[len..];
        if header.opcode.is_control()
            || header.payload_len <= payload.len() as u64
            || !gatherable(self.whole_frames, self.rx_message.as_ref())
        {
            // Whole here (cut out of the input buffer without a copy), or
            // not gathered at all.
            return payload;
        }
        self.gather_payload(payload)
    }

    /// Starts the frame that begins a read with nothing before it; a bad
    /// header is kept for `next_event` to report first thing. Returns
    /// whether the frame started.
    pub(super) fn start_first_frame(&mut self, header: FrameHeader) -> bool {
        match self.start_frame(header) {
            Ok(()) => true,
            Err(failure) => {
                self.deferred_failure = Some(Box::new(failure));
                false
            }
        }
    }

    /// Copies (and unmasks) the part of `data` that belongs to the frame
    /// being gathered into its buffer; returns the rest.
    pub(super) fn gather_payload<'d>(&mut self, data: &'d [u8]) -> &'d [u8] {
        let (Some(frame), Some(msg)) = (&mut self.rx_frame, &self.rx_message) else {
            return data;
        };
        let n = usize::try_from(frame.remaining).map_or(data.len(), |r| r.min(data.len()));
        if n == 0 {
            return data;
        }
        let (payload, rest) = data.split_at(n);
        if self.gathered.is_empty() {
            self.gathered.begin(text_state(msg));
        }
        let still_to_come = usize::try_from(frame.remaining).unwrap_or(usize::MAX) - n;
        let masking = Masking {
            key: frame.header.mask,
            offset: frame.consumed,
        };
        self.gathered.append(payload, masking, still_to_come);
        frame.consumed += n;
        frame.remaining -= n as u64;
        rest
    }

    /// Readies the gathering of the data frame just started, if it is
    /// gathered (see `gatherable`); returns whether it is.
    pub(super) fn begin_gathering(&mut self) -> bool {
        let msg = self.rx_message.as_ref();
        if !gatherable(self.whole_frames, msg) {
            return false;
        }
        self.gathered.begin(msg.and_then(text_state));
        true
    }

    /// Reports that the peer closed its side of the transport. If the close
    /// handshake has not finished, [`Self::next_event`] reports a
    /// `CloseConnection` with code 1006 after the buffered events.
    pub fn receive_eof(&mut self) {
        self.eof = true;
    }

    /// How many received bytes wait to be parsed or reported.
    pub fn buffered_input(&self) -> usize {
        self.kept.len() + self.in_buf.len() + self.gathered.len()
    }

    /// An iterator over the events in the bytes received so far.
    ///
    /// It borrows the connection; to answer events as they come (calling
    /// [`Self::send`] between them) loop over [`Self::next_event`] instead.
    pub fn events(&mut self) -> Events<'_> {
        Events { conn: self }
    }

    /// Parses and returns the next event, or `None` when more bytes are
    /// needed (or the connection is closed).
    #[inline]
    pub fn next_event(&mut self) -> Option<Result<Event, RemoteProtocolError>> {
        // Asked after every message whether another one is buffered, the
        // answer is mostly no: said here without a call.
        if self.holds_nothing_to_parse() {
            return None;
        }
        self.parse_next_event()
    }

    /// Nothing is buffered, owed or pending that could make an event (nor
    /// any input buffer to let go of): what `parse_next_event` would find
    /// out the long way.
    ///
    /// An empty input buffer without capacity may still hold its storage
    /// (an empty view of a larger buffer, or one advanced to its end); so
    /// the buffer is let go of wherever it empties (`advance_input`,
    /// `take_front`, a handshake's empty rest in `from_handshake`), and
    /// this check can trust an empty buffer without capacity to hold
    /// nothing.
    #[inline]
    fn holds_nothing_to_parse(&self) -> bool {
        self.in_buf.is_empty()
            && self.in_buf.capacity() == 0
            && self.kept.is_empty()
            && self.rx_frame.is_none()
            && self.deferred_failure.is_none()
            && !self.eof
    }

    fn parse_next_event(&mut self) -> Option<Result<Event, RemoteProtocolError>> {
        loop {
            if let Some(failure) = self.deferred_failure.take() {
                let (code, msg) = *failure;
                return self.fail(code, msg);
            }
            if matches!(self.state, State::Closed | State::RemoteClosing) {
                return None;
            }
            let Some(frame) = &mut self.rx_frame else {
                if !self.kept.is_empty() {
                    match self.next_kept() {
                        // Whole, unmasked already: see `receive_owned`.
                        KeptFrame::Whole(header, payload) => {
                            // Checked as any header is, but never started:
                            // the frame is over once reported.
                            if let Err((code, msg)) = self.check_header(&header) {
                                return self.fail(code, msg);
                            }
                            self.note_finished(&header);
                            match self.on_data(payload, true, header.fin, None) {
                                Ok(Some(event)) => return Some(Ok(event)),
                                Ok(None) => continue,
                                Err((code, msg)) => return self.fail(code, msg),
                            }
                        }
                        KeptFrame::Piece(piece) => {
                            self.start_kept_piece(&piece);
                            continue;
                        }
                    }
                }
                match FrameHeader::decode(&self.in_buf) {
                    Err(e) => return self.fail(CloseCode::PROTOCOL_ERROR, e.to_string()),
                    Ok(None) => return self.starved(),
                    Ok(Some((header, len))) => {
                        self.advance_input(len);
                        if let Err((code, msg)) = self.start_frame(header) {
                            return self.fail(code, msg);
                        }
                        continue;
                    }
                }
            };
            let header = frame.header;
            if header.opcode.is_control() {
                let len = header.payload_len as usize;
                if self.in_buf.len() < len {
                    return self.starved();
                }
                // Copied out (125 bytes at most): an owed pong must not keep
                // a whole read's buffer alive, as it would for a peer that
                // floods pings and never reads.
                let mut payload = BytesMut::from(&self.in_buf[..len]);
                self.advance_input(len);
                if let Some(key) = header.mask {
                    apply_mask(&mut payload, key, 0);
                }
                self.rx_frame = None;
                return self.on_control(header.opcode, payload.freeze());
            }
            let available = (self.in_buf.len() as u64).min(frame.remaining) as usize;
            let whole_here = available as u64 == frame.remaining && self.gathered.is_empty();
            // A frame already being gathered is finished that way even if
            // whole-frame mode was switched off since.
            let gather = !self.gathered.is_empty()
                || (!whole_here
                    && available > 0
                    && gatherable(self.whole_frames, self.rx_message.as_ref()));
            let mut checked_utf8 = None;
            let chunk = if gather {
                // Gather: nothing is reported before the frame is complete.
                let buffered = take_front(&mut self.in_buf, available);
                self.gather_payload(&buffered);
                if self.gathered.invalid() {
                    return self.fail(CloseCode::INVALID_PAYLOAD, TEXT_NOT_UTF8.into());
                }
                if self.rx_frame.as_ref().is_some_and(|f| f.remaining > 0) {
                    return self.starved();
                }
                let (payload, utf8) = self.gathered.freeze();
                checked_utf8 = utf8;
                payload
            } else {
                if available == 0 && frame.remaining > 0 {
                    return self.starved();
                }
                // Zero copy: the piece is cut out of the input buffer.
                let mut chunk = take_front(&mut self.in_buf, available);
                if let Some(key) = header.mask {
                    apply_mask(&mut chunk, key, frame.consumed);
                }
                frame.consumed += available;
                frame.remaining -= available as u64;
                chunk.freeze()
            };
            let frame_finished = self.rx_frame.as_ref().is_none_or(|f| f.remaining == 0);
            if frame_finished {
                self.rx_frame = None;
                self.note_finished(&header);
            }
            match self.on_data(chunk, frame_finished, header.fin, checked_utf8) {
                Ok(Some(event)) => return Some(Ok(event)),
                Ok(None) => continue,
                Err((code, msg)) => return self.fail(code, msg),
            }
        }
    }

    /// Drops `n` parsed bytes from the front of the input buffer. One
    /// advanced to its end still holds its storage, so it is let go of at
    /// once (see `holds_nothing_to_parse`).
    fn advance_input(&mut self, n: usize) {
        self.in_buf.advance(n);
        if self.in_buf.is_empty() {
            self.in_buf = BytesMut::new();
        }
    }

    /// No complete frame (or payload piece) is buffered.
    fn starved(&mut self) -> Option<Result<Event, RemoteProtocolError>> {
        if !self.eof {
            if self.in_buf.is_empty() {
                // Let go of the (possibly shared) allocation, so an idle
                // connection holds no input buffer.
                self.in_buf = BytesMut::new();
            }
            return None;
        }
        // The transport ended without a close handshake.
        ws_debug!("transport ended without a close handshake (1006); connection closed");
        self.state = State::Closed;
        self.discard_input();
        self.pending_pong = None;
        Some(Ok(Event::CloseConnection(CloseConnection::new(
            CloseCode::ABNORMAL_CLOSURE,
            "",
        ))))
    }

    /// Remembers the size of a data frame that arrived in full, for
    /// [`Self::read_size_hint`].
    fn note_finished(&mut self, header: &FrameHeader) {
        self.read_hint = match usize::try_from(header.payload_len) {
            Ok(len) if len >= recycle::MIN_RECYCLED => len + header.encoded_len(),
            _ => 0,
        };
    }

    /// Starts reading the frame `header` announces, once it passes
    /// [`Self::check_header`].
    fn start_frame(&mut self, header: FrameHeader) -> Result<(), (CloseCode, String)> {
        self.check_header(&header)?;
        self.rx_frame = Some(RxFrame {
            header,
            remaining: header.payload_len,
            consumed: 0,
        });
        Ok(())
    }

    /// Validates a header against the role, the negotiated extensions, the
    /// message in progress and the limits, before any payload is read.
    fn check_header(&mut self, h: &FrameHeader) -> Result<(), (CloseCode, String)> {
        let protocol = |m: &str| Err((CloseCode::PROTOCOL_ERROR, m.to_owned()));
        match (self.role, h.mask.is_some()) {
            (Role::Server, false) => return protocol("client frame is not masked"),
            (Role::Client, true) => return protocol("server frame is masked"),
            _ => {}
        }
        if !(h.rsv & !self.allowed_rsv).is_empty() {
            return protocol("reserved bits set without a negotiated extension");
        }
        if h.opcode.is_control() {
            if !h.rsv.is_empty() {
                return protocol("reserved bits set on a control frame");
            }
            return Ok(());
        }
        let too_big = |what: &str, limit: usize| {
            Err((
                CloseCode::MESSAGE_TOO_BIG,
                format!("{what} exceeds the limit of {limit} bytes"),
            ))
        };
        if h.payload_len > self.config.max_frame_size as u64 {
            return too_big("frame", self.config.max_frame_size);
        }
        match (h.opcode, &mut self.rx_message) {
            (OpCode::Continuation, None) => {
                protocol("continuation frame without a message to continue")
            }
            (OpCode::Continuation, Some(msg)) => {
                if !h.rsv.is_empty() {
                    return protocol("reserved bits set on a continuation frame");
                }
                msg.frames += 1;
                if msg.frames > self.config.max_fragments {
                    return Err((
                        CloseCode::MESSAGE_TOO_BIG,
                        format!(
                            "message has more than {} fragments",
                            self.config.max_fragments
                        ),
                    ));
                }
                msg.wire_len += h.payload_len;
                if msg.wire_len > self.config.max_message_size as u64 {
                    return too_big("message", self.config.max_message_size);
                }
                Ok(())
            }
            (_, Some(_)) => protocol("new data frame before the previous message finished"),
            (opcode, None) => {
                if h.payload_len > self.config.max_message_size as u64 {
                    return too_big("message", self.config.max_message_size);
                }
                let mut transformed_by = 0u32;
                for (i, ext) in self.config.extensions.iter_mut().enumerate() {
                    match ext.begin_inbound(opcode, h.rsv) {
                        Ok(true) => transformed_by |= 1 << i,
                        Ok(false) => {}
                        Err(e) => return Err((e.code, e.message)),
                    }
                }
                if transformed_by == 0 && !h.rsv.is_empty() {
                    return protocol("reserved bits set but no extension claimed the message");
                }
                self.rx_message = Some(RxMessage {
                    opcode,
                    utf8: Utf8Stream::default(),
                    wire_len: h.payload_len,
                    delivered: 0,
                    frames: 1,
                    transformed_by,
                });
                Ok(())
            }
        }
    }

    /// Handles a piece of a data frame's payload. Returns the event to
    /// report, or `None` if the piece produced nothing to report yet.
    /// `checked_utf8` is the message's UTF-8 state after `data`, if a
    /// gathered text frame was already judged.
    fn on_data(
        &mut self,
        data: Bytes,
        frame_finished: bool,
        fin: bool,
        checked_utf8: Option<Utf8Stream>,
    ) -> Result<Option<Event>, (CloseCode, String)> {
        let message_finished = frame_finished && fin;
        let msg = self
            .rx_message
            .as_mut()
            .expect("a data frame belongs to a message");
        let mut data = data;
        if msg.transformed_by != 0 {
            for (i, ext) in self.config.extensions.iter_mut().enumerate().rev() {
                if msg.transformed_by & (1 << i) != 0 {
                    let room = self.config.max_message_size.saturating_sub(msg.delivered);
                    data = ext
                        .decode(data, message_finished, room)
                        .map_err(|e| (e.code, e.message))?;
                }
            }
            msg.delivered += data.len();
            if msg.delivered > self.config.max_message_size {
                return Err((
                    CloseCode::MESSAGE_TOO_BIG,
                    format!(
                        "message exceeds the limit of {} bytes",
                        self.config.max_message_size
                    ),
                ));
            }
        }
        let invalid = || (CloseCode::INVALID_PAYLOAD, TEXT_NOT_UTF8.to_owned());
        let event = match msg.opcode {
            OpCode::Text => {
                let text = match checked_utf8 {
                    Some(checked) => msg
                        .utf8
                        .take_checked(data, checked)
                        .map_err(|_| invalid())?,
                    None => msg.utf8.feed(data).map_err(|_| invalid())?,
                };
                if message_finished {
                    msg.utf8.finish().map_err(|_| invalid())?;
                }
                if text.is_empty() && !frame_finished {
                    return Ok(None);
                }
                Event::TextMessage(TextMessage {
                    data: Utf8Bytes::from_validated(text),
                    frame_finished,
                    message_finished,
                })
            }
            _ => {
                if data.is_empty() && !frame_finished {
                    return Ok(None);
                }
                Event::BytesMessage(BytesMessage {
                    data,
                    frame_finished,
                    message_finished,
                })
            }
        };
        if message_finished {
            ws_trace!(
                "received a {:?} message, {} payload bytes on the wire",
                msg.opcode,
                msg.wire_len
            );
            self.rx_message = None;
        }
        Ok(Some(event))
    }

    fn on_control(
        &mut self,
        opcode: OpCode,
        payload: Bytes,
    ) -> Option<Result<Event, RemoteProtocolError>> {
        match opcode {
            OpCode::Ping => {
                ws_trace!("ping received ({} bytes)", payload.len());
                if self.config.auto_pong && self.state == State::Open {
                    self.pending_pong = Some(payload.clone());
                }
                Some(Ok(Event::Ping(Ping { payload })))
            }
            OpCode::Pong => {
                ws_trace!("pong received ({} bytes)", payload.len());
                Some(Ok(Event::Pong(Pong { payload })))
            }
            _ => self.on_close(&payload),
        }
    }

    fn on_close(&mut self, payload: &[u8]) -> Option<Result<Event, RemoteProtocolError>> {
        let (code, reason) = match parse_close_payload(payload) {
            Ok(parsed) => parsed,
            Err(BadClosePayload::Truncated) => {
                return self.fail(
                    CloseCode::PROTOCOL_ERROR,
                    "close frame with a 1-byte payload".into(),
                );
            }
            Err(BadClosePayload::Code(c)) => {
                return self.fail(
                    CloseCode::PROTOCOL_ERROR,
                    format!("close code {c} is not allowed"),
                );
            }
            Err(BadClosePayload::Reason) => {
                return self.fail(
                    CloseCode::INVALID_PAYLOAD,
                    "close reason is not valid UTF-8".into(),
                );
            }
        };
        let event = CloseConnection::new(code, reason);
        self.discard_input();
        if self.state == State::Open {
            ws_debug!("close received: {code} {:?}; replying", event.reason);
            // Echo the code, as RFC 6455 §5.5.1 suggests; an empty close is
            // answered with an empty close.
            let reply = (code != CloseCode::NO_STATUS_RCVD).then_some(code);
            self.write_close(reply, "");
            self.state = State::RemoteClosing;
        } else {
            ws_debug!(
                "close received: {code} {:?}; connection closed",
                event.reason
            );
            self.state = State::Closed;
        }
        Some(Ok(Event::CloseConnection(event)))
    }

    /// Fails the connection (RFC 6455 §7.1.7): queues a close frame with
    /// `code` unless one was already sent, and stops reading.
    fn fail(
        &mut self,
        code: CloseCode,
        message: String,
    ) -> Option<Result<Event, RemoteProtocolError>> {
        self.discard_input();
        // The peer's bad input is the peer's fault, not a fault here: at
        // `debug`, so that no client can fill a server's warning log.
        let answer = if self.state == State::Open {
            ws_debug!("protocol error from the peer: {message}; closing with {code}");
            self.write_close(Some(code), truncate_reason(&message));
            Answer::Close(code)
        } else {
            ws_debug!("protocol error from the peer while closing: {message}; connection closed");
            Answer::Drop
        };
        self.state = State::Closed;
        Some(Err(RemoteProtocolError::new(answer, message)))
    }

    fn discard_input(&mut self) {
        self.in_buf = BytesMut::new();
        self.kept = Bytes::new();
        self.gathered.clear();
        self.rx_frame = None;
        self.rx_message = None;
    }
}

/// Whether the data frame being read is gathered (in whole-frame mode):
/// all but compressed text, whose UTF-8 can be judged only after
/// inflating, piece by piece. (A function of the two fields, so that it can
/// be asked while the frame is borrowed.)
fn gatherable(whole_frames: bool, msg: Option<&RxMessage>) -> bool {
    whole_frames && msg.is_some_and(|m| m.opcode == OpCode::Binary || m.transformed_by == 0)
}

/// The state a text message's frame is judged from as its gathering
/// starts: the message's UTF-8 state so far; `None` for binary.
fn text_state(msg: &RxMessage) -> Option<Utf8Stream> {
    (msg.opcode == OpCode::Text).then(|| msg.utf8.clone())
}

/// A reason that fits a close frame, cut at a character boundary.
fn truncate_reason(message: &str) -> &str {
    if message.len() <= MAX_REASON_LEN {
        return message;
    }
    let mut end = MAX_REASON_LEN;
    while !message.is_char_boundary(end) {
        end -= 1;
    }
    &message[..end]
}

/// Cuts the first `n` bytes out of `buf`. All of it (the usual case: one
/// message per read) is taken whole rather than split, which would first
/// move the buffer to shared storage, an allocation per message of its own.
fn take_front(buf: &mut BytesMut, n: usize) -> BytesMut {
    if n == buf.len() {
        std::mem::take(buf)
    } else {
        buf.split_to(n)
    }
}
