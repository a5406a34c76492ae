//! Command-line options.

use std::time::Duration;

use crate::frame::Payload;

/// What the load generator does with its connections.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Mode {
    /// One message in flight per connection.
    Pingpong,
    /// `--inflight` messages in flight per connection.
    Pipelined,
    /// Connections opened and held without traffic.
    Idle,
}

/// The parsed command line.
#[derive(Debug)]
pub struct Args {
    /// `host:port` to connect to.
    pub host: String,
    /// The request target, e.g. `/`.
    pub path: String,
    pub conns: usize,
    pub size: usize,
    pub mode: Mode,
    pub inflight: usize,
    pub warmup: Duration,
    pub duration: Duration,
    /// What each message carries: `--text` for text, `--random` for
    /// random binary bytes, else a binary byte pattern.
    pub payload: Payload,
    /// Read every payload into memory, as a real client would, instead of
    /// letting the kernel discard large ones unread.
    pub read_payloads: bool,
    /// Offer permessage-deflate (messages are still sent uncompressed).
    pub deflate: bool,
    /// Send each message in frames of at most this many payload bytes
    /// (0: one frame).
    pub fragment: usize,
    /// Idle mode: how long to hold; `None` holds until stdin closes.
    pub hold: Option<Duration>,
    /// A process whose CPU use in the measured window is reported.
    pub server_pid: Option<u32>,
    /// CPUs whose use by other processes (than this one and the server) in
    /// the measured window is reported.
    pub cpus: Vec<usize>,
}

pub const USAGE: &str = "\
usage: loadgen --url ws://HOST:PORT/PATH [--conns N] [--size BYTES]
               [--mode pingpong|pipelined|idle] [--inflight N]
               [--warmup SECS] [--duration SECS] [--text] [--read-payloads]
               [--fragment BYTES] [--deflate] [--random]
               [--hold SECS] [--server-pid PID [--cpus LIST]]

pingpong/pipelined print one line after the measured window:
  msgs_per_sec=... msgs=... secs=... loadgen_cpu=... [server_cpu=... [others_cpu=...]]
  [tcp_rto=... tcp_pruned=...]
Echoes of 16 KiB or more are read header first and their payloads dropped
in the kernel (recv with MSG_TRUNC) unless --read-payloads is given.
--deflate offers permessage-deflate and, where the server accepts it,
takes compressed echoes (their length unchecked, never inflated); what the
loadgen sends stays uncompressed, as RFC 7692 allows. Binary payloads
repeat a 251-byte pattern, or are random bytes with --random.
(CPU use in cores: others_cpu is what the CPUs in --cpus spent on other
processes, or lost to the hypervisor. tcp_rto and tcp_pruned: the kernel's
retransmission timeouts and receive queues pruned for want of TCP memory in
the window, counted for the whole machine: on loopback, a sign the kernel
ran short of TCP memory.)
idle opens the connections, prints `ready conns=N`, then holds them until
stdin closes (or for --hold SECS).";

impl Args {
    /// Parses `std::env::args()`.
    pub fn parse() -> Result<Args, String> {
        let mut args = Args {
            host: String::new(),
            path: "/".to_owned(),
            conns: 1,
            size: 16,
            mode: Mode::Pingpong,
            inflight: 8,
            warmup: Duration::from_secs(1),
            duration: Duration::from_secs(5),
            payload: Payload::Pattern,
            read_payloads: false,
            deflate: false,
            fragment: 0,
            hold: None,
            server_pid: None,
            cpus: Vec::new(),
        };
        let mut it = std::env::args().skip(1);
        while let Some(flag) = it.next() {
            if flag == "--text" || flag == "--random" {
                if args.payload != Payload::Pattern {
                    return Err("--text and --random exclude each other".to_owned());
                }
                args.payload = if flag == "--text" {
                    Payload::Text
                } else {
                    Payload::Random
                };
                continue;
            }
            if flag == "--read-payloads" {
                args.read_payloads = true;
                continue;
            }
            if flag == "--deflate" {
                args.deflate = true;
                continue;
            }
            if flag == "-h" || flag == "--help" {
                return Err(String::new());
            }
            let value = it.next().ok_or_else(|| format!("{flag} needs a value"))?;
            match flag.as_str() {
                "--url" => (args.host, args.path) = parse_url(&value)?,
                "--conns" => args.conns = number(&flag, &value)?,
                "--size" => args.size = number(&flag, &value)?,
                "--fragment" => args.fragment = number(&flag, &value)?,
                "--inflight" => args.inflight = number(&flag, &value)?,
                "--warmup" => args.warmup = seconds(&flag, &value)?,
                "--duration" => args.duration = seconds(&flag, &value)?,
                "--hold" => args.hold = Some(seconds(&flag, &value)?),
                "--server-pid" => args.server_pid = Some(number(&flag, &value)?),
                "--cpus" => {
                    args.cpus = value
                        .split(',')
                        .map(|cpu| number(&flag, cpu))
                        .collect::<Result<_, _>>()?
                }
                "--mode" => {
                    args.mode = match value.as_str() {
                        "pingpong" => Mode::Pingpong,
                        "pipelined" => Mode::Pipelined,
                        "idle" => Mode::Idle,
                        _ => return Err(format!("unknown mode {value}")),
                    }
                }
                _ => return Err(format!("unknown option {flag}")),
            }
        }
        if args.host.is_empty() {
            return Err("--url is required".to_owned());
        }
        if args.conns == 0 || args.inflight == 0 {
            return Err("--conns and --inflight must be at least 1".to_owned());
        }
        Ok(args)
    }

    /// Messages each connection keeps in flight.
    pub fn window(&self) -> usize {
        match self.mode {
            Mode::Pipelined => self.inflight,
            Mode::Pingpong | Mode::Idle => 1,
        }
    }
}

/// Splits `ws://host:port/path` into `host:port` and `/path`.
fn parse_url(url: &str) -> Result<(String, String), String> {
    let rest = url
        .strip_prefix("ws://")
        .ok_or_else(|| format!("{url}: only ws:// URLs are supported"))?;
    let (host, path) = match rest.find('/') {
        Some(i) => (&rest[..i], &rest[i..]),
        None => (rest, "/"),
    };
    let host = if host.contains(':') {
        host.to_owned()
    } else {
        format!("{host}:80")
    };
    Ok((host, path.to_owned()))
}

fn number<T: std::str::FromStr>(flag: &str, value: &str) -> Result<T, String> {
    value
        .parse()
        .map_err(|_| format!("{flag}: {value} is not a number"))
}

fn seconds(flag: &str, value: &str) -> Result<Duration, String> {
    let secs: f64 = number(flag, value)?;
    Duration::try_from_secs_f64(secs).map_err(|_| format!("{flag}: {value} is not a duration"))
}
