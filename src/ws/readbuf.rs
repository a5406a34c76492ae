//! The read buffer every connection on a thread shares.
//!
//! What is read is handed to the engine at once (which keeps only what it
//! cannot parse yet), so an idle connection holds no read buffer at all and
//! a server with many connections pays for one buffer per thread. (The rest
//! of a large frame skips it: see `Connection::payload_buf`.)
//!
//! After a frame larger than the buffer, a read asks for that frame's size
//! (`Connection::read_size_hint`), so that the next one like it comes in
//! one read, kept whole or as the start of its own buffer; the thread's
//! buffer goes back among the spares once reads are small again.
//!
//! A read that holds large whole frames may be kept by the engine instead
//! (`Connection::receive_owned`), their payloads handed on without a copy;
//! the thread then reads into a spare buffer, one that came back from an
//! earlier kept read once its messages were dropped. Only while spares come
//! back is a read offered for keeping: an application that holds on to its
//! messages would otherwise have every read allocate (and zero) a fresh
//! buffer, which costs more than the copy it saves.

use std::cell::{Cell, RefCell};
use std::io;
use std::ops::Range;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_io::AsyncRead;

use crate::proto::align::{ALIGN_SLACK, to_aligned};
use crate::proto::recycle;

/// Kept frames are at least this fraction of the read buffer's capacity,
/// so that no message keeps more than this many times its size alive
/// (and the alignment slack).
const KEEP_FRACTION: usize = 4;

/// Fresh buffers a thread may allocate in a row to replace kept ones;
/// each kept one replaced by a spare earns one back. (A thread whose
/// messages are dropped on other threads gets its spares back only from
/// there, and so keeps reads only now and then: messages dropped elsewhere
/// wait on those threads' lists.)
const FRESH_IN_A_ROW: u8 = 2;

thread_local! {
    static READ_BUF: RefCell<Vec<u8>> = const { RefCell::new(Vec::new()) };
    static FRESH_LEFT: Cell<u8> = const { Cell::new(FRESH_IN_A_ROW) };
    /// The last read buffer was kept by a connection.
    static KEPT: Cell<bool> = const { Cell::new(false) };
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
    poll_read_keepable(io, cx, size, |buf, read, _| sink(&buf[read]))
}

/// As [`poll_read_shared`], but `sink` gets the buffer itself, the range
/// read, and the least payload a frame must have for the sink to keep the
/// buffer for it (`usize::MAX` when it may not keep it). A sink that keeps
/// it leaves a buffer without capacity in its place.
pub(super) fn poll_read_keepable<S>(
    io: &mut S,
    cx: &mut Context<'_>,
    size: usize,
    sink: impl FnOnce(&mut Vec<u8>, Range<usize>, usize),
) -> Poll<io::Result<usize>>
where
    S: AsyncRead + Unpin,
{
    let want = size + ALIGN_SLACK;
    // A smaller buffer would not come back as a spare.
    let keepable = want >= recycle::MIN_RECYCLED;
    let read = |buf: &mut Vec<u8>, keepable: bool| -> Poll<io::Result<usize>> {
        // Too small for this read, or left from reads sized for larger
        // frames and so large that it would keep none of the frames this
        // read can hold (see `KEEP_FRACTION`): swapped for one that fits,
        // the old one waiting among the spares for reads of its size.
        if keepable && (buf.capacity() < want || buf.capacity() > 2 * want) {
            let old = std::mem::replace(buf, replacement(want, KEPT.replace(false)));
            drop(recycle::freeze(old));
        }
        if buf.len() < want {
            // Zeroes only what was never read into.
            buf.resize(want, 0);
        }
        // Reads land on a cache line boundary: see `proto::align`.
        let at = to_aligned(buf.as_ptr());
        let n = ready!(poll_read_into(&mut *io, cx, &mut buf[at..at + size]))?;
        // A kept message keeps all of the buffer alive, which may be a
        // spare larger than asked for.
        let keep_from = (buf.capacity() - ALIGN_SLACK) / KEEP_FRACTION;
        let keep_from = if keepable && n >= keep_from && spare_ready(want) {
            keep_from
        } else {
            usize::MAX
        };
        sink(buf, at..at + n, keep_from);
        if buf.capacity() == 0 {
            KEPT.set(true);
        }
        Poll::Ready(Ok(n))
    };
    READ_BUF.with(|shared| match shared.try_borrow_mut() {
        Ok(mut buf) => read(&mut buf, keepable),
        // Re-entered from inside a read (a WebSocket tunnelled through
        // another): use a buffer of our own.
        Err(_) => read(&mut Vec::new(), false),
    })
}

