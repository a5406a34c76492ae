//! The loop that drives a [`WebSocket`]: reading into the engine, turning
//! events into messages, writing output, keepalive and close timers, and
//! tearing the transport down at the end.

use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_io::{AsyncRead, AsyncWrite};

use super::error::{Error, TimeoutKind};
use super::message::{CloseFrame, Message};
use super::pace;
use super::readbuf::{poll_read_into, poll_read_keepable};
use super::socket::WebSocket;
use super::timer::Deadline;
use crate::proto::{CloseCode, CloseConnection, Event, Ping, RemoteProtocolError, Role, State};
use crate::trace::{ws_debug, ws_info, ws_trace};

/// The most slices handed to one vectored write.
const MAX_IOVECS: usize = 16;

/// The rest of a frame being gathered is read straight into its buffer
/// once at least this much of it (or a read buffer's worth, if that is
/// smaller) is still to come, and whatever is left while large frames
/// stream (see `poll_read_io`): skipping the copy out
/// of the shared read buffer then saves more than the read that the next
/// frame's header may need on its own costs. (Server user time per message
/// fell 30-45% at 300 KB x 16 ping-pong and 1 MiB x 1 pipelined and x 16
/// ping-pong; the kernel's copy into the colder buffer takes back part.)
const DIRECT_READ_MIN: usize = 64 << 10;

/// A read sized by `Connection::read_size_hint` asks for at most this
/// many read buffers' worth (2 MiB by default). Past that, the one read
/// of a large frame that goes through the read buffer is a small part of
/// its cost, and a thread's read buffer stays bounded.
const MAX_HINTED_READS: usize = 8;

/// What an inbox entry costs beyond its payload, so that a flood of empty
/// messages is bounded too.
const INBOX_ENTRY_OVERHEAD: usize = 64;

/// Where the stream is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Phase {
    /// Messages flow.
    Running,
    /// The WebSocket is closed; flush what is queued and end the transport
    /// (a client first waits for the server to end it).
    TearingDown,
    /// Everything is over; the stream yields `None`.
    Done,
}

/// Keepalive bookkeeping.
#[derive(Debug)]
pub(super) struct KeepAlive {
    deadline: Deadline,
    last_heard: Instant,
    ping_sent: Option<Instant>,
}

impl KeepAlive {
    pub(super) fn new(interval: Duration) -> KeepAlive {
        KeepAlive {
            deadline: Deadline::after(interval),
            last_heard: Instant::now(),
            ping_sent: None,
        }
    }
}

/// Watches for an idle spell in which to free the engine's idle memory.
///
/// Rather than a deadline moved at every message (a timer update each), it
/// fires once per period: a period with a data message sent or received
/// starts another, one without frees the memory. So memory goes between one and
/// two periods after the last message, for one timer wake-up per period
/// while busy.
#[derive(Debug)]
pub(super) struct IdleRelease {
    deadline: Deadline,
    /// A message was sent or received since the period began.
    pub(super) active: bool,
}

