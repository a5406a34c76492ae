//! One connection's traffic: keeps its window of messages in flight, reading
//! and writing whenever the socket allows, so neither side can block the
//! other however large the messages are.

use std::cell::RefCell;
use std::future::Future;
use std::io;
use std::os::fd::AsRawFd;
use std::pin::Pin;
use std::ptr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::task::{Context, Poll, ready};
use tokio::io::{AsyncRead, AsyncWrite, Interest, ReadBuf};
use tokio::net::TcpStream;

use crate::frame::Parser;

/// Echoes received by all connections since the start.
pub static ECHOES: AtomicU64 = AtomicU64::new(0);

/// How much is read at once when large echoes are expected: enough for a
/// header and little of the payload after it, which is discarded instead.
const HEAD_READ: usize = 64;

thread_local! {
    /// The one read buffer every connection on the thread reads into.
    static READ_BUF: RefCell<Vec<u8>> = RefCell::new(vec![0; 256 << 10]);
}

/// A future that drives one connection until it fails.
pub struct Driver {
    stream: TcpStream,
    /// `window` copies of the frame sent, back to back.
    frames: &'static [u8],
    frame_len: usize,
    /// Bytes owed to the server: the rest of the frame being written plus
    /// whole frames for the echoes received since.
    owed: usize,
    /// Where in a frame the next byte written comes from.
    at: usize,
    parser: Parser,
    /// Why writing failed: reading goes on, as what the server sent before
    /// it stopped (a close frame, say) tells more.
    write_error: Option<io::Error>,
}

impl Driver {
    /// A driver that starts by sending `frames` (one window's worth) and
    /// sends one more frame per echo. `early` holds bytes already read past
    /// the handshake.
    pub fn new(
        stream: TcpStream,
        frames: &'static [u8],
        frame_len: usize,
        mut parser: Parser,
        early: &[u8],
    ) -> io::Result<Driver> {
        let echoed = parser.feed(early)?;
        ECHOES.fetch_add(echoed as u64, Ordering::Relaxed);
        Ok(Driver {
            stream,
            frames,
            frame_len,
            owed: frames.len(),
            at: 0,
            parser,
            write_error: None,
        })
    }

    /// The read error `e`, with the write error that came first if any.
    fn explain(&mut self, e: io::Error) -> io::Error {
        match self.write_error.take() {
            None => e,
            Some(w) => io::Error::new(w.kind(), format!("writing: {w}; then reading: {e}")),
        }
    }

    /// Writes while the socket takes bytes; `Pending` once it does not (or
    /// nothing is owed).
    fn poll_write(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.owed > 0 {
            // The frames buffer repeats with period `frame_len`, and what is
            // owed never runs past its end: at most a window is in flight.
            let end = (self.at + self.owed).min(self.frames.len());
            let n = ready!(Pin::new(&mut self.stream).poll_write(cx, &self.frames[self.at..end]))?;
            if n == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.owed -= n;
            self.at = (self.at + n) % self.frame_len;
        }
        Poll::Pending
    }

    /// Reads once; `Ready` with the number of echoes completed.
    fn poll_read(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        if self.parser.large() && self.parser.to_skip() > 0 {
            return self.poll_discard(cx);
        }
        READ_BUF.with_borrow_mut(|buf| {
            let len = if self.parser.large() {
                HEAD_READ
            } else {
                buf.len()
            };
            let mut buf = ReadBuf::new(&mut buf[..len]);
            ready!(Pin::new(&mut self.stream).poll_read(cx, &mut buf))?;
            if buf.filled().is_empty() {
                return Poll::Ready(Err(closed()));
            }
            Poll::Ready(self.parser.feed(buf.filled()))
        })
    }

    /// Drops the rest of the current payload, or as much of it as has
    /// arrived, in the kernel (`recv` with `MSG_TRUNC` copies nothing out);
    /// `Ready` with the number of echoes completed.
    fn poll_discard(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<usize>> {
        let fd = self.stream.as_raw_fd();
        let want = usize::try_from(self.parser.to_skip()).unwrap_or(usize::MAX);
        loop {
            ready!(self.stream.poll_read_ready(cx))?;
            let discarded = self.stream.try_io(Interest::READABLE, || {
                // SAFETY: given MSG_TRUNC, a TCP socket discards the bytes
                // (tcp(7)) and writes nothing to the buffer, here null.
                let flags = libc::MSG_TRUNC | libc::MSG_DONTWAIT;
                let n = unsafe { libc::recv(fd, ptr::null_mut(), want, flags) };
                usize::try_from(n).map_err(|_| io::Error::last_os_error())
            });
            return Poll::Ready(match discarded {
                Ok(0) => Err(closed()),
                Ok(n) => self.parser.skipped(n.min(want)),
                // try_io cleared the readiness: poll_read_ready waits now.
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => continue,
                Err(e) => Err(e),
            });
        }
    }
}

/// The error for a connection the server closed.
fn closed() -> io::Error {
    io::Error::new(
        io::ErrorKind::UnexpectedEof,
        "the server closed the connection",
    )
}

impl Future for Driver {
    type Output = io::Result<()>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        loop {
            if this.write_error.is_none()
                && let Poll::Ready(Err(e)) = this.poll_write(cx)
            {
                this.write_error = Some(e);
            }
            // Tokio's cooperative budget makes this read pending in time,
            // so one busy connection cannot starve the others.
            let echoed = match ready!(this.poll_read(cx)) {
                Ok(echoed) => echoed,
                Err(e) => return Poll::Ready(Err(this.explain(e))),
            };
            ECHOES.fetch_add(echoed as u64, Ordering::Relaxed);
            this.owed += echoed * this.frame_len;
        }
    }
}
