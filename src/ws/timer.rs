//! Deadlines for keepalive, close and handshake timeouts.
//!
//! They use `async-io`'s `Timer`, which works under any executor: on smol it
//! shares smol's reactor, elsewhere `async-io` drives it from its own
//! thread. That keeps the async layer free of any one runtime without asking
//! each shim to inject a timer.

use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use async_io::Timer;

/// A point in time that can be waited for from a `poll` method.
#[derive(Debug)]
pub(crate) struct Deadline {
    timer: Timer,
    expired: bool,
}

impl Deadline {
    pub(crate) fn after(d: Duration) -> Deadline {
        Deadline {
            timer: Timer::after(d),
            expired: false,
        }
    }

    /// Moves the deadline; it may fire again.
    pub(crate) fn reset(&mut self, at: Instant) {
        self.timer.set_at(at);
        self.expired = false;
    }

    /// Whether the deadline has passed; if not, `cx` is woken when it does.
    pub(crate) fn poll_expired(&mut self, cx: &mut Context<'_>) -> bool {
        if !self.expired && Pin::new(&mut self.timer).poll(cx).is_ready() {
            self.expired = true;
        }
        self.expired
    }
}

pin_project_lite::pin_project! {
    /// [`timeout`]'s future: `fut` and its deadline side by side. A struct
    /// rather than an `async fn`, which would hold `fut` twice (the argument
    /// and the pinned local), and every future that awaits it once more.
    #[derive(Debug)]
    pub(crate) struct Timeout<F> {
        #[pin]
        fut: F,
        deadline: Deadline,
    }
}

impl<F: Future> Future for Timeout<F> {
    type Output = Option<F::Output>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        if let Poll::Ready(v) = this.fut.poll(cx) {
            return Poll::Ready(Some(v));
        }
        if this.deadline.poll_expired(cx) {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    }
}

/// Runs `fut` with a time limit; `None` if it ran out.
pub(crate) fn timeout<F: Future>(limit: Duration, fut: F) -> Timeout<F> {
    Timeout {
        fut,
        deadline: Deadline::after(limit),
    }
}
