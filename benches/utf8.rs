//! UTF-8 validation of received text, in bytes per second, on pure ASCII
//! and on mixed 1–4-byte text (Latin, accented Latin, Cyrillic, CJK and
//! emoji), 1 KiB and 64 KiB, beside `std::str::from_utf8` on the same
//! buffer as the reference.
//!
//! Every received text message is validated as it arrives (RFC 6455 §8.1),
//! so this is a per-byte cost on the receive path. The crate's incremental
//! validator (`Utf8Stream` in `src/proto/utf8.rs`) is crate-private, so it
//! is measured through the smallest public path that runs it: a client
//! `Connection` receiving an unmasked text frame (`receive_bytes` +
//! `next_event`). That path also copies the frame into the receive buffer
//! and decodes its header, so the same bytes are also sent as a binary
//! frame through the same path: `connection_text` minus
//! `connection_binary` is the validation's share. For 64 KiB,
//! `connection_text_pieces` feeds the frame in 4093-byte reads, which split
//! multi-byte characters in the mixed text, to exercise the validator's
//! carry between pieces.
//!
//! ```text
//! cargo bench --bench utf8
//! ```

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wsproto::{BytesMessage, Connection, Event, Role, TextMessage};

/// A read size that does not divide the frame evenly and lands inside
/// multi-byte characters.
const PIECE: usize = 4093;

/// ASCII chat-like text of exactly `len` bytes.
fn ascii(len: usize) -> String {
    let line = "The quick brown fox jumps over the lazy dog; {\"id\": 42, \"ok\": true}\n";
    line.chars().cycle().take(len).collect()
}

/// Words from four scripts, picked pseudo-randomly so the byte widths do
/// not repeat in a short period, padded with ASCII to exactly `len` bytes.
fn mixed(len: usize) -> String {
    const WORDS: [&str; 12] = [
        "hello ",
        "wörld ",
        "façade ",
        "Привет ",
        "мир ",
        "Здравствуйте ",
        "你好 ",
        "世界 ",
        "日本語のテキスト ",
        "🎉 ",
        "🚀🌍 ",
        "naïve ",
    ];
    let mut out = String::with_capacity(len);
    let mut state = 0x2545_f491_u32;
    loop {
        state = state.wrapping_mul(1_103_515_245).wrapping_add(12_345);
        let word = WORDS[(state >> 16) as usize % WORDS.len()];
        if out.len() + word.len() > len {
            break;
        }
        out.push_str(word);
    }
    while out.len() < len {
        out.push('.');
    }
    out
}

/// The frame a server would send carrying `event`.
fn server_frame(event: Event) -> Vec<u8> {
    let mut server = Connection::new(Role::Server, Vec::new());
    server.send(event).expect("open connection");
    server.bytes_to_send().to_vec()
}

/// Feeds `wire` (one whole frame) to `client` in reads of `piece` bytes and
/// returns the payload bytes delivered.
fn receive(client: &mut Connection, wire: &[u8], piece: usize) -> usize {
    let mut delivered = 0;
    for chunk in wire.chunks(piece) {
        client.receive_bytes(chunk);
        while let Some(event) = client.next_event() {
            delivered += match event.expect("valid frame") {
                Event::TextMessage(m) => m.data.len(),
                Event::BytesMessage(m) => m.data.len(),
                other => panic!("unexpected {other:?}"),
            };
        }
    }
    delivered
}

fn utf8(c: &mut Criterion) {
    for (content, make) in [("ascii", ascii as fn(usize) -> String), ("mixed", mixed)] {
        for (label, size) in [("1KiB", 1usize << 10), ("64KiB", 64 << 10)] {
            let text = make(size);
            assert_eq!(text.len(), size);
            if label == "1KiB" {
                let chars = text.chars().count();
                println!(
                    "utf8/{content}: {:.2} bytes per char",
                    size as f64 / chars as f64
                );
            }
            let text_frame = server_frame(TextMessage::new(text.clone()).into());
            let binary_frame = server_frame(BytesMessage::new(text.clone().into_bytes()).into());
            let bytes = text.into_bytes();

            let mut group = c.benchmark_group(format!("utf8/{content}/{label}"));
            group.throughput(Throughput::Bytes(size as u64));
            group.bench_function("std_from_utf8", |b| {
                b.iter(|| std::str::from_utf8(black_box(&bytes)).is_ok())
            });
            let mut client = Connection::new(Role::Client, Vec::new());
            group.bench_function("connection_text", |b| {
                b.iter(|| receive(&mut client, black_box(&text_frame), usize::MAX))
            });
            if size > PIECE {
                group.bench_function("connection_text_pieces", |b| {
                    b.iter(|| receive(&mut client, black_box(&text_frame), PIECE))
                });
            }
            group.bench_function("connection_binary", |b| {
                b.iter(|| receive(&mut client, black_box(&binary_frame), usize::MAX))
            });
            group.finish();
        }
    }
}

criterion_group!(benches, utf8);
criterion_main!(benches);