/// A buffer to read into when the thread's is missing or too small: a
/// spare that came back, else a fresh one. Only replacing one a connection
/// kept (`after_kept`) counts against the fresh ones allowed in a row.
fn replacement(capacity: usize, after_kept: bool) -> Vec<u8> {
    let left = FRESH_LEFT.get();
    let (buf, left) = match recycle::take_waiting(capacity) {
        Some(spare) => (spare, left.saturating_add(1).min(FRESH_IN_A_ROW)),
        None => (Vec::with_capacity(capacity), left.saturating_sub(1)),
    };
    if after_kept {
        FRESH_LEFT.set(left);
    }
    buf
}

/// Whether the buffer may be kept: a spare waits to replace it, or fresh
/// ones are still allowed.
fn spare_ready(capacity: usize) -> bool {
    FRESH_LEFT.get() > 0 || recycle::has_waiting(capacity)
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

#[cfg(test)]
mod tests {
    use super::*;

    const CAP: usize = 256 << 10;

    /// Drops a buffer of `CAP` bytes the way a kept read's last message
    /// does: back to the thread's spares.
    fn spare_comes_back() {
        drop(recycle::freeze(vec![0; CAP]));
    }

    #[test]
    fn a_read_buffer_left_large_goes_back_among_the_spares() {
        let mut cx = Context::from_waker(std::task::Waker::noop());
        let data = [7u8; 100];
        let large = 4 * CAP;
        let mut io: &[u8] = &data;
        let read = poll_read_keepable(&mut io, &mut cx, large, |_, _, _| {});
        assert!(matches!(read, Poll::Ready(Ok(100))));
        let capacity = || READ_BUF.with(|b| b.borrow().capacity());
        assert!(capacity() >= large);
        let mut io: &[u8] = &data;
        let read = poll_read_keepable(&mut io, &mut cx, CAP, |buf, read, _| {
            assert_eq!(buf[read], data);
        });
        assert!(matches!(read, Poll::Ready(Ok(100))));
        assert!((CAP..2 * CAP).contains(&capacity()), "{}", capacity());
        assert!(recycle::has_waiting(large), "the large one is a spare");
        // And back: the large one returns, the small one waits.
        let mut io: &[u8] = &data;
        let read = poll_read_keepable(&mut io, &mut cx, large, |_, _, _| {});
        assert!(matches!(read, Poll::Ready(Ok(100))));
        assert!(capacity() >= large);
        assert!(!recycle::has_waiting(large), "taken back");
        assert!(recycle::has_waiting(CAP), "the small one is a spare");
    }

    #[test]
    fn fresh_replacements_run_out_until_spares_come_back() {
        // Each test runs on its own thread, with its own counts.
        while recycle::take_waiting(CAP).is_some() {}
        assert!(spare_ready(CAP));
        // Buffers not replacing a kept one (the first, a larger one) cost
        // nothing.
        for _ in 0..3 {
            assert_eq!(replacement(CAP, false).len(), 0, "fresh");
        }
        for _ in 0..FRESH_IN_A_ROW {
            assert!(spare_ready(CAP));
            assert_eq!(replacement(CAP, true).len(), 0, "fresh");
        }
        assert!(!spare_ready(CAP), "fresh ones are used up");
        spare_comes_back();
        assert!(spare_ready(CAP), "a spare waits");
        assert_eq!(
            replacement(CAP, true).len(),
            CAP,
            "the spare, still initialized"
        );
        assert!(spare_ready(CAP), "the spare earned a fresh one");
        assert_eq!(replacement(CAP, true).len(), 0);
        assert!(!spare_ready(CAP));
    }
}
