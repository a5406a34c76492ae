//! The async layer: a [`WebSocket`] over any `futures-io` byte stream, as a
//! `Stream` and a `Sink` of [`Message`]s, with handshake futures.
//!
//! It adds no protocol logic: every byte goes through the same
//! [`crate::proto::Connection`] a Sans-I/O user drives. It knows nothing of
//! any runtime either; the shims in [`crate::rt`] connect it to sockets.

mod config;
mod driver;
mod error;
mod handshake;
mod message;
pub(crate) mod pace;
mod partial;
mod readbuf;
mod socket;
mod split;
mod timer;

pub use config::Config;
pub use error::{Error, Rejection, TimeoutKind, TlsError, TlsErrorKind};
pub use handshake::{
    PendingAccept, Response, accept, accept_with, client, client_with_config, read_request,
};
pub(crate) use handshake::{client_handshake, within as within_handshake};
pub use message::{CloseFrame, Message};
pub use socket::WebSocket;
pub use split::{ReadHalf, WriteHalf};
