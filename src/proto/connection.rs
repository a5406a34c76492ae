//! [`Connection`]: frames and messages on an open WebSocket, without a
//! handshake. [`super::WsConnection`] runs the HTTP/1.1 handshake and then
//! hands over to one of these; HTTP/2 (RFC 8441) and HTTP/3 (RFC 9220)
//! bootstraps, which negotiate elsewhere, start with one directly.

use bytes::{Bytes, BytesMut};

use super::error::RemoteProtocolError;
use super::events::Event;
use super::extensions::Extension;
use super::frame::{FrameHeader, OpCode, Rsv};
use super::outbuf::OutBuffer;
use super::utf8::Utf8Stream;
use super::{CloseCode, Config, Role, State};
use gather::Gather;

mod gather;
mod kept;
mod payload_buf;
mod receive;
mod send;

pub use payload_buf::PayloadBuf;

/// The frame whose payload is being read.
#[derive(Debug)]
struct RxFrame {
    header: FrameHeader,
    /// Payload bytes not yet consumed.
    remaining: u64,
    /// Payload bytes consumed so far (the masking offset).
    consumed: usize,
}

/// The data message being received.
#[derive(Debug)]
struct RxMessage {
    opcode: OpCode,
    utf8: Utf8Stream,
    /// Payload bytes announced by the frames so far (before any extension).
    wire_len: u64,
    /// Bytes delivered after extensions (what the application sees).
    delivered: usize,
    frames: usize,
    /// Extensions (by index) that transform this message.
    transformed_by: u32,
}

/// The data message being sent in fragments.
#[derive(Debug, Clone, Copy)]
struct TxMessage {
    opcode: OpCode,
    transformed_by: u32,
}

/// A WebSocket connection after the opening handshake: the frame and
/// message engine, with the same `receive_*` / `events` / `send` /
/// `bytes_to_send` surface as [`super::WsConnection`].
#[derive(Debug)]
pub struct Connection {
    role: Role,
    state: State,
    config: Config,
    in_buf: BytesMut,
    /// Whole data frames (payloads unmasked) in a read buffer the
    /// connection took over, perhaps followed by the start of one more
    /// data frame (still masked, gathered once it is reached); reported
    /// before `in_buf`: see [`Connection::receive_owned`].
    kept: Bytes,
    out: OutBuffer,
    rx_frame: Option<RxFrame>,
    rx_message: Option<RxMessage>,
    tx_message: Option<TxMessage>,
    /// The newest unanswered ping's payload. One slot, so a ping flood from a
    /// peer that does not read leaves at most one pong waiting.
    pending_pong: Option<Bytes>,
    eof: bool,
    /// Reserved bits the negotiated extensions may use.
    allowed_rsv: Rsv,
    /// Report each data frame whole (see [`Connection::set_whole_frames`]).
    whole_frames: bool,
    /// The unmasked payload of the data frame being gathered, in whole-frame
    /// mode, once it did not arrive in one piece.
    gathered: Gather,
    /// A header found bad by `receive_bytes` itself (as it gathered a
    /// frame straight from its input), to be reported by `next_event`;
    /// boxed, as every idle connection carries the field.
    deferred_failure: Option<Box<(CloseCode, String)>>,
    /// What [`Connection::read_size_hint`] reports.
    read_hint: usize,
}

impl Connection {
    /// An open connection with default limits and the given (already
    /// negotiated) extensions.
    pub fn new(role: Role, extensions: Vec<Box<dyn Extension>>) -> Connection {
        Connection::with_config(
            role,
            Config {
                extensions,
                ..Config::default()
            },
        )
    }

    /// An open connection with `config`; its extensions count as negotiated.
    pub fn with_config(role: Role, config: Config) -> Connection {
        Connection::from_handshake(role, config, BytesMut::new(), OutBuffer::default())
    }

