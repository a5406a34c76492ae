//! Helpers over any [`Rt`]: the watchdog ([`run`]), [`timeout`], [`url`],
//! [`accept_all`], the [`echo`] server loop and [`pattern`] payloads.

use std::future::Future;
use std::net::SocketAddr;
use std::pin::pin;
use std::time::Duration;

use futures::future::{Either, select};
use futures::io::{AsyncRead, AsyncWrite};
use wsproto::AcceptConnection;
use wsproto::ws::{Error, Message, WebSocket};

use super::{Decide, Rt};

/// Each test's overall budget: a hang fails the test instead of the run.
pub const WATCHDOG: Duration = Duration::from_secs(8);

/// Runs `f` on `R` with the watchdog.
pub fn run<R: Rt, T>(f: impl Future<Output = T>) -> T {
    R::block_on(async {
        timeout::<R, _>(WATCHDOG, f)
            .await
            .unwrap_or_else(|| panic!("[{}] test hung for {WATCHDOG:?}", R::NAME))
    })
}

/// `f`'s output, or `None` if `d` passes first (`f` is then dropped).
pub async fn timeout<R: Rt, F: Future>(d: Duration, f: F) -> Option<F::Output> {
    let f = pin!(f);
    let t = pin!(R::sleep(d));
    match select(f, t).await {
        Either::Left((v, _)) => Some(v),
        Either::Right(_) => None,
    }
}

pub fn url(addr: SocketAddr, path: &str) -> String {
    format!("ws://{addr}{path}")
}

/// Accepts every request.
pub fn accept_all() -> Decide {
    Box::new(|_| Ok(AcceptConnection::new()))
}

/// Echoes data messages until the stream ends; returns everything else the
/// stream yielded (control messages and errors), in order.
pub async fn echo<S>(mut ws: WebSocket<S>) -> Vec<Result<Message, Error>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut log = Vec::new();
    while let Some(item) = ws.recv().await {
        match item {
            Ok(m) if m.is_data() => {
                if let Err(e) = ws.send(m).await {
                    log.push(Err(e));
                }
            }
            other => log.push(other),
        }
    }
    log
}

/// A deterministic payload.
pub fn pattern(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| (i as u32).wrapping_mul(31).wrapping_add(seed as u32) as u8)
        .collect()
}
