//! permessage-deflate throughput: compressing and inflating 1 KiB and
//! 64 KiB text messages through the extension (flate2 on zlib-rs), beside
//! miniz_oxide (flate2's default pure-Rust backend) doing the same raw
//! DEFLATE work, which is what the backend choice was weighed against.
//! And 64 KiB of random bytes, which do not shrink: what each message costs
//! when every one is compressed (`skip_incompressible(false)`) and when
//! the extension stops trying (the default). And what the zlib state the
//! extension keeps per connection costs: setting up a compressor or an
//! inflater against resetting one, and the memory each holds after a
//! message (RSS over 1,000 of them, printed; Linux only). And an idle
//! connection's compressor released and rebuilt from its kept window.
//!
//! ```text
//! cargo bench --bench deflate
//! ```

use std::hint::black_box;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use flate2::{Compress, Compression, Decompress, FlushCompress, FlushDecompress};
use wsproto::proto::extensions::ExtensionParams;
use wsproto::proto::frame::{OpCode, Rsv};
use wsproto::{DeflateConfig, PerMessageDeflate, proto::Extension};

/// Text that compresses like chat or JSON traffic: repetitive structure,
/// varying values.
fn text(len: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 100);
    let mut i = 0u32;
    while out.len() < len {
        out.extend_from_slice(
            format!(
                "{{\"id\":{i},\"user\":\"user{}\",\"text\":\"message number {i} in the stream\"}},",
                i % 97
            )
            .as_bytes(),
        );
        i = i.wrapping_mul(1_103_515_245).wrapping_add(12_345) % 100_000;
    }
    out.truncate(len);
    out
}

/// `len` random bytes (xorshift): data no compressor shrinks.
fn random(len: usize) -> Vec<u8> {
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 32) as u8
        })
        .collect()
}

/// A (client, server) pair negotiated from a bare offer.
fn negotiate(
    client_config: DeflateConfig,
    server_config: DeflateConfig,
) -> (PerMessageDeflate, PerMessageDeflate) {
    let mut server = PerMessageDeflate::new(server_config);
    let offer = ExtensionParams {
        name: "permessage-deflate".into(),
        params: vec![],
    };
    let response = server.accept(&offer).expect("accepted");
    let mut client = PerMessageDeflate::new(client_config);
    client.finalize(&response).expect("finalized");
    (client, server)
}

/// A client that compresses with context takeover, as most do, after
/// negotiating with a default server.
fn sender(config: DeflateConfig) -> PerMessageDeflate {
    negotiate(config, DeflateConfig::default()).0
}

/// Random 64 KiB messages: compressed every time, and with the default
/// that stops compressing what does not shrink.
fn incompressible(c: &mut Criterion) {
    let data = Bytes::from(random(64 << 10));
    let mut group = c.benchmark_group("deflate/64KiB-random");
    group.throughput(Throughput::Bytes(data.len() as u64));
    for (label, skip) in [("every message compressed", false), ("default", true)] {
        let mut client = sender(DeflateConfig::default().skip_incompressible(skip));
        let mut compressed = 0u32;
        group.bench_function(label, |b| {
            b.iter(|| {
                if client.begin_outbound(OpCode::Binary, &data) != Rsv::NONE {
                    compressed += 1;
                    black_box(client.encode(data.clone(), true));
                }
            })
        });
        println!("deflate/64KiB-random {label}: {compressed} messages compressed");
    }
    group.finish();
}

/// A negotiated (client, server) pair in which the client resets its
/// compressor after every message (`client_no_context_takeover`), so each
/// message is compressed and inflated on its own, as miniz_oxide's one-shot
/// functions do: a like-for-like comparison.
fn pair() -> (PerMessageDeflate, PerMessageDeflate) {
    let no_takeover = DeflateConfig::default().client_no_context_takeover(true);
    negotiate(no_takeover.clone(), no_takeover)
}

fn deflate(c: &mut Criterion) {
    for (label, size) in [("1KiB", 1 << 10), ("64KiB", 64 << 10)] {
        let data = Bytes::from(text(size));
        let mut group = c.benchmark_group(format!("deflate/{label}"));
        group.throughput(Throughput::Bytes(size as u64));

        let (mut client, mut server) = pair();
        client.begin_outbound(OpCode::Text, &data);
        let wire = client.encode(data.clone(), true);
        println!(
            "deflate/{label}: {} -> {} bytes at level 1",
            data.len(),
            wire.len()
        );
        group.bench_function("compress/zlib-rs", |b| {
            b.iter(|| {
                client.begin_outbound(OpCode::Text, &data);
                black_box(client.encode(data.clone(), true))
            })
        });
        group.bench_function("inflate/zlib-rs", |b| {
            b.iter(|| {
                black_box(
                    server
                        .decode(wire.clone(), true, usize::MAX)
                        .expect("valid"),
                )
            })
        });
        group.bench_function("compress/miniz_oxide", |b| {
            b.iter(|| black_box(miniz_oxide::deflate::compress_to_vec(&data, 1)))
        });
        let raw = miniz_oxide::deflate::compress_to_vec(&data, 1);
        group.bench_function("inflate/miniz_oxide", |b| {
            b.iter(|| black_box(miniz_oxide::inflate::decompress_to_vec(&raw).expect("valid")))
        });
        group.finish();
    }
}

