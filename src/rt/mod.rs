//! Runtime shims: TCP connect by URL and accept on a listener's stream, for
//! smol (default), async-std and tokio. Each is a thin adapter that hands a
//! byte stream to [`crate::ws`]; none knows anything of frames.

#[cfg(feature = "async-std")]
pub mod async_std;
#[cfg(feature = "smol")]
pub mod smol;
#[cfg(feature = "tokio")]
pub mod tokio;
mod url;

pub use url::WsUrl;

use std::future::Future;
use std::io;

use futures_io::{AsyncRead, AsyncWrite};

use crate::proto::Request;
use crate::ws::{self, Config, Error, Response, WebSocket};

/// Parses `url`, dials its host and port with `dial`, and runs the client
/// handshake over the stream: the part of `connect` every shim shares.
pub(crate) async fn connect_with<S, F, Fut>(
    url: &str,
    config: Config,
    dial: F,
) -> Result<(WebSocket<S>, Response), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(String, u16) -> Fut,
    Fut: Future<Output = io::Result<S>>,
{
    let url = WsUrl::parse(url)?;
    if url.secure {
        return Err(Error::Url(format!(
            "{url}: wss:// needs TLS, which this build does not include (enable the TLS feature once it exists)"
        )));
    }
    let stream = dial(url.host.clone(), url.port).await?;
    ws::client_with_config(
        stream,
        Request::new(url.host_header(), url.target.clone()),
        config,
    )
    .await
}
