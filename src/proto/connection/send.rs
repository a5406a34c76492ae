//! The send side of [`Connection`]: events to frames, and the output queue
//! the transport drains.

use std::io::IoSlice;

use bytes::{Bytes, BytesMut};

use super::{Connection, TxMessage};
use crate::proto::close::{CloseCode, MAX_REASON_LEN, write_close_payload};
use crate::proto::error::LocalProtocolError;
use crate::proto::events::Event;
use crate::proto::frame::{FrameHeader, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN, OpCode, Rsv};
use crate::proto::{Role, State};
use crate::trace::{ws_debug, ws_trace};

impl Connection {
    /// Sends an event: a message (or fragment), a ping, a pong or a close.
    /// Handshake events are refused; use [`crate::proto::WsConnection`] for those.
    pub fn send(&mut self, event: impl Into<Event>) -> Result<(), LocalProtocolError> {
        let result = self.send_event(event.into());
        if let Err(e) = &result {
            // The application's mistake, and it is told so by the error.
            ws_debug!("refused to send: {e}");
        }
        result
    }

    #[inline]
    fn send_event(&mut self, event: Event) -> Result<(), LocalProtocolError> {
        match event {
            Event::TextMessage(m) => {
                self.send_data(OpCode::Text, m.data.into_bytes(), m.message_finished)
            }
            Event::BytesMessage(m) => self.send_data(OpCode::Binary, m.data, m.message_finished),
            Event::Ping(p) => self.send_control(OpCode::Ping, p.payload, "Ping"),
            Event::Pong(p) => self.send_control(OpCode::Pong, p.payload, "Pong"),
            Event::CloseConnection(c) => self.send_close(c.code, &c.reason),
            other => Err(LocalProtocolError::WrongState {
                event: other.name(),
                state: self.state,
            }),
        }
    }

    #[inline]
    fn send_data(
        &mut self,
        opcode: OpCode,
        data: Bytes,
        fin: bool,
    ) -> Result<(), LocalProtocolError> {
        if self.state != State::Open {
            let event = if opcode == OpCode::Text {
                "TextMessage"
            } else {
                "BytesMessage"
            };
            return Err(LocalProtocolError::WrongState {
                event,
                state: self.state,
            });
        }
        let (wire_opcode, mut rsv, transformed_by) = match self.tx_message {
            Some(m) if m.opcode != opcode => return Err(LocalProtocolError::MessageTypeMismatch),
            Some(m) => (OpCode::Continuation, Rsv::NONE, m.transformed_by),
            None => {
                let mut rsv = Rsv::NONE;
                let mut by = 0u32;
                for (i, ext) in self.config.extensions.iter_mut().enumerate() {
                    let bits = ext.begin_outbound(opcode, &data);
                    if !bits.is_empty() {
                        rsv = rsv | bits;
                        by |= 1 << i;
                    }
                }
                (opcode, rsv, by)
            }
        };
        let mut data = data;
        for (i, ext) in self.config.extensions.iter_mut().enumerate() {
            if transformed_by & (1 << i) != 0 {
                data = ext.encode(data, fin);
            }
        }
        if wire_opcode == OpCode::Continuation {
            rsv = Rsv::NONE;
        }
        if fin {
            ws_trace!("sent a {opcode:?} message");
        }
        self.tx_message = (!fin).then_some(TxMessage {
            opcode,
            transformed_by,
        });
        self.write_frame(fin, rsv, wire_opcode, data);
        Ok(())
    }

    fn send_control(
        &mut self,
        opcode: OpCode,
        payload: Bytes,
        event: &'static str,
    ) -> Result<(), LocalProtocolError> {
        if self.state != State::Open {
            return Err(LocalProtocolError::WrongState {
                event,
                state: self.state,
            });
        }
        if payload.len() > MAX_CONTROL_PAYLOAD {
            return Err(LocalProtocolError::ControlPayloadTooLong(payload.len()));
        }
        self.write_frame(true, Rsv::NONE, opcode, payload);
        Ok(())
    }

