//! Masking throughput beside `memcpy` of the same buffer, and beside a
//! byte-at-a-time loop, for 64 KiB and 1 MiB payloads.
//!
//! ```text
//! cargo bench --bench mask
//! ```

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wsproto::proto::mask::apply_mask;

fn bytewise(buf: &mut [u8], key: [u8; 4]) {
    for (i, b) in buf.iter_mut().enumerate() {
        *b ^= key[i & 3];
    }
}

fn mask(c: &mut Criterion) {
    let key = [0x37, 0xfa, 0x21, 0x3d];
    for (label, size) in [("64KiB", 64 << 10), ("1MiB", 1 << 20)] {
        let mut group = c.benchmark_group(format!("mask/{label}"));
        group.throughput(Throughput::Bytes(size as u64));
        let src: Vec<u8> = (0..size).map(|i| i as u8).collect();
        let mut dst = src.clone();
        group.bench_function("memcpy", |b| {
            b.iter(|| dst.copy_from_slice(black_box(&src)))
        });
        // The same copy with source and destination 4 KiB-aliased addresses
        // avoided, in case the allocator placed them so.
        let mut shifted = vec![0u8; size + 128];
        group.bench_function("memcpy_offset64", |b| {
            b.iter(|| shifted[64..64 + size].copy_from_slice(black_box(&src)))
        });
        group.bench_function("apply_mask", |b| {
            b.iter(|| apply_mask(black_box(&mut dst), key, 0))
        });
        group.bench_function("apply_mask_unaligned", |b| {
            b.iter(|| apply_mask(black_box(&mut dst[1..]), key, 1))
        });
        // Where a large frame's payload sits when its read starts on a
        // cache line: after a 14-byte header.
        let mut lined = vec![0u8; size + 128];
        let start = lined.as_ptr().align_offset(64) + 14;
        group.bench_function("apply_mask_after_header", |b| {
            b.iter(|| apply_mask(black_box(&mut lined[start..start + size]), key, 0))
        });
        group.bench_function("bytewise", |b| {
            b.iter(|| bytewise(black_box(&mut dst), key))
        });
        group.finish();
    }
}

criterion_group!(benches, mask);
criterion_main!(benches);
