//! [`YieldingStream`]: a stream wrapper that, after a read drained the
//! socket, lets the other tasks run once before it reads again.

use std::io::{self, IoSlice, IoSliceMut};
use std::pin::Pin;
use std::task::{Context, Poll};

use futures_io::{AsyncRead, AsyncWrite};

/// A stream (the async-std shim's TCP) whose reads, after one that returned
/// less than it asked for, first yield to the other tasks once.
///
/// On a busy server the peer's next message has usually arrived by the time
/// the task runs again, so the read finds it without waiting; on an idle
/// one the second read waits as any read would. The yield's `Pending` is
/// flagged to the `WebSocket`, which does not take it for a quiet
/// connection: only a `Pending` that looked may turn on writing each reply
/// as soon as the next message is asked for, rather than gathering a
/// burst's replies into one write (see `ws::WebSocket`).
///
/// The yield is a wake of the task's own waker, which must put the task
/// behind the others. tokio runs a task that woke itself next (its LIFO
/// slot), so there the second read comes too early, finds nothing on a
/// busy connection and turns its batching off (16 B x 16 pipelined fell to
/// a fifth): the tokio shim does not use it.
///
/// Only reads change; writes, flushes and closes go straight through.
#[derive(Debug)]
pub struct YieldingStream<S> {
    inner: S,
    /// The last read drained the socket: the next read yields first.
    drained: bool,
}

impl<S> YieldingStream<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> YieldingStream<S> {
        YieldingStream {
            inner,
            drained: false,
        }
    }

    /// The wrapped stream.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The wrapped stream, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the stream.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: AsyncRead + Unpin> YieldingStream<S> {
    /// Yields once after a draining read; otherwise reads with `read`
    /// (which was asked for `wanted` bytes).
    fn poll_read_with(
        &mut self,
        cx: &mut Context<'_>,
        wanted: usize,
        read: impl FnOnce(Pin<&mut S>, &mut Context<'_>) -> Poll<io::Result<usize>>,
    ) -> Poll<io::Result<usize>> {
        if std::mem::take(&mut self.drained) {
            crate::ws::pace::note_yield();
            cx.waker().wake_by_ref();
            return Poll::Pending;
        }
        let polled = read(Pin::new(&mut self.inner), cx);
        if let Poll::Ready(Ok(n)) = polled {
            self.drained = n > 0 && n < wanted;
        }
        polled
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for YieldingStream<S> {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let wanted = buf.len();
        self.get_mut()
            .poll_read_with(cx, wanted, |inner, cx| inner.poll_read(cx, buf))
    }

    fn poll_read_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &mut [IoSliceMut<'_>],
    ) -> Poll<io::Result<usize>> {
        let wanted = bufs.iter().map(|b| b.len()).sum();
        self.get_mut()
            .poll_read_with(cx, wanted, |inner, cx| inner.poll_read_vectored(cx, bufs))
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for YieldingStream<S> {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.get_mut().inner).poll_write_vectored(cx, bufs)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_flush(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.get_mut().inner).poll_close(cx)
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::task::{Wake, Waker};

    use super::*;

    /// A stream that returns its chunks one read at a time, then `Pending`.
    struct Chunks(Vec<Vec<u8>>);

    impl AsyncRead for Chunks {
        fn poll_read(
            mut self: Pin<&mut Self>,
            _: &mut Context<'_>,
            buf: &mut [u8],
        ) -> Poll<io::Result<usize>> {
            if self.0.is_empty() {
                return Poll::Pending;
            }
            let chunk = self.0.remove(0);
            buf[..chunk.len()].copy_from_slice(&chunk);
            Poll::Ready(Ok(chunk.len()))
        }
    }

    /// Counts its wakes (a waker for a task that is never run; the smol
    /// shim's tests use it too).
    #[derive(Default)]
    pub(crate) struct Wakes(pub(crate) AtomicUsize);

    impl Wake for Wakes {
        fn wake(self: Arc<Self>) {
            self.wake_by_ref();
        }
        fn wake_by_ref(self: &Arc<Self>) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    /// Reads once with a buffer of `len`; returns what the read gave and
    /// how often it woke the task.
    fn read(s: &mut YieldingStream<Chunks>, len: usize) -> (Poll<usize>, usize) {
        let wakes = Arc::new(Wakes::default());
        let waker = Waker::from(wakes.clone());
        let mut cx = Context::from_waker(&waker);
        let mut buf = vec![0; len];
        let polled = Pin::new(s).poll_read(&mut cx, &mut buf).map(|r| r.unwrap());
        (polled, wakes.0.load(Ordering::SeqCst))
    }

    #[test]
    fn a_short_read_is_followed_by_one_yield() {
        let mut s = YieldingStream::new(Chunks(vec![vec![1; 3], vec![2; 3]]));
        assert_eq!(read(&mut s, 8), (Poll::Ready(3), 0));
        assert_eq!(
            read(&mut s, 8),
            (Poll::Pending, 1),
            "yields once, waking itself"
        );
        assert_eq!(read(&mut s, 8), (Poll::Ready(3), 0), "then reads");
    }

    #[test]
    fn a_full_read_reads_again_at_once() {
        let mut s = YieldingStream::new(Chunks(vec![vec![1; 4], vec![2; 4]]));
        assert_eq!(read(&mut s, 4), (Poll::Ready(4), 0));
        assert_eq!(read(&mut s, 4), (Poll::Ready(4), 0));
    }

    #[test]
    fn end_of_stream_does_not_yield() {
        let mut s = YieldingStream::new(Chunks(vec![vec![], vec![]]));
        assert_eq!(read(&mut s, 4), (Poll::Ready(0), 0));
        assert_eq!(read(&mut s, 4), (Poll::Ready(0), 0));
    }

    #[test]
    fn a_read_that_finds_nothing_waits_without_a_wake() {
        // The inner stream registers for readiness; a yield's self-wake on
        // top would spin the task.
        let mut s = YieldingStream::new(Chunks(vec![]));
        assert_eq!(read(&mut s, 4), (Poll::Pending, 0));
        assert_eq!(read(&mut s, 4), (Poll::Pending, 0));
    }
}
