//! How fast the kernel copies socket data, by where in a page the user's
//! buffer starts.
//!
//! - `recv/*`: a sender thread writes one 64 KiB or 1 MiB message to a
//!   loopback TCP socket and the bench receives it into a buffer at page
//!   offset 0, 16 (where glibc starts a large block), 64 and 2048. (The
//!   time includes the sender's write, the same in every row.)
//! - `send/*`: the bench writes a 10-byte frame header and a 64 KiB or
//!   1 MiB payload from page offset 0, 16, 64 and 4090 in one `writev`
//!   (timed), and a thread reads it whole before the next.
//!
//! The measurement behind `src/proto/align.rs`: on AMD Zen the kernel's
//! copy slows several-fold when the destination sits just past the source
//! modulo 4 KiB.
//!
//! ```text
//! taskset -c 0 cargo bench --bench socket_alignment
//! ```
//!
//! (Pinned to one CPU, as `ci/bench` pins its servers: spread over two, the
//! send rows' difference mostly hides behind the reader's.)

use std::io::{IoSlice, Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant};

use criterion::{Criterion, Throughput, criterion_group, criterion_main};

/// A page-aligned buffer of `len` bytes: a slice of a larger vector.
struct PageBuf {
    storage: Vec<u8>,
    start: usize,
}

impl PageBuf {
    fn new(len: usize) -> PageBuf {
        let storage = vec![0u8; len + 8192];
        let start = storage.as_ptr().addr().wrapping_neg() % 4096;
        PageBuf { storage, start }
    }

    fn at(&mut self, offset: usize, len: usize) -> &mut [u8] {
        let from = self.start + offset;
        &mut self.storage[from..from + len]
    }
}

/// A connected loopback socket whose peer, a thread, writes a message of
/// the size sent on the channel each time one is.
fn fed_socket() -> (TcpStream, mpsc::Sender<usize>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (orders, order) = mpsc::channel::<usize>();
    thread::spawn(move || {
        let mut out = TcpStream::connect(addr).expect("connect");
        let message = vec![0x5au8; 1 << 20];
        while let Ok(size) = order.recv() {
            out.write_all(&message[..size]).expect("write");
        }
    });
    (listener.accept().expect("accept").0, orders)
}

fn recv_alignment(c: &mut Criterion) {
    let (mut socket, orders) = fed_socket();
    let mut buf = PageBuf::new(1 << 20);
    for (label, size) in [("64KiB", 64usize << 10), ("1MiB", 1 << 20)] {
        let mut group = c.benchmark_group(format!("recv/{label}"));
        group.throughput(Throughput::Bytes(size as u64));
        for offset in [0usize, 16, 64, 2048] {
            group.bench_function(format!("page_offset_{offset}"), |b| {
                b.iter(|| {
                    orders.send(size).expect("the sender stopped");
                    socket
                        .read_exact(buf.at(offset, size))
                        .expect("the sender stopped");
                })
            });
        }
        group.finish();
    }
}

/// A connected loopback socket whose peer, a thread, reads each message
/// whole (its size comes on the first channel) and says so on the second.
fn drained_socket() -> (TcpStream, mpsc::Sender<usize>, mpsc::Receiver<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("addr");
    let (orders, order) = mpsc::channel::<usize>();
    let (done, dones) = mpsc::channel::<()>();
    thread::spawn(move || {
        let mut input = TcpStream::connect(addr).expect("connect");
        let mut sink = PageBuf::new(2 << 20);
        while let Ok(size) = order.recv() {
            input.read_exact(sink.at(64, size)).expect("read");
            if done.send(()).is_err() {
                break;
            }
        }
    });
    (listener.accept().expect("accept").0, orders, dones)
}

fn send_alignment(c: &mut Criterion) {
    let (mut socket, orders, dones) = drained_socket();
    let mut buf = PageBuf::new(1 << 20);
    let header = [0x82u8, 127, 0, 0, 0, 0, 0, 1, 0, 0];
    for (label, size) in [("64KiB", 64usize << 10), ("1MiB", 1 << 20)] {
        let mut group = c.benchmark_group(format!("send/{label}"));
        group.throughput(Throughput::Bytes(size as u64));
        for offset in [0usize, 16, 64, 4090] {
            group.bench_function(format!("page_offset_{offset}"), |b| {
                // Only the writes are timed; each message is read whole
                // before the next is written, as an echo's would be.
                b.iter_custom(|iters| {
                    let mut spent = Duration::ZERO;
                    for _ in 0..iters {
                        let payload = &*buf.at(offset, size);
                        orders
                            .send(header.len() + size)
                            .expect("the reader stopped");
                        let started = Instant::now();
                        let mut sent = 0;
                        while sent < header.len() + size {
                            let n = if sent < header.len() {
                                let parts = [IoSlice::new(&header[sent..]), IoSlice::new(payload)];
                                socket.write_vectored(&parts)
                            } else {
                                socket.write(&payload[sent - header.len()..])
                            };
                            sent += n.expect("write");
                        }
                        spent += started.elapsed();
                        dones.recv().expect("the reader stopped");
                    }
                    spent
                })
            });
        }
        group.finish();
    }
}

criterion_group!(benches, recv_alignment, send_alignment);
criterion_main!(benches);
