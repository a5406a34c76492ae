//! One end is a hand-written peer (RSV bits checked, payloads inflated and
//! deflated with miniz_oxide): each direction's compression, a compression
//! bomb, and every negotiated parameter honoured over a socket.

use super::*;

runtime_tests!(
    the_client_compresses_for_a_raw_server,
    the_server_compresses_for_a_raw_client,
    a_bomb_over_a_socket_is_closed_with_1009,
    no_context_takeover_and_window_limits_over_a_socket,
    an_idle_server_frees_its_deflate_state_and_keeps_both_contexts,
);

fn the_client_compresses_for_a_raw_server<R: Rt>() {
    let l = StdListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let text = text_of(20_000);
    let expected = text.clone();
    let peer = thread::spawn(move || {
        let (mut p, req) = Peer::server(&l, "permessage-deflate");
        assert_eq!(
            header(&req, "sec-websocket-extensions").as_deref(),
            Some("permessage-deflate; client_max_window_bits")
        );
        let mut inflater = Inflater::new();
        let mut deflater = Deflater::new();
        // A compressed text message.
        let (b0, payload) = p.read_message();
        assert_eq!(b0 & 0x70, RSV1, "the client's message is not compressed");
        assert_eq!(b0 & 0x0f, 0x1);
        assert!(payload.len() < expected.len() / 4);
        assert_eq!(inflater.message(&payload), expected.as_bytes());
        // The same random message twice: the second refers to the first
        // (context takeover), so it is far smaller.
        let mut sizes = Vec::new();
        for _ in 0..2 {
            let (b0, payload) = p.read_message();
            assert_eq!(b0 & 0x70, RSV1);
            assert_eq!(b0 & 0x0f, 0x2);
            sizes.push(payload.len());
            assert_eq!(inflater.message(&payload), noise(4000, 9));
        }
        assert!(sizes[1] < sizes[0] / 4, "no context takeover: {sizes:?}");
        // A short message goes plain.
        let (b0, payload) = p.read_message();
        assert_eq!((b0 & 0x70, &payload[..]), (0, &b"short"[..]));
        // The client's ping is plain.
        let f = p.expect_frame();
        assert_eq!(
            (f.rsv(), f.opcode(), &f.payload[..]),
            (0, 0x9, &b"are you there"[..])
        );
        // Send compressed messages back: one frame, then fragmented, then a
        // back-reference into the previous message (context takeover).
        let m1 = deflater.message(b"compressed by miniz_oxide, hello hello hello");
        p.send(0x80 | RSV1 | 0x1, &m1);
        let m2 = deflater.message(&noise(3000, 3));
        p.send(RSV1 | 0x2, &m2[..m2.len() / 2]);
        p.send(0x89, b"between");
        p.send(0x80, &m2[m2.len() / 2..]);
        let m3 = deflater.message(b"compressed by miniz_oxide, hello hello hello");
        assert!(m3.len() < m1.len());
        p.send(0x80 | RSV1 | 0x1, &m3);
        // A plain one mixed in.
        p.send(0x81, b"plain");
        // Then close.
        p.send(0x88, &1000u16.to_be_bytes());
        loop {
            match p.read_frame() {
                Some(f) if f.opcode() == 0x8 => break,
                Some(_) => {}
                None => panic!("no close reply"),
            }
        }
    });
    run::<R, _>(async {
        let (mut ws, _) = R::connect_with_config(&url(addr, "/"), deflate())
            .await
            .unwrap();
        assert_eq!(ext_names(ws.connection()), ["permessage-deflate"]);
        ws.send(Message::text(text.clone())).await.unwrap();
        ws.send(Message::binary(noise(4000, 9))).await.unwrap();
        ws.send(Message::binary(noise(4000, 9))).await.unwrap();
        ws.send(Message::text("short")).await.unwrap();
        ws.send(Message::Ping("are you there".into()))
            .await
            .unwrap();
        let mut got = Vec::new();
        while let Some(m) = ws.recv().await {
            got.push(m.unwrap());
        }
        assert_eq!(
            got,
            [
                Message::text("compressed by miniz_oxide, hello hello hello"),
                Message::Ping("between".into()),
                Message::binary(noise(3000, 3)),
                Message::text("compressed by miniz_oxide, hello hello hello"),
                Message::text("plain"),
                Message::close(1000u16, ""),
            ]
        );
    });
    peer.join().unwrap();
}

