//! Runtime shims: TCP connect by URL and accept on a listener's stream, for
//! smol (default), async-std and tokio. Each is a thin adapter that hands a
//! byte stream to [`crate::ws`]; none knows anything of frames.

/// Writes a shim's four functions (`connect`, `connect_with_config`,
/// `accept`, `accept_with`) for a runtime's TCP type `$socket`, which `$wrap`
/// turns into the `futures-io` stream `$stream`.
#[cfg_attr(
    not(any(feature = "smol", feature = "tokio", feature = "async-std")),
    allow(unused_macros)
)]
macro_rules! tcp_shim {
    (socket: $socket:ty, stream: $stream:ty, wrap: $wrap:expr) => {
        use std::future::Future;

        use crate::proto::{AcceptConnection, Request};
        use crate::ws::{self, Config, Error, Rejection, Response, WebSocket};

        /// Connects to a `ws://` URL and performs the client handshake.
        pub fn connect(
            url: &str,
        ) -> impl Future<Output = Result<(WebSocket<$stream>, Response), Error>> + '_ {
            connect_with_config(url, Config::default())
        }

        /// [`connect`] with a [`Config`].
        pub fn connect_with_config(
            url: &str,
            config: Config,
        ) -> impl Future<Output = Result<(WebSocket<$stream>, Response), Error>> + '_ {
            connect_with_request(url, config, |request| request)
        }

        /// [`connect`] with a [`Config`] and a hook that completes the
        /// request before it is sent: subprotocols to offer, headers such as
        /// `Origin` or `Authorization`.
        pub fn connect_with_request(
            url: &str,
            config: Config,
            build: impl FnOnce(Request) -> Request,
        ) -> impl Future<Output = Result<(WebSocket<$stream>, Response), Error>> {
            // Boxed, like every handshake future: see `ws::client_with_config`.
            Box::pin(super::connect_with(
                url,
                config,
                build,
                |host, port| async move {
                    let socket = <$socket>::connect((host.as_str(), port)).await?;
                    socket.set_nodelay(true)?;
                    Ok($wrap(socket))
                },
            ))
        }

        /// Reads and validates the request on an accepted stream, leaving the
        /// decision (which may take async work) to the caller: see
        /// [`ws::read_request`].
        pub fn read_request(
            socket: $socket,
            config: Config,
        ) -> impl Future<Output = Result<ws::PendingAccept<$stream>, Error>> {
            let nodelay = socket.set_nodelay(true);
            let pending = ws::read_request($wrap(socket), config);
            async move {
                nodelay?;
                pending.await
            }
        }

        /// Performs the server handshake on an accepted stream, accepting
        /// any valid request.
        pub fn accept(socket: $socket) -> impl Future<Output = Result<WebSocket<$stream>, Error>> {
            accept_with(socket, Config::default(), |_| Ok(AcceptConnection::new()))
        }

        /// Performs the server handshake on an accepted stream; `decide`
        /// accepts or rejects the request (see [`ws::accept_with`]).
        pub fn accept_with<F>(
            socket: $socket,
            config: Config,
            decide: F,
        ) -> impl Future<Output = Result<WebSocket<$stream>, Error>>
        where
            F: FnOnce(&Request) -> Result<AcceptConnection, Rejection>,
        {
            let nodelay = socket.set_nodelay(true);
            let handshake = ws::accept_with($wrap(socket), config, decide);
            async move {
                nodelay?;
                handshake.await
            }
        }
    };
}

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

#[cfg_attr(
    not(any(feature = "smol", feature = "tokio", feature = "async-std")),
    allow(dead_code)
)]
/// Parses `url`, dials its host and port with `dial`, and runs the client
/// handshake over the stream: the part of `connect` every shim shares.
pub(crate) async fn connect_with<S, F, Fut>(
    url: &str,
    config: Config,
    build: impl FnOnce(Request) -> Request,
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
    let request = build(Request::new(url.host_header(), url.target.clone()));
    ws::client_with_config(stream, request, config).await
}
