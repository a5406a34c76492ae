//! The tokio shim: tokio's `TcpStream` adapted to `futures-io` by
//! `tokio-util`'s compat layer.

use tokio::net::TcpStream;
use tokio_util::compat::{Compat, TokioAsyncReadCompatExt};

use crate::proto::{AcceptConnection, Request};
use crate::ws::{self, Config, Error, Rejection, Response, WebSocket};

/// A tokio TCP stream as a `futures-io` stream.
pub type TokioTcp = Compat<TcpStream>;

/// Connects to a `ws://` URL and performs the client handshake.
pub async fn connect(url: &str) -> Result<(WebSocket<TokioTcp>, Response), Error> {
    connect_with_config(url, Config::default()).await
}

/// [`connect`] with a [`Config`].
pub async fn connect_with_config(
    url: &str,
    config: Config,
) -> Result<(WebSocket<TokioTcp>, Response), Error> {
    super::connect_with(url, config, |host, port| async move {
        let stream = TcpStream::connect((host.as_str(), port)).await?;
        stream.set_nodelay(true)?;
        Ok(stream.compat())
    })
    .await
}

/// Performs the server handshake on an accepted stream.
pub async fn accept(stream: TcpStream) -> Result<WebSocket<TokioTcp>, Error> {
    accept_with(stream, Config::default(), |_| Ok(AcceptConnection::new())).await
}

/// Performs the server handshake on an accepted stream; `decide` accepts or
/// rejects the request.
pub async fn accept_with<F>(
    stream: TcpStream,
    config: Config,
    decide: F,
) -> Result<WebSocket<TokioTcp>, Error>
where
    F: FnOnce(&Request) -> Result<AcceptConnection, Rejection>,
{
    stream.set_nodelay(true)?;
    ws::accept_with(stream.compat(), config, decide).await
}