fn the_server_compresses_for_a_raw_client<R: Rt>() {
    run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let server = R::spawn(async move {
            let ws = R::accept_with(&l, deflate(), accept_all()).await.unwrap();
            assert_eq!(ext_names(ws.connection()), ["permessage-deflate"]);
            echo(ws).await
        });
        let text = text_of(30_000);
        let peer = thread::spawn(move || {
            let (mut p, head) = Peer::client(
                addr,
                "permessage-deflate; server_max_window_bits=12; client_max_window_bits",
            );
            assert_eq!(
                header(&head, "sec-websocket-extensions").as_deref(),
                Some("permessage-deflate; server_max_window_bits=12")
            );
            let mut deflater = Deflater::new();
            let mut inflater = Inflater::new();
            let mut echoed = Vec::new();
            let random = noise(1000, 11); // well inside the 4 KiB window
            for msg in [
                text.as_bytes(),
                &random[..],
                &random[..],
                b"tiny".as_slice(),
            ] {
                let payload = deflater.message(msg);
                p.send(0x80 | RSV1 | 0x2, &payload);
                let (b0, back) = p.read_message();
                if msg.len() >= 32 {
                    assert_eq!(b0 & 0x70, RSV1, "the echo is not compressed");
                    echoed.push(back.len());
                    assert_eq!(inflater.message(&back), msg);
                } else {
                    assert_eq!((b0 & 0x70, &back[..]), (0, msg));
                }
            }
            assert!(echoed[0] < text.len() / 4, "{echoed:?}");
            assert!(echoed[2] < echoed[1] / 4, "context takeover: {echoed:?}");
            // Pings and pongs stay plain both ways.
            p.send(0x89, b"ping!");
            let f = p.expect_frame();
            assert_eq!(
                (f.rsv(), f.opcode(), &f.payload[..]),
                (0, 0xa, &b"ping!"[..])
            );
            // A fragmented compressed message from us.
            let payload = deflater.message(&noise(10_000, 4));
            p.send(RSV1 | 0x2, &payload[..100]);
            p.send(0x00, &payload[100..5000]);
            p.send(0x80, &payload[5000..]);
            let (b0, back) = p.read_message();
            assert_eq!(b0 & 0x70, RSV1);
            assert_eq!(inflater.message(&back), noise(10_000, 4));
            p.send(0x88, &1000u16.to_be_bytes());
            let f = p.expect_frame();
            assert_eq!((f.rsv(), f.opcode()), (0, 0x8));
        });
        let log = server.await;
        peer.join().unwrap();
        assert_eq!(log.len(), 2, "{log:?}");
        assert_eq!(log[0].as_ref().unwrap(), &Message::Ping("ping!".into()));
        assert_eq!(log[1].as_ref().unwrap(), &Message::close(1000u16, ""));
    });
}

/// A 2 MB bomb payload (inflating to ~300 MB), as in tests/deflate_bomb.rs.
fn bomb(copies: usize) -> Vec<u8> {
    let mut out = Vec::with_capacity(copies * 13 / 8 + 8);
    let (mut acc, mut n) = (0u64, 0u32);
    let mut put = |v: u64, c: u32, out: &mut Vec<u8>| {
        acc |= v << n;
        n += c;
        while n >= 8 {
            out.push(acc as u8);
            acc >>= 8;
            n -= 8;
        }
    };
    put(0, 1, &mut out);
    put(1, 2, &mut out);
    put(0x0c, 8, &mut out); // literal 0 (0x30 bit-reversed)
    for _ in 0..copies {
        put(0xa3, 8, &mut out); // length 258 (0xc5 bit-reversed)
        put(0, 5, &mut out); // distance 1
    }
    put(0, 7, &mut out);
    put(0, 3, &mut out);
    put(0, 7, &mut out); // flush the last partial byte
    out
}

