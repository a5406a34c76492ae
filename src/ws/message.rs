//! [`Message`]: what the async layer's `Stream` yields and its `Sink` takes.

use bytes::Bytes;

use crate::proto::{
    BytesMessage, CloseCode, CloseConnection, Event, Ping, Pong, TextMessage, Utf8Bytes,
};

/// A whole WebSocket message, or a control frame.
///
/// Payloads are reference-counted buffers: a message read from the socket
/// shares the read buffer, and sending a clone costs no copy.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Message {
    /// A text message (always valid UTF-8).
    Text(Utf8Bytes),
    /// A binary message.
    Binary(Bytes),
    /// A ping. A received ping has already been answered.
    Ping(Bytes),
    /// A pong.
    Pong(Bytes),
    /// A close frame: received (the reply is already on its way) or to send.
    /// `None` means a close without a status code.
    Close(Option<CloseFrame>),
}

/// The code and reason of a close frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloseFrame {
    /// The status code.
    pub code: CloseCode,
    /// The reason, at most 123 bytes.
    pub reason: String,
}

impl Message {
    /// A text message.
    pub fn text(text: impl Into<Utf8Bytes>) -> Message {
        Message::Text(text.into())
    }

    /// A binary message.
    pub fn binary(data: impl Into<Bytes>) -> Message {
        Message::Binary(data.into())
    }

    /// A close frame with `code` and `reason`.
    pub fn close(code: impl Into<CloseCode>, reason: impl Into<String>) -> Message {
        Message::Close(Some(CloseFrame {
            code: code.into(),
            reason: reason.into(),
        }))
    }

    /// Whether this is a text or binary message (not a control frame).
    pub fn is_data(&self) -> bool {
        matches!(self, Message::Text(_) | Message::Binary(_))
    }

    /// The payload as bytes (the reason for a close).
    pub fn into_data(self) -> Bytes {
        match self {
            Message::Text(t) => t.into_bytes(),
            Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b,
            Message::Close(None) => Bytes::new(),
            Message::Close(Some(f)) => Bytes::from(f.reason),
        }
    }

    /// The payload length in bytes.
    pub fn len(&self) -> usize {
        match self {
            Message::Text(t) => t.len(),
            Message::Binary(b) | Message::Ping(b) | Message::Pong(b) => b.len(),
            Message::Close(f) => f.as_ref().map_or(0, |f| 2 + f.reason.len()),
        }
    }

    /// Whether the payload is empty.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn into_event(self) -> Event {
        match self {
            Message::Text(t) => TextMessage::new(t).into(),
            Message::Binary(b) => BytesMessage::new(b).into(),
            Message::Ping(p) => Ping::new(p).into(),
            Message::Pong(p) => Pong::new(p).into(),
            Message::Close(None) => CloseConnection::new(CloseCode::NO_STATUS_RCVD, "").into(),
            Message::Close(Some(f)) => CloseConnection::new(f.code, f.reason).into(),
        }
    }
}

impl From<String> for Message {
    fn from(s: String) -> Message {
        Message::Text(s.into())
    }
}

impl From<&str> for Message {
    fn from(s: &str) -> Message {
        Message::Text(s.into())
    }
}

impl From<Utf8Bytes> for Message {
    fn from(s: Utf8Bytes) -> Message {
        Message::Text(s)
    }
}

impl From<Bytes> for Message {
    fn from(b: Bytes) -> Message {
        Message::Binary(b)
    }
}

impl From<Vec<u8>> for Message {
    fn from(b: Vec<u8>) -> Message {
        Message::Binary(b.into())
    }
}
