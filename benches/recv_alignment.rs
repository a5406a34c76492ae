//! How fast the kernel hands received bytes over, by where in a page the
//! destination starts: each iteration has a sender thread write one 64 KiB
//! or 1 MiB message to a loopback TCP socket and receives it into one
//! buffer at page offset 0, 16 (where glibc starts a large block), 64 and
//! 2048. (The time includes the sender's write, which is the same in every
//! row.)
//!
//! This is the measurement behind `src/proto/align.rs` (reads start on a
//! cache line boundary): on AMD Zen the kernel's copy slows several-fold
//! when the destination sits just past the source modulo 4 KiB.
//!
//! ```text
//! cargo bench --bench recv_alignment
//! ```

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::mpsc;
use std::thread;

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

criterion_group!(benches, recv_alignment);
criterion_main!(benches);
