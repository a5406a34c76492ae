//! The async layer moving messages, on every runtime through its shim:
//! echo of text, binary, empty and 1 MiB messages; fragmented messages from
//! a hand-written peer in both directions; `split()` halves used from two
//! tasks at once, then reunited.

#[macro_use]
mod ws_common;

use std::net::TcpListener as StdListener;
use std::thread;

use futures::StreamExt;
use ws_common::*;
use wsproto::State;
use wsproto::ws::{CloseFrame, Message};

runtime_tests!(
    echo_text_binary_empty_and_large,
    echo_pipelined_small_messages,
    fragmented_messages_from_a_raw_client_are_reassembled,
    client_reassembles_fragments_from_a_raw_server,
    split_halves_in_separate_tasks_then_reunite,
);

fn close_msg(code: u16, reason: &str) -> Message {
    Message::close(code, reason)
}

/// A text of about 1 MiB with multi-byte characters throughout.
fn big_text() -> String {
    "0123456789 abcdé 😀 ".repeat((1 << 20) / 24)
}

fn echo_text_binary_empty_and_large<R: Rt>() {
    run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let server = R::spawn(async move { echo(R::accept(&l).await.unwrap()).await });

        let (mut ws, resp) = R::connect(&url(addr, "/echo?x=1")).await.unwrap();
        assert_eq!(resp.subprotocol, None);
        assert_eq!(ws.state(), State::Open);

        let msgs = [
            Message::text("hello"),
            Message::text("héllo 😀"),
            Message::binary(pattern(100, 1)),
            Message::text(""),
            Message::binary(Vec::new()),
            Message::binary(pattern(125, 2)),
            Message::binary(pattern(126, 3)),
            Message::binary(pattern(65_536, 4)),
            Message::binary(pattern(1 << 20, 5)),
            Message::text(big_text()),
        ];
        for m in &msgs {
            ws.send(m.clone()).await.unwrap();
            let got = ws.recv().await.expect("an echo").expect("no error");
            assert_eq!(got.len(), m.len());
            assert!(
                got == *m,
                "[{}] echo of a {}-byte message differs",
                R::NAME,
                m.len()
            );
        }
        assert_eq!(ws.buffered_output(), 0);

        ws.close(1000u16, "done").await.unwrap();
        assert_eq!(ws.state(), State::LocalClosing);
        assert_eq!(ws.recv().await.unwrap().unwrap(), close_msg(1000, ""));
        assert!(ws.recv().await.is_none());
        assert_eq!(ws.state(), State::Closed);

        let log = server.await;
        assert_eq!(log.len(), 1, "{log:?}");
        assert_eq!(log[0].as_ref().unwrap(), &close_msg(1000, "done"));
    });
}

fn echo_pipelined_small_messages<R: Rt>() {
    run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let server = R::spawn(async move { echo(R::accept(&l).await.unwrap()).await });
        let (mut ws, _) = R::connect(&url(addr, "/")).await.unwrap();
        let msgs: Vec<Message> = (0..200)
            .map(|i| match i % 3 {
                0 => Message::text(format!("message {i}")),
                1 => Message::binary(pattern(i * 7, i as u8)),
                _ => Message::text(""),
            })
            .collect();
        // Everything goes out before anything is read back.
        for m in &msgs {
            ws.send(m.clone()).await.unwrap();
        }
        for (i, m) in msgs.iter().enumerate() {
            assert_eq!(&ws.recv().await.unwrap().unwrap(), m, "message {i}");
        }
        futures::SinkExt::close(&mut ws).await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), close_msg(1000, ""));
        assert!(ws.recv().await.is_none());
        let log = server.await;
        assert_eq!(log.len(), 1, "{log:?}");
        assert_eq!(log[0].as_ref().unwrap(), &close_msg(1000, ""));
    });
}

fn fragmented_messages_from_a_raw_client_are_reassembled<R: Rt>() {
    let text = "héllo 😀 wörld";
    let bin = pattern(70_000, 9);
    let (log, peer) = run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let bin2 = bin.clone();
        let peer = thread::spawn(move || {
            let mut raw = Raw::client(addr, "/");
            let t = text.as_bytes();
            // Split inside the 4-byte emoji, with a ping between fragments
            // (RFC 6455 §5.4 allows control frames there), then inside the
            // 2-byte ö, then an empty final fragment.
            let emoji = text.find('😀').unwrap();
            let o = text.find('ö').unwrap();
            raw.send(false, TEXT, &t[..emoji + 2]);
            raw.send(true, PING, b"mid");
            raw.send(false, CONT, &t[emoji + 2..o + 1]);
            raw.send(false, CONT, &t[o + 1..]);
            raw.send(true, CONT, b"");
            // Binary: empty first fragment, one over 64 KiB, a tail.
            raw.send(false, BINARY, b"");
            raw.send(false, CONT, &bin2[..65_600]);
            raw.send(true, CONT, &bin2[65_600..]);

            let f = raw.expect_frame();
            assert_eq!((f.opcode, &f.payload[..]), (PONG, &b"mid"[..]), "{f:?}");
            let f = raw.expect_frame();
            assert!(f.fin && !f.masked && f.opcode == TEXT, "{f:?}");
            assert_eq!(f.payload, t);
            let f = raw.expect_frame();
            assert!(f.fin && !f.masked && f.opcode == BINARY);
            assert!(f.payload == bin2, "binary echo differs");

            raw.send_close(1000, "");
            assert_eq!(raw.expect_frame().close_code(), Some(1000));
            assert!(
                raw.at_eof(),
                "the server closes TCP after the close handshake"
            );
        });
        let ws = R::accept(&l).await.unwrap();
        (echo(ws).await, peer)
    });
    peer.join().unwrap();
    let log: Vec<Message> = log.into_iter().map(Result::unwrap).collect();
    assert_eq!(log, [Message::Ping("mid".into()), close_msg(1000, "")]);
}

