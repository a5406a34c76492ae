//! A large frame's payload is read straight into the buffer it is gathered
//! in: after its first read (through the shared read buffer), the WebSocket
//! hands the transport room for the rest of the frame, larger than its read
//! buffer, and the message still comes out whole and right.

#[macro_use]
mod ws_common;

use std::io;
use std::pin::Pin;
use std::task::{Context, Poll};

use futures::StreamExt;
use futures::io::{AsyncRead, AsyncWrite};
use ws_common::*;
use wsproto::Role;
use wsproto::ws::{Config, Message, WebSocket};

/// A transport with `input` to read, handing out as much as each read's
/// buffer holds, and recording each buffer's length.
struct Recording {
    input: Vec<u8>,
    at: usize,
    offered: Vec<usize>,
}

impl AsyncRead for Recording {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.offered.push(buf.len());
        let n = buf.len().min(self.input.len() - self.at);
        buf[..n].copy_from_slice(&self.input[self.at..self.at + n]);
        self.at += n;
        Poll::Ready(Ok(n))
    }
}

impl AsyncWrite for Recording {
    fn poll_write(self: Pin<&mut Self>, _: &mut Context<'_>, b: &[u8]) -> Poll<io::Result<usize>> {
        Poll::Ready(Ok(b.len()))
    }

    fn poll_flush(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }

    fn poll_close(self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<io::Result<()>> {
        Poll::Ready(Ok(()))
    }
}

#[test]
fn the_rest_of_a_large_frame_is_read_straight_into_its_buffer() {
    const READ_BUF: usize = 16 << 10;
    let big: Vec<u8> = (0..1_000_000u32).map(|i| (i % 241) as u8).collect();
    let mut input = encode(true, 0x2, Some([7, 1, 9, 3]), &big);
    input.extend(encode(true, 0x1, Some([2, 4, 6, 8]), b"after"));
    let io = Recording {
        input,
        at: 0,
        offered: Vec::new(),
    };
    let config = Config::default().read_buffer_size(READ_BUF);
    let mut ws = WebSocket::from_upgraded(io, Role::Server, config);
    futures::executor::block_on(async {
        match ws.next().await {
            Some(Ok(Message::Binary(data))) => assert!(data == big),
            other => panic!("unexpected {other:?}"),
        }
        match ws.next().await {
            Some(Ok(Message::Text(text))) => assert_eq!(text, "after"),
            other => panic!("unexpected {other:?}"),
        }
    });
    let offered = &ws.get_ref().offered;
    assert_eq!(offered[0], READ_BUF, "the first read: the shared buffer");
    assert!(
        offered[1] > READ_BUF,
        "then room in the frame's own buffer: {offered:?}"
    );
    // Each direct read may take up to four times what has arrived: the
    // frame needs only a few reads, not a million bytes / 16 KiB of them.
    assert!(offered.len() <= 6, "{offered:?}");
}
