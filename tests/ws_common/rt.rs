//! The [`Rt`] trait, one async runtime and its `wsproto::rt` shim, and its
//! implementations for smol, async-std and tokio.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::Pin;
use std::time::Duration;

use futures::io::{AsyncRead, AsyncWrite};
use wsproto::rt::MaybeTlsStream;
use wsproto::ws::{Config, Error, Rejection, Response, WebSocket};
use wsproto::{AcceptConnection, Request};

/// A spawned task's result.
pub type Join<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// What a shim's `connect` returns over the runtime's stream `S`.
pub type Connected<S> = Result<(WebSocket<MaybeTlsStream<S>>, Response), Error>;

/// A server's decision on a handshake request.
pub type Decide = Box<dyn FnOnce(&Request) -> Result<AcceptConnection, Rejection> + Send>;

/// One async runtime and its `wsproto::rt` shim.
pub trait Rt: Sized + 'static {
    const NAME: &'static str;
    /// The transport the shim hands to `WebSocket`.
    type Stream: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug + 'static;
    type Listener: Send + Sync + 'static;

    fn block_on<T>(f: impl Future<Output = T>) -> T;
    fn spawn<T: Send + 'static>(f: impl Future<Output = T> + Send + 'static) -> Join<T>;
    fn sleep(d: Duration) -> impl Future<Output = ()> + Send;
    /// A listener on 127.0.0.1:0.
    fn bind() -> impl Future<Output = (Self::Listener, SocketAddr)> + Send;
    /// Accepts one TCP connection (panics on failure).
    fn accept_tcp(l: &Self::Listener) -> impl Future<Output = Self::Stream> + Send;
    /// Accepts one connection and runs the shim's `accept`.
    fn accept(
        l: &Self::Listener,
    ) -> impl Future<Output = Result<WebSocket<Self::Stream>, Error>> + Send;
    /// Accepts one connection and runs the shim's `accept_with`.
    fn accept_with(
        l: &Self::Listener,
        config: Config,
        decide: Decide,
    ) -> impl Future<Output = Result<WebSocket<Self::Stream>, Error>> + Send;
    /// The shim's `connect`.
    fn connect(url: &str) -> impl Future<Output = Connected<Self::Stream>> + Send;
    /// The shim's `connect_with_config`.
    fn connect_with_config(
        url: &str,
        config: Config,
    ) -> impl Future<Output = Connected<Self::Stream>> + Send;
    /// A plain TCP connection of the runtime, for `ws::client` with a
    /// hand-made `Request`.
    fn dial(addr: SocketAddr) -> impl Future<Output = Self::Stream> + Send;
    /// The transport the shim's `accept_tls` hands to `WebSocket`.
    #[cfg(feature = "rustls")]
    type TlsServer: AsyncRead + AsyncWrite + Unpin + Send + std::fmt::Debug + 'static;
    /// Accepts one connection and runs the shim's `accept_tls`.
    #[cfg(feature = "rustls")]
    fn accept_tls(
        l: &Self::Listener,
        tls: &wsproto::rt::tls::TlsAcceptor,
    ) -> impl Future<Output = Result<WebSocket<Self::TlsServer>, Error>> + Send;
    /// The shim's `connect_with_tls`.
    #[cfg(feature = "rustls")]
    fn connect_with_tls(
        url: &str,
        tls: &wsproto::rt::tls::TlsConnector,
    ) -> impl Future<Output = Connected<Self::Stream>> + Send;
}

#[cfg(feature = "smol")]
pub struct Smol;

#[cfg(feature = "smol")]
impl Rt for Smol {
    const NAME: &'static str = "smol";
    type Stream = wsproto::rt::smol::TcpStream;
    type Listener = smol::net::TcpListener;

    fn block_on<T>(f: impl Future<Output = T>) -> T {
        smol::block_on(f)
    }
    fn spawn<T: Send + 'static>(f: impl Future<Output = T> + Send + 'static) -> Join<T> {
        Box::pin(smol::spawn(f))
    }
    async fn sleep(d: Duration) {
        smol::Timer::after(d).await;
    }
    async fn bind() -> (Self::Listener, SocketAddr) {
        let l = smol::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        (l, addr)
    }
    async fn accept_tcp(l: &Self::Listener) -> Self::Stream {
        l.accept().await.unwrap().0.into()
    }
    async fn accept(l: &Self::Listener) -> Result<WebSocket<Self::Stream>, Error> {
        wsproto::rt::smol::accept(l.accept().await.unwrap().0).await
    }
    async fn accept_with(
        l: &Self::Listener,
        config: Config,
        decide: Decide,
    ) -> Result<WebSocket<Self::Stream>, Error> {
        wsproto::rt::smol::accept_with(l.accept().await.unwrap().0, config, decide).await
    }
    async fn connect(url: &str) -> Connected<Self::Stream> {
        wsproto::rt::smol::connect(url).await
    }
    async fn connect_with_config(url: &str, config: Config) -> Connected<Self::Stream> {
        wsproto::rt::smol::connect_with_config(url, config).await
    }
    #[cfg(feature = "rustls")]
    type TlsServer = wsproto::rt::smol::ServerTlsStream;
    #[cfg(feature = "rustls")]
    async fn accept_tls(
        l: &Self::Listener,
        tls: &wsproto::rt::tls::TlsAcceptor,
    ) -> Result<WebSocket<Self::TlsServer>, Error> {
        wsproto::rt::smol::accept_tls(l.accept().await.unwrap().0, tls).await
    }
    #[cfg(feature = "rustls")]
    async fn connect_with_tls(
        url: &str,
        tls: &wsproto::rt::tls::TlsConnector,
    ) -> Connected<Self::Stream> {
        wsproto::rt::smol::connect_with_tls(url, Config::default(), tls, |r| r).await
    }
    async fn dial(addr: SocketAddr) -> Self::Stream {
        smol::net::TcpStream::connect(addr).await.unwrap().into()
    }
}

