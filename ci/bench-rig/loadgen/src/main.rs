//! A WebSocket echo load generator for `ci/bench`, built not to be the
//! bottleneck: one thread (the script pins it to a core of its own), frames
//! built and masked once at startup and written straight from that buffer,
//! echoes read into one shared buffer and parsed by their headers only.
//!
//! It opens every connection first (handshakes done), starts the traffic,
//! warms up, then counts the echoes completed in the measured window. A
//! wrong echo, a close or any I/O error ends it with a message and exit
//! code 1. See `loadgen --help` for the options.

mod args;
mod cpu;
mod driver;
mod frame;
mod handshake;
mod tcp;

use std::io::{self, Write};
use std::process::ExitCode;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};
use tokio::task::JoinSet;

use args::{Args, Mode, USAGE};
use driver::{Driver, ECHOES};

/// How many handshakes are in progress at once while connecting (so the
/// server's accept backlog never overflows).
const CONNECT_BATCH: usize = 64;

/// How long one connection's TCP connect and upgrade may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);

fn main() -> ExitCode {
    let args = match Args::parse() {
        Ok(args) => args,
        Err(e) => {
            if !e.is_empty() {
                eprintln!("loadgen: {e}");
            }
            eprintln!("{USAGE}");
            return ExitCode::from(2);
        }
    };
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime");
    match rt.block_on(run(args)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("loadgen: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> io::Result<()> {
    let conns = connect_all(&args).await?;
    if args.mode == Mode::Idle {
        return hold(&args, &conns).await;
    }
    let (frames, frame_len) = frame::build(args.size, args.payload, args.fragment, args.window());
    let frames: &'static [u8] = frames.leak();
    for (i, conn) in conns.into_iter().enumerate() {
        let text = args.payload == frame::Payload::Text;
        let mut parser = frame::Parser::new(args.size, text, !args.read_payloads);
        if conn.deflate {
            parser = parser.allow_compressed();
        }
        let driver = Driver::new(conn.stream, frames, frame_len, parser, &conn.early)?;
        tokio::spawn(async move {
            if let Err(e) = driver.await {
                // One connection failing spoils the figure: stop at once.
                eprintln!("loadgen: connection {i}: {e}");
                std::process::exit(1);
            }
        });
    }
    tokio::time::sleep(args.warmup).await;
    let start = Snapshot::take(&args);
    tokio::time::sleep(args.duration).await;
    let line = Snapshot::take(&args).report(&start);
    println!("{line}");
    // The drivers never finish on their own; the process ends here.
    std::process::exit(0)
}

/// What is counted at each end of the measured window.
struct Snapshot {
    at: Instant,
    echoes: u64,
    /// CPU seconds used by this process so far.
    own: Option<f64>,
    /// CPU seconds used by the server so far (with `--server-pid`).
    server: Option<f64>,
    /// Busy seconds of the watched CPUs so far (with `--cpus`).
    busy: Option<f64>,
    /// The kernel's TCP trouble counters so far.
    tcp: Option<tcp::Trouble>,
}

impl Snapshot {
    fn take(args: &Args) -> Snapshot {
        Snapshot {
            at: Instant::now(),
            echoes: ECHOES.load(Ordering::Relaxed),
            own: cpu::seconds(None),
            server: args.server_pid.and_then(|pid| cpu::seconds(Some(pid))),
            busy: match args.cpus.as_slice() {
                [] => None,
                cpus => cpu::busy_seconds(cpus),
            },
            tcp: tcp::Trouble::now(),
        }
    }

    /// The result line for the window from `start` to this snapshot.
    fn report(&self, start: &Snapshot) -> String {
        let secs = (self.at - start.at).as_secs_f64();
        let echoes = self.echoes - start.echoes;
        let share = |end: Option<f64>, start: Option<f64>| Some((end? - start?) / secs);
        let (own, server) = (share(self.own, start.own), share(self.server, start.server));
        let mut line = format!(
            "msgs_per_sec={:.1} msgs={echoes} secs={secs:.3}",
            echoes as f64 / secs
        );
        if let Some(own) = own {
            line += &format!(" loadgen_cpu={own:.2}");
        }
        if let Some(server) = server {
            line += &format!(" server_cpu={server:.2}");
        }
        if let (Some(own), Some(server), Some(busy)) = (own, server, share(self.busy, start.busy)) {
            line += &format!(" others_cpu={:.2}", (busy - own - server).max(0.0));
        }
        if let (Some(end), Some(start)) = (self.tcp, start.tcp) {
            let t = end.since(start);
            line += &format!(" tcp_rto={} tcp_pruned={}", t.rto, t.pruned);
        }
        line
    }
}

/// Opens `args.conns` connections, `CONNECT_BATCH` handshakes at a time.
async fn connect_all(args: &Args) -> io::Result<Vec<handshake::Connected>> {
    let mut conns = Vec::with_capacity(args.conns);
    while conns.len() < args.conns {
        let mut batch = JoinSet::new();
        for _ in conns.len()..args.conns.min(conns.len() + CONNECT_BATCH) {
            let (host, path, deflate) = (args.host.clone(), args.path.clone(), args.deflate);
            batch.spawn(async move {
                let connect = handshake::connect(&host, &path, deflate);
                match tokio::time::timeout(HANDSHAKE_TIMEOUT, connect).await {
                    Ok(connected) => connected,
                    Err(_) => Err(io::Error::new(
                        io::ErrorKind::TimedOut,
                        "handshake timed out",
                    )),
                }
            });
        }
        while let Some(joined) = batch.join_next().await {
            let conn = joined.map_err(io::Error::other)?;
            conns.push(conn.map_err(|e| io::Error::new(e.kind(), format!("connecting: {e}")))?);
        }
    }
    Ok(conns)
}

/// Idle mode: says `ready`, then keeps the connections open, without
/// traffic, for `--hold` or until stdin closes.
async fn hold(args: &Args, conns: &[handshake::Connected]) -> io::Result<()> {
    println!("ready conns={}", conns.len());
    io::stdout().flush()?;
    match args.hold {
        Some(hold) => tokio::time::sleep(hold).await,
        None => {
            let drained =
                tokio::task::spawn_blocking(|| io::copy(&mut io::stdin(), &mut io::sink()));
            drained.await.map_err(io::Error::other)??;
        }
    }
    Ok(())
}
