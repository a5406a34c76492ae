//! Runtime shims: connect by URL (TCP, and TLS for `wss://` with the
//! `rustls` feature) and accept on a listener's stream, for smol (default),
//! async-std and tokio. Each is a thin adapter that hands a byte stream to
//! [`crate::ws`]; none knows anything of frames.

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
        use crate::rt::MaybeTlsStream;
        use crate::ws::{self, Config, Error, Rejection, Response, WebSocket};

        /// The stream a client WebSocket from [`connect`] runs on: TCP,
        /// with TLS for `wss://`.
        pub type ClientStream = MaybeTlsStream<$stream>;

        /// Connects to a `ws://` or `wss://` URL and performs the client
        /// handshake. `wss://` trusts the platform's roots (see
        /// `rt::tls::platform_roots`; needs the `rustls` feature).
        pub fn connect(
            url: &str,
        ) -> impl Future<Output = Result<(WebSocket<ClientStream>, Response), Error>> + '_ {
            connect_with_config(url, Config::default())
        }

        /// [`connect`] with a [`Config`].
        pub fn connect_with_config(
            url: &str,
            config: Config,
        ) -> impl Future<Output = Result<(WebSocket<ClientStream>, Response), Error>> + '_ {
            connect_with_request(url, config, |request| request)
        }

        /// [`connect`] with a [`Config`] and a hook that completes the
        /// request before it is sent: subprotocols to offer, headers such as
        /// `Origin` or `Authorization`.
        pub fn connect_with_request(
            url: &str,
            config: Config,
            build: impl FnOnce(Request) -> Request,
        ) -> impl Future<Output = Result<(WebSocket<ClientStream>, Response), Error>> {
            // Boxed, like every handshake future: see `ws::client_with_config`.
            Box::pin(super::connect_with(url, config, build, None, dial))
        }

        /// [`connect_with_request`] with the TLS settings `wss://` uses:
        /// your own roots, client certificates or verifier.
        #[cfg(feature = "rustls")]
        pub fn connect_with_tls(
            url: &str,
            config: Config,
            tls: &crate::rt::tls::TlsConnector,
            build: impl FnOnce(Request) -> Request,
        ) -> impl Future<Output = Result<(WebSocket<ClientStream>, Response), Error>> {
            Box::pin(super::connect_with(
                url,
                config,
                build,
                Some(tls.clone()),
                dial,
            ))
        }

        async fn dial(host: String, port: u16) -> std::io::Result<$stream> {
            let socket = <$socket>::connect((host.as_str(), port)).await?;
            socket.set_nodelay(true)?;
            Ok($wrap(socket))
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

        /// The stream a server WebSocket from [`accept_tls`] runs on.
        #[cfg(feature = "rustls")]
        pub type ServerTlsStream = crate::rt::tls::ServerTlsStream<$stream>;

        /// Runs the TLS handshake on an accepted stream, then the
        /// WebSocket handshake, accepting any valid request. Each handshake
        /// is bounded by [`Config::handshake_timeout`].
        #[cfg(feature = "rustls")]
        pub fn accept_tls(
            socket: $socket,
            tls: &crate::rt::tls::TlsAcceptor,
        ) -> impl Future<Output = Result<WebSocket<ServerTlsStream>, Error>> {
            accept_tls_with(socket, tls, Config::default(), |_| {
                Ok(AcceptConnection::new())
            })
        }

        /// [`accept_tls`] with a [`Config`] and a decision (see
        /// [`ws::accept_with`]).
        #[cfg(feature = "rustls")]
        pub fn accept_tls_with<F>(
            socket: $socket,
            tls: &crate::rt::tls::TlsAcceptor,
            config: Config,
            decide: F,
        ) -> impl Future<Output = Result<WebSocket<ServerTlsStream>, Error>>
        where
            F: FnOnce(&Request) -> Result<AcceptConnection, Rejection>,
        {
            let nodelay = socket.set_nodelay(true);
            let tls = tls.clone();
            Box::pin(async move {
                nodelay?;
                let limit = config.handshake_timeout;
                let stream = ws::within_handshake(limit, tls.accept($wrap(socket))).await?;
                ws::accept_with(stream, config, decide).await
            })
        }
    };
}

#[cfg(feature = "async-std")]
pub mod async_std;
#[cfg(feature = "smol")]
pub mod smol;
mod stream;
#[cfg(feature = "rustls")]
pub mod tls;
#[cfg(feature = "tokio")]
pub mod tokio;
mod url;
mod yielding;

pub use stream::MaybeTlsStream;
pub use url::WsUrl;
pub use yielding::YieldingStream;

use std::future::Future;
use std::io;

use futures_io::{AsyncRead, AsyncWrite};

use crate::proto::Request;
use crate::ws::{self, Config, Error, Response, WebSocket};

#[cfg_attr(
    not(any(feature = "smol", feature = "tokio", feature = "async-std")),
    allow(dead_code)
)]
/// Parses `url`, dials its host and port with `dial`, wraps the stream in
/// TLS for `wss://` (with `tls`, or the platform's roots), and runs the
/// client handshake: the part of `connect` every shim shares. Dialing and
/// the TLS and WebSocket handshakes together are bounded by the handshake
/// timeout (a host that drops SYNs would otherwise hold `connect` for the
/// operating system's minutes).
pub(crate) async fn connect_with<S, F, Fut>(
    url: &str,
    config: Config,
    build: impl FnOnce(Request) -> Request,
    #[cfg(feature = "rustls")] tls: Option<tls::TlsConnector>,
    #[cfg(not(feature = "rustls"))] _tls: Option<std::convert::Infallible>,
    dial: F,
) -> Result<(WebSocket<MaybeTlsStream<S>>, Response), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(String, u16) -> Fut,
    Fut: Future<Output = io::Result<S>>,
{
    let url = WsUrl::parse(url)?;
    #[cfg(not(feature = "rustls"))]
    if url.secure {
        return Err(Error::Url(format!(
            "{url}: wss:// needs TLS: build wsproto with its `rustls` feature"
        )));
    }
    let request = build(Request::new(url.host_header(), url.target.clone()));
    // The trust roots first: a store that cannot load is the answer, not
    // whatever dialing would have said.
    #[cfg(feature = "rustls")]
    let tls = match tls {
        Some(tls) => Some(tls),
        None if url.secure => Some(tls::TlsConnector::platform()?),
        None => None,
    };
    let limit = config.handshake_timeout;
    ws::within_handshake(limit, async move {
        let stream = dial(url.host.clone(), url.port).await?;
        #[cfg(feature = "rustls")]
        let stream = match tls.filter(|_| url.secure) {
            Some(tls) => MaybeTlsStream::tls(tls.connect(&url.host, stream).await?),
            None => MaybeTlsStream::plain(stream),
        };
        #[cfg(not(feature = "rustls"))]
        let stream = MaybeTlsStream::plain(stream);
        // Not `ws::client_with_config`: its own deadline would be a second
        // timer for the limit this one already enforces.
        let result = ws::client_handshake(stream, request, config).await;
        // A TLS 1.3 server refusing a client certificate says so after the
        // TLS handshake, during the WebSocket one: sort that error too.
        #[cfg(feature = "rustls")]
        let result = result.map_err(|e| match e {
            Error::Io(io) => tls::classify(io),
            other => other,
        });
        result
    })
    .await
}