fn a_bomb_over_a_socket_is_closed_with_1009<R: Rt>() {
    run::<R, _>(async {
        let (l, addr) = R::bind().await;
        let config = deflate().protocol(
            wsproto::proto::Config::default()
                .max_message_size(1 << 20)
                .deflate(DeflateConfig::default()),
        );
        let server = R::spawn(async move {
            let mut ws = R::accept_with(&l, config, accept_all()).await.unwrap();
            let mut out = Vec::new();
            while let Some(m) = ws.recv().await {
                out.push(m);
            }
            out
        });
        let peer = thread::spawn(move || {
            let (mut p, head) = Peer::client(addr, "permessage-deflate");
            assert_eq!(
                header(&head, "sec-websocket-extensions").as_deref(),
                Some("permessage-deflate")
            );
            // Sanity: the bomb inflates (a small one, independently).
            let small = bomb(100);
            assert_eq!(Inflater::new().message(&small), vec![0u8; 1 + 258 * 100]);
            // The 2 MB bomb, cut into 64 KB fragments: the first alone
            // inflates to ~10 MB, far past the 1 MiB limit, so only it is
            // sent (the rest would reach a server that already closed, and
            // unread data at close turns the close into a reset).
            let payload = bomb(2_000_000 * 8 / 13);
            assert!(payload.len() > 1_990_000);
            let first = &payload[..64 << 10];
            p.send(RSV1 | 0x2, first);
            // The server's close frame carries 1009.
            let f = match p.read_frame() {
                Some(f) if f.opcode() == 0x8 => f,
                Some(f) => panic!("unexpected frame {f:?}"),
                None => panic!("EOF without a close frame"),
            };
            assert_eq!(f.rsv(), 0);
            assert_eq!(u16::from_be_bytes([f.payload[0], f.payload[1]]), 1009);
        });
        let log = server.await;
        peer.join().unwrap();
        assert_eq!(log.len(), 1, "{log:?}");
        match &log[0] {
            Err(Error::Protocol(e)) => assert_eq!(e.close_code().map(|c| c.0), Some(1009)),
            other => panic!("[{}] {other:?}", R::NAME),
        }
    });
}

fn no_context_takeover_and_window_limits_over_a_socket<R: Rt>() {
    // Every parameter set on the async client; the raw server answers with
    // all of them and checks that the client honours them.
    let l = StdListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let text = text_of(8_000);
    let expected = text.clone();
    let peer = thread::spawn(move || {
        let (mut p, req) = Peer::server(
            &l,
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=10; client_max_window_bits=10",
        );
        assert_eq!(
            header(&req, "sec-websocket-extensions").as_deref(),
            Some(
                "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
                 server_max_window_bits=10; client_max_window_bits"
            )
        );
        // client_no_context_takeover: identical payloads, each inflating
        // on its own.
        let (_, a) = p.read_message();
        let (_, b) = p.read_message();
        assert_eq!(a, b, "the client kept its context");
        let mut fresh = Inflater::new();
        assert_eq!(fresh.message(&b), expected.as_bytes());
        // client_max_window_bits=10: a repeat 2 KiB back is not found.
        let (b0, probe) = p.read_message();
        assert_eq!(b0 & 0x70, RSV1);
        assert!(
            probe.len() > 2200,
            "a 2 KiB-distant repeat was found: {}",
            probe.len()
        );
        assert_eq!(Inflater::new().message(&probe).len(), 2048 + 256);
        // server_no_context_takeover: our messages are independent; send
        // two made by fresh compressors.
        for _ in 0..2 {
            let m = Deflater::new().message(expected.as_bytes());
            p.send(0x80 | RSV1 | 0x1, &m);
        }
        p.send(0x88, &1000u16.to_be_bytes());
        while let Some(f) = p.read_frame() {
            if f.opcode() == 0x8 {
                break;
            }
        }
    });
    run::<R, _>(async {
        let cfg = dcfg(
            DeflateConfig::default()
                .level(9)
                .server_no_context_takeover(true)
                .client_no_context_takeover(true)
                .server_max_window_bits(Some(10)),
        );
        let (mut ws, _) = R::connect_with_config(&url(addr, "/"), cfg).await.unwrap();
        ws.send(Message::text(text.clone())).await.unwrap();
        ws.send(Message::text(text.clone())).await.unwrap();
        let block = noise(256, 77);
        let mut probe = block.clone();
        probe.extend(noise(2048 - 256, 78));
        probe.extend_from_slice(&block);
        ws.send(Message::binary(probe)).await.unwrap();
        let mut got = Vec::new();
        while let Some(m) = ws.recv().await {
            got.push(m.unwrap());
        }
        assert_eq!(
            got,
            [
                Message::text(text.clone()),
                Message::text(text.clone()),
                Message::close(1000u16, "")
            ]
        );
    });
    peer.join().unwrap();
}

