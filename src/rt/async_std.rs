//! The async-std shim. async-std is discontinued upstream; this shim is kept
//! thin for the applications that still run on it.

use super::YieldingStream;

/// An async-std TCP stream, read through a [`YieldingStream`].
pub type AsyncStdTcp = YieldingStream<async_std::net::TcpStream>;

tcp_shim!(socket: async_std::net::TcpStream, stream: AsyncStdTcp, wrap: YieldingStream::new);
