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
/// registration with a system call every time it waits). Where that second
/// read keeps finding nothing (a peer that waits on each reply, as in
/// ping-pong over one connection), it is skipped, and so is the yield
/// before it (a whole extra poll of the task): the stream waits for
/// readiness at once, trying the yield and the read again now and then
/// (see `Lookahead` in the source). Readiness is level-triggered, so bytes
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
    lookahead: Lookahead,
}

/// Whether the read after a yield is worth its system call (and the yield
/// worth its extra poll of the task): it is tried
/// while at least one in seven of such reads find bytes (each find earns
/// six tries, each miss costs one), and otherwise on every
/// [`Lookahead::PROBE_EVERY`]th yield only, to notice when the peer
/// speeds up.
///
/// At 16 B x 1 connection ping-pong every such read misses: skipping it
/// takes the server from 9.3-9.7 system calls per message to 8.6
/// (`perf stat`; `async-io`'s wait costs 5 of them, its one-shot re-arm
/// one more), and skipping the yield too from 6,200-6,500 instructions per
/// message to 5,500-5,700 (callgrind). A read that would
/// have found bytes and was skipped costs that wait and re-arm, six calls
/// against the one of a miss: hence one in seven. At 16 connections most
/// of them find the next message, and they go on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Lookahead {
    /// Tries left before the read is skipped.
    credit: u8,
    /// Reads skipped since the last try.
    skipped: u8,
}

impl Lookahead {
    /// The most tries a run of finds banks.
    const MAX_CREDIT: u8 = 12;
    /// Skipped reads between two tries.
    const PROBE_EVERY: u8 = 16;

    fn new() -> Lookahead {
        Lookahead {
            credit: Lookahead::MAX_CREDIT,
            skipped: 0,
        }
    }

    /// Whether to read after this yield (counting a skip when not).
    fn should_read(&mut self) -> bool {
        if self.credit > 0 || self.skipped + 1 >= Lookahead::PROBE_EVERY {
            self.skipped = 0;
            return true;
        }
        self.skipped += 1;
        false
    }

    /// The read after a yield found bytes (`true`) or nothing.
    fn record(&mut self, found: bool) {
        self.credit = if found {
            self.credit.saturating_add(6).min(Lookahead::MAX_CREDIT)
        } else {
            self.credit.saturating_sub(1)
        };
    }
}