#[cfg(feature = "async-std")]
pub struct AsyncStd;

#[cfg(feature = "async-std")]
impl Rt for AsyncStd {
    const NAME: &'static str = "async-std";
    type Stream = wsproto::rt::async_std::AsyncStdTcp;
    type Listener = async_std::net::TcpListener;

    fn block_on<T>(f: impl Future<Output = T>) -> T {
        async_std::task::block_on(f)
    }
    fn spawn<T: Send + 'static>(f: impl Future<Output = T> + Send + 'static) -> Join<T> {
        Box::pin(async_std::task::spawn(f))
    }
    async fn sleep(d: Duration) {
        async_std::task::sleep(d).await;
    }
    async fn bind() -> (Self::Listener, SocketAddr) {
        let l = async_std::net::TcpListener::bind("127.0.0.1:0")
            .await
            .unwrap();
        let addr = l.local_addr().unwrap();
        (l, addr)
    }
    async fn accept_tcp(l: &Self::Listener) -> Self::Stream {
        wsproto::rt::YieldingStream::new(l.accept().await.unwrap().0)
    }
    async fn accept(l: &Self::Listener) -> Result<WebSocket<Self::Stream>, Error> {
        wsproto::rt::async_std::accept(l.accept().await.unwrap().0).await
    }
    async fn accept_with(
        l: &Self::Listener,
        config: Config,
        decide: Decide,
    ) -> Result<WebSocket<Self::Stream>, Error> {
        wsproto::rt::async_std::accept_with(l.accept().await.unwrap().0, config, decide).await
    }
    async fn connect(url: &str) -> Connected<Self::Stream> {
        wsproto::rt::async_std::connect(url).await
    }
    async fn connect_with_config(url: &str, config: Config) -> Connected<Self::Stream> {
        wsproto::rt::async_std::connect_with_config(url, config).await
    }
    #[cfg(feature = "rustls")]
    type TlsServer = wsproto::rt::async_std::ServerTlsStream;
    #[cfg(feature = "rustls")]
    async fn accept_tls(
        l: &Self::Listener,
        tls: &wsproto::rt::tls::TlsAcceptor,
    ) -> Result<WebSocket<Self::TlsServer>, Error> {
        wsproto::rt::async_std::accept_tls(l.accept().await.unwrap().0, tls).await
    }
    #[cfg(feature = "rustls")]
    async fn connect_with_tls(
        url: &str,
        tls: &wsproto::rt::tls::TlsConnector,
    ) -> Connected<Self::Stream> {
        wsproto::rt::async_std::connect_with_tls(url, Config::default(), tls, |r| r).await
    }
    async fn dial(addr: SocketAddr) -> Self::Stream {
        wsproto::rt::YieldingStream::new(async_std::net::TcpStream::connect(addr).await.unwrap())
    }
}

#[cfg(feature = "tokio")]
pub struct Tokio;

#[cfg(feature = "tokio")]
impl Rt for Tokio {
    const NAME: &'static str = "tokio";
    type Stream = wsproto::rt::tokio::TokioTcp;
    type Listener = tokio::net::TcpListener;

    fn block_on<T>(f: impl Future<Output = T>) -> T {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap()
            .block_on(f)
    }
    fn spawn<T: Send + 'static>(f: impl Future<Output = T> + Send + 'static) -> Join<T> {
        let handle = tokio::spawn(f);
        Box::pin(async move { handle.await.expect("task panicked") })
    }
    async fn sleep(d: Duration) {
        tokio::time::sleep(d).await;
    }
    async fn bind() -> (Self::Listener, SocketAddr) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = l.local_addr().unwrap();
        (l, addr)
    }
    async fn accept_tcp(l: &Self::Listener) -> Self::Stream {
        wsproto::rt::tokio::TokioTcp::from(l.accept().await.unwrap().0)
    }
    async fn accept(l: &Self::Listener) -> Result<WebSocket<Self::Stream>, Error> {
        wsproto::rt::tokio::accept(l.accept().await.unwrap().0).await
    }
    async fn accept_with(
        l: &Self::Listener,
        config: Config,
        decide: Decide,
    ) -> Result<WebSocket<Self::Stream>, Error> {
        wsproto::rt::tokio::accept_with(l.accept().await.unwrap().0, config, decide).await
    }
    async fn connect(url: &str) -> Connected<Self::Stream> {
        wsproto::rt::tokio::connect(url).await
    }
    async fn connect_with_config(url: &str, config: Config) -> Connected<Self::Stream> {
        wsproto::rt::tokio::connect_with_config(url, config).await
    }
    #[cfg(feature = "rustls")]
    type TlsServer = wsproto::rt::tokio::ServerTlsStream;
    #[cfg(feature = "rustls")]
    async fn accept_tls(
        l: &Self::Listener,
        tls: &wsproto::rt::tls::TlsAcceptor,
    ) -> Result<WebSocket<Self::TlsServer>, Error> {
        wsproto::rt::tokio::accept_tls(l.accept().await.unwrap().0, tls).await
    }
    #[cfg(feature = "rustls")]
    async fn connect_with_tls(
        url: &str,
        tls: &wsproto::rt::tls::TlsConnector,
    ) -> Connected<Self::Stream> {
        wsproto::rt::tokio::connect_with_tls(url, Config::default(), tls, |r| r).await
    }
    async fn dial(addr: SocketAddr) -> Self::Stream {
        wsproto::rt::tokio::TokioTcp::from(tokio::net::TcpStream::connect(addr).await.unwrap())
    }
}
