//! [`WebSocket`]: the Sans-I/O [`Connection`] driven over an async byte
//! stream, as a `Stream` of messages and a `Sink` of messages.

use std::collections::VecDeque;
use std::io::{self, IoSlice};
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::{Duration, Instant};

use bytes::{Bytes, BytesMut};
use futures_core::Stream;
use futures_io::{AsyncRead, AsyncWrite};
use futures_sink::Sink;

use super::config::Config;
use super::error::{Error, TimeoutKind};
use super::message::{CloseFrame, Message};
use super::timer::Deadline;
use crate::proto::{CloseCode, CloseConnection, Connection, Event, Ping, Role, State, Utf8Bytes};

/// The most slices handed to one vectored write.
const MAX_IOVECS: usize = 16;

/// A data message being assembled from its pieces. A message that arrives
/// in one piece is passed on without a copy.
#[derive(Debug)]
struct Partial {
    text: bool,
    first: Option<Bytes>,
    joined: BytesMut,
}

impl Partial {
    fn push(&mut self, data: Bytes) {
        if self.first.is_none() && self.joined.is_empty() {
            self.first = Some(data);
            return;
        }
        if let Some(first) = self.first.take() {
            self.joined.reserve(first.len() + data.len());
            self.joined.extend_from_slice(&first);
        }
        self.joined.extend_from_slice(&data);
    }

    fn finish(self) -> Message {
        let data = match self.first {
            Some(first) => first,
            None => self.joined.freeze(),
        };
        if self.text {
            // Every piece was validated and ended on a character boundary.
            Message::Text(Utf8Bytes::try_from_bytes(data).expect("validated text"))
        } else {
            Message::Binary(data)
        }
    }
}

/// Where the stream is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Messages flow.
    Running,
    /// The WebSocket is closed; flush what is queued and tear down the
    /// transport (a client first waits for the server to drop it).
    TearingDown,
    /// Everything is over; the stream yields `None`.
    Done,
}

/// Keepalive bookkeeping.
#[derive(Debug)]
struct KeepAlive {
    deadline: Deadline,
    last_heard: Instant,
    ping_sent: Option<Instant>,
}

/// A WebSocket over an async byte stream `S`.
///
/// It is a [`Stream`] of received [`Message`]s and a [`Sink`] of messages
/// to send. Reading from `S` happens only when a message is asked for (or,
/// bounded by [`Config::read_ahead_limit`], while the application sends, so
/// pings and closes are answered), and sending waits while more than
/// [`Config::write_buffer_high_water`] bytes are unwritten: back-pressure
/// follows from awaiting.
///
/// Polling the stream is cancel-safe: a `next()` future dropped before it
/// completes loses no message; the next call picks up where it left off.
#[derive(Debug)]
pub struct WebSocket<S> {
    io: S,
    conn: Connection,
    config: Config,
    read_buf: Vec<u8>,
    partial: Option<Partial>,
    inbox: VecDeque<Result<Message, Error>>,
    inbox_bytes: usize,
    phase: Phase,
    read_eof: bool,
    /// The reader is waiting for input, so reading ahead from the send side
    /// is unnecessary.
    reader_waiting: bool,
    /// The stream was polled since the send side last considered reading
    /// ahead: the application reads, so the send side need not.
    reader_active: bool,
    /// Send-side calls since the last read-ahead.
    sends_since_read_ahead: u32,
    last_read_ahead: Instant,
    close_deadline: Option<Deadline>,
    keepalive: Option<KeepAlive>,
}

