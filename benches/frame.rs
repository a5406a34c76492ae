//! Frame header decoding and encoding, in frames per second, for the three
//! header shapes RFC 6455 §5.2 defines: a 7-bit length (16 B payload, 2-byte
//! header), a 16-bit length (1 KiB, 4 bytes) and a 64-bit length (64 KiB,
//! 10 bytes), each unmasked (server → client) and masked (client → server,
//! 4 more bytes of key).
//!
//! Every frame a connection reads or writes goes through
//! `FrameHeader::decode` / `FrameHeader::encode` (public in
//! `wsproto::proto::frame`), so these bound the per-frame cost of small
//! messages. Each iteration handles a batch of [`BATCH`] headers laid end to
//! end (without their payloads: decoding reads only the header), so the
//! loop overhead is spread over many frames, with varying mask keys so no
//! result is constant.
//!
//! ```text
//! cargo bench --bench frame
//! ```

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wsproto::proto::frame::{FrameHeader, MAX_HEADER_LEN, OpCode, Rsv};

/// Headers handled per iteration.
const BATCH: usize = 256;

const SIZES: [(&str, u64); 3] = [("16B", 16), ("1KiB", 1 << 10), ("64KiB", 64 << 10)];

/// `BATCH` binary-frame headers for `payload_len`, with a different mask
/// key on each if `masked`.
fn headers(payload_len: u64, masked: bool) -> Vec<FrameHeader> {
    (0..BATCH as u32)
        .map(|i| FrameHeader {
            fin: true,
            rsv: Rsv::NONE,
            opcode: OpCode::Binary,
            mask: masked.then(|| i.wrapping_mul(0x9e37_79b9).to_le_bytes()),
            payload_len,
        })
        .collect()
}

/// The headers encoded end to end.
fn wire(headers: &[FrameHeader]) -> Vec<u8> {
    let mut out = Vec::with_capacity(headers.len() * MAX_HEADER_LEN);
    let mut head = [0u8; MAX_HEADER_LEN];
    for h in headers {
        let n = h.encode(&mut head);
        out.extend_from_slice(&head[..n]);
    }
    out
}

/// Decodes every header in `buf`; returns the sum of their payload lengths
/// so the work cannot be skipped.
fn decode_all(buf: &[u8]) -> u64 {
    let mut pos = 0;
    let mut total = 0u64;
    while pos < buf.len() {
        let Ok(Some((header, n))) = FrameHeader::decode(&buf[pos..]) else {
            panic!("the bench's own headers decode");
        };
        total = total.wrapping_add(header.payload_len);
        if let Some(key) = header.mask {
            total = total.wrapping_add(u64::from(key[0]));
        }
        pos += n;
    }
    total
}

/// Encodes every header; returns the bytes written.
fn encode_all(headers: &[FrameHeader]) -> usize {
    let mut out = [0u8; MAX_HEADER_LEN];
    let mut total = 0;
    for h in headers {
        total += h.encode(black_box(&mut out));
    }
    total
}

fn frame(c: &mut Criterion) {
    let cases: Vec<(String, Vec<FrameHeader>, Vec<u8>)> = SIZES
        .iter()
        .flat_map(|&(label, len)| {
            [("unmasked", false), ("masked", true)].map(|(m, masked)| {
                let hs = headers(len, masked);
                let buf = wire(&hs);
                println!("frame/{label}/{m}: {}-byte header", buf.len() / hs.len());
                (format!("{label}/{m}"), hs, buf)
            })
        })
        .collect();

    let mut group = c.benchmark_group("frame/decode");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (id, _, buf) in &cases {
        group.bench_function(id.as_str(), |b| b.iter(|| decode_all(black_box(buf))));
    }
    group.finish();

    let mut group = c.benchmark_group("frame/encode");
    group.throughput(Throughput::Elements(BATCH as u64));
    for (id, hs, _) in &cases {
        group.bench_function(id.as_str(), |b| b.iter(|| encode_all(black_box(hs))));
    }
    group.finish();
}

criterion_group!(benches, frame);
criterion_main!(benches);