    fn send_close(&mut self, code: CloseCode, reason: &str) -> Result<(), LocalProtocolError> {
        if self.state != State::Open {
            // The close handshake is already under way (or done): a second
            // close is a no-op, so code written for "reply to a close" works.
            return Ok(());
        }
        let code = if code == CloseCode::NO_STATUS_RCVD && reason.is_empty() {
            None
        } else if code.is_allowed_on_wire() {
            Some(code)
        } else {
            return Err(LocalProtocolError::InvalidCloseCode(code.0));
        };
        if reason.len() > MAX_REASON_LEN {
            return Err(LocalProtocolError::ControlPayloadTooLong(reason.len() + 2));
        }
        ws_debug!("close sent: {}", code.unwrap_or(CloseCode::NO_STATUS_RCVD));
        self.write_close(code, reason);
        self.state = State::LocalClosing;
        Ok(())
    }

    /// Queues a close frame, after any pong owed for an earlier ping.
    pub(super) fn write_close(&mut self, code: Option<CloseCode>, reason: &str) {
        let mut payload = BytesMut::with_capacity(2 + reason.len());
        write_close_payload(&mut payload, code, reason);
        self.write_frame(true, Rsv::NONE, OpCode::Close, payload.freeze());
    }

    /// Queues one frame, after any pong owed for an earlier ping.
    #[inline]
    fn write_frame(&mut self, fin: bool, rsv: Rsv, opcode: OpCode, payload: Bytes) {
        self.flush_pong();
        self.encode_frame(fin, rsv, opcode, payload);
    }

    /// Encodes one frame into the output, masking it on the client side.
    fn encode_frame(&mut self, fin: bool, rsv: Rsv, opcode: OpCode, payload: Bytes) {
        let mask = match self.role {
            Role::Client => Some(crate::proto::entropy::mask_key()),
            Role::Server => None,
        };
        let header = FrameHeader {
            fin,
            rsv,
            opcode,
            mask,
            payload_len: payload.len() as u64,
        };
        let mut head = [0u8; MAX_HEADER_LEN];
        let head_len = header.encode(&mut head);
        self.out.push_frame(&head[..head_len], payload, mask);
    }

    /// Moves an owed automatic pong into the output, keeping it ahead of
    /// anything sent after the ping was received.
    #[inline]
    fn flush_pong(&mut self) {
        // Asked before every frame sent; mostly no pong is owed.
        if self.pending_pong.is_some() {
            self.write_pending_pong();
        }
    }

    /// [`Self::flush_pong`] with a pong owed.
    fn write_pending_pong(&mut self) {
        if let Some(payload) = self.pending_pong.take() {
            if self.state == State::Open {
                self.encode_frame(true, Rsv::NONE, OpCode::Pong, payload);
            }
        }
    }

    /// Whether anything waits to be sent.
    #[inline]
    pub fn has_bytes_to_send(&self) -> bool {
        !self.out.is_empty() || (self.pending_pong.is_some() && self.state == State::Open)
    }

    /// How many bytes wait to be sent (excluding an owed automatic pong).
    pub fn buffered_output(&self) -> usize {
        self.out.len()
    }

    /// Takes the bytes to send to the peer.
    pub fn bytes_to_send(&mut self) -> Bytes {
        self.flush_pong();
        let out = self.out.take_all();
        self.after_drain();
        out
    }

    /// Appends the bytes to send to `buf`, for writers that own a buffer.
    pub fn bytes_to_send_into(&mut self, buf: &mut Vec<u8>) {
        self.flush_pong();
        self.out.take_into(buf);
        self.after_drain();
    }

    /// Fills `dst` with the pending output as slices, for a vectored write,
    /// without copying; returns how many slices were filled. Report what was
    /// written with [`Self::advance_output`].
    ///
    /// An owed automatic pong joins the output only once everything queued
    /// before it is written, so while the peer does not read, a ping flood
    /// keeps replacing one pending pong instead of piling pongs up.
    pub fn output_vectored<'a>(&'a mut self, dst: &mut [IoSlice<'a>]) -> usize {
        if self.out.is_empty() {
            self.flush_pong();
        }
        self.out.chunks_vectored(dst)
    }

    /// Drops the first `n` bytes of pending output, which were written.
    ///
    /// # Panics
    /// If `n` exceeds [`Self::buffered_output`].
    pub fn advance_output(&mut self, n: usize) {
        self.out.advance(n);
        self.after_drain();
    }

    /// Once the reply to a peer's close has been handed over, the
    /// connection is closed.
    fn after_drain(&mut self) {
        if self.state == State::RemoteClosing && self.out.is_empty() {
            ws_debug!("close reply handed over; connection closed");
            self.state = State::Closed;
        }
    }
}
