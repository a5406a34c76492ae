//! [`WebSocket`]: the Sans-I/O [`Connection`] driven over an async byte
//! stream, as a `Stream` of messages and a `Sink` of messages. The driving
//! loop itself lives in `driver.rs`.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Instant;

use futures_core::Stream;
use futures_io::{AsyncRead, AsyncWrite};
use futures_sink::Sink;

use super::config::{Config, Settings};
use super::driver::{IdleRelease, KeepAlive, Phase};
use super::error::{Error, TimeoutKind};
use super::message::Message;
use super::partial::Partial;
use super::timer::Deadline;
use crate::proto::{CloseCode, CloseConnection, Connection, Role, State};

/// A WebSocket over an async byte stream `S`.
///
/// It is a [`Stream`] of received [`Message`]s and a [`Sink`] of messages
/// to send. Reading from `S` happens only when a message is asked for (or,
/// bounded by [`Config::read_ahead_limit`], while the application only
/// sends, so pings and closes are still answered), and sending waits while
/// more than [`Config::write_buffer_high_water`] bytes are unwritten:
/// back-pressure follows from awaiting.
///
/// Messages queued with `feed` (rather than `send`, which flushes) leave
/// when the stream is next polled for input and has none buffered: a burst
/// of messages that arrived in one read is answered with one write. Input
/// that ends a quiet spell (the stream was found empty, and no other
/// WebSocket on this thread was polled meanwhile) has each reply written as
/// soon as the next message is asked for, so a peer waiting on replies gets
/// the first at once; a connection on a busy thread keeps answering bursts
/// in one write. A stream that answers `Pending` once without looking (the
/// smol shim's `TcpStream`, [`crate::rt::YieldingStream`]) says so, and
/// that `Pending` does not count as quiet.
///
/// Receiving is cancel-safe: a `recv()` or `next()` future dropped before it
/// completes loses no message; the next call picks up where it left off.
#[derive(Debug)]
pub struct WebSocket<S> {
    pub(super) io: S,
    pub(super) conn: Connection,
    /// The configuration but for its protocol part, which `conn` holds.
    pub(super) config: Settings,
    pub(super) partial: Partial,
    /// Messages read ahead by the send side, waiting for the reader.
    pub(super) inbox: VecDeque<Result<Message, Error>>,
    /// What the inbox holds, counting a fixed overhead per entry.
    pub(super) inbox_bytes: usize,
    pub(super) phase: Phase,
    pub(super) read_eof: bool,
    /// `pace::polls()` when a read last found the stream empty, unless
    /// input came since (see `poll_event`).
    pub(super) parked_at: Option<u32>,
    /// The last read ended a quiet spell, so each queued reply is written
    /// at the next look rather than gathered until input runs out: a peer
    /// that waits on replies gets the first at once and works on it while
    /// the rest are made. (1 connection, 8 messages in flight, 1 KiB: 1.6x
    /// the messages/s.) A busy connection, whose input is there before it
    /// is read or whose thread serves others, keeps answering a burst with
    /// one write (see `pace`).
    pub(super) write_through: bool,
    /// The reader is parked waiting for input, so the send side need not
    /// read ahead.
    pub(super) reader_waiting: bool,
    /// The stream was polled since the send side last considered reading
    /// ahead.
    pub(super) reader_active: bool,
    pub(super) sends_since_read_ahead: u32,
    pub(super) last_read_ahead: Instant,
    /// Boxed, like `keepalive`: most connections never arm them, and an
    /// idle connection should not carry their weight inline.
    pub(super) close_deadline: Option<Box<Deadline>>,
    /// The close handshake was abandoned at its deadline.
    pub(super) close_timed_out: bool,
    pub(super) keepalive: Option<Box<KeepAlive>>,
    /// Armed while the engine holds memory it could free when idle; boxed
    /// and dropped once it has: see `Config::release_idle_after`.
    pub(super) idle_release: Option<Box<IdleRelease>>,
}

