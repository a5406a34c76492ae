//! Writes the seed corpora, `corpus/<target>/<name>`, from the RFC 6455
//! test vectors (§1.2, §1.3, §5.7) and the cases the integration tests
//! cover, and runs every seed through its target once.
//!
//! ```text
//! cargo run --manifest-path fuzz/Cargo.toml --features seeds --bin seeds [DIR]
//! ```
//!
//! DIR defaults to `fuzz/corpus`.

use std::path::{Path, PathBuf};

use wsproto::proto::{
    AcceptConnection, BytesMessage, CloseConnection, Config, Event, Ping, Request, Role,
    TextMessage, WsConnection,
};
use wsproto_fuzz::script::{Builder, Cfg, Op};
use wsproto_fuzz::wire::encode;

/// RFC 6455 §1.2, the client's opening handshake.
const RFC_REQUEST: &str = "GET /chat HTTP/1.1\r\n\
Host: server.example.com\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\n\
Origin: http://example.com\r\n\
Sec-WebSocket-Protocol: chat, superchat\r\n\
Sec-WebSocket-Version: 13\r\n\r\n";

/// RFC 6455 §1.3, the server's answer; its accept value is the placeholder
/// the client targets replace with the one their key calls for.
const RFC_RESPONSE: &str = "HTTP/1.1 101 Switching Protocols\r\n\
Upgrade: websocket\r\n\
Connection: Upgrade\r\n\
Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\
Sec-WebSocket-Protocol: chat\r\n\r\n";

/// RFC 6455 §5.7's masking key.
const KEY: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

fn main() {
    let verbose = std::env::var_os("SEEDS_VERBOSE").is_some();
    let dir = std::env::args()
        .nth(1)
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus"));
    let targets: [Target; 6] = [
        (
            "frame_header",
            wsproto_fuzz::frame_header,
            frame_header_seeds(),
        ),
        (
            "handshake_request",
            wsproto_fuzz::handshake_request,
            request_seeds(),
        ),
        (
            "handshake_response",
            wsproto_fuzz::handshake_response,
            response_seeds(),
        ),
        (
            "server_connection",
            wsproto_fuzz::server_connection,
            server_seeds(),
        ),
        (
            "client_connection",
            wsproto_fuzz::client_connection,
            client_seeds(),
        ),
        (
            "whole_frames",
            wsproto_fuzz::whole_frames,
            whole_frames_seeds(),
        ),
    ];
    for (target, run, seeds) in targets {
        let tdir = dir.join(target);
        std::fs::create_dir_all(&tdir).expect("create the corpus directory");
        let mut opened = 0;
        for (name, data) in &seeds {
            run(data);
            let role = match target {
                "server_connection" => Some(Role::Server),
                "client_connection" => Some(Role::Client),
                _ => None,
            };
            if let Some(role) = role {
                let summary = wsproto_fuzz::run_connection(role, data);
                opened += usize::from(summary.opened);
                if verbose {
                    println!("  {name}: {summary:?}");
                }
            }
            std::fs::write(tdir.join(format!("seed-{name}")), data).expect("write a seed");
        }
        println!(
            "{target}: {} seeds ({opened} open a connection) in {}",
            seeds.len(),
            tdir.display()
        );
    }
}

/// Named seed inputs.
type Seeds = Vec<(String, Vec<u8>)>;

