//! An echo round trip through two in-memory `Connection`s, in messages per
//! second: the client `send`s a message, the server `receive_bytes` +
//! `next_event`s it and `send`s it back, and the client receives the echo.
//! Binary and text, 16 B, 1 KiB, 64 KiB and 1 MiB.
//!
//! This is the whole engine cost of one request/response exchange with no
//! I/O: two frame encodes and decodes, the client's masking and the
//! server's unmasking, the copies into each receive buffer, and for text
//! the UTF-8 validation on both sides (the text is ASCII; `benches/utf8.rs`
//! varies the content). Bytes move between the two the way the async layer
//! writes them, through `output_vectored` + `advance_output`, each slice
//! handed to the peer's `receive_bytes`. The handshake is left out: it is
//! paid once per connection, not per message.
//!
//! ```text
//! cargo bench --bench roundtrip
//! ```

use std::hint::black_box;
use std::io::IoSlice;

use bytes::Bytes;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use wsproto::{BytesMessage, Connection, Event, Role, TextMessage, Utf8Bytes};

const SIZES: [(&str, usize); 4] = [
    ("16B", 16),
    ("1KiB", 1 << 10),
    ("64KiB", 64 << 10),
    ("1MiB", 1 << 20),
];

/// Moves everything `from` has to send into `to`, as a vectored write would.
fn transfer(from: &mut Connection, to: &mut Connection) {
    while from.has_bytes_to_send() {
        let mut slices = [IoSlice::new(&[]); 8];
        let count = from.output_vectored(&mut slices);
        let mut written = 0;
        for slice in &slices[..count] {
            to.receive_bytes(slice);
            written += slice.len();
        }
        if written == 0 {
            break;
        }
        from.advance_output(written);
    }
}

/// The complete message `conn` has received (in one frame, so one event).
fn next_message(conn: &mut Connection) -> Event {
    match conn.next_event() {
        Some(Ok(
            event @ (Event::BytesMessage(BytesMessage {
                message_finished: true,
                ..
            })
            | Event::TextMessage(TextMessage {
                message_finished: true,
                ..
            })),
        )) => event,
        other => panic!("unexpected {other:?}"),
    }
}

/// One echo: client → server → client.
fn round_trip(client: &mut Connection, server: &mut Connection, message: Event) -> Event {
    client.send(message).expect("client open");
    transfer(client, server);
    let received = next_message(server);
    server.send(received).expect("server open");
    transfer(server, client);
    next_message(client)
}

/// ASCII text of exactly `len` bytes.
fn text(len: usize) -> String {
    let line = "{\"id\":17,\"user\":\"user42\",\"text\":\"message in the stream\"}\n";
    line.chars().cycle().take(len).collect()
}

fn roundtrip(c: &mut Criterion) {
    for (kind, is_text) in [("binary", false), ("text", true)] {
        let mut group = c.benchmark_group(format!("roundtrip/{kind}"));
        group.throughput(Throughput::Elements(1));
        for (label, size) in SIZES {
            let payload = text(size);
            let utf8 = Utf8Bytes::from(payload.as_str());
            let bytes = Bytes::from(payload.into_bytes());
            let message = || -> Event {
                if is_text {
                    TextMessage::new(utf8.clone()).into()
                } else {
                    BytesMessage::new(bytes.clone()).into()
                }
            };
            let mut client = Connection::new(Role::Client, Vec::new());
            let mut server = Connection::new(Role::Server, Vec::new());
            // One checked echo before timing.
            match round_trip(&mut client, &mut server, message()) {
                Event::BytesMessage(m) => assert_eq!(m.data, bytes),
                Event::TextMessage(m) => assert_eq!(m.data, utf8),
                other => panic!("unexpected {other:?}"),
            }
            group.bench_function(label, |b| {
                b.iter(|| black_box(round_trip(&mut client, &mut server, black_box(message()))))
            });
        }
        group.finish();
    }
}

criterion_group!(benches, roundtrip);
criterion_main!(benches);
