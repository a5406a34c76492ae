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

/// Runs `fut` with a time limit; `None` if it ran out.
pub(crate) async fn timeout<F: Future>(limit: Duration, fut: F) -> Option<F::Output> {
    let mut fut = std::pin::pin!(fut);
    let mut deadline = Deadline::after(limit);
    std::future::poll_fn(|cx| {
        if let Poll::Ready(v) = fut.as_mut().poll(cx) {
            return Poll::Ready(Some(v));
        }
        if deadline.poll_expired(cx) {
            Poll::Ready(None)
        } else {
            Poll::Pending
        }
    })
    .await
}
