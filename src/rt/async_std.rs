//! The async-std shim. async-std is discontinued upstream; this shim is kept
//! thin for the applications that still run on it.

tcp_shim!(socket: async_std::net::TcpStream, stream: async_std::net::TcpStream, wrap: std::convert::identity);
