//! When replies leave: a burst that was already waiting is answered in one
//! write, while input that ends a quiet spell has each reply written as it
//! is queued (the peer is likely waiting on the first).
//!
//! Most tests script the transport — each read either finds nothing
//! (`Pending`) or one chunk of bytes — and record every write call, so they
//! see exactly how replies were grouped into writes. One runs over each
//! runtime shim's real TCP stream, whose reads decide what counts as quiet.

#[macro_use]
mod ws_common;

use std::collections::VecDeque;
use std::io;
use std::pin::Pin;
use std::task::{Context, Poll, Waker};

use std::time::Duration;

use futures::io::{AsyncRead, AsyncWrite};
use futures::{Sink, SinkExt, Stream};
use ws_common::*;
use wsproto::Role;
use wsproto::ws::{Config, Message, WebSocket};

runtime_tests!(a_burst_after_a_quiet_spell_is_answered_reply_by_reply);

/// One read of the script.
enum Step {
    /// The read finds nothing yet.
    Nothing,
    /// The read returns these bytes.
    Bytes(Vec<u8>),
}

/// A transport that plays a script of reads and records each write call.
#[derive(Default)]
struct Scripted {
    reads: VecDeque<Step>,
    writes: Vec<Vec<u8>>,
}

impl AsyncRead for Scripted {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        match self.reads.pop_front() {
            Some(Step::Bytes(bytes)) => {
                assert!(bytes.len() <= buf.len(), "script chunk too big");
                buf[..bytes.len()].copy_from_slice(&bytes);
                Poll::Ready(Ok(bytes.len()))
            }
            // The script is over: nothing more arrives.
            Some(Step::Nothing) | None => Poll::Pending,
        }
    }
}

impl AsyncWrite for Scripted {
    fn poll_write(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        self.writes.push(buf.to_vec());
        Poll::Ready(Ok(buf.len()))
    }

    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let joined: Vec<u8> = bufs.iter().flat_map(|b| b.iter().copied()).collect();
        let n = joined.len();
        self.writes.push(joined);
        Poll::Ready(Ok(n))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

/// Three masked binary frames from a client, in one chunk.
fn burst() -> Vec<u8> {
    let mut wire = Vec::new();
    for payload in [b"one".as_slice(), b"two", b"three"] {
        wire.extend(encode(true, 0x2, Some([1, 2, 3, 4]), payload));
    }
    wire
}

/// A server WebSocket over `script`.
fn server(script: Vec<Step>) -> WebSocket<Scripted> {
    let io = Scripted {
        reads: script.into(),
        writes: Vec::new(),
    };
    WebSocket::from_upgraded(io, Role::Server, Config::default())
}

/// Polls for the next message once.
fn poll_recv<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocket<S>) -> Poll<Option<Message>> {
    let mut cx = Context::from_waker(Waker::noop());
    Pin::new(ws)
        .poll_next(&mut cx)
        .map(|m| m.map(|m| m.expect("message")))
}

/// Queues `message` the way `SinkExt::feed` does (no flush).
fn feed<S: AsyncRead + AsyncWrite + Unpin>(ws: &mut WebSocket<S>, message: Message) {
    let mut cx = Context::from_waker(Waker::noop());
    assert!(Pin::new(&mut *ws).poll_ready(&mut cx).is_ready());
    Pin::new(ws).start_send(message).expect("queued");
}

/// A transport that is, or wraps, a [`Scripted`] one.
trait Recorded: AsyncRead + AsyncWrite + Unpin {
    fn script(&self) -> &Scripted;
}

impl Recorded for Scripted {
    fn script(&self) -> &Scripted {
        self
    }
}

impl Recorded for wsproto::rt::YieldingStream<Scripted> {
    fn script(&self) -> &Scripted {
        self.get_ref()
    }
}

/// Echoes messages until a read finds nothing, returning how many bytes
/// had been written when each message was handed over.
fn echo_until_quiet<S: Recorded>(ws: &mut WebSocket<S>) -> Vec<usize> {
    let mut written_at_each = Vec::new();
    while let Poll::Ready(Some(message)) = poll_recv(ws) {
        written_at_each.push(ws.get_ref().script().writes.iter().map(Vec::len).sum());
        feed(ws, message);
    }
    written_at_each
}

/// A reply from a server to a 3- or 5-byte message: 2 header bytes.
fn reply_len(payload: &[u8]) -> usize {
    2 + payload.len()
}

#[test]
fn a_burst_already_waiting_is_answered_in_one_write() {
    let mut ws = server(vec![Step::Bytes(burst())]);
    let written = echo_until_quiet(&mut ws);
    assert_eq!(written, [0, 0, 0], "nothing goes out while input is queued");
    let writes = &ws.get_ref().writes;
    assert_eq!(writes.len(), 1, "one write for the burst: {writes:?}");
    let all = reply_len(b"one") + reply_len(b"two") + reply_len(b"three");
    assert_eq!(writes[0].len(), all);
}

