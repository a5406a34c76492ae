//! The read buffer every connection on a thread shares.
//!
//! What is read is handed to the engine at once (which keeps only what it
//! cannot parse yet), so an idle connection holds no read buffer at all and
//! a server with many connections pays for one buffer per thread.

use std::cell::RefCell;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_io::AsyncRead;

thread_local! {
    static READ_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
}

/// Reads once from `io`, up to `size` bytes, and hands what was read to
/// `sink` (an empty slice at end of stream). Returns the count read.
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
        if buf.len() < size {
            buf.resize(size, 0);
        }
        let n = ready!(Pin::new(&mut *io).poll_read(cx, &mut buf[..size]))?;
        sink(&buf[..n]);
        Poll::Ready(Ok(n))
    };
    READ_BUF.with(|shared| match shared.try_borrow_mut() {
        Ok(mut buf) => read(&mut buf),
        // Re-entered from inside a read (a WebSocket tunnelled through
        // another): use a buffer of our own.
        Err(_) => read(&mut Vec::new()),
    })
}
