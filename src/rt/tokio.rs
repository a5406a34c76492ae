//! The tokio shim: tokio streams as `futures-io` streams.
//!
//! `tokio-util`'s `Compat` would do, but it does not pass vectored writes
//! on (futures-io's default then writes only the first slice), so a frame
//! header and its payload, or a burst of large messages, would cost a
//! system call per slice. [`TokioStream`] forwards them to the tokio
//! stream's own `poll_write_vectored` (`writev` for TCP).

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_io::{AsyncRead, AsyncWrite};
use tokio::io::{AsyncRead as TokioRead, AsyncWrite as TokioWrite};

/// Any tokio stream as a `futures-io` stream, vectored writes included: a
/// TCP stream ([`TokioTcp`]), a tokio-rustls stream, or hyper's upgraded
/// connection behind `hyper_util::rt::TokioIo`, for
/// [`WebSocket::from_connection`](crate::ws::WebSocket::from_connection).
#[derive(Debug)]
pub struct TokioStream<T> {
    inner: T,
}

/// A tokio TCP stream as a `futures-io` stream: what [`accept`] and
/// [`connect`] run on.
pub type TokioTcp = TokioStream<tokio::net::TcpStream>;

impl<T> TokioStream<T> {
    /// Wraps a tokio stream.
    pub fn new(inner: T) -> TokioStream<T> {
        TokioStream { inner }
    }

    /// The tokio stream.
    pub fn get_ref(&self) -> &T {
        &self.inner
    }

    /// The tokio stream, mutably.
    pub fn get_mut(&mut self) -> &mut T {
        &mut self.inner
    }

    /// Gives the tokio stream back.
    pub fn into_inner(self) -> T {
        self.inner
    }
}

impl<T> From<T> for TokioStream<T> {
    fn from(inner: T) -> TokioStream<T> {
        TokioStream { inner }
    }
}

impl<T: TokioRead + Unpin> AsyncRead for TokioStream<T> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut filled = tokio::io::ReadBuf::new(buf);
        ready!(TokioRead::poll_read(
            Pin::new(&mut self.inner),
            cx,
            &mut filled
        ))?;
        Poll::Ready(Ok(filled.filled().len()))
    }
}

impl<T: TokioWrite + Unpin> AsyncWrite for TokioStream<T> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        TokioWrite::poll_write(Pin::new(&mut self.inner), cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        TokioWrite::poll_write_vectored(Pin::new(&mut self.inner), cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        TokioWrite::poll_flush(Pin::new(&mut self.inner), cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        TokioWrite::poll_shutdown(Pin::new(&mut self.inner), cx)
    }
}

tcp_shim!(socket: tokio::net::TcpStream, stream: TokioTcp, wrap: TokioTcp::from);

#[cfg(test)]
mod tests {
    use futures_util::{AsyncReadExt, AsyncWriteExt};

    use super::*;

    #[tokio::test]
    async fn a_vectored_write_goes_out_whole_in_one_call() {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (client, accepted) = tokio::join!(tokio::net::TcpStream::connect(addr), async {
            listener.accept().await.unwrap().0
        });
        let mut client = TokioTcp::from(client.unwrap());
        let mut server = TokioTcp::from(accepted);
        let header = [0x82u8, 0x7e, 0x10, 0x00];
        let payload = vec![7u8; 4096];
        let slices = [IoSlice::new(&header), IoSlice::new(&payload)];
        // One call takes both slices (a compat adapter would take the
        // header alone).
        let written = client.write_vectored(&slices).await.unwrap();
        assert_eq!(written, header.len() + payload.len());
        client.close().await.unwrap();
        let mut got = Vec::new();
        server.read_to_end(&mut got).await.unwrap();
        assert_eq!(&got[..4], &header);
        assert_eq!(&got[4..], &payload[..]);
        assert_eq!(server.get_ref().local_addr().unwrap(), addr);
        let _inner: tokio::net::TcpStream = server.into_inner();
    }

    /// A tokio writer that records how many slices each write call got.
    struct Recorder(Vec<usize>);

    impl TokioWrite for Recorder {
        fn poll_write(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &[u8],
        ) -> Poll<io::Result<usize>> {
            self.0.push(1);
            Poll::Ready(Ok(buf.len()))
        }

        fn poll_write_vectored(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            bufs: &[IoSlice<'_>],
        ) -> Poll<io::Result<usize>> {
            self.0.push(bufs.len());
            Poll::Ready(Ok(bufs.iter().map(|b| b.len()).sum()))
        }

        fn is_write_vectored(&self) -> bool {
            true
        }

        fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }

        fn poll_shutdown(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
            Poll::Ready(Ok(()))
        }
    }

    #[tokio::test]
    async fn any_tokio_stream_gets_its_vectored_writes() {
        let mut stream = TokioStream::new(Recorder(Vec::new()));
        let slices = [IoSlice::new(b"head"), IoSlice::new(b"payload")];
        assert_eq!(stream.write_vectored(&slices).await.unwrap(), 11);
        assert_eq!(stream.write(b"one").await.unwrap(), 3);
        assert_eq!(stream.into_inner().0, [2, 1]);
    }
}
