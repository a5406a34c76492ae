//! The stream a client WebSocket runs on: plain TCP for `ws://`, TLS over
//! TCP for `wss://`, behind one type so `connect` can take either URL.

use std::io::{self, IoSlice, IoSliceMut};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

/// A transport `S` (the runtime's TCP stream), wrapped in TLS when the URL
/// was `wss://`.
///
/// Opaque on purpose: which variants exist depends on the `rustls`
/// feature, and matching on them would break when another crate in the
/// build turns the feature on.
#[derive(Debug)]
pub struct MaybeTlsStream<S> {
    inner: Inner<S>,
}

#[derive(Debug)]
enum Inner<S> {
    Plain(S),
    /// Boxed: a TLS session is kilobytes, and a plain stream should not
    /// pay for it.
    #[cfg(feature = "rustls")]
    Tls(Box<futures_rustls::client::TlsStream<S>>),
}

impl<S> MaybeTlsStream<S> {
    /// A stream without TLS.
    pub fn plain(stream: S) -> MaybeTlsStream<S> {
        MaybeTlsStream {
            inner: Inner::Plain(stream),
        }
    }

    /// A stream with TLS.
    #[cfg(feature = "rustls")]
    pub fn tls(stream: futures_rustls::client::TlsStream<S>) -> MaybeTlsStream<S> {
        MaybeTlsStream {
            inner: Inner::Tls(Box::new(stream)),
        }
    }

    /// Whether the stream is encrypted.
    pub fn is_tls(&self) -> bool {
        !matches!(self.inner, Inner::Plain(_))
    }

    /// The transport under TLS, if any (e.g. for its addresses).
    pub fn get_ref(&self) -> &S {
        match &self.inner {
            Inner::Plain(s) => s,
            #[cfg(feature = "rustls")]
            Inner::Tls(s) => s.get_ref().0,
        }
    }

    /// The TLS session (negotiated protocol version, ALPN, the peer's
    /// certificates), or `None` for a plain stream.
    #[cfg(feature = "rustls")]
    pub fn tls_session(&self) -> Option<&futures_rustls::rustls::ClientConnection> {
        match &self.inner {
            Inner::Plain(_) => None,
            Inner::Tls(s) => Some(s.get_ref().1),
        }
    }
}

/// Forwards a poll method to whichever stream is inside.
macro_rules! forward {
    ($self:ident, $s:ident => $call:expr) => {
        match &mut $self.get_mut().inner {
            Inner::Plain($s) => $call,
            #[cfg(feature = "rustls")]
            Inner::Tls($s) => $call,
        }
    };
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncRead for MaybeTlsStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        forward!(self, s => Pin::new(s).poll_read(cx, buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        forward!(self, s => Pin::new(s).poll_read_vectored(cx, bufs))
    }
}

impl<S: AsyncRead + AsyncWrite + Unpin> AsyncWrite for MaybeTlsStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        forward!(self, s => Pin::new(s).poll_write(cx, buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        forward!(self, s => Pin::new(s).poll_write_vectored(cx, bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        forward!(self, s => Pin::new(s).poll_flush(cx))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        forward!(self, s => Pin::new(s).poll_close(cx))
    }
}
