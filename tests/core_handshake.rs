//! The opening handshake from the server's side: request validation (each
//! refusal answered with an HTTP response), limits, rejection, and frames
//! that arrive before the application accepts.

mod common;

use common::*;
use wsproto::proto::{
    AcceptConnection, Answer, Config, Event, Header, LocalProtocolError, RejectConnection,
    RejectData, Request, Role, State, TextMessage, WsConnection,
};

/// Feeds `request` to a fresh server and expects a refusal with `status`:
/// the error carries it, the response is queued, the state is Closed.
fn expect_refusal(config: Config, request: &[u8], status: u16) -> HttpResponse {
    let mut server = WsConnection::with_config(Role::Server, config);
    server.receive_bytes(request);
    let err = match server.next_event() {
        Some(Err(e)) => e,
        other => panic!(
            "expected HTTP {status} for {:?}, got {other:?}",
            String::from_utf8_lossy(&request[..request.len().min(200)])
        ),
    };
    assert_eq!(err.http_status(), Some(status), "{err}");
    assert_eq!(err.answer(), Answer::Http(status));
    assert_eq!(err.close_code(), None);
    assert_eq!(server.state(), State::Closed);
    let out = server.bytes_to_send();
    let resp = parse_response(&out);
    assert_eq!(resp.status, status);
    if let Some(len) = resp.header("content-length") {
        assert_eq!(len.parse::<usize>().unwrap(), resp.body.len());
    }
    // Failed for good: more input changes nothing.
    server.receive_bytes(&rfc_request());
    assert!(server.next_event().is_none());
    assert!(server.bytes_to_send().is_empty());
    assert_eq!(server.state(), State::Closed);
    resp
}

fn without(name: &str) -> Vec<&'static str> {
    good_headers()
        .into_iter()
        .filter(|h| {
            !h.to_ascii_lowercase()
                .starts_with(&name.to_ascii_lowercase())
        })
        .collect()
}