/// A target's name, body and seeds.
type Target = (&'static str, fn(&[u8]), Seeds);

fn named(items: Vec<(&str, Vec<u8>)>) -> Seeds {
    items.into_iter().map(|(n, d)| (n.to_owned(), d)).collect()
}

/// The frames of RFC 6455 §5.7, masked (`client`) or not.
fn rfc_frames(mask: Option<[u8; 4]>) -> Vec<(&'static str, Vec<u8>)> {
    let mut big = vec![0u8; 256];
    for (i, b) in big.iter_mut().enumerate() {
        *b = i as u8;
    }
    vec![
        ("text-hello", encode(true, 0x1, mask, b"Hello")),
        (
            "fragmented-hello",
            [
                encode(false, 0x1, mask, b"Hel"),
                encode(true, 0x0, mask, b"lo"),
            ]
            .concat(),
        ),
        ("ping", encode(true, 0x9, mask, b"Hello")),
        ("pong", encode(true, 0xa, mask, b"Hello")),
        ("binary-256", encode(true, 0x2, mask, &big)),
    ]
}

fn frame_header_seeds() -> Seeds {
    let mut seeds: Vec<(String, Vec<u8>)> = Vec::new();
    let mut frames = rfc_frames(None);
    frames.push(("binary-64k", encode(true, 0x2, None, &[0x5a; 65536])));
    for (name, frame) in frames {
        seeds.push((format!("rfc-{name}"), frame[..frame.len().min(14)].to_vec()));
    }
    let mut frames = rfc_frames(Some(KEY));
    frames.push(("binary-64k", encode(true, 0x2, Some(KEY), &[0x5a; 65536])));
    for (name, frame) in frames {
        seeds.push((
            format!("rfc-masked-{name}"),
            frame[..frame.len().min(14)].to_vec(),
        ));
    }
    let mut huge = |name: &str, len: u64| {
        let mut h = vec![0x82, 0xff];
        h.extend_from_slice(&len.to_be_bytes());
        h.extend_from_slice(&KEY);
        seeds.push((name.to_owned(), h));
    };
    huge("len-2pow63-1", (1 << 63) - 1);
    huge("len-2pow62", 1 << 62);
    huge("len-top-bit", 1 << 63);
    seeds.extend(named(vec![
        ("reserved-opcode-3", vec![0x83, 0x00]),
        ("reserved-opcode-b", vec![0x8b, 0x00]),
        ("fragmented-ping", vec![0x09, 0x00]),
        ("long-ping", vec![0x89, 0x7e, 0x00, 0x7e]),
        ("rsv1-text", vec![0xc1, 0x80, 1, 2, 3, 4]),
        ("non-minimal-16", vec![0x82, 0x7e, 0x00, 0x05]),
        ("empty", vec![]),
    ]));
    seeds
}

fn request_seeds() -> Seeds {
    let rfc = RFC_REQUEST;
    let many_headers: String = (0..100).map(|i| format!("X-H{i}: v\r\n")).collect();
    named(vec![
        ("rfc", rfc.into()),
        ("rfc-bare-lf", rfc.replace("\r\n", "\n").into()),
        (
            "rfc-with-frames",
            [rfc.as_bytes(), &encode(true, 0x1, Some(KEY), b"Hello")].concat(),
        ),
        (
            "deflate-offer",
            rfc.replace(
                "Origin:",
                "Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits, x-foo; a=\"b, c\"\r\nOrigin:",
            )
            .into(),
        ),
        ("version-8", rfc.replace("Version: 13", "Version: 8").into()),
        ("no-version", rfc.replace("Sec-WebSocket-Version: 13\r\n", "").into()),
        ("post", rfc.replace("GET", "POST").into()),
        ("http10", rfc.replace("HTTP/1.1", "HTTP/1.0").into()),
        ("no-upgrade", rfc.replace("Upgrade: websocket\r\n", "").into()),
        (
            "duplicate-key",
            rfc.replace("Origin:", "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nOrigin:")
                .into(),
        ),
        ("short-key", rfc.replace("dGhlIHNhbXBsZSBub25jZQ==", "c2hvcnQ=").into()),
        (
            "with-body",
            rfc.replace("Origin:", "Content-Length: 5\r\nOrigin:").into(),
        ),
        (
            "too-many-headers",
            rfc.replace("Origin:", &format!("{many_headers}Origin:")).into(),
        ),
        (
            "long-line",
            rfc.replace("Origin:", &format!("X-Long: {}\r\nOrigin:", "a".repeat(9000)))
                .into(),
        ),
        ("plain-get", b"GET / HTTP/1.1\r\nHost: x\r\n\r\n".to_vec()),
        ("half", rfc.as_bytes()[..40].to_vec()),
    ])
}

fn response_seeds() -> Seeds {
    let rfc = RFC_RESPONSE;
    named(vec![
        ("rfc", rfc.into()),
        (
            "rfc-with-frames",
            [rfc.as_bytes(), &encode(true, 0x1, None, b"Hello")].concat(),
        ),
        (
            "interim-100",
            format!("HTTP/1.1 100 Continue\r\n\r\n{rfc}").into(),
        ),
        ("bad-accept", rfc.replace("s3pP", "AAAA").into()),
        (
            "unoffered-protocol",
            rfc.replace(": chat", ": other").into(),
        ),
        (
            "unoffered-extension",
            rfc.replace(
                "Sec-WebSocket-Protocol",
                "Sec-WebSocket-Extensions: permessage-deflate\r\nSec-WebSocket-Protocol",
            )
            .into(),
        ),
        (
            "reject-length",
            b"HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\nnope!".to_vec(),
        ),
        (
            "reject-chunked",
            b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n\
              5;x=1\r\nhello\r\n0\r\nX-T: 1\r\n\r\n"
                .to_vec(),
        ),
        (
            "reject-until-eof",
            b"HTTP/1.1 404 Not Found\r\n\r\nwhatever".to_vec(),
        ),
        ("reject-204", b"HTTP/1.1 204 No Content\r\n\r\n".to_vec()),
        (
            "deflate-accepted",
            rfc.replace(
                "Sec-WebSocket-Protocol",
                "Sec-WebSocket-Extensions: permessage-deflate; server_no_context_takeover; \
                 client_max_window_bits=10; server_max_window_bits=10\r\nSec-WebSocket-Protocol",
            )
            .into(),
        ),
        ("garbage", b"SSH-2.0-OpenSSH\r\n\r\n".to_vec()),
    ])
}

/// A server script: the RFC request, then `frames`, fed in `chunk`s.
fn server_script(cfg: Cfg, frames: &[u8], chunk: usize, tail: &[Op]) -> Vec<u8> {
    let wire = [RFC_REQUEST.as_bytes(), frames].concat();
    let mut b = Builder::new(cfg).feed(&wire, chunk);
    for &op in tail {
        b = b.op(op);
    }
    b.build()
}

/// A client script: the RFC response, then `frames`.
fn client_script(cfg: Cfg, frames: &[u8], chunk: usize, tail: &[Op]) -> Vec<u8> {
    let wire = [RFC_RESPONSE.as_bytes(), frames].concat();
    let mut b = Builder::new(cfg).feed(&wire, chunk);
    for &op in tail {
        b = b.op(op);
    }
    b.build()
}

/// Frames from a peer of the given kind, shared by both connection targets.
fn peer_frames(mask: Option<[u8; 4]>) -> Vec<(&'static str, Vec<u8>)> {
    let mut frames = rfc_frames(mask);
    let euro = "€".as_bytes();
    frames.extend([
        (
            "utf8-split-across-fragments",
            [
                encode(false, 0x1, mask, &euro[..1]),
                encode(false, 0x0, mask, &euro[1..2]),
                encode(true, 0x0, mask, &euro[2..]),
            ]
            .concat(),
        ),
        (
            "invalid-utf8-in-second-fragment",
            [
                encode(false, 0x1, mask, b"ok"),
                encode(true, 0x0, mask, &[0xc3, 0x28]),
            ]
            .concat(),
        ),
        (
            "ping-between-fragments",
            [
                encode(false, 0x2, mask, b"ab"),
                encode(true, 0x9, mask, b"p"),
                encode(true, 0x0, mask, b"cd"),
            ]
            .concat(),
        ),
        ("close-1000", encode(true, 0x8, mask, b"\x03\xe8bye")),
        ("close-empty", encode(true, 0x8, mask, b"")),
        ("close-1005-invalid", encode(true, 0x8, mask, b"\x03\xed")),
        ("close-one-byte", encode(true, 0x8, mask, b"\x03")),
        ("wrong-mask", encode(true, 0x1, mask.xor(Some(KEY)), b"x")),
        ("continuation-first", encode(true, 0x0, mask, b"orphan")),
        ("reserved-opcode", encode(true, 0x3, mask, b"")),
        (
            "over-small-frame-limit",
            encode(true, 0x2, mask, &vec![1; 2000]),
        ),
        (
            "too-many-fragments",
            (0..12)
                .map(|i| encode(i == 11, if i == 0 { 0x2 } else { 0x0 }, mask, b"x"))
                .collect::<Vec<_>>()
                .concat(),
        ),
    ]);
    let mut flood = Vec::new();
    for i in 0..50u8 {
        flood.extend(encode(true, 0x9, mask, &[i; 8]));
    }
    frames.push(("ping-flood", flood));
    let mut huge = vec![0x82, 0x7f | if mask.is_some() { 0x80 } else { 0 }];
    huge.extend_from_slice(&((1u64 << 63) - 1).to_be_bytes());
    if let Some(k) = mask {
        huge.extend_from_slice(&k);
    }
    frames.push(("len-2pow63-1", huge));
    frames
}

fn connection_seeds(
    mask: Option<[u8; 4]>,
    script: fn(Cfg, &[u8], usize, &[Op]) -> Vec<u8>,
) -> Seeds {
    let close = [Op::SendClose(1000), Op::Eof];
    let echoing = [
        Op::Events,
        Op::SendText(0x05),
        Op::SendText(0x83),
        Op::SendText(0x02),
        Op::SendBinary(0x10),
        Op::SendPing(4),
        Op::SendLarge(100),
        Op::WriteSome(7),
        Op::SendPong(3),
        Op::SendClose(1001),
        Op::TakeInto,
        Op::Events,
        // EOF while a close reply may still wait to be taken.
        Op::Eof,
        Op::Events,
        Op::TakeAll,
    ];
    // The RFC response names a subprotocol: the client must have offered it.
    let base = Cfg {
        offer_subprotocols: true,
        ..Cfg::default()
    };
    let lazy = Cfg {
        lazy_events: true,
        lazy_output: true,
        ..base
    };
    let small = Cfg {
        small_limits: true,
        ..base
    };
    let mut seeds = Vec::new();
    for (name, frames) in peer_frames(mask) {
        seeds.push((
            format!("{name}-whole"),
            script(base, &frames, 0xffff, &close),
        ));
        seeds.push((
            format!("{name}-bytewise"),
            script(Cfg { split: 1, ..base }, &frames, 0xffff, &[Op::Eof]),
        ));
        seeds.push((format!("{name}-small"), script(small, &frames, 100, &close)));
        seeds.push((format!("{name}-lazy"), script(lazy, &frames, 7, &echoing)));
    }
    let all: Vec<u8> = peer_frames(mask)
        .into_iter()
        .take(6)
        .flat_map(|(_, f)| f)
        .collect();
    seeds.push((
        "rfc-all-then-app".into(),
        script(
            Cfg {
                pick_subprotocol: true,
                ..base
            },
            &all,
            333,
            &echoing,
        ),
    ));
    seeds.push((
        "rfc-all-no-autopong".into(),
        script(
            Cfg {
                auto_pong_off: true,
                split: 3,
                ..base
            },
            &all,
            1000,
            &close,
        ),
    ));
    seeds
}

fn server_seeds() -> Seeds {
    let mut seeds = connection_seeds(Some(KEY), server_script);
    seeds.extend(recorded_seeds(true));
    let reject = Cfg {
        reject: true,
        reject_body: true,
        ..Cfg::default()
    };
    seeds.push((
        "reject".into(),
        server_script(reject, b"", 10, &[Op::SendText(1)]),
    ));
    seeds.push((
        "bad-request".into(),
        Builder::new(Cfg::default())
            .feed(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n", 5)
            .build(),
    ));
    seeds
}

/// Client wires of frames large enough to be gathered and read into the
/// payload buffer, each behind a few control bytes (see `whole_frames`).
fn whole_frames_seeds() -> Seeds {
    let binary: Vec<u8> = (0..3000u32).map(|i| (i * 7) as u8).collect();
    let text = "zł€𝄞 ".repeat(150);
    let mut bad_text = text.clone().into_bytes();
    bad_text[900] = 0xff;
    let wires = [
        ("binary", encode(true, 0x2, Some(KEY), &binary)),
        ("text", encode(true, 0x1, Some(KEY), text.as_bytes())),
        ("bad-text", encode(true, 0x1, Some(KEY), &bad_text)),
        (
            "fragments-and-ping",
            [
                encode(false, 0x2, Some(KEY), &binary[..1500]),
                encode(true, 0x9, Some(KEY), b"ping"),
                encode(true, 0x0, Some(KEY), &binary[1500..]),
                encode(true, 0x8, Some(KEY), b"\x03\xe8bye"),
            ]
            .concat(),
        ),
        ("unmasked", encode(true, 0x2, None, &binary)),
    ];
    let mut seeds = Vec::new();
    for (name, wire) in wires {
        // Direct reads at the smallest `at_least`, mid-size reads; at 4096
        // with large reads; and with small limits (a 3000-byte frame is
        // too big there).
        for control in [0x08u8, 0x0f, 0x18] {
            let mut data = vec![control];
            data.extend_from_slice(&wire);
            seeds.push((format!("{name}-{control:02x}"), data));
        }
    }
    seeds
}

fn client_seeds() -> Seeds {
    let mut seeds = connection_seeds(None, client_script);
    seeds.extend(recorded_seeds(false));
    seeds.push((
        "rejected".into(),
        Builder::new(Cfg::default())
            .feed(
                b"HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\n\r\nnope!",
                9,
            )
            .build(),
    ));
    seeds
}

/// A session between the crate's own client and server, recorded: what the
/// client wrote (request, then frames) and what the server wrote (101, then
/// frames), with the accept value replaced by the placeholder. `deflate`:
/// permessage-deflate as the targets configure it (`Some(no_takeover)`).
fn recorded(deflate: Option<bool>) -> (Vec<u8>, Vec<u8>) {
    let config = || match deflate {
        Some(no_takeover) => Config::default().deflate(wsproto_fuzz::deflate_config(no_takeover)),
        None => Config::default(),
    };
    let mut c = WsConnection::with_config(Role::Client, config());
    let mut s = WsConnection::with_config(Role::Server, config());
    c.send(Request::new("example.com", "/chat").with_subprotocols(["chat", "superchat"]))
        .unwrap();
    let request = c.bytes_to_send();
    s.receive_bytes(&request);
    match s.next_event() {
        Some(Ok(Event::Request(_))) => {}
        other => panic!("{other:?}"),
    }
    s.send(AcceptConnection::new()).unwrap();
    let response = s.bytes_to_send();
    c.receive_bytes(&response);
    assert!(matches!(
        c.next_event(),
        Some(Ok(Event::AcceptConnection(_)))
    ));
    assert_eq!(c.extensions().len(), usize::from(deflate.is_some()));
    let key = wsproto_fuzz::find_header(&request, b"sec-websocket-key").unwrap();
    let accept = wsproto::proto::handshake::accept_key(&key);
    let response = wsproto_fuzz::replace_all(
        &response,
        accept.as_bytes(),
        wsproto_fuzz::ACCEPT_PLACEHOLDER,
    );
    let talk = |ws: &mut WsConnection| {
        let hello = "Hello, hello, hello, hello, hello, hello!";
        ws.send(TextMessage::new(hello)).unwrap();
        ws.send(TextMessage::fragment("héllo wörld ", false))
            .unwrap();
        ws.send(TextMessage::fragment("€uro 𝄞 ".repeat(5), true))
            .unwrap();
        ws.send(BytesMessage::new(vec![7u8; 3000])).unwrap();
        ws.send(Ping::new(&b"ping"[..])).unwrap();
        // Again: with context takeover, this one refers to the first.
        ws.send(TextMessage::new(hello)).unwrap();
        let pattern: Vec<u8> = (0..300u32).map(|i| (i * 31 % 251) as u8).collect();
        ws.send(BytesMessage::new(pattern)).unwrap();
        ws.send(CloseConnection::new(1000, "bye")).unwrap();
        ws.bytes_to_send().to_vec()
    };
    let client_wire = [request.to_vec(), talk(&mut c)].concat();
    let server_wire = [response, talk(&mut s)].concat();
    (client_wire, server_wire)
}

/// Scripts that feed a recorded wire in several ways.
fn recorded_seeds(server: bool) -> Seeds {
    let mut seeds = Vec::new();
    for (name, deflate) in [
        ("plain", None),
        ("deflate", Some(false)),
        ("deflate-no-takeover", Some(true)),
    ] {
        let (client_wire, server_wire) = recorded(deflate);
        let wire = if server { client_wire } else { server_wire };
        let base = Cfg {
            offer_subprotocols: true,
            deflate: deflate.is_some(),
            no_takeover: deflate == Some(true),
            ..Cfg::default()
        };
        let variants = [
            ("whole", base, 0xffff, vec![Op::Eof]),
            ("bytewise", Cfg { split: 1, ..base }, 0xffff, vec![Op::Eof]),
            (
                "small-lazy",
                Cfg {
                    small_limits: true,
                    lazy_events: true,
                    lazy_output: true,
                    ..base
                },
                13,
                vec![
                    Op::Events,
                    Op::SendText(0x25),
                    Op::SendLarge(3),
                    Op::WriteSome(9),
                    Op::SendClose(1000),
                    Op::Eof,
                    Op::Events,
                    Op::TakeAll,
                    Op::Events,
                ],
            ),
        ];
        for (variant, cfg, chunk, tail) in variants {
            let mut b = Builder::new(cfg).feed(&wire, chunk);
            for op in tail {
                b = b.op(op);
            }
            seeds.push((format!("recorded-{name}-{variant}"), b.build()));
        }
        // The application talks (compressing, where negotiated) between the
        // handshake and the peer's frames.
        let head = wire.windows(4).position(|w| w == b"\r\n\r\n").unwrap() + 4;
        let mut b = Builder::new(base).feed(&wire[..head], 0xffff);
        for op in [
            Op::SendText(0x25),
            Op::SendText(0xa5),
            Op::SendText(0x06),
            Op::SendLarge(3),
            Op::SendBinary(0x50),
            Op::SendLarge(3),
            Op::WriteSome(20),
        ] {
            b = b.op(op);
        }
        let b = b.feed(&wire[head..], 50).op(Op::Eof);
        seeds.push((format!("recorded-{name}-app-first"), b.build()));
    }
    seeds
}