/// Where reading stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ReadState {
    /// The last read filled its buffer: read again at once.
    Full,
    /// The last read drained the socket: yield once before reading again,
    /// or wait for readiness at once if that read would be skipped.
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
            lookahead: Lookahead::new(),
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
                ReadState::Drained if self.lookahead.should_read() => {
                    self.read = ReadState::Yielded;
                    crate::ws::pace::note_yield();
                    cx.waker().wake_by_ref();
                    return Poll::Pending;
                }
                // The read after a yield would be skipped: so is the yield,
                // a whole extra poll of the task for nothing.
                ReadState::Drained => {
                    self.read = ReadState::Waiting;
                    continue;
                }
                ReadState::Waiting => {
                    ready!(self.socket.poll_readable(cx))?;
                    self.read = ReadState::Full;
                }
                ReadState::Full | ReadState::Yielded => {}
            }
            let after_yield = self.read == ReadState::Yielded;
            match read(self.socket.get_ref()) {
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                    if after_yield {
                        self.lookahead.record(false);
                    }
                    self.read = ReadState::Waiting;
                }
                // Interrupted before it looked: read again at once.
                Err(e) if e.kind() == io::ErrorKind::Interrupted => self.read = ReadState::Full,
                Ok(n) => {
                    if after_yield {
                        self.lookahead.record(true);
                    }
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

#[cfg(test)]
mod tests {
    use std::io::Write;
    use std::sync::Arc;
    use std::sync::atomic::Ordering;
    use std::task::Waker;

    use super::*;
    use crate::rt::yielding::tests::Wakes;

    /// Runs `yields` yields in which the read, when tried at yield `i`,
    /// finds bytes if `found(i)`; returns how many were tried.
    fn tries(lookahead: &mut Lookahead, yields: usize, found: impl Fn(usize) -> bool) -> usize {
        (0..yields)
            .filter(|&i| {
                let read = lookahead.should_read();
                if read {
                    lookahead.record(found(i));
                }
                read
            })
            .count()
    }

    #[test]
    fn reads_that_keep_missing_are_tried_only_now_and_then() {
        let mut lookahead = Lookahead::new();
        let credit = usize::from(Lookahead::MAX_CREDIT);
        assert_eq!(tries(&mut lookahead, credit, |_| false), credit);
        // Credit spent: one try per PROBE_EVERY yields.
        let probe = usize::from(Lookahead::PROBE_EVERY);
        assert_eq!(tries(&mut lookahead, 10 * probe, |_| false), 10);
    }

    #[test]
    fn a_find_after_misses_brings_the_reads_back() {
        let mut lookahead = Lookahead::new();
        tries(&mut lookahead, 100, |_| false);
        // The next probe finds bytes: the reads after it are tried again.
        while !lookahead.should_read() {}
        lookahead.record(true);
        assert_eq!(tries(&mut lookahead, 50, |_| true), 50);
    }

    #[test]
    fn reads_are_kept_while_one_in_seven_find_bytes() {
        let mut lookahead = Lookahead::new();
        assert_eq!(tries(&mut lookahead, 300, |i| i % 7 == 0), 300);
        // Fewer finds than that, and most reads are skipped.
        let tried = tries(&mut lookahead, 300, |i| i % 10 == 0);
        assert!(tried < 150, "{tried}");
    }

    /// Our stream over one end of a loopback connection, and the other end.
    fn pair() -> (TcpStream, std::net::TcpStream) {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let peer = std::net::TcpStream::connect(listener.local_addr().unwrap()).unwrap();
        let (ours, _) = listener.accept().unwrap();
        let ours = async_net::TcpStream::try_from(ours).unwrap();
        (TcpStream::from(ours), peer)
    }

    /// Drains the stream with a short read, then polls once more: returns
    /// whether that poll woke its own task (a yield) and what it returned.
    fn poll_after_short_read(
        stream: &mut TcpStream,
        peer: &mut std::net::TcpStream,
    ) -> (bool, Poll<usize>) {
        peer.write_all(b"hello").unwrap();
        let counter = Arc::new(Wakes::default());
        let waker = Waker::from(Arc::clone(&counter));
        let mut cx = Context::from_waker(&waker);
        let mut buf = [0u8; 64];
        // The bytes may take a moment to arrive; wait for them.
        let n = loop {
            match Pin::new(&mut *stream).poll_read(&mut cx, &mut buf) {
                Poll::Ready(r) => break r.unwrap(),
                Poll::Pending => {
                    stream.read = ReadState::Full;
                    std::thread::sleep(std::time::Duration::from_millis(5));
                }
            }
        };
        assert_eq!(&buf[..n], b"hello");
        assert_eq!(stream.read, ReadState::Drained, "a short read drains");
        let before = counter.0.load(Ordering::SeqCst);
        let polled = Pin::new(&mut *stream)
            .poll_read(&mut cx, &mut buf)
            .map(|r| r.unwrap());
        let woke = counter.0.load(Ordering::SeqCst) > before;
        (woke, polled)
    }

    #[test]
    fn a_short_read_is_followed_by_one_yield_while_reads_after_it_pay() {
        let (mut stream, mut peer) = pair();
        let (yielded, polled) = poll_after_short_read(&mut stream, &mut peer);
        assert!(yielded, "the task was woken to run again after the others");
        assert!(polled.is_pending());
        assert_eq!(stream.read, ReadState::Yielded);
    }

    #[test]
    fn with_the_read_after_a_yield_skipped_the_yield_is_skipped_too() {
        let (mut stream, mut peer) = pair();
        // Reads after yields that keep finding nothing use up the credit.
        for _ in 0..Lookahead::MAX_CREDIT {
            stream.lookahead.record(false);
        }
        let (yielded, polled) = poll_after_short_read(&mut stream, &mut peer);
        assert!(!yielded, "no extra poll of the task");
        assert!(polled.is_pending(), "nothing more to read");
        assert_eq!(stream.read, ReadState::Waiting, "waiting for readiness");
        // And readiness does wake it: the next bytes are read.
        peer.write_all(b"again").unwrap();
        let mut buf = [0u8; 64];
        let n = smol::block_on(futures_util::AsyncReadExt::read(&mut stream, &mut buf)).unwrap();
        assert_eq!(&buf[..n], b"again");
    }
}
