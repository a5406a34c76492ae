//! The smol shim: TCP from `async-net`, which runs on `async-io` and so works
//! under smol or any other executor.

tcp_shim!(socket: async_net::TcpStream, stream: async_net::TcpStream, wrap: std::convert::identity);
