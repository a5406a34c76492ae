//! The read buffer every connection on a thread shares.
//!
//! What is read is handed to the engine at once (which keeps only what it
//! cannot parse yet), so an idle connection holds no read buffer at all and
//! a server with many connections pays for one buffer per thread. (The rest
//! of a large frame skips it: see `Connection::payload_buf`.)

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_io::AsyncRead;

use crate::proto::align::{ALIGN_SLACK, to_aligned};

thread_local! {
    static READ_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Reads once from `io`, up to `size` bytes, and hands what was read to
/// `sink` (an empty slice at end of stream, or when the transport reports
/// an unexpected end). Returns the count read.
pub(super) fn poll_read_shared<S>(
    io: &mut S,
    cx: &mut Context<'_>,
    size: usize,
    sink: impl FnOnce(&[u8]),
) -> Poll<io::Result<usize>>
where
    S: AsyncRead + Unpin,
{
    let read = |buf: &mut Vec<u8>| -> Poll<io::Result<usize>> {
        // Reads land on a cache line boundary: see `proto::align`.
        if buf.len() < size + ALIGN_SLACK {
            buf.resize(size + ALIGN_SLACK, 0);
        }
        let at = to_aligned(buf.as_ptr());
        let window = &mut buf[at..at + size];
        let n = ready!(poll_read_into(&mut *io, cx, window))?;
        sink(&window[..n]);
        Poll::Ready(Ok(n))
    };
    READ_BUF.with(|shared| match shared.try_borrow_mut() {
        Ok(mut buf) => read(&mut buf),
        // Re-entered from inside a read (a WebSocket tunnelled through
        // another): use a buffer of our own.
        Err(_) => read(&mut Vec::new()),
    })
}

/// Reads once from `io` into `buf`; an unexpected end counts as the end.
pub(super) fn poll_read_into<S>(
    io: &mut S,
    cx: &mut Context<'_>,
    buf: &mut [u8],
) -> Poll<io::Result<usize>>
where
    S: AsyncRead + Unpin,
{
    match ready!(Pin::new(io).poll_read(cx, buf)) {
        Ok(n) => Poll::Ready(Ok(n)),
        // TLS reports a peer that closed TCP without `close_notify` this
        // way (many servers and browsers do). For a WebSocket it is the end
        // of the stream like any other: its close handshake, not the
        // transport's, tells a finished connection from a cut one (1006),
        // just as over plain TCP.
        Err(e) if e.kind() == io::ErrorKind::UnexpectedEof => Poll::Ready(Ok(0)),
        Err(e) => Poll::Ready(Err(e)),
    }
}
