//! Large payloads skip the copy out of the shared read buffer: the rest of
//! a large frame is read straight into the buffer it is gathered in (after
//! its first read, the WebSocket hands the transport room for the rest of
//! the frame, larger than its read buffer), and large frames that arrive
//! whole are handed on as views of the read buffer itself. Either way the
//! messages come out whole and right.

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
/// buffer holds (at most `max_read`), and recording each buffer's length
/// and where it was, and where in `input` each read began.
struct Recording {
    input: Vec<u8>,
    at: usize,
    max_read: usize,
    offered: Vec<usize>,
    places: Vec<std::ops::Range<usize>>,
    starts: Vec<usize>,
}

impl Recording {
    fn new(input: Vec<u8>) -> Recording {
        Recording {
            input,
            at: 0,
            max_read: usize::MAX,
            offered: Vec::new(),
            places: Vec::new(),
            starts: Vec::new(),
        }
    }
}

impl AsyncRead for Recording {
    fn poll_read(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        self.offered.push(buf.len());
        let start = buf.as_ptr().addr();
        self.places.push(start..start + buf.len());
        let at = self.at;
        self.starts.push(at);
        let n = buf.len().min(self.input.len() - at).min(self.max_read);
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
    let io = Recording::new(input);
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

/// Forty 70 KB messages, each in its own frame, and the wire for them.
fn forty_large_messages() -> (Vec<Vec<u8>>, Vec<u8>) {
    let messages: Vec<Vec<u8>> = (0..40u32)
        .map(|m| (0..70_000u32).map(|i| (i * 7 + m * 13) as u8).collect())
        .collect();
    let mut input = Vec::new();
    for (i, data) in messages.iter().enumerate() {
        input.extend(encode(true, 0x2, Some([i as u8, 1, 2, 3]), data));
    }
    (messages, input)
}

/// Receives the messages of `input`, checking each against `messages`,
/// holding them all until the end if `hold`; returns how many were views
/// of a buffer the transport was asked to read into.
fn count_read_in_place(messages: &[Vec<u8>], input: Vec<u8>, hold: bool) -> usize {
    let io = Recording::new(input);
    // The default read buffer (256 KiB) holds three of these frames whole.
    let mut ws = WebSocket::from_upgraded(io, Role::Server, Config::default());
    let mut held = Vec::new();
    let mut at = Vec::new();
    futures::executor::block_on(async {
        for (i, want) in messages.iter().enumerate() {
            match ws.next().await {
                Some(Ok(Message::Binary(data))) => {
                    assert!(data == *want, "message {i}");
                    at.push(data.as_ptr().addr()..data.as_ptr().addr() + data.len());
                    if hold {
                        held.push(data);
                    }
                }
                other => panic!("unexpected {other:?}"),
            }
        }
    });
    // Still right although all were held: no read buffer was read into
    // again while a message viewed it.
    for (i, (got, want)) in held.iter().zip(messages).enumerate() {
        assert!(got == want, "held message {i}");
    }
    let places = &ws.get_ref().places;
    at.iter()
        .filter(|m| places.iter().any(|p| p.start <= m.start && m.end <= p.end))
        .count()
}

#[test]
fn large_whole_frames_are_views_of_their_read() {
    let (messages, input) = forty_large_messages();
    let in_place = count_read_in_place(&messages, input, false);
    // All but those that straddle two reads.
    assert!(in_place >= 20, "{in_place} of 40 read in place");
}

#[test]
fn held_messages_stay_right_and_stop_reads_being_kept() {
    let (messages, input) = forty_large_messages();
    let in_place = count_read_in_place(&messages, input, true);
    // Their buffers never come back, so after a few fresh ones the reads
    // are copied again rather than each allocating a buffer.
    assert!(
        (1..=12).contains(&in_place),
        "{in_place} of 40 read in place"
    );
}

#[test]
fn reads_stay_on_frame_boundaries_while_large_frames_stream() {
    // 300 KB frames arriving 100 KB per read: each frame's last read
    // leaves a few bytes of it to come. Read with a hinted size, they
    // would bring the next frame's start along, to be copied twice; read
    // on their own, the next read starts with the next frame.
    let messages: Vec<Vec<u8>> = (0..10u32)
        .map(|m| (0..300_000u32).map(|i| (i * 3 + m) as u8).collect())
        .collect();
    let mut input = Vec::new();
    let mut boundaries = Vec::new();
    for (i, data) in messages.iter().enumerate() {
        input.extend(encode(true, 0x2, Some([i as u8, 5, 6, 7]), data));
        boundaries.push(input.len());
    }
    let mut io = Recording::new(input);
    io.max_read = 100_000;
    let mut ws = WebSocket::from_upgraded(io, Role::Server, Config::default());
    futures::executor::block_on(async {
        for (i, want) in messages.iter().enumerate() {
            match ws.next().await {
                Some(Ok(Message::Binary(data))) => assert!(data == *want, "message {i}"),
                other => panic!("unexpected {other:?}"),
            }
        }
    });
    let io = ws.get_ref();
    let straddling: Vec<usize> = io
        .starts
        .iter()
        .zip(io.starts.iter().skip(1).chain([&io.at]))
        .filter(|&(&start, &end)| boundaries.iter().any(|&b| start < b && b < end))
        .map(|(&start, _)| start)
        .collect();
    // Only before the first frame has finished (and so set the hint): the
    // read that ends the first frame runs into the second.
    assert!(
        straddling.len() <= 1,
        "reads across frames at {straddling:?}"
    );
}