fn replacing(name: &str, line: &'static str) -> Vec<&'static str> {
    let mut h = without(name);
    h.push(line);
    h
}

const GET: &str = "GET / HTTP/1.1";

#[test]
fn the_minimal_request_is_accepted() {
    let mut server = WsConnection::new(Role::Server);
    server.receive_bytes(&raw_request(GET, &good_headers()));
    assert!(matches!(server.next_event(), Some(Ok(Event::Request(_)))));
}

#[test]
fn missing_host_is_400() {
    expect_refusal(Config::default(), &raw_request(GET, &without("host")), 400);
}

#[test]
fn non_get_methods_are_400() {
    for line in ["POST / HTTP/1.1", "PUT / HTTP/1.1", "HEAD / HTTP/1.1"] {
        expect_refusal(Config::default(), &raw_request(line, &good_headers()), 400);
    }
}

#[test]
fn http_1_0_is_400() {
    expect_refusal(
        Config::default(),
        &raw_request("GET / HTTP/1.0", &good_headers()),
        400,
    );
}

#[test]
fn upgrade_header_missing_or_wrong_is_400() {
    expect_refusal(
        Config::default(),
        &raw_request(GET, &without("upgrade")),
        400,
    );
    expect_refusal(
        Config::default(),
        &raw_request(GET, &replacing("upgrade", "Upgrade: h2c")),
        400,
    );
}

#[test]
fn connection_without_upgrade_token_is_400() {
    expect_refusal(
        Config::default(),
        &raw_request(GET, &replacing("connection", "Connection: keep-alive")),
        400,
    );
    expect_refusal(
        Config::default(),
        &raw_request(GET, &without("connection")),
        400,
    );
    // "upgrades" is not the token "upgrade".
    expect_refusal(
        Config::default(),
        &raw_request(GET, &replacing("connection", "Connection: upgrades")),
        400,
    );
}

#[test]
fn connection_token_list_and_case_are_accepted() {
    for line in [
        "Connection: keep-alive, Upgrade",
        "connection: KEEP-ALIVE,upgrade",
        "CONNECTION: UpGrAdE",
    ] {
        let mut headers = without("connection");
        headers.push(line);
        headers.push("upgrade: WebSocket");
        headers.retain(|h| *h != "Upgrade: websocket");
        let mut server = WsConnection::new(Role::Server);
        server.receive_bytes(&raw_request(GET, &headers));
        assert!(
            matches!(server.next_event(), Some(Ok(Event::Request(_)))),
            "{line}"
        );
    }
}

#[test]
fn wrong_or_missing_version_is_426_advertising_13() {
    for headers in [
        replacing("sec-websocket-version", "Sec-WebSocket-Version: 8"),
        replacing("sec-websocket-version", "Sec-WebSocket-Version: 14"),
        without("sec-websocket-version"),
    ] {
        let resp = expect_refusal(Config::default(), &raw_request(GET, &headers), 426);
        assert_eq!(resp.header("sec-websocket-version"), Some("13"));
    }
}

#[test]
fn bad_keys_are_400() {
    for line in [
        // 15 and 17 bytes once decoded.
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25j",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZTEx",
        "Sec-WebSocket-Key: not base64 at all!",
        "Sec-WebSocket-Key: ",
    ] {
        expect_refusal(
            Config::default(),
            &raw_request(GET, &replacing("sec-websocket-key", line)),
            400,
        );
    }
    expect_refusal(
        Config::default(),
        &raw_request(GET, &without("sec-websocket-key")),
        400,
    );
}

#[test]
fn too_many_headers_is_431() {
    let extra: Vec<String> = (0..80).map(|i| format!("X-Filler-{i}: {i}")).collect();
    let mut headers = good_headers();
    headers.extend(extra.iter().map(|s| -> &'static str { s.clone().leak() }));
    expect_refusal(Config::default(), &raw_request(GET, &headers), 431);

    // Exactly at a configured limit is fine, one more is not.
    let mut server = WsConnection::with_config(Role::Server, Config::default().max_headers(5));
    server.receive_bytes(&raw_request(GET, &good_headers()));
    assert!(matches!(server.next_event(), Some(Ok(Event::Request(_)))));
    let mut six = good_headers();
    six.push("Origin: x");
    expect_refusal(
        Config::default().max_headers(5),
        &raw_request(GET, &six),
        431,
    );
}

#[test]
fn head_over_8k_is_431() {
    let big = format!("X-Big: {}", "a".repeat(9000));
    let mut headers = good_headers();
    headers.push(big.leak());
    expect_refusal(Config::default(), &raw_request(GET, &headers), 431);

    // A head that never ends is refused once 8 KiB are buffered, without
    // waiting for a terminator.
    let mut endless = b"GET / HTTP/1.1\r\nX-Slow: ".to_vec();
    endless.resize(8 << 10, b'a');
    expect_refusal(Config::default(), &endless, 431);

    // Just under the limit is accepted.
    let mut headers = good_headers();
    let base = raw_request(GET, &headers).len();
    let filler = format!("X-Pad: {}", "p".repeat(8192 - base - 9));
    headers.push(filler.leak());
    let req = raw_request(GET, &headers);
    assert!(req.len() <= 8192, "{}", req.len());
    let mut server = WsConnection::new(Role::Server);
    server.receive_bytes(&req);
    assert!(matches!(server.next_event(), Some(Ok(Event::Request(_)))));
}

#[test]
fn a_request_trickling_in_byte_by_byte_is_parsed_once_complete() {
    let req = rfc_request();
    let mut server = WsConnection::new(Role::Server);
    for (i, b) in req.iter().enumerate() {
        assert!(server.next_event().is_none(), "event before byte {i}");
        server.receive_bytes(&[*b]);
    }
    assert!(matches!(server.next_event(), Some(Ok(Event::Request(_)))));
}

#[test]
fn eof_during_request_is_an_error_without_answer() {
    let req = rfc_request();
    let mut server = WsConnection::new(Role::Server);
    server.receive_bytes(&req[..20]);
    assert!(server.next_event().is_none());
    server.receive_eof();
    let err = server.next_event().unwrap().unwrap_err();
    assert_eq!(err.answer(), Answer::Drop);
    assert_eq!(server.state(), State::Closed);
}

#[test]
fn server_rejects_with_a_body() {
    let mut server = WsConnection::new(Role::Server);
    server.receive_bytes(&rfc_request());
    assert!(matches!(server.next_event(), Some(Ok(Event::Request(_)))));
    let mut reject = RejectConnection::new(403);
    reject.headers.push(Header::new("Content-Length", "6"));
    reject.has_body = true;
    server.send(reject).unwrap();
    assert_eq!(server.state(), State::Rejecting);
    server
        .send(RejectData {
            data: "denied".into(),
            body_finished: true,
        })
        .unwrap();
    assert_eq!(server.state(), State::Closed);
    let resp = parse_response(&server.bytes_to_send());
    assert_eq!(resp.status, 403);
    assert_eq!(resp.body, b"denied");
    // No frames can follow a rejection.
    assert!(matches!(
        server.send(TextMessage::new("x")),
        Err(LocalProtocolError::WrongState { .. })
    ));
    // 101 is not a rejection, and no 1xx is a final answer.
    for status in [100, 101, 103, 199, 600] {
        let mut server = WsConnection::new(Role::Server);
        server.receive_bytes(&rfc_request());
        server.next_event();
        assert_eq!(
            server.send(RejectConnection::new(status)),
            Err(LocalProtocolError::InvalidStatus(status))
        );
    }
}

#[test]
fn frames_after_the_request_head_are_kept_until_accepted() {
    let mut server = WsConnection::new(Role::Server);
    let mut wire = rfc_request();
    wire.extend(masked(FIN | TEXT, b"early"));
    server.receive_bytes(&wire);
    assert!(matches!(server.next_event(), Some(Ok(Event::Request(_)))));
    // Waiting for the application's decision: nothing is parsed.
    assert!(server.next_event().is_none());
    server.receive_bytes(&masked(FIN | BINARY, b"later"));
    assert!(server.next_event().is_none());
    server.send(AcceptConnection::new()).unwrap();
    let events = drain_ok(&mut server);
    assert_eq!(
        events,
        [
            Event::TextMessage(TextMessage::new("early")),
            Event::BytesMessage(wsproto::BytesMessage::new(&b"later"[..])),
        ]
    );
}

#[test]
fn only_the_right_events_can_be_sent_during_the_handshake() {
    let mut client = WsConnection::new(Role::Client);
    assert!(matches!(
        client.send(AcceptConnection::new()),
        Err(LocalProtocolError::WrongState {
            state: State::Connecting,
            ..
        })
    ));
    let mut server = WsConnection::new(Role::Server);
    assert!(matches!(
        server.send(AcceptConnection::new()),
        Err(LocalProtocolError::WrongState { .. })
    ));
    assert!(matches!(
        server.send(Request::new("h", "/")),
        Err(LocalProtocolError::WrongState { .. })
    ));
}

#[test]
fn request_with_a_body_is_400() {
    for line in ["Content-Length: 5", "Transfer-Encoding: chunked"] {
        let mut headers = good_headers();
        headers.push(line);
        expect_refusal(Config::default(), &raw_request(GET, &headers), 400);
    }
    let mut headers = good_headers();
    headers.push("Content-Length: 0");
    let mut server = WsConnection::new(Role::Server);
    server.receive_bytes(&raw_request(GET, &headers));
    assert!(matches!(server.next_event(), Some(Ok(Event::Request(_)))));
}

#[test]
fn duplicated_host_or_key_is_400() {
    for dup in [
        "Host: other.example",
        "Sec-WebSocket-Key: AAAAAAAAAAAAAAAAAAAAAA==",
    ] {
        let mut headers = good_headers();
        headers.push(dup);
        expect_refusal(Config::default(), &raw_request(GET, &headers), 400);
    }
}

#[test]
fn extension_offers_are_reported_and_not_accepted_without_support() {
    let mut headers = good_headers();
    headers.push("Sec-WebSocket-Extensions: permessage-deflate; client_max_window_bits");
    let mut server = WsConnection::new(Role::Server);
    server.receive_bytes(&raw_request(GET, &headers));
    let Some(Ok(Event::Request(req))) = server.next_event() else {
        panic!()
    };
    assert_eq!(req.extensions.len(), 1);
    assert!(req.extensions[0].starts_with("permessage-deflate"));
    server.send(AcceptConnection::new()).unwrap();
    let resp = parse_response(&server.bytes_to_send());
    assert_eq!(resp.status, 101);
    assert_eq!(resp.header("sec-websocket-extensions"), None);
    assert!(server.extensions().is_empty());

    let mut headers = good_headers();
    headers.push("Sec-WebSocket-Extensions: permessage-deflate; =broken");
    expect_refusal(Config::default(), &raw_request(GET, &headers), 400);
}

#[test]
fn messages_sent_right_after_accepting_follow_the_101() {
    let mut server = WsConnection::new(Role::Server);
    server.receive_bytes(&rfc_request());
    server.next_event();
    server.send(AcceptConnection::new()).unwrap();
    server.send(TextMessage::new("Hello")).unwrap();
    let resp = parse_response(&server.bytes_to_send());
    assert_eq!(resp.status, 101);
    assert_eq!(resp.body, [0x81, 0x05, b'H', b'e', b'l', b'l', b'o']);
}

#[test]
fn eof_while_the_application_decides() {
    let mut server = WsConnection::new(Role::Server);
    let mut wire = rfc_request();
    wire.extend(masked(FIN | TEXT, b"sent before EOF"));
    server.receive_bytes(&wire);
    assert!(matches!(server.next_event(), Some(Ok(Event::Request(_)))));
    server.receive_eof();
    assert!(server.next_event().is_none());
    server.send(AcceptConnection::new()).unwrap();
    assert_eq!(
        drain_ok(&mut server),
        [
            Event::TextMessage(TextMessage::new("sent before EOF")),
            Event::CloseConnection(wsproto::CloseConnection::new(1006u16, "")),
        ]
    );
    assert_eq!(server.state(), State::Closed);
}

#[test]
fn a_tls_client_hello_is_refused_at_its_first_byte() {
    // The first bytes of a TLS ClientHello record: no HTTP head will ever
    // end here, so waiting for one would hold the connection until a limit.
    let resp = expect_refusal(Config::default(), &[0x16, 0x03, 0x01, 0x02, 0x00], 400);
    assert!(
        String::from_utf8_lossy(&resp.body).contains("TLS"),
        "the body says what happened: {:?}",
        String::from_utf8_lossy(&resp.body)
    );
    expect_refusal(Config::default(), &[0x00, b'G', b'E', b'T'], 400);
}

#[test]
fn a_request_may_trickle_in_and_follow_empty_lines() {
    // Judging the first byte must not refuse what is only incomplete.
    let mut server = WsConnection::new(Role::Server);
    let mut request = b"\r\n".to_vec();
    request.extend_from_slice(&rfc_request());
    for b in &request {
        assert!(server.next_event().is_none());
        server.receive_bytes(std::slice::from_ref(b));
    }
    assert!(matches!(server.next_event(), Some(Ok(Event::Request(_)))));
}

#[test]
fn a_client_answered_with_tls_fails_at_once() {
    let mut client = WsConnection::new(Role::Client);
    client.send(Request::new("example.com", "/")).unwrap();
    client.bytes_to_send();
    // A TLS alert record, as a TLS server sends to a plain client.
    client.receive_bytes(&[0x15, 0x03, 0x01, 0x00, 0x02, 0x02, 0x46]);
    let err = match client.next_event() {
        Some(Err(e)) => e,
        other => panic!("expected an error, got {other:?}"),
    };
    assert_eq!(err.answer(), Answer::Drop);
    assert!(err.to_string().contains("wss://"), "{err}");
    assert_eq!(client.state(), State::Closed);

    // Empty lines before the status line, split across reads: fine.
    let mut client = WsConnection::new(Role::Client);
    client.send(Request::new("example.com", "/")).unwrap();
    client.receive_bytes(b"\r\n");
    assert!(client.next_event().is_none());
    client.receive_bytes(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n");
    assert!(
        matches!(client.next_event(), Some(Ok(Event::RejectConnection(r))) if r.status_code == 403)
    );

    // Only a prefix of "HTTP/" so far: wait for more.
    let mut client = WsConnection::new(Role::Client);
    client.send(Request::new("example.com", "/")).unwrap();
    client.receive_bytes(b"HTT");
    assert!(client.next_event().is_none());
    assert_ne!(client.state(), State::Closed);
}

#[test]
fn a_foreign_head_gets_the_same_answer_however_it_is_split() {
    // Found by the fuzz harness's whole-vs-byte-by-byte check: the first-byte
    // judgement must not depend on whether the whole head has arrived.
    let outcome = |head: &[u8], role: Role, bytewise: bool| {
        let mut ws = WsConnection::new(role);
        if role == Role::Client {
            ws.send(Request::new("example.com", "/")).unwrap();
            ws.bytes_to_send();
        }
        let mut first = None;
        let pieces: Vec<&[u8]> = if bytewise {
            head.chunks(1).collect()
        } else {
            vec![head]
        };
        for piece in pieces {
            ws.receive_bytes(piece);
            if let Some(event) = ws.next_event() {
                first = Some(format!("{event:?}"));
                break;
            }
        }
        (first, ws.state(), ws.bytes_to_send())
    };
    for (head, role) in [
        (&b"SIP/2.0 200 OK\r\n\r\n"[..], Role::Client),
        (&b"\x16\x03\x01 GET / HTTP/1.1\r\n\r\n"[..], Role::Server),
        // Empty lines are no head: what follows them decides (ci/fuzz found
        // the byte-by-byte client taking "\r\n\r\n" alone as a head).
        (
            &b"\r\n\r\n5;x=1\r\nHTTP/1.1 400 Bad\r\n\r\n"[..],
            Role::Client,
        ),
        (&b"\r\n\r\n\x00GET / HTTP/1.1\r\n\r\n"[..], Role::Server),
    ] {
        assert_eq!(outcome(head, role, false), outcome(head, role, true));
    }
}