impl<S> WebSocket<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Wraps a stream on which the handshake is already done, e.g. one
    /// upgraded by an HTTP server, with the frame engine `conn`.
    pub fn from_connection(io: S, conn: Connection, config: Config) -> WebSocket<S> {
        let keepalive = config.keepalive_interval.map(|interval| KeepAlive {
            deadline: Deadline::after(interval),
            last_heard: Instant::now(),
            ping_sent: None,
        });
        WebSocket {
            io,
            conn,
            config,
            read_buf: Vec::new(),
            partial: None,
            inbox: VecDeque::new(),
            inbox_bytes: 0,
            phase: Phase::Running,
            read_eof: false,
            reader_waiting: false,
            reader_active: false,
            sends_since_read_ahead: 0,
            last_read_ahead: Instant::now(),
            close_deadline: None,
            keepalive,
        }
    }

    /// Wraps an upgraded stream with a fresh frame engine for `role`.
    pub fn from_upgraded(io: S, role: Role, config: Config) -> WebSocket<S> {
        let conn = Connection::with_config(role, config.protocol.clone());
        WebSocket::from_connection(io, conn, config)
    }

    /// The protocol engine, e.g. for its [`State`].
    pub fn connection(&self) -> &Connection {
        &self.conn
    }

    /// The connection's protocol state.
    pub fn state(&self) -> State {
        self.conn.state()
    }

    /// The configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// The underlying stream.
    pub fn get_ref(&self) -> &S {
        &self.io
    }

    /// The underlying stream, mutably. Reading or writing it directly
    /// corrupts the WebSocket.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.io
    }

    /// Bytes queued for sending and not yet written.
    pub fn buffered_output(&self) -> usize {
        self.conn.buffered_output()
    }

    /// Receives the next message; `None` once the connection is over.
    /// Cancel-safe.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// Sends a message and flushes it.
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        let message = message.into();
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_ready(cx)).await?;
        Pin::new(&mut *self).start_send(message)?;
        self.flush().await
    }

    /// Writes everything queued.
    pub async fn flush(&mut self) -> Result<(), Error> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_flush(cx)).await
    }

    /// Starts the close handshake with `code` and `reason` and flushes the
    /// close frame. Keep reading: the stream yields what the peer still
    /// sends, then its closing `Message::Close`, then ends.
    pub async fn close(&mut self, code: impl Into<CloseCode>, reason: &str) -> Result<(), Error> {
        if self.conn.state() == State::Open {
            self.conn.send(CloseConnection::new(code, reason))?;
            self.arm_close_deadline();
        }
        self.flush().await
    }

    fn arm_close_deadline(&mut self) {
        if self.close_deadline.is_none() {
            self.close_deadline = Some(Deadline::after(self.config.close_timeout));
        }
    }

    /// Writes queued output until none is left or the stream would block.
    fn poll_write_out(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        while self.conn.has_bytes_to_send() {
            let mut slices = [IoSlice::new(&[]); MAX_IOVECS];
            let count = self.conn.output_vectored(&mut slices);
            let written = ready!(Pin::new(&mut self.io).poll_write_vectored(cx, &slices[..count]))?;
            if written == 0 {
                return Poll::Ready(Err(io::ErrorKind::WriteZero.into()));
            }
            self.conn.advance_output(written);
        }
        Poll::Ready(Ok(()))
    }

    /// Reads once from the stream into the engine.
    fn poll_read_io(&mut self, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        if self.read_buf.is_empty() {
            self.read_buf = vec![0; self.config.read_buffer_size];
        }
        match Pin::new(&mut self.io).poll_read(cx, &mut self.read_buf) {
            Poll::Pending => {
                // Idle: hold no buffer while waiting.
                self.read_buf = Vec::new();
                Poll::Pending
            }
            Poll::Ready(Ok(0)) => {
                self.read_eof = true;
                self.conn.receive_eof();
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Ok(n)) => {
                self.conn.receive_bytes(&self.read_buf[..n]);
                if let Some(k) = &mut self.keepalive {
                    k.last_heard = Instant::now();
                }
                Poll::Ready(Ok(()))
            }
            Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
        }
    }

    /// Turns one protocol event into what the stream yields, if anything.
    fn on_event(
        &mut self,
        event: Result<Event, crate::RemoteProtocolError>,
        cx: &mut Context<'_>,
    ) -> Option<Result<Message, Error>> {
        let event = match event {
            Ok(event) => event,
            Err(e) => return Some(Err(Error::Protocol(e))),
        };
        match event {
            Event::TextMessage(m) => {
                self.partial
                    .get_or_insert_with(|| Partial {
                        text: true,
                        first: None,
                        joined: BytesMut::new(),
                    })
                    .push(m.data.into_bytes());
                m.message_finished
                    .then(|| Ok(self.partial.take().expect("message in progress").finish()))
            }
            Event::BytesMessage(m) => {
                self.partial
                    .get_or_insert_with(|| Partial {
                        text: false,
                        first: None,
                        joined: BytesMut::new(),
                    })
                    .push(m.data);
                m.message_finished
                    .then(|| Ok(self.partial.take().expect("message in progress").finish()))
            }
            Event::Ping(p) => {
                // Put the pong on the wire now if the socket takes it, so
                // each ping is answered in turn.
                let _ = self.poll_write_out(cx);
                Some(Ok(Message::Ping(p.payload)))
            }
            Event::Pong(p) => Some(Ok(Message::Pong(p.payload))),
            Event::CloseConnection(c) if c.code == CloseCode::ABNORMAL_CLOSURE => {
                Some(Err(Error::AbnormalClosure))
            }
            Event::CloseConnection(c) => {
                let _ = self.poll_write_out(cx);
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

    /// Fires due timers: keepalive pings and their timeout, the close
    /// handshake timeout.
    fn poll_timers(&mut self, cx: &mut Context<'_>) -> Option<Error> {
        if let Some(deadline) = &mut self.close_deadline {
            if deadline.poll_expired(cx) && self.conn.state() == State::LocalClosing {
                self.read_eof = true; // do not wait for the peer any longer
                self.phase = Phase::TearingDown;
                return Some(Error::Timeout(TimeoutKind::Close));
            }
        }
        let interval = self.config.keepalive_interval?;
        let timeout = self.config.keepalive_timeout;
        let k = self.keepalive.as_mut()?;
        if !k.deadline.poll_expired(cx) {
            return None;
        }
        let now = Instant::now();
        let silent_since_ping = k.ping_sent.is_some_and(|sent| k.last_heard <= sent);
        let due = now >= k.last_heard + interval;
        if silent_since_ping {
            // Silent since the ping: the peer (or the path) is dead.
            if self.conn.state() == State::Open {
                let close = CloseConnection::new(CloseCode::INTERNAL_ERROR, "keepalive timeout");
                let _ = self.conn.send(close);
            }
            let _ = self.poll_write_out(cx);
            self.read_eof = true;
            self.phase = Phase::TearingDown;
            return Some(Error::Timeout(TimeoutKind::Keepalive));
        }
        if due {
            k.ping_sent = Some(now);
            k.deadline.reset(now + timeout);
        } else {
            k.ping_sent = None;
            k.deadline.reset(k.last_heard + interval);
        }
        // Register the waker with the moved deadline.
        k.deadline.poll_expired(cx);
        if due && self.conn.state() == State::Open {
            let _ = self.conn.send(Ping::new(Bytes::from_static(b"keepalive")));
            let _ = self.poll_write_out(cx);
        }
        None
    }

    /// Drives the connection until it yields a message, an error or its end.
    fn poll_event(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, Error>>> {
        loop {
            match self.phase {
                Phase::Done => return Poll::Ready(None),
                Phase::TearingDown => return self.poll_teardown(cx),
                Phase::Running => {}
            }
            while let Some(event) = self.conn.next_event() {
                if let Some(item) = self.on_event(event, cx) {
                    if self.conn.state() == State::Closed {
                        self.enter_teardown();
                    }
                    return Poll::Ready(Some(item));
                }
            }
            if self.conn.state() == State::Closed {
                self.enter_teardown();
                continue;
            }
            if let Some(e) = self.poll_timers(cx) {
                return Poll::Ready(Some(Err(e)));
            }
            if let Poll::Ready(Err(e)) = self.poll_write_out(cx) {
                self.phase = Phase::Done;
                return Poll::Ready(Some(Err(Error::Io(e))));
            }
            if self.conn.buffered_output() > self.config.write_buffer_high_water {
                // The peer is not reading; read no more until it does.
                return Poll::Pending;
            }
            match self.poll_read_io(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Ok(())) => {}
                Poll::Ready(Err(e)) => {
                    self.phase = Phase::Done;
                    return Poll::Ready(Some(Err(Error::Io(e))));
                }
            }
        }
    }

    fn enter_teardown(&mut self) {
        if self.phase == Phase::Running {
            self.phase = Phase::TearingDown;
            self.close_deadline = Some(Deadline::after(self.config.close_timeout));
        }
    }

    /// Flushes the last frames and ends the transport. The server drops TCP
    /// first (RFC 6455 §7.1.1); a client waits, bounded by the close
    /// timeout, for it to do so.
    fn poll_teardown(&mut self, cx: &mut Context<'_>) -> Poll<Option<Result<Message, Error>>> {
        let expired = self
            .close_deadline
            .as_mut()
            .is_some_and(|d| d.poll_expired(cx));
        if !expired {
            match self.poll_write_out(cx) {
                Poll::Pending => return Poll::Pending,
                Poll::Ready(Err(_)) => return self.finish(),
                Poll::Ready(Ok(())) => {}
            }
            if ready!(Pin::new(&mut self.io).poll_flush(cx)).is_err() {
                return self.finish();
            }
            while self.conn.role() == Role::Client && !self.read_eof {
                if self.read_buf.is_empty() {
                    self.read_buf = vec![0; 1024];
                }
                match ready!(Pin::new(&mut self.io).poll_read(cx, &mut self.read_buf)) {
                    Ok(0) | Err(_) => self.read_eof = true,
                    Ok(_) => {} // after the close handshake, input is discarded
                }
            }
        }
        let _ = ready!(Pin::new(&mut self.io).poll_close(cx));
        self.finish()
    }

    fn finish(&mut self) -> Poll<Option<Result<Message, Error>>> {
        self.phase = Phase::Done;
        self.read_buf = Vec::new();
        self.close_deadline = None;
        self.keepalive = None;
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
    fn read_ahead(&mut self, cx: &mut Context<'_>, blocked: bool) {
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
                Poll::Ready(Some(item)) => {
                    self.inbox_bytes += item.as_ref().map_or(0, Message::len);
                    self.inbox.push_back(item);
                }
                _ => break,
            }
        }
    }

    fn check_sendable(&self) -> Result<(), Error> {
        if self.phase != Phase::Running || self.conn.state() != State::Open {
            return Err(Error::ConnectionClosed);
        }
        Ok(())
    }
}

impl<S> Stream for WebSocket<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        this.reader_active = true;
        if let Some(item) = this.inbox.pop_front() {
            this.inbox_bytes -= item.as_ref().map_or(0, Message::len);
            return Poll::Ready(Some(item));
        }
        let result = this.poll_event(cx);
        this.reader_waiting = result.is_pending();
        result
    }
}

impl<S> Sink<Message> for WebSocket<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        let blocked = this.conn.buffered_output() >= this.config.write_buffer_high_water;
        this.read_ahead(cx, blocked);
        this.check_sendable()?;
        if blocked {
            ready!(this.poll_write_out(cx))?;
        }
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        let this = self.get_mut();
        this.check_sendable()?;
        let is_close = matches!(message, Message::Close(_));
        this.conn.send(message.into_event())?;
        if is_close {
            this.arm_close_deadline();
        }
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        if this.poll_write_out(cx)?.is_pending() {
            this.read_ahead(cx, true);
            return Poll::Pending;
        }
        ready!(Pin::new(&mut this.io).poll_flush(cx))?;
        Poll::Ready(Ok(()))
    }

    /// Sends a close frame (1000) unless one was sent, and flushes it. The
    /// close handshake completes as the stream is read to its end.
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        if self.conn.state() == State::Open {
            self.conn
                .send(CloseConnection::new(CloseCode::NORMAL, ""))?;
            self.arm_close_deadline();
        }
        self.poll_flush(cx)
    }
}
