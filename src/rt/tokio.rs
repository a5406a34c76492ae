//! The tokio shim: tokio's `TcpStream` adapted to `futures-io` by
//! `tokio-util`'s compat layer.

use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

/// A tokio TCP stream as a `futures-io` stream.
pub type TokioTcp = Compat<tokio::net::TcpStream>;

tcp_shim!(socket: tokio::net::TcpStream, stream: TokioTcp, wrap: TokioAsyncReadCompatExt::compat);