    /// Continues from a handshake: `in_buf` holds bytes that followed the
    /// handshake head, `out` whatever the handshake left to send.
    pub(crate) fn from_handshake(
        role: Role,
        config: Config,
        in_buf: BytesMut,
        out: OutBuffer,
    ) -> Connection {
        let allowed_rsv = config
            .extensions
            .iter()
            .fold(Rsv::NONE, |acc, e| acc | e.rsv_bits());
        Connection {
            role,
            state: State::Open,
            config,
            // An empty rest may still be a view of the handshake's read
            // buffer: let go of it here (see `holds_nothing_to_parse`).
            in_buf: if in_buf.is_empty() {
                BytesMut::new()
            } else {
                in_buf
            },
            kept: Bytes::new(),
            out,
            rx_frame: None,
            rx_message: None,
            tx_message: None,
            pending_pong: None,
            eof: false,
            allowed_rsv,
            whole_frames: false,
            gathered: Gather::default(),
            deferred_failure: None,
            read_hint: 0,
        }
    }

    /// Reports each data frame's payload in one piece, once all of it has
    /// arrived, instead of piece by piece as it arrives (the default). Text
    /// is still judged as it arrives, so invalid UTF-8 fails the connection
    /// at once (RFC 6455 §8.1); compressed text, which is judged after
    /// inflating, still comes piece by piece.
    ///
    /// For callers that join pieces into whole messages anyway (the async
    /// layer does): a frame that arrives in several reads is then copied
    /// once, unmasked as it is copied, into a buffer sized from its header
    /// (holding at most five times what has arrived, so a header's claim
    /// alone never sizes an allocation), and never joined; the rest of it
    /// may be read straight into that buffer ([`Self::payload_buf`]),
    /// skipping even that copy, and a read handed over with
    /// [`Self::receive_owned`] may become that buffer, skipping the first. Switched off in
    /// the middle of a gathered frame, it finishes that frame first.
    /// A frame is still bounded by [`Config::max_frame_size`].
    pub fn set_whole_frames(&mut self, whole: bool) {
        self.whole_frames = whole;
    }

    /// The bytes a transport's next read should ask for so that, if the
    /// next frame is as large as the last data frame, it arrives whole in
    /// one read (header and payload, nothing after): the last data frame's
    /// size on the wire when its payload was at least 64 KiB and all of it
    /// arrived, else 0 (read as usual).
    ///
    /// For transports that read into a buffer of their own and hand it over
    /// with [`Self::receive_owned`]: a read that holds a large frame whole
    /// is kept without a copy, and one that holds its start is kept as the
    /// frame's buffer, so a stream of large messages is read one message
    /// per read without copying any of it. Only frames that arrived in full
    /// count, so a header's claim never sizes a read; cap it to what the
    /// transport is willing to hold per read all the same.
    pub fn read_size_hint(&self) -> usize {
        self.read_hint
    }

    /// Which side of the connection this is.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The connection's state.
    pub fn state(&self) -> State {
        self.state
    }

    /// The configuration, including the active extensions.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Frees what only a busy connection needs; call it when the connection
    /// has gone quiet. Today that is permessage-deflate's compressor (about
    /// 310 KiB once a message was compressed) and inflater, of which only
    /// their windows are kept (up to 32 KiB each, none where that side
    /// resets its context after every message) to rebuild them from at the
    /// next compressed message. Nothing either side sees changes. A message
    /// part-way in either direction keeps that direction's state. The
    /// async layer calls it by itself (`ws::Config::release_idle_after`).
    pub fn release_idle_memory(&mut self) {
        for extension in &mut self.config.extensions {
            extension.release_idle_memory();
        }
    }

    /// Whether [`Self::release_idle_memory`] would free anything now.
    #[inline]
    pub fn holds_idle_memory(&self) -> bool {
        self.config.extensions.iter().any(|e| e.holds_idle_memory())
    }
}

/// The iterator returned by `events()`: each item is parsed on demand from
/// the bytes received so far.
#[derive(Debug)]
pub struct Events<'a, C = Connection> {
    conn: &'a mut C,
}

impl<'a, C> Events<'a, C> {
    pub(crate) fn new(conn: &'a mut C) -> Self {
        Events { conn }
    }
}

impl Iterator for Events<'_, Connection> {
    type Item = Result<Event, RemoteProtocolError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.conn.next_event()
    }
}

impl Iterator for Events<'_, super::WsConnection> {
    type Item = Result<Event, RemoteProtocolError>;

    fn next(&mut self) -> Option<Self::Item> {
        self.conn.next_event()
    }
}

#[cfg(test)]
mod tests;