impl<S> WebSocket<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Frees the engine's idle memory after a period without messages, and
    /// arms the watch once there is such memory; registers `cx`.
    #[inline(always)]
    fn poll_idle_release(&mut self, cx: &mut Context<'_>) {
        // Mostly nothing is held that could be released (or releasing is
        // off): no call then.
        if self.config.release_idle_after.is_none()
            || (self.idle_release.is_none() && !self.conn.holds_idle_memory())
        {
            return;
        }
        self.poll_idle_release_slow(cx);
    }

    /// [`Self::poll_idle_release`] once there is something to watch.
    fn poll_idle_release_slow(&mut self, cx: &mut Context<'_>) {
        let Some(period) = self.config.release_idle_after else {
            return;
        };
        let idle = match &mut self.idle_release {
            Some(idle) => idle,
            None if self.conn.holds_idle_memory() => {
                self.idle_release.insert(Box::new(IdleRelease {
                    deadline: Deadline::after(period),
                    active: false,
                }))
            }
            None => return,
        };
        // Until a period ends with nothing sent or received. (A zero
        // period expires at once: released now rather than left to a
        // timer that will not wake us.)
        loop {
            if !idle.deadline.poll_expired(cx) {
                return;
            }
            if !std::mem::take(&mut idle.active) {
                break;
            }
            idle.deadline.reset(Instant::now() + period);
        }
        ws_trace!("idle: releasing the engine's idle memory");
        self.conn.release_idle_memory();
        // Re-armed once a message makes some again.
        self.idle_release = None;
    }

    pub(super) fn arm_close_deadline(&mut self) {
        if self.close_deadline.is_none() {
            self.close_deadline = Some(Box::new(Deadline::after(self.config.close_timeout)));
        }
    }

    /// Whether the close deadline (if armed) has passed; registers `cx`.
    pub(super) fn poll_close_expired(&mut self, cx: &mut Context<'_>) -> bool {
        self.close_deadline
            .as_mut()
            .is_some_and(|d| d.poll_expired(cx))
    }

    pub(super) fn check_sendable(&self) -> Result<(), Error> {
        if self.phase != Phase::Running || self.conn.state() != State::Open {
            return Err(Error::ConnectionClosed);
        }
        Ok(())
    }

    pub(super) fn push_inbox(&mut self, item: Result<Message, Error>) {
        self.inbox_bytes += entry_cost(&item);
        self.inbox.push_back(item);
    }

    pub(super) fn pop_inbox(&mut self) -> Option<Result<Message, Error>> {
        let item = self.inbox.pop_front()?;
        self.inbox_bytes -= entry_cost(&item);
        Some(item)
    }

    /// Writes queued output until none is left or the stream would block.
    #[inline]
    pub(super) fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        // Asked after every message and before every read: mostly there is
        // nothing to write, said here without a call.
        if !self.conn.has_bytes_to_send() {
            return Poll::Ready(Ok(()));
        }
        self.poll_write_queued(cx)
    }

    /// [`Self::poll_write_out`] with output queued.
    fn poll_write_queued(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.conn.has_bytes_to_send() {
            let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
            let count = self.conn.output_vectored(&mut slices);
            if count == 0 {
                break;
            }
            let io = Pin::new(&mut self.io);
            // One slice: a plain write (`send`), cheaper than `writev`.
            let written = ready!(if count == 1 {
                io.poll_write(cx, &slices[0])
            } else {
                io.poll_write_vectored(cx, &slices[..count])
            })?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.conn.advance_output(written);
        }
        Poll::Ready(Ok(()))
    }

    /// Writes queued output and flushes the stream, so that frames the
    /// engine queued by itself (pongs, close replies) leave buffering
    /// transports too.
    fn poll_send_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        ready!(self.poll_write_out(cx))?;
        Pin::new(&mut self.io).poll_flush(cx)
    }

    /// Reads once from the stream into the engine.
    fn poll_read_io(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let conn = &mut self.conn;
        let size = self.config.read_buffer_size;
        // While large frames stream (a read size hint is set), any rest of
        // the frame being gathered is read on its own: a read of the hinted
        // size would run on into the next frame, whose start would then be
        // copied twice (into the input buffer, then into its own) instead
        // of being read into place.
        let direct_min = if conn.read_size_hint() > 0 {
            1
        } else {
            size.min(DIRECT_READ_MIN)
        };
        let polled = if let Some(mut room) = conn.payload_buf(direct_min) {
            // The rest of a large frame: straight into its own buffer.
            let n = ready!(poll_read_into(&mut self.io, cx, &mut room))?;
            room.filled(n);
            if n == 0 {
                conn.receive_eof();
            }
            Poll::Ready(Ok(n))
        } else {
            // After a large frame, a read the size of the next one: held
            // whole, or started, it is kept without a copy.
            let hinted = conn
                .read_size_hint()
                .min(size.saturating_mul(MAX_HINTED_READS));
            poll_read_keepable(
                &mut self.io,
                cx,
                size.max(hinted),
                |buf, read, keep_from| {
                    if read.is_empty() {
                        conn.receive_eof();
                    } else {
                        conn.receive_owned(buf, read, keep_from);
                    }
                },
            )
        };
        let n = ready!(polled)?;
        if n == 0 {
            self.read_eof = true;
            return Poll::Ready(Ok(()));
        }
        // Input after a quiet spell (during which no other WebSocket on
        // this thread ran): the peer is likely waiting on each reply. Input
        // that was already there: it is not.
        self.write_through = self
            .parked_at
            .is_some_and(|at| pace::polls().wrapping_sub(at) <= 1);
        if let Some(k) = &mut self.keepalive {
            k.last_heard = Instant::now();
            if k.ping_sent.take().is_some() {
                // Answered: the next ping is due an interval from now.
                if let Some(interval) = self.config.keepalive_interval {
                    k.deadline.reset(k.last_heard + interval);
                }
            }
        }
        Poll::Ready(Ok(()))
    }

    /// Turns one protocol event into what the stream yields, if anything.
    fn on_event(
        &mut self,
        event: Result<Event, RemoteProtocolError>,
        cx: &mut Context<'_>,
    ) -> Option<Result<Message, Error>> {
        let event = match event {
            Ok(event) => event,
            Err(e) => {
                // Send the close frame now: applications often stop reading
                // at the first error.
                let _ = self.poll_send_out(cx);
                return Some(Err(Error::Protocol(e)));
            }
        };
        if let Some(idle) = &mut self.idle_release
            && matches!(event, Event::TextMessage(_) | Event::BytesMessage(_))
        {
            // Pings and pongs (heartbeats) never touch what is released.
            idle.active = true;
        }
        match event {
            Event::TextMessage(m) => self
                .partial
                .piece(true, m.data.into_bytes(), m.message_finished)
                .map(Ok),
            Event::BytesMessage(m) => self
                .partial
                .piece(false, m.data, m.message_finished)
                .map(Ok),
            Event::Ping(p) => {
                // Put the pong on the wire now if the socket takes it, so
                // each ping is answered in turn.
                let _ = self.poll_send_out(cx);
                Some(Ok(Message::Ping(p.payload)))
            }
            Event::Pong(p) => Some(Ok(Message::Pong(p.payload))),
            Event::CloseConnection(c) if c.code == CloseCode::ABNORMAL_CLOSURE => {
                Some(Err(Error::AbnormalClosure))
            }
            Event::CloseConnection(c) => {
                let _ = self.poll_send_out(cx);
                let frame = (c.code != CloseCode::NO_STATUS_RCVD).then_some(CloseFrame {
                    code: c.code,
                    reason: c.reason,
                });
                Some(Ok(Message::Close(frame)))
            }
            // Handshake events cannot come from an open connection.
            _ => None,
        }
    }

    /// Drives the connection until it yields a message, an error or its end.
    pub(super) fn poll_event(
        &mut self,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Message, Error>>> {
        pace::tick();
        loop {
            match self.phase {
                Phase::Done => return Poll::Ready(None),
                Phase::TearingDown => return self.poll_teardown(cx),
                Phase::Running => {}
            }
            if self.write_through
                && self.conn.has_bytes_to_send()
                && let Poll::Ready(Err(_)) = self.poll_write_out(cx)
            {
                // The output stays queued and the error resurfaces when it
                // is sent below, once the buffered messages are handed out;
                // no need to hit it again for each of them.
                self.write_through = false;
            }
            while let Some(event) = self.conn.next_event() {
                if let Some(item) = self.on_event(event, cx) {
                    if self.conn.state() == State::Closed {
                        self.enter_teardown();
                    }
                    return Poll::Ready(Some(item));
                }
            }
            match self.conn.state() {
                State::Closed => {
                    self.enter_teardown();
                    continue;
                }
                State::Open => {}
                // The close handshake is under way: bound how long it takes.
                _ => self.arm_close_deadline(),
            }
            if let Poll::Ready(Err(e)) = self.poll_send_out(cx) {
                ws_debug!("transport write failed: {e}");
                self.phase = Phase::Done;
                return Poll::Ready(Some(Err(Error::Io(e))));
            }
            if self.conn.state() == State::Closed {
                // Writing handed over the last reply: the close handshake
                // is complete.
                continue;
            }
            if !self.read_eof {
                pace::take_yield();
                match self.poll_read_io(cx) {
                    Poll::Ready(Ok(())) => {
                        self.parked_at = None;
                        continue;
                    }
                    Poll::Ready(Err(e)) => {
                        ws_debug!("transport read failed: {e}");
                        self.phase = Phase::Done;
                        return Poll::Ready(Some(Err(Error::Io(e))));
                    }
                    // A stream that yielded without looking says nothing
                    // about the peer (see `pace`).
                    Poll::Pending if pace::take_yield() => {}
                    Poll::Pending => self.parked_at = Some(pace::polls()),
                }
            }
            // Nothing more to read for now: only now may a timer conclude
            // that the peer is silent.
            let settled = self.read_eof || self.input_settled();
            if let Some(e) = self.poll_timers(cx, settled) {
                return Poll::Ready(Some(Err(e)));
            }
            self.poll_idle_release(cx);
            return Poll::Pending;
        }
    }

    /// Whether the stream has been found empty since the last input (a
    /// `Pending` that did not look does not count: see `pace`).
    fn input_settled(&self) -> bool {
        self.parked_at.is_some()
    }

    /// Fires due timers: the close handshake timeout, keepalive pings and
    /// their timeout. Until the input is `settled`, a due timer only asks
    /// for another look.
    fn poll_timers(&mut self, cx: &mut Context<'_>, settled: bool) -> Option<Error> {
        let closing = matches!(
            self.conn.state(),
            State::LocalClosing | State::RemoteClosing
        );
        let close_due = closing && self.poll_close_expired(cx);
        let keepalive_due = self
            .keepalive
            .as_mut()
            .is_some_and(|k| k.deadline.poll_expired(cx));
        if (close_due || keepalive_due) && !settled {
            cx.waker().wake_by_ref();
            return None;
        }
        if close_due {
            // A peer slow to answer a close is common and harmless: `debug`.
            ws_debug!("close handshake timed out; dropping the transport");
            self.read_eof = true; // do not wait for the peer any longer
            self.phase = Phase::TearingDown;
            self.close_timed_out = true;
            return Some(Error::Timeout(TimeoutKind::Close));
        }
        if !keepalive_due {
            return None;
        }
        let interval = self.config.keepalive_interval?;
        let timeout = self.config.keepalive_timeout;
        let k = self.keepalive.as_mut()?;
        let now = Instant::now();
        if k.ping_sent.is_some() {
            // The deadline was the ping's timeout, and nothing was heard
            // since (hearing anything clears `ping_sent`), with the socket
            // drained: the peer, or the path to it, is dead. At `info`: a
            // silent failure nothing else would report.
            ws_info!("keepalive timeout: no answer from the peer; closing with 1011");
            if self.conn.state() == State::Open {
                let _ = self.conn.send(CloseConnection::new(
                    CloseCode::INTERNAL_ERROR,
                    "keepalive timeout",
                ));
            }
            self.read_eof = true;
            self.enter_teardown();
            return Some(Error::Timeout(TimeoutKind::Keepalive));
        }
        let due = now >= k.last_heard + interval;
        if due {
            k.ping_sent = Some(now);
            k.deadline.reset(now + timeout);
        } else {
            k.deadline.reset(k.last_heard + interval);
        }
        // Register the waker with the moved deadline.
        k.deadline.poll_expired(cx);
        if due && self.conn.state() == State::Open {
            ws_trace!("keepalive ping sent");
            let _ = self.conn.send(Ping::new(Bytes::from_static(b"keepalive")));
            let _ = self.poll_send_out(cx);
        }
        None
    }

    fn enter_teardown(&mut self) {
        if self.phase == Phase::Running {
            self.phase = Phase::TearingDown;
            self.close_deadline = Some(Box::new(Deadline::after(self.config.close_timeout)));
        }
    }

    /// Flushes the last frames and ends the transport. The server drops TCP
    /// first (RFC 6455 §7.1.1); a client waits, bounded by the close
    /// timeout, for it to do so.
    fn poll_teardown(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, Error>>> {
        if !self.poll_close_expired(cx) {
            match self.poll_send_out(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(_)) => return self.finish(),
                Poll::Ready(Ok(())) => {}
            }
            let mut scratch = [0u8; 512];
            while self.conn.role() == Role::Client && !self.read_eof {
                match ready!(Pin::new(&mut self.io).poll_read(cx, &mut scratch)) {
                    Ok(0) | Err(_) => self.read_eof = true,
                    Ok(_) => {} // after the close handshake, input is discarded
                }
            }
        }
        let _ = ready!(Pin::new(&mut self.io).poll_close(cx));
        self.finish()
    }

    fn finish(&mut self) -> Poll<Option<Result<Message, Error>>> {
        ws_debug!("transport closed");
        self.phase = Phase::Done;
        self.close_deadline = None;
        self.keepalive = None;
        self.idle_release = None;
        Poll::Ready(None)
    }

    /// While the application only sends, reads ahead (bounded) so that pings
    /// and a close from the peer are still answered.
    ///
    /// An application that also reads needs none of this, and reading ahead
    /// of it would reorder things: a violation in the next frame would fail
    /// the connection before the answer to the previous message went out.
    /// So the send side reads ahead only when the stream has not been polled
    /// since its last look, and then only when sending is about to wait
    /// (`blocked`), or every 32 sends or 100 ms.
    pub(super) fn read_ahead(&mut self, cx: &mut Context<'_>, blocked: bool) {
        if self.reader_waiting || std::mem::take(&mut self.reader_active) {
            self.sends_since_read_ahead = 0;
            return;
        }
        self.sends_since_read_ahead += 1;
        let due = blocked
            || self.sends_since_read_ahead >= 32
            || self.last_read_ahead.elapsed() >= Duration::from_millis(100);
        if !due {
            return;
        }
        self.sends_since_read_ahead = 0;
        self.last_read_ahead = Instant::now();
        while self.phase == Phase::Running && self.inbox_bytes < self.config.read_ahead_limit {
            match self.poll_event(cx) {
                Poll::Ready(Some(item)) => self.push_inbox(item),
                _ => break,
            }
        }
    }
}

fn entry_cost(item: &Result<Message, Error>) -> usize {
    INBOX_ENTRY_OVERHEAD + item.as_ref().map_or(0, Message::len)
}
