//! The accept loop the smol example servers share: one executor per CPU,
//! each accepting from the same listening socket and running the echo loop
//! of every connection it accepted.
//!
//! A connection stays on the thread that accepted it, so its tasks are never
//! handed between threads; with one CPU (e.g. under `taskset`) everything —
//! the reactor, the accept loop and every connection — runs on one thread.

use std::net::{SocketAddr, TcpListener};
use std::num::NonZeroUsize;
use std::rc::Rc;
use std::time::Duration;

use smol::LocalExecutor;

use super::echo::{config, echo};

/// Serves echo on the address given as the first argument (default
/// 127.0.0.1:9001) until the process ends.
pub fn run(name: &str) -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_owned());
    let listener = TcpListener::bind(&addr)?;
    println!("{name} listening on ws://{}", listener.local_addr()?);
    let threads = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    for _ in 1..threads {
        let listener = listener.try_clone()?;
        std::thread::spawn(move || serve(listener));
    }
    serve(listener)
}

/// Tasks run between two looks at the reactor while work is queued.
///
/// Each look costs `polling` about six system calls (epoll_pwait, a
/// timerfd_settime, an eventfd read, re-arming its one-shot notifier and
/// timer), so fewer looks are cheaper; too few, and `async-io`'s helper
/// thread, seeing the reactor untouched, takes it over (64 did that).
/// Measured at 16 B x 256 connections ping-pong: 16 → 32 halves the looks
/// (0.062 → 0.031 per message) and gains 3–8%; 64 KiB and 1 MiB cells do not
/// move beyond their noise.
const BATCH: usize = 32;

/// Accepts connections on this thread and serves each in a local task.
///
/// Tasks run in small batches with a look at the reactor between them
/// (`block_on` polls it without blocking when the loop yields). Left to run
/// hundreds of tasks in a row, the thread would stop polling the reactor
/// long enough for `async-io`'s helper thread to take it over, and every
/// wake-up would then cross threads.
///
/// The accept loop is a task of its own rather than a future raced beside
/// the executor: `async-io` retries an `accept` whenever its future is
/// polled after the first wait, woken or not, so a future polled at every
/// look at the reactor cost an `accept4` and an `epoll_ctl` each time.
fn serve(listener: TcpListener) -> std::io::Result<()> {
    let listener = smol::net::TcpListener::try_from(listener)?;
    // Shared with the accept task, which spawns into it; the server runs
    // until the process ends, so the cycle this makes is never a leak.
    let executor = Rc::new(LocalExecutor::new());
    executor
        .spawn(accept_loop(listener, Rc::clone(&executor)))
        .detach();
    smol::block_on(async {
        loop {
            executor.tick().await;
            // With the queue drained, the next `tick` waits in the reactor
            // anyway; a yield would add a look that finds nothing.
            if (1..BATCH).all(|_| executor.try_tick()) {
                smol::future::yield_now().await;
            }
        }
    })
}

/// Accepts connections and spawns each into `executor`.
async fn accept_loop(listener: smol::net::TcpListener, executor: Rc<LocalExecutor<'static>>) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => executor.spawn(connection(stream, peer)).detach(),
            Err(e) => {
                // E.g. out of descriptors: the listener stays readable,
                // so pause rather than spin, and let connections close.
                eprintln!("accept failed: {e}");
                smol::Timer::after(Duration::from_millis(10)).await;
            }
        }
        // A connect flood must not starve the connections.
        smol::future::yield_now().await;
    }
}

/// One connection: the handshake, then echo until the peer closes.
///
/// Written so the task stays small while the connection idles: the
/// handshake future is made before the task's body (an `async fn` would
/// keep its `stream` argument, 120 bytes, for the connection's life), and
/// its result is unpacked at once (a `Result` kept across the echo loop's
/// awaits would hold a second WebSocket-sized slot).
fn connection(stream: smol::net::TcpStream, peer: SocketAddr) -> impl Future<Output = ()> {
    let accepted =
        wsproto::rt::smol::accept_with(stream, config(), |_| Ok(wsproto::AcceptConnection::new()));
    async move {
        let mut ws = match accepted.await {
            Ok(ws) => ws,
            Err(e) => return eprintln!("{peer}: {e}"),
        };
        if let Err(e) = echo(&mut ws).await {
            eprintln!("{peer}: {e}");
        }
    }
}
