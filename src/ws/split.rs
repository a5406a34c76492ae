//! Read and write halves of a [`WebSocket`], usable from two tasks.
//!
//! Both halves drive the one protocol engine behind a mutex that is held
//! only inside a `poll` call, never across an await. Because a reader may
//! write (pongs, close replies) and a writer may read (read-ahead), the
//! transport is polled with a waker that wakes both halves' tasks: a wakeup
//! meant for one is never lost to the other, at the price of an occasional
//! spurious poll.

use std::pin::Pin;
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll, Wake, Waker};

use futures_core::Stream;
use futures_io::{AsyncRead, AsyncWrite};
use futures_sink::Sink;
use futures_util::task::AtomicWaker;

use super::error::Error;
use super::message::Message;
use super::socket::WebSocket;
use crate::proto::CloseCode;

#[derive(Debug, Default)]
struct BothWakers {
    reader: AtomicWaker,
    writer: AtomicWaker,
}

impl Wake for BothWakers {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }

    fn wake_by_ref(self: &Arc<Self>) {
        self.reader.wake();
        self.writer.wake();
    }
}

#[derive(Debug)]
struct Shared<S> {
    ws: Mutex<WebSocket<S>>,
    wakers: Arc<BothWakers>,
}

impl<S> Shared<S> {
    fn lock(&self) -> MutexGuard<'_, WebSocket<S>> {
        // A panic in another half cannot leave the engine half-updated in a
        // way that matters more than the panic itself; carry on.
        self.ws
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Runs `f` with the engine and a context whose waker wakes both halves.
    fn with<R>(
        &self,
        own: &AtomicWaker,
        cx: &Context<'_>,
        f: impl FnOnce(Pin<&mut WebSocket<S>>, &mut Context<'_>) -> R,
    ) -> R
    where
        S: Unpin,
    {
        own.register(cx.waker());
        let waker = Waker::from(Arc::clone(&self.wakers));
        let mut both = Context::from_waker(&waker);
        let mut ws = self.lock();
        f(Pin::new(&mut *ws), &mut both)
    }
}

/// The receiving half of a split [`WebSocket`]: a `Stream` of messages.
#[derive(Debug)]
pub struct ReadHalf<S> {
    shared: Arc<Shared<S>>,
}

/// The sending half of a split [`WebSocket`]: a `Sink` of messages.
#[derive(Debug)]
pub struct WriteHalf<S> {
    shared: Arc<Shared<S>>,
}

impl<S> WebSocket<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// Splits the WebSocket into a receiving and a sending half that can be
    /// used from different tasks. Pongs and close replies keep flowing
    /// whichever half is busy.
    pub fn split(self) -> (ReadHalf<S>, WriteHalf<S>) {
        let shared = Arc::new(Shared {
            ws: Mutex::new(self),
            wakers: Arc::default(),
        });
        (
            ReadHalf {
                shared: Arc::clone(&shared),
            },
            WriteHalf { shared },
        )
    }
}

impl<S> ReadHalf<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// The connection's protocol state.
    pub fn state(&self) -> crate::State {
        self.shared.lock().state()
    }

    /// Receives the next message; `None` once the connection is over.
    /// Cancel-safe.
    pub async fn recv(&mut self) -> Option<Result<Message, Error>> {
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_next(cx)).await
    }

    /// Puts the halves back together.
    ///
    /// # Panics
    /// If `write` belongs to another WebSocket.
    pub fn reunite(self, write: WriteHalf<S>) -> WebSocket<S> {
        assert!(
            Arc::ptr_eq(&self.shared, &write.shared),
            "halves of different WebSockets"
        );
        drop(write);
        let shared =
            Arc::try_unwrap(self.shared).unwrap_or_else(|_| unreachable!("both halves were given"));
        shared
            .ws
            .into_inner()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}

impl<S> WriteHalf<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// The connection's protocol state.
    pub fn state(&self) -> crate::State {
        self.shared.lock().state()
    }

    /// Bytes queued for sending and not yet written.
    pub fn buffered_output(&self) -> usize {
        self.shared.lock().buffered_output()
    }

    /// Sends a message and flushes it.
    pub async fn send(&mut self, message: impl Into<Message>) -> Result<(), Error> {
        let message = message.into();
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_ready(cx)).await?;
        Pin::new(&mut *self).start_send(message)?;
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_flush(cx)).await
    }

    /// Starts the close handshake and flushes the close frame; the read
    /// half yields the peer's reply and then ends.
    pub async fn close(&mut self, code: impl Into<CloseCode>, reason: &str) -> Result<(), Error> {
        let message = Message::close(code, reason);
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_ready(cx)).await?;
        Pin::new(&mut *self).start_send(message)?;
        std::future::poll_fn(|cx| Pin::new(&mut *self).poll_flush(cx)).await
    }
}

impl<S> Stream for ReadHalf<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Item = Result<Message, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let shared = &self.shared;
        shared.with(&shared.wakers.reader, cx, |ws, cx| ws.poll_next(cx))
    }
}

impl<S> Sink<Message> for WriteHalf<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let shared = &self.shared;
        shared.with(&shared.wakers.writer, cx, |ws, cx| ws.poll_ready(cx))
    }

    fn start_send(self: Pin<&mut Self>, message: Message) -> Result<(), Error> {
        let mut ws = self.shared.lock();
        Pin::new(&mut *ws).start_send(message)
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let shared = &self.shared;
        shared.with(&shared.wakers.writer, cx, |ws, cx| ws.poll_flush(cx))
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        let shared = &self.shared;
        shared.with(&shared.wakers.writer, cx, |ws, cx| ws.poll_close(cx))
    }
}
