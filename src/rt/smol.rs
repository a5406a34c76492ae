//! The smol shim: TCP from `async-net`, which runs on `async-io` and so works
//! under smol or any other executor.

use std::io::{self, IoSlice, IoSliceMut, Read, Write};
use std::net::Shutdown;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use async_io::Async;
use futures_io::{AsyncRead, AsyncWrite};

tcp_shim!(socket: async_net::TcpStream, stream: TcpStream, wrap: TcpStream::from);

/// The stream a smol [`WebSocket`] runs on: the same
/// `async-io` socket as `async_net::TcpStream`, read a little more cleverly.
///
/// After a read that returns less than it asked for (the socket is drained
/// for now), the next read first yields to the other tasks once and tries
/// again; only if that finds nothing does it wait for readiness. On a busy
/// server the peer's next message has usually arrived by then, and the
/// read costs no readiness registration (`async-io` re-arms its one-shot
/// registration with a system call every time it waits); on an idle one it
/// costs one read that finds nothing. Readiness is level-triggered, so bytes
/// that arrive in between are never missed. The stream is also smaller than
/// `async_net::TcpStream` (no cached readiness futures), which every idle
/// connection pays for.
///
/// It is not `Clone`: `async-io` keeps one waker per direction for this kind
/// of wait, so two tasks reading one socket would keep waking each other.
#[derive(Debug)]
pub struct TcpStream {
    socket: Arc<Async<std::net::TcpStream>>,
    read: ReadState,
}

/// Where reading stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadState {
    /// The last read filled its buffer: read again at once.
    Full,
    /// The last read drained the socket: yield once before reading again.
    Drained,
    /// Yielded since the socket drained: read, and wait if nothing is there.
    Yielded,
    /// A read found nothing: wait for readiness first.
    Waiting,
}

impl From<async_net::TcpStream> for TcpStream {
    fn from(stream: async_net::TcpStream) -> TcpStream {
        TcpStream {
            socket: stream.into(),
            read: ReadState::Full,
        }
    }
}

impl TcpStream {
    /// The `std` socket, e.g. for its addresses.
    pub fn get_ref(&self) -> &std::net::TcpStream {
        self.socket.get_ref()
    }

    /// Reads with `read` (which was asked for `wanted` bytes), following
    /// [`ReadState`].
    fn poll_read_with(
        &mut self,
        cx: &mut Context<'_>,
        wanted: usize,
        mut read: impl FnMut(&std::net::TcpStream) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        loop {
            match self.read {
                ReadState::Drained => {
                    self.read = ReadState::Yielded;
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                ReadState::Waiting => {
                    ready!(self.socket.poll_readable(cx))?;
                    self.read = ReadState::Full;
                }
                ReadState::Full | ReadState::Yielded => {}
            }
            match read(self.socket.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => self.read = ReadState::Waiting,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Ok(n) => {
                    self.read = if n < wanted {
                        ReadState::Drained
                    } else {
                        ReadState::Full
                    };
                    return Poll::Ready(Ok(n));
                }
                Err(e) => return Poll::Ready(Err(e)),
            }
        }
    }

    /// Writes with `write`, waiting for room when the socket is full.
    fn poll_write_with(
        &self,
        cx: &mut Context<'_>,
        mut write: impl FnMut(&std::net::TcpStream) -> io::Result<usize>,
    ) -> Poll<io::Result<usize>> {
        loop {
            match write(self.socket.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    ready!(self.socket.poll_writable(cx))?;
                }
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                done => return Poll::Ready(done),
            }
        }
    }
}

impl AsyncRead for TcpStream {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let wanted = buf.len();
        self.get_mut()
            .poll_read_with(cx, wanted, |mut s| s.read(buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let wanted = bufs.iter().map(|b| b.len()).sum();
        self.get_mut()
            .poll_read_with(cx, wanted, |mut s| s.read_vectored(bufs))
    }
}

impl AsyncWrite for TcpStream {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_with(cx, |mut s| s.write(buf))
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        self.poll_write_with(cx, |mut s| s.write_vectored(bufs))
    }

    fn poll_flush(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // TCP has no user-space buffer to flush.
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(self.get_ref().shutdown(Shutdown::Write))
    }
}