#[test]
fn input_after_a_quiet_spell_has_each_reply_written_as_it_is_queued() {
    // Two reads in a row find nothing, then the burst arrives.
    let mut ws = server(vec![Step::Nothing, Step::Nothing, Step::Bytes(burst())]);
    assert!(poll_recv(&mut ws).is_pending());
    assert!(poll_recv(&mut ws).is_pending());
    let written = echo_until_quiet(&mut ws);
    let one = reply_len(b"one");
    let two = reply_len(b"two");
    assert_eq!(
        written,
        [0, one, one + two],
        "each reply leaves before the next message is handed over"
    );
    let sizes: Vec<usize> = ws.get_ref().writes.iter().map(Vec::len).collect();
    assert_eq!(sizes, [one, two, reply_len(b"three")]);
}

#[test]
fn a_single_pending_read_is_a_quiet_spell() {
    let mut ws = server(vec![Step::Nothing, Step::Bytes(burst())]);
    assert!(poll_recv(&mut ws).is_pending());
    let written = echo_until_quiet(&mut ws);
    let one = reply_len(b"one");
    assert_eq!(written, [0, one, one + reply_len(b"two")]);
    assert_eq!(ws.get_ref().writes.len(), 3);
}

#[test]
fn a_connection_whose_thread_served_others_meanwhile_answers_a_burst_in_one_write() {
    // Quiet, but while it waited another connection on this thread ran:
    // the thread is busy, and a write per reply would cost them all.
    let mut ws = server(vec![Step::Nothing, Step::Bytes(burst())]);
    let mut other = server(vec![]);
    assert!(poll_recv(&mut ws).is_pending());
    assert!(poll_recv(&mut other).is_pending());
    assert!(poll_recv(&mut other).is_pending());
    let written = echo_until_quiet(&mut ws);
    assert_eq!(written, [0, 0, 0]);
    assert_eq!(ws.get_ref().writes.len(), 1);
}

#[test]
fn a_pending_that_only_yielded_is_not_a_quiet_spell() {
    // A short read makes `YieldingStream` answer the next read `Pending`
    // without looking; the burst that read then finds was already there.
    let solo = encode(true, 0x2, Some([9, 9, 9, 9]), b"solo");
    let io = Scripted {
        reads: vec![Step::Bytes(solo), Step::Bytes(burst())].into(),
        writes: Vec::new(),
    };
    let mut ws = WebSocket::from_upgraded(
        wsproto::rt::YieldingStream::new(io),
        Role::Server,
        Config::default(),
    );
    let Poll::Ready(Some(solo)) = poll_recv(&mut ws) else {
        panic!("the first message is there");
    };
    feed(&mut ws, solo);
    // The yield: the reply goes out, the burst is not read yet.
    assert!(poll_recv(&mut ws).is_pending());
    let written = echo_until_quiet(&mut ws);
    let solo = reply_len(b"solo");
    assert_eq!(
        written,
        [solo, solo, solo],
        "the burst is answered in one write"
    );
    let sizes: Vec<usize> = ws.get_ref().get_ref().writes.iter().map(Vec::len).collect();
    let burst_len = reply_len(b"one") + reply_len(b"two") + reply_len(b"three");
    assert_eq!(sizes, [solo, burst_len]);
}

#[test]
fn writing_through_ends_when_input_is_waiting_again() {
    // A quiet spell, one message, then a burst that is there at once.
    let mut first = encode(true, 0x2, Some([9, 9, 9, 9]), b"solo");
    let mut script = vec![Step::Nothing, Step::Nothing];
    script.push(Step::Bytes(std::mem::take(&mut first)));
    script.push(Step::Bytes(burst()));
    let mut ws = server(script);
    assert!(poll_recv(&mut ws).is_pending());
    assert!(poll_recv(&mut ws).is_pending());
    let written = echo_until_quiet(&mut ws);
    let solo = reply_len(b"solo");
    // "solo" goes out when the next read is due; the burst that read finds
    // is gathered again.
    assert_eq!(written, [0, solo, solo, solo]);
    let sizes: Vec<usize> = ws.get_ref().writes.iter().map(Vec::len).collect();
    let burst_len = reply_len(b"one") + reply_len(b"two") + reply_len(b"three");
    assert_eq!(sizes, [solo, burst_len]);
}

/// A raw client stays quiet after the handshake, then sends three messages
/// in one write: on every runtime's stream (those that yield once after a
/// short read, and tokio's, which does not), each echo is written before
/// the next message is handed over.
fn a_burst_after_a_quiet_spell_is_answered_reply_by_reply<R: Rt>() {
    run::<R, _>(async {
        let (listener, addr) = R::bind().await;
        let client = std::thread::spawn(move || {
            let mut raw = Raw::client(addr, "/");
            std::thread::sleep(Duration::from_millis(100));
            raw.write(&burst());
            let echoes: Vec<Vec<u8>> = (0..3).map(|_| raw.expect_frame().payload).collect();
            raw.send_close(1000, "");
            echoes
        });
        let mut ws = R::accept(&listener).await.expect("handshake");
        let mut unwritten_when_handed = Vec::new();
        for _ in 0..3 {
            let message = ws.recv().await.expect("message").expect("no error");
            unwritten_when_handed.push(ws.buffered_output());
            ws.feed(message).await.expect("queued");
        }
        while ws.recv().await.is_some() {}
        let echoes = client.join().expect("client");
        assert_eq!(
            echoes,
            [b"one".to_vec(), b"two".to_vec(), b"three".to_vec()]
        );
        assert_eq!(unwritten_when_handed, [0, 0, 0], "[{}]", R::NAME);
    });
}
