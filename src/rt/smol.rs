//! The smol shim: TCP from `async-net`, which runs on `async-io` and so works
//! under smol or any other executor.

use async_net::TcpStream;

use crate::proto::{AcceptConnection, Request};
use crate::ws::{self, Config, Error, Rejection, Response, WebSocket};

/// Connects to a `ws://` URL and performs the client handshake.
pub async fn connect(url: &str) -> Result<(WebSocket<TcpStream>, Response), Error> {
    connect_with_config(url, Config::default()).await
}

/// [`connect`] with a [`Config`].
pub async fn connect_with_config(
    url: &str,
    config: Config,
) -> Result<(WebSocket<TcpStream>, Response), Error> {
    super::connect_with(url, config, |host, port| async move {
        let stream = TcpStream::connect((host.as_str(), port)).await?;
        stream.set_nodelay(true)?;
        Ok(stream)
    })
    .await
}

/// Performs the server handshake on an accepted stream.
pub async fn accept(stream: TcpStream) -> Result<WebSocket<TcpStream>, Error> {
    accept_with(stream, Config::default(), |_| Ok(AcceptConnection::new())).await
}

/// Performs the server handshake on an accepted stream; `decide` accepts or
/// rejects the request.
pub async fn accept_with<F>(
    stream: TcpStream,
    config: Config,
    decide: F,
) -> Result<WebSocket<TcpStream>, Error>
where
    F: FnOnce(&Request) -> Result<AcceptConnection, Rejection>,
{
    stream.set_nodelay(true)?;
    ws::accept_with(stream, config, decide).await
}