fn an_idle_server_frees_its_deflate_state_and_keeps_both_contexts<R: Rt>() {
    // The second window is 512 bytes, of which zlib refers back at most 250.
    for offer in [
        "permessage-deflate",
        "permessage-deflate; server_max_window_bits=9",
    ] {
        run::<R, _>(async {
            let (l, addr) = R::bind().await;
            let config = deflate().release_idle_after(Some(Duration::from_millis(20)));
            let server = R::spawn(async move {
                let mut ws = R::accept_with(&l, config, accept_all()).await.unwrap();
                // For each message, whether the compressor and inflater were
                // freed at some point while the server waited for it.
                let mut freed = Vec::new();
                loop {
                    let mut was_freed = false;
                    let next = std::future::poll_fn(|cx| {
                        let polled = Pin::new(&mut ws).poll_next(cx);
                        if polled.is_pending() && !ws.connection().holds_idle_memory() {
                            was_freed = true;
                        }
                        polled
                    });
                    match next.await {
                        Some(Ok(m)) if m.is_data() => {
                            freed.push(was_freed);
                            ws.send(m).await.unwrap();
                            assert!(ws.connection().holds_idle_memory());
                        }
                        Some(Ok(_)) => {}
                        _ => break,
                    }
                }
                freed
            });
            let peer = thread::spawn(move || {
                let (mut p, _) = Peer::client(addr, offer);
                let mut deflater = Deflater::new();
                let mut inflater = Inflater::new();
                let random = noise(200, 5);
                let mut echoed = Vec::new();
                for round in 0..3 {
                    if round > 0 {
                        // Idle for many periods: the server frees its
                        // compressor and its inflater. Pings, every half
                        // period, are heartbeats, not activity.
                        for _ in 0..30 {
                            p.send(0x89, b"beat");
                            let pong = p.expect_frame();
                            assert_eq!((pong.opcode(), &pong.payload[..]), (0xa, &b"beat"[..]));
                            thread::sleep(Duration::from_millis(10));
                        }
                    }
                    p.send(0x80 | RSV1 | 0x2, &deflater.message(&random));
                    let (b0, back) = p.read_message();
                    assert_eq!(b0 & 0x70, RSV1, "{offer}: the echo is not compressed");
                    assert_eq!(inflater.message(&back), random, "{offer}");
                    echoed.push(back.len());
                }
                // The rebuilt compressors went on from the window: the
                // random bytes came again as a back-reference. (And the
                // rebuilt inflaters found ours, from our deflater, in theirs.)
                assert!(echoed[0] > 150, "{offer}: {echoed:?}");
                assert!(echoed[1] < 20 && echoed[2] < 20, "{offer}: {echoed:?}");
                p.send(0x88, &1000u16.to_be_bytes());
                while p.read_frame().is_some_and(|f| f.opcode() != 0x8) {}
            });
            // (The first message may be there before the server waits.)
            let freed = server.await;
            assert_eq!(
                (freed.len(), &freed[1..]),
                (3, &[true, true][..]),
                "{offer}"
            );
            peer.join().unwrap();
        });
    }
}