/// The process's resident set, in bytes (0 where /proc is missing).
fn rss() -> usize {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<usize>().ok())
        .map_or(0, |kb| kb * 1024)
}

/// Makes `n` values and returns them with the RSS each added, in bytes.
fn rss_each<T>(n: usize, make: impl FnMut() -> T) -> (Vec<T>, usize) {
    let before = rss();
    let made: Vec<T> = std::iter::repeat_with(make).take(n).collect();
    (made, rss().saturating_sub(before) / n)
}

/// A compressor as the extension makes one (raw deflate, level 1, 15
/// window bits).
fn compressor() -> Compress {
    Compress::new_with_window_bits(Compression::new(1), false, 15)
}

/// Compresses `data` with a sync flush, as each message is.
fn compress(c: &mut Compress, data: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(data.len() + 64);
    c.compress_vec(data, &mut out, FlushCompress::Sync)
        .expect("compresses");
    out
}

/// The zlib state kept per connection: made afresh or reset per message,
/// and its memory after one message.
fn state(c: &mut Criterion) {
    let data = text(1 << 10);
    let mut group = c.benchmark_group("deflate/state");
    group.bench_function("new compressor + 1 KiB", |b| {
        b.iter(|| black_box(compress(&mut compressor(), &data)))
    });
    let mut kept = compressor();
    group.bench_function("reset compressor + 1 KiB", |b| {
        b.iter(|| {
            kept.reset();
            black_box(compress(&mut kept, &data))
        })
    });
    group.bench_function("new inflater", |b| {
        b.iter(|| black_box(Decompress::new_with_window_bits(false, 15)))
    });
    group.finish();

    let n = 1000;
    let (compressors, per_compressor) = rss_each(n, || {
        let mut c = compressor();
        compress(&mut c, &data);
        c
    });
    let wire = compress(&mut compressor(), &data);
    let (inflaters, per_inflater) = rss_each(n, || {
        let mut d = Decompress::new_with_window_bits(false, 15);
        let mut out = Vec::with_capacity(2 * data.len());
        d.decompress_vec(&wire, &mut out, FlushDecompress::Sync)
            .expect("inflates");
        d
    });
    println!(
        "deflate/state memory after a 1 KiB message: compressor {per_compressor} B, \
         inflater {per_inflater} B (RSS over {n} of each)"
    );
    drop((compressors, inflaters));
}

/// An idle connection's compressor released (`release_idle_memory`) and
/// rebuilt at the next message from the window kept for context takeover
/// (32 KiB of earlier text), beside one kept throughout; the same for an
/// inflater; and what 1,000 such senders hold, kept and released.
fn idle(c: &mut Criterion) {
    let data = Bytes::from(text(1 << 10));
    let history = Bytes::from(text(64 << 10));
    let primed = || {
        let mut client = sender(DeflateConfig::default());
        client.begin_outbound(OpCode::Text, &history);
        client.encode(history.clone(), true);
        client
    };
    let mut group = c.benchmark_group("deflate/idle");
    for (label, release) in [
        ("kept compressor + 1 KiB", false),
        ("rebuilt from a 32 KiB window + 1 KiB", true),
    ] {
        let mut client = primed();
        group.bench_function(label, |b| {
            b.iter(|| {
                if release {
                    client.release_idle_memory();
                }
                client.begin_outbound(OpCode::Text, &data);
                black_box(client.encode(data.clone(), true))
            })
        });
    }
    // The receiving side: a server inflating a client's messages, which
    // refer back into the 64 KiB before them.
    for (label, release) in [
        ("kept inflater, 1 KiB", false),
        ("inflater rebuilt from a 32 KiB window, 1 KiB", true),
    ] {
        let (mut client, mut server) =
            negotiate(DeflateConfig::default(), DeflateConfig::default());
        client.begin_outbound(OpCode::Text, &history);
        let wire = client.encode(history.clone(), true);
        server.decode(wire, true, usize::MAX).expect("valid");
        // The same 1 KiB message again and again, compressed with context:
        // after the first 32 both windows hold nothing but copies of it,
        // so the later ones inflate correctly in any order, over and over.
        let messages: Vec<Bytes> = (0..256)
            .map(|_| {
                client.begin_outbound(OpCode::Text, &data);
                client.encode(data.clone(), true)
            })
            .skip(64)
            .collect();
        let mut i = 0;
        group.bench_function(label, |b| {
            b.iter(|| {
                if release {
                    server.release_idle_memory();
                }
                let wire = messages[i % messages.len()].clone();
                i += 1;
                let out = server.decode(wire, true, usize::MAX).expect("valid");
                assert_eq!(out.len(), data.len());
                black_box(out)
            })
        });
    }
    group.finish();

    // Memory: 1,000 senders that each sent 64 KiB, released each in turn
    // as connections go quiet one after another (the allocator hands a
    // freed compressor's memory to the next one), then kept as they are.
    let n = 1000;
    let (released, per_released) = rss_each(n, || {
        let mut s = primed();
        s.release_idle_memory();
        s
    });
    drop(released);
    let (kept, per_kept) = rss_each(n, primed);
    println!(
        "deflate/idle memory per sender after 64 KiB sent: {per_kept} B kept, \
         {per_released} B released (RSS over {n})"
    );
    drop(kept);
}

criterion_group!(benches, deflate, incompressible, state, idle);
criterion_main!(benches);