impl<S> WebSocket<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Wraps a stream on which the handshake is already done, e.g. one
    /// upgraded by an HTTP server, with the frame engine `conn`. The
    /// protocol limits and extensions are `conn`'s: `config.protocol` is not
    /// consulted.
    pub fn from_connection(io: S, mut conn: Connection, config: Config) -> WebSocket<S> {
        // Messages are joined here anyway: let the engine gather each frame
        // (copied at most once, unmasked on the way) rather than hand it
        // over in pieces.
        conn.set_whole_frames(true);
        // The protocol part (limits, and offers negotiated into `conn`) is
        // `conn`'s; keeping it too would cost every connection memory for
        // the rest of its life.
        let config = Settings::of(&config);
        let keepalive = config
            .keepalive_interval
            .map(|interval| Box::new(KeepAlive::new(interval)));
        WebSocket {
            io,
            conn,
            config,
            partial: Partial::Idle,
            inbox: VecDeque::new(),
            inbox_bytes: 0,
            phase: Phase::Running,
            read_eof: false,
            parked_at: None,
            write_through: false,
            reader_waiting: false,
            reader_active: false,
            sends_since_read_ahead: 0,
            last_read_ahead: Instant::now(),
            close_deadline: None,
            close_timed_out: false,
            keepalive,
            idle_release: None,
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

    /// The configuration, rebuilt from what the open connection keeps: its
    /// extension offers are dropped once the connection is open (the
    /// negotiated extensions are in [`Self::connection`]'s config, and the
    /// protocol limits here are that config's).
    pub fn config(&self) -> Config {
        self.config
            .with_protocol(self.conn.config().without_extensions())
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
    ///
    /// Cancelling this future may or may not have queued the message; use
    /// the `Sink` methods (`feed`, then `flush`) to know.
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
    /// close frame, without waiting for the reply. Keep reading: the stream
    /// yields what the peer still sends, then its closing `Message::Close`,
    /// then ends. (`SinkExt::close` instead waits for the whole handshake.)
    pub async fn close(&mut self, code: impl Into<CloseCode>, reason: &str) -> Result<(), Error> {
        if self.conn.state() == State::Open {
            self.conn.send(CloseConnection::new(code, reason))?;
            self.arm_close_deadline();
        }
        self.flush().await
    }

    /// Receives, reading ahead of the application (bounded), until the
    /// connection is over; what arrives waits in the inbox for `recv`.
    fn poll_drain_to_end(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        loop {
            if self.inbox_bytes >= self.config.read_ahead_limit {
                // The reader must make room first; it is woken with us. If
                // it does not in time, say so, leaving the stream readable.
                if !self.poll_close_expired(cx) {
                    return Poll::Pending;
                }
                crate::trace::ws_debug!(
                    "close handshake timed out: what the peer sent waits for the reader"
                );
                return Poll::Ready(Err(Error::Timeout(TimeoutKind::Close)));
            }
            match ready!(self.poll_event(cx)) {
                Some(item) => self.push_inbox(item),
                None if self.close_timed_out => {
                    return Poll::Ready(Err(Error::Timeout(TimeoutKind::Close)));
                }
                None => return Poll::Ready(Ok(())),
            }
        }
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
        if let Some(item) = this.pop_inbox() {
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
        if blocked && this.poll_write_out(cx)?.is_pending() {
            // The socket took what it could; ready once the backlog is
            // under the mark again.
            if this.conn.buffered_output() >= this.config.write_buffer_high_water {
                return Poll::Pending;
            }
        }
        Poll::Ready(Ok(()))
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        let this = self.get_mut();
        this.check_sendable()?;
        let is_close = matches!(message, Message::Close(_));
        if let Some(idle) = &mut this.idle_release
            && message.is_data()
        {
            idle.active = true;
        }
        this.conn.send(message.into_event())?;
        if is_close {
            this.arm_close_deadline();
        }
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        // Register for a close deadline armed by `start_send`, so a reader
        // waiting elsewhere is woken when it passes.
        this.poll_close_expired(cx);
        if this.poll_write_out(cx)?.is_pending() {
            this.read_ahead(cx, true);
            return Poll::Pending;
        }
        ready!(Pin::new(&mut this.io).poll_flush(cx))?;
        Poll::Ready(Ok(()))
    }

    /// Sends a close frame (1000) unless one was sent, then completes the
    /// close handshake and ends the transport, keeping what the peer sends
    /// meanwhile for the stream (bounded by the read-ahead limit).
    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let this = self.get_mut();
        if this.conn.state() == State::Open {
            this.conn
                .send(CloseConnection::new(CloseCode::NORMAL, ""))?;
            this.arm_close_deadline();
        }
        // Put the close frame on the wire before reading on: messages
        // already buffered would otherwise be drained first.
        if let Poll::Ready(Err(e)) = this.poll_write_out(cx) {
            return Poll::Ready(Err(Error::Io(e)));
        }
        this.poll_drain_to_end(cx)
    }
}
