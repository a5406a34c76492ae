//! The tokio shim: tokio's `TcpStream` as a `futures-io` stream.
//!
//! `tokio-util`'s `Compat` would do, but it does not pass vectored writes
//! on (futures-io's default then writes only the first slice), so a frame
//! header and its payload, or a burst of large messages, would cost a
//! system call per slice. `TokioTcp` forwards them to tokio's `writev`.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_io::{AsyncRead, AsyncWrite};

/// A tokio TCP stream as a `futures-io` stream, vectored writes included.
#[derive(Debug)]
pub struct TokioTcp {
    inner: tokio::net::TcpStream,
}

impl TokioTcp {
    /// The tokio stream.
    pub fn get_ref(&self) -> &tokio::net::TcpStream {
        &self.inner
    }

    /// The tokio stream, mutably.
    pub fn get_mut(&mut self) -> &mut tokio::net::TcpStream {
        &mut self.inner
    }

    /// Gives the tokio stream back.
    pub fn into_inner(self) -> tokio::net::TcpStream {
        self.inner
    }
}

impl From<tokio::net::TcpStream> for TokioTcp {
    fn from(inner: tokio::net::TcpStream) -> TokioTcp {
        TokioTcp { inner }
    }
}

impl AsyncRead for TokioTcp {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let mut filled = tokio::io::ReadBuf::new(buf);
        ready!(tokio::io::AsyncRead::poll_read(
            Pin::new(&mut self.inner),
            cx,
            &mut filled
        ))?;
        Poll::Ready(Ok(filled.filled().len()))
    }
}

impl AsyncWrite for TokioTcp {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        tokio::io::AsyncWrite::poll_write(Pin::new(&mut self.inner), cx, buf)
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        tokio::io::AsyncWrite::poll_write_vectored(Pin::new(&mut self.inner), cx, bufs)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::io::AsyncWrite::poll_flush(Pin::new(&mut self.inner), cx)
    }

    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        tokio::io::AsyncWrite::poll_shutdown(Pin::new(&mut self.inner), cx)
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
}
