//! wsproto: a Sans-I/O WebSocket implementation.
#![warn(missing_docs)]

pub mod proto;

pub use proto::{
    AcceptConnection, BytesMessage, CloseCode, CloseConnection, Config, Connection, Event,
    LocalProtocolError, Ping, Pong, RejectConnection, RejectData, RemoteProtocolError, Request,
    Role, State, TextMessage, WsConnection,
};