fn client_reassembles_fragments_from_a_raw_server<R: Rt>() {
    let l = StdListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let peer = thread::spawn(move || {
        let mut raw = Raw::server(&l);
        let t = "abc😀xyz".as_bytes();
        raw.send(false, TEXT, &t[..4]);
        raw.send(false, CONT, &t[4..5]);
        raw.send(true, PING, b"srv");
        raw.send(false, CONT, &t[5..6]);
        raw.send(true, CONT, &t[6..]);
        let bin = pattern(3000, 1);
        for (i, chunk) in bin.chunks(700).enumerate() {
            let op = if i == 0 { BINARY } else { CONT };
            raw.send(false, op, chunk);
        }
        raw.send(true, CONT, b"");
        // A one-frame message after the fragmented ones.
        raw.send(true, TEXT, b"single");

        let f = raw.expect_frame();
        assert!(f.masked, "client frames are masked");
        assert_eq!((f.opcode, &f.payload[..]), (PONG, &b"srv"[..]));
        let f = raw.expect_frame();
        assert_eq!(f.close_code(), Some(4000));
        assert_eq!(&f.payload[2..], b"bye");
        raw.send_close(4000, "ok");
        // The server ends TCP first; the client follows.
        raw.s.shutdown(std::net::Shutdown::Write).unwrap();
        assert!(raw.at_eof());
    });
    run::<R, _>(async {
        let (mut ws, _) = R::connect(&url(addr, "/")).await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::Ping("srv".into())
        );
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("abc😀xyz"));
        let bin = ws.recv().await.unwrap().unwrap();
        assert!(bin == Message::binary(pattern(3000, 1)), "binary differs");
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("single"));
        ws.close(4000u16, "bye").await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), close_msg(4000, "ok"));
        assert!(ws.recv().await.is_none());
        assert_eq!(ws.state(), State::Closed);
    });
    peer.join().unwrap();
}

const SPLIT_COUNT: usize = 300;

fn split_message(i: usize) -> Message {
    if i % 2 == 0 {
        Message::text(format!("{i}:{}", "é".repeat(i % 500)))
    } else {
        Message::binary(pattern((i * 37) % 6000, i as u8))
    }
}

fn split_halves_in_separate_tasks_then_reunite<R: Rt>() {
    run::<R, _>(async {
        let (l, addr) = R::bind().await;

        // The server echoes through split halves: one task reads and hands
        // messages over a channel, another writes them back.
        let server = R::spawn(async move {
            let ws = R::accept(&l).await.unwrap();
            let (mut rd, mut wr) = ws.split();
            let (tx, mut rx) = futures::channel::mpsc::unbounded::<Message>();
            let reader = R::spawn(async move {
                let mut last = None;
                while let Some(item) = rd.recv().await {
                    match item.unwrap() {
                        m if m.is_data() => tx.unbounded_send(m).unwrap(),
                        other => last = Some(other),
                    }
                }
                drop(tx);
                (rd, last)
            });
            let writer = R::spawn(async move {
                let mut n = 0;
                while let Some(m) = rx.next().await {
                    wr.send(m).await.unwrap();
                    n += 1;
                }
                (wr, n)
            });
            let (rd, last) = reader.await;
            let (wr, n) = writer.await;
            let ws = rd.reunite(wr);
            (ws.state(), last, n)
        });

        let (ws, _) = R::connect(&url(addr, "/split")).await.unwrap();
        let (mut rd, mut wr) = ws.split();
        let writer = R::spawn(async move {
            for i in 0..SPLIT_COUNT {
                wr.send(split_message(i)).await.unwrap();
            }
            wr
        });
        let reader = R::spawn(async move {
            for i in 0..SPLIT_COUNT {
                let m = rd.recv().await.expect("an echo").unwrap();
                assert!(m == split_message(i), "echo {i} differs or is out of order");
            }
            rd
        });
        let wr = writer.await;
        let rd = reader.await;

        // Reunited, the WebSocket carries on where the halves left off.
        let mut ws = rd.reunite(wr);
        assert_eq!(ws.state(), State::Open);
        ws.send("after reunite").await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::text("after reunite")
        );

        // Split again, close through the write half; the read half sees the
        // reply and the end.
        let (mut rd, mut wr) = ws.split();
        wr.close(1001u16, "leaving").await.unwrap();
        assert_eq!(rd.recv().await.unwrap().unwrap(), close_msg(1001, ""));
        assert!(rd.recv().await.is_none());
        assert!(matches!(
            wr.send("too late").await,
            Err(wsproto::ws::Error::ConnectionClosed)
        ));
        assert_eq!(rd.reunite(wr).state(), State::Closed);

        let (state, last, n) = server.await;
        assert_eq!(n, SPLIT_COUNT + 1);
        assert_eq!(state, State::Closed);
        assert_eq!(
            last,
            Some(Message::Close(Some(CloseFrame {
                code: 1001u16.into(),
                reason: "leaving".into()
            })))
        );
    });
}
