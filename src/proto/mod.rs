//! The Sans-I/O core: the WebSocket protocol as a state machine that turns
//! received bytes into [`Event`]s and sent events into bytes.
//!
//! Nothing here touches a socket, a clock or an executor. Bytes go in with
//! `receive_bytes` (and `receive_eof`), events come out of `next_event` /
//! `events`, the application calls `send`, and the bytes to write come out of
//! `bytes_to_send`. [`WsConnection`] runs the HTTP/1.1 opening handshake and
//! then the frame engine, [`Connection`], which is also usable on its own
//! where the handshake happens elsewhere: [`h2`] runs the HTTP/2 (RFC 8441)
//! and HTTP/3 (RFC 9220) handshake as header lists and opens one.

pub(crate) mod align;
mod body;
pub mod close;
mod connection;
mod entropy;
pub mod error;
pub mod events;
pub mod extensions;
pub mod frame;
pub mod h2;
pub mod handshake;
#[cfg(feature = "http")]
mod http;
pub mod mask;
mod outbuf;
pub(crate) mod recycle;
pub mod upgrade;
mod utf8;
mod ws_connection;

pub use close::CloseCode;
pub use connection::{Connection, Events, PayloadBuf};
pub use error::{Answer, LocalProtocolError, RemoteProtocolError};
pub use events::{
    AcceptConnection, BytesMessage, CloseConnection, Event, Header, Ping, Pong, RejectConnection,
    RejectData, Request, TextMessage, Utf8Bytes,
};
#[cfg(feature = "deflate")]
pub use extensions::permessage_deflate::{DeflateConfig, PerMessageDeflate};
pub use extensions::{Extension, ExtensionParams};
pub use upgrade::{AcceptedUpgrade, ClientUpgrade, ServerUpgrade, UpgradeError};
pub use ws_connection::WsConnection;

/// A deterministic xorshift stream, for tests that need varied input
/// (split points, incompressible bytes) reproducibly.
#[cfg(test)]
pub(crate) fn rng(seed: u64) -> impl FnMut() -> u64 {
    let mut state = seed | 1;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        state
    }
}

/// Which end of the connection this is. Clients mask what they send and
/// start the handshake; servers answer it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// The side that sends the opening request.
    Client,
    /// The side that accepts it.
    Server,
}

/// The state of a connection, as in Python wsproto's `ConnectionState`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// The opening handshake is under way.
    Connecting,
    /// Messages flow both ways.
    Open,
    /// We sent a close frame and wait for the peer's.
    LocalClosing,
    /// The peer sent a close frame; our reply is queued but not yet taken
    /// by `bytes_to_send`.
    RemoteClosing,
    /// The connection is over: the close handshake finished, the transport
    /// ended, or the connection failed. A server should now close the
    /// transport; a client should wait briefly for the server to do so.
    Closed,
    /// The handshake was refused and the rejection body is in transit.
    Rejecting,
}

/// Limits and switches for a connection. Every limit protects memory or CPU
/// from a peer; the defaults accept anything a reasonable peer sends.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// The largest frame payload accepted (default 16 MiB); larger → 1009.
    pub max_frame_size: usize,
    /// The largest message accepted, after extensions (default 64 MiB);
    /// larger → 1009.
    pub max_message_size: usize,
    /// The most frames one message may be split into (default 131 072);
    /// more → 1009.
    pub max_fragments: usize,
    /// The longest opening handshake head accepted (default 8 KiB); longer
    /// → 431 at a server.
    pub max_handshake_size: usize,
    /// The most headers a handshake head may have (default 64); more → 431
    /// at a server.
    pub max_headers: usize,
    /// Answer pings automatically (default on). Owed pongs coalesce: only
    /// the newest unanswered ping is answered if several arrive before the
    /// output is taken.
    pub auto_pong: bool,
    /// Extensions: offered by a client, accepted by a server if a client
    /// offers them. Each connection works on its own copy.
    pub extensions: Vec<Box<dyn Extension>>,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            max_frame_size: 16 << 20,
            max_message_size: 64 << 20,
            max_fragments: 1 << 17,
            max_handshake_size: 8 << 10,
            max_headers: 64,
            auto_pong: true,
            extensions: Vec::new(),
        }
    }
}

impl Config {
    /// Sets the frame payload limit.
    pub fn max_frame_size(mut self, bytes: usize) -> Config {
        self.max_frame_size = bytes;
        self
    }

    /// Sets the message size limit.
    pub fn max_message_size(mut self, bytes: usize) -> Config {
        self.max_message_size = bytes;
        self
    }

    /// Sets the limit on frames per message.
    pub fn max_fragments(mut self, frames: usize) -> Config {
        self.max_fragments = frames;
        self
    }

    /// Sets the handshake head size limit.
    pub fn max_handshake_size(mut self, bytes: usize) -> Config {
        self.max_handshake_size = bytes;
        self
    }

    /// Sets the handshake header count limit.
    pub fn max_headers(mut self, headers: usize) -> Config {
        self.max_headers = headers;
        self
    }

    /// Switches automatic pongs on or off.
    pub fn auto_pong(mut self, on: bool) -> Config {
        self.auto_pong = on;
        self
    }

    /// The same limits and switches, with no extension.
    pub(crate) fn without_extensions(&self) -> Config {
        self.with_extensions(Vec::new())
    }

    /// Adds an extension to offer (client) or accept (server).
    pub fn extension(mut self, extension: Box<dyn Extension>) -> Config {
        self.extensions.push(extension);
        self
    }

    /// Offers (client) or accepts (server) permessage-deflate (RFC 7692).
    #[cfg(feature = "deflate")]
    pub fn deflate(self, config: extensions::permessage_deflate::DeflateConfig) -> Config {
        self.extension(Box::new(
            extensions::permessage_deflate::PerMessageDeflate::new(config),
        ))
    }

    /// The same limits with other extensions.
    fn with_extensions(&self, extensions: Vec<Box<dyn Extension>>) -> Config {
        Config {
            max_frame_size: self.max_frame_size,
            max_message_size: self.max_message_size,
            max_fragments: self.max_fragments,
            max_handshake_size: self.max_handshake_size,
            max_headers: self.max_headers,
            auto_pong: self.auto_pong,
            extensions,
        }
    }
}
