//! The opening handshake from the client's side: rejections with their
//! bodies, validation of the 101, subprotocol negotiation, extra headers,
//! and frames that arrive in the same read as the response head.

mod common;

use common::*;
use wsproto::proto::{
    AcceptConnection, Answer, Config, Event, Header, LocalProtocolError, RejectData, Request, Role,
    State, TextMessage, WsConnection,
};

/// A client that sent its request and received `response`; returns the
/// events available.
fn client_given(
    response: &[u8],
) -> (
    WsConnection,
    Vec<Result<Event, wsproto::RemoteProtocolError>>,
) {
    let (mut client, _) = client_after_request(Config::default(), Request::new("h", "/"));
    client.receive_bytes(response);
    let events = drain(&mut client);
    (client, events)
}

#[test]
fn client_rejection_with_content_length_body() {
    let (mut client, events) =
        client_given(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 5\r\nX-Why: policy\r\n\r\nnope!");
    let [Ok(Event::RejectConnection(rc)), Ok(Event::RejectData(rd))] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(rc.status_code, 403);
    assert!(rc.has_body);
    assert!(
        rc.headers
            .iter()
            .any(|h| h.name == "X-Why" && h.value == b"policy")
    );
    assert_eq!(rd.data, &b"nope!"[..]);
    assert!(rd.body_finished);
    assert_eq!(client.state(), State::Closed);
    assert!(client.next_event().is_none());
}

#[test]
fn client_rejection_body_split_across_reads() {
    let (mut client, events) =
        client_given(b"HTTP/1.1 500 Oops\r\nContent-Length: 10\r\n\r\n01234");
    assert_eq!(events.len(), 2, "{events:?}");
    assert_eq!(client.state(), State::Rejecting);
    client.receive_bytes(b"56789");
    let events = drain_ok(&mut client);
    assert_eq!(
        events,
        [Event::RejectData(RejectData {
            data: "56789".into(),
            body_finished: true
        })]
    );
    assert_eq!(client.state(), State::Closed);
}

#[test]
fn client_rejection_with_chunked_body() {
    let (client, events) = client_given(
        b"HTTP/1.1 400 Bad Request\r\nTransfer-Encoding: chunked\r\n\r\n\
          5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n",
    );
    let mut body = Vec::new();
    let mut finished = false;
    let mut iter = events.into_iter();
    let Some(Ok(Event::RejectConnection(rc))) = iter.next() else {
        panic!()
    };
    assert_eq!(rc.status_code, 400);
    assert!(rc.has_body);
    for ev in iter {
        let Ok(Event::RejectData(d)) = ev else {
            panic!("{ev:?}")
        };
        assert!(!finished, "data after the end");
        body.extend_from_slice(&d.data);
        finished = d.body_finished;
    }
    assert!(finished);
    assert_eq!(body, b"hello world");
    assert_eq!(client.state(), State::Closed);
}

#[test]
fn client_rejection_with_body_until_eof() {
    let (mut client, events) = client_given(b"HTTP/1.1 404 Not Found\r\n\r\nnot ");
    let mut body = Vec::new();
    let mut iter = events.into_iter();
    assert!(
        matches!(iter.next(), Some(Ok(Event::RejectConnection(rc))) if rc.has_body && rc.status_code == 404)
    );
    for ev in iter {
        let Ok(Event::RejectData(d)) = ev else {
            panic!()
        };
        assert!(!d.body_finished);
        body.extend_from_slice(&d.data);
    }
    client.receive_bytes(b"here");
    client.receive_eof();
    let mut finished = false;
    for ev in drain_ok(&mut client) {
        let Event::RejectData(d) = ev else { panic!() };
        body.extend_from_slice(&d.data);
        finished = d.body_finished;
    }
    assert!(finished);
    assert_eq!(body, b"not here");
    assert_eq!(client.state(), State::Closed);
}

#[test]
fn client_rejection_without_body() {
    let (client, events) = client_given(b"HTTP/1.1 401 Unauthorized\r\nContent-Length: 0\r\n\r\n");
    let [Ok(Event::RejectConnection(rc))] = &events[..] else {
        panic!("{events:?}")
    };
    assert_eq!(rc.status_code, 401);
    assert!(!rc.has_body);
    assert_eq!(client.state(), State::Closed);
}

fn client_expect_drop(extra: &[&str], offered: &[&str], bad_key: bool) {
    let req = Request::new("h", "/").with_subprotocols(offered.iter().copied());
    let (mut client, sent) = client_after_request(Config::default(), req);
    let key = if bad_key {
        RFC_KEY.to_owned()
    } else {
        request_key(&sent)
    };
    client.receive_bytes(&response_101(&key, extra));
    let err = client.next_event().unwrap().unwrap_err();
    assert_eq!(err.answer(), Answer::Drop, "{err}");
    assert_eq!(client.state(), State::Closed);
    assert!(client.bytes_to_send().is_empty());
    assert!(client.next_event().is_none());
}

#[test]
fn client_refuses_a_wrong_accept_hash() {
    client_expect_drop(&[], &[], true);
}

#[test]
fn client_refuses_a_subprotocol_it_did_not_offer() {
    client_expect_drop(&["Sec-WebSocket-Protocol: evil"], &["chat"], false);
    client_expect_drop(&["Sec-WebSocket-Protocol: chat"], &[], false);
}

#[test]
fn client_refuses_an_extension_it_did_not_offer() {
    client_expect_drop(
        &["Sec-WebSocket-Extensions: permessage-deflate"],
        &[],
        false,
    );
}

#[test]
fn client_refuses_101_without_upgrade() {
    let (mut client, sent) = client_after_request(Config::default(), Request::new("h", "/"));
    let resp = format!(
        "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
        accept_for(&request_key(&sent))
    );
    client.receive_bytes(resp.as_bytes());
    assert_eq!(
        client.next_event().unwrap().unwrap_err().answer(),
        Answer::Drop
    );
}

#[test]
fn subprotocol_negotiation_and_extra_headers_both_ways() {
    let mut client = WsConnection::new(Role::Client);
    let mut server = WsConnection::new(Role::Server);
    client
        .send(
            Request::new("example.com", "/ws")
                .with_subprotocols(["v2.chat", "v1.chat"])
                .with_header("X-Token", "abc123")
                .with_header("Cookie", "a=b"),
        )
        .unwrap();
    transfer(&mut client, &mut server);
    let Some(Ok(Event::Request(req))) = server.next_event() else {
        panic!()
    };
    assert_eq!(req.subprotocols, ["v2.chat", "v1.chat"]);
    let find = |hs: &[Header], n: &str| {
        hs.iter()
            .find(|h| h.name.eq_ignore_ascii_case(n))
            .map(|h| h.value.clone())
    };
    assert_eq!(
        find(&req.extra_headers, "x-token"),
        Some(b"abc123".to_vec())
    );
    assert_eq!(find(&req.extra_headers, "cookie"), Some(b"a=b".to_vec()));
    // Headers the handshake consumed are not repeated as extras.
    assert_eq!(find(&req.extra_headers, "sec-websocket-key"), None);

    assert_eq!(
        server.send(AcceptConnection::new().with_subprotocol("v3.chat")),
        Err(LocalProtocolError::SubprotocolNotOffered("v3.chat".into()))
    );
    assert_eq!(server.state(), State::Connecting);
    server
        .send(
            AcceptConnection::new()
                .with_subprotocol("v1.chat")
                .with_header("Set-Cookie", "s=1"),
        )
        .unwrap();
    transfer(&mut server, &mut client);
    let Some(Ok(Event::AcceptConnection(acc))) = client.next_event() else {
        panic!()
    };
    assert_eq!(acc.subprotocol.as_deref(), Some("v1.chat"));
    assert_eq!(
        find(&acc.extra_headers, "set-cookie"),
        Some(b"s=1".to_vec())
    );
    assert_eq!(find(&acc.extra_headers, "sec-websocket-accept"), None);
    assert_eq!(client.state(), State::Open);
}

#[test]
fn header_injection_is_refused_locally() {
    let mut client = WsConnection::new(Role::Client);
    let err = client
        .send(Request::new("h", "/").with_header("X-A", "1\r\nEvil: 2"))
        .unwrap_err();
    assert!(matches!(err, LocalProtocolError::InvalidHeader(_)));
    assert!(client.bytes_to_send().is_empty());
    assert_eq!(
        client.send(Request::new("", "/")),
        Err(LocalProtocolError::InvalidRequest(
            "the host must be non-empty, without spaces"
        ))
    );
}

#[test]
fn frames_in_the_same_read_as_the_101_are_delivered() {
    let (mut client, sent) = client_after_request(Config::default(), Request::new("h", "/"));
    let mut wire = response_101(&request_key(&sent), &[]);
    wire.extend(unmasked(FIN | TEXT, b"first"));
    wire.extend(unmasked(FIN | PING, b"p"));
    client.receive_bytes(&wire);
    let events = drain_ok(&mut client);
    assert!(matches!(events[0], Event::AcceptConnection(_)));
    assert_eq!(events[1], Event::TextMessage(TextMessage::new("first")));
    assert!(matches!(&events[2], Event::Ping(p) if p.payload == "p"));
    assert_eq!(events.len(), 3);
}

#[test]
fn interim_response_then_101_in_a_later_read() {
    let (mut client, sent) = client_after_request(Config::default(), Request::new("h", "/"));
    client.receive_bytes(b"HTTP/1.1 100 Continue\r\n\r\n");
    let first = client.next_event();
    assert!(
        first.is_none(),
        "expected to wait for the 101, got {first:?}"
    );
    client.receive_bytes(&response_101(&request_key(&sent), &[]));
    assert!(matches!(
        client.next_event(),
        Some(Ok(Event::AcceptConnection(_)))
    ));
}

#[test]
fn interim_response_split_across_reads() {
    let (mut client, sent) = client_after_request(Config::default(), Request::new("h", "/"));
    client.receive_bytes(b"HTTP/1.1 100 Continue\r\n");
    assert!(client.next_event().is_none());
    // The interim head completes; the buffer left behind is empty.
    client.receive_bytes(b"\r\n");
    let second = client.next_event();
    assert!(
        second.is_none(),
        "expected to wait for the 101, got {second:?}"
    );
    client.receive_bytes(&response_101(&request_key(&sent), &[]));
    assert!(matches!(
        client.next_event(),
        Some(Ok(Event::AcceptConnection(_)))
    ));
}

#[test]
fn interim_response_and_101_in_one_read() {
    let (mut client, sent) = client_after_request(Config::default(), Request::new("h", "/"));
    let mut wire = b"HTTP/1.1 100 Continue\r\n\r\n".to_vec();
    wire.extend(response_101(&request_key(&sent), &[]));
    client.receive_bytes(&wire);
    assert!(matches!(
        client.next_event(),
        Some(Ok(Event::AcceptConnection(_)))
    ));
}

#[test]
fn eof_while_awaiting_the_response() {
    let (mut client, _) = client_after_request(Config::default(), Request::new("h", "/"));
    client.receive_bytes(b"HTTP/1.1 101 Switching");
    assert!(client.next_event().is_none());
    client.receive_eof();
    let err = client.next_event().unwrap().unwrap_err();
    assert_eq!(err.answer(), Answer::Drop);
    assert_eq!(client.state(), State::Closed);
}

#[test]
fn eof_right_after_the_101() {
    let (mut client, sent) = client_after_request(Config::default(), Request::new("h", "/"));
    let mut wire = response_101(&request_key(&sent), &[]);
    wire.extend(unmasked(FIN | TEXT, b"only"));
    client.receive_bytes(&wire);
    client.receive_eof();
    let events = drain_ok(&mut client);
    assert!(matches!(events[0], Event::AcceptConnection(_)));
    assert_eq!(events[1], Event::TextMessage(TextMessage::new("only")));
    assert_eq!(
        events[2],
        Event::CloseConnection(wsproto::CloseConnection::new(1006u16, ""))
    );
    assert_eq!(client.state(), State::Closed);
}

#[test]
fn in_memory_rejection_with_a_body_delimited_by_close() {
    let mut client = WsConnection::new(Role::Client);
    let mut server = WsConnection::new(Role::Server);
    client.send(Request::new("h", "/")).unwrap();
    transfer(&mut client, &mut server);
    assert!(matches!(server.next_event(), Some(Ok(Event::Request(_)))));
    let mut reject = wsproto::RejectConnection::new(503);
    reject.headers.push(Header::new("Retry-After", "5"));
    reject.has_body = true;
    server.send(reject).unwrap();
    for (chunk, last) in [("try ", false), ("later", true)] {
        server
            .send(RejectData {
                data: chunk.into(),
                body_finished: last,
            })
            .unwrap();
    }
    assert_eq!(server.state(), State::Closed);
    transfer(&mut server, &mut client);
    client.receive_eof();
    let events = drain_ok(&mut client);
    let Event::RejectConnection(rc) = &events[0] else {
        panic!("{events:?}")
    };
    assert_eq!(rc.status_code, 503);
    assert!(rc.has_body);
    assert!(
        rc.headers
            .iter()
            .any(|h| h.name == "Retry-After" && h.value == b"5")
    );
    let mut body = Vec::new();
    for ev in &events[1..] {
        let Event::RejectData(d) = ev else { panic!() };
        body.extend_from_slice(&d.data);
    }
    assert!(matches!(events.last(), Some(Event::RejectData(d)) if d.body_finished));
    assert_eq!(body, b"try later");
    assert_eq!(client.state(), State::Closed);
}

#[test]
fn rejection_body_cut_short_by_eof_is_an_error() {
    let (mut client, events) =
        client_given(b"HTTP/1.1 403 Forbidden\r\nContent-Length: 10\r\n\r\nshort");
    assert_eq!(events.len(), 2, "{events:?}");
    client.receive_eof();
    let err = client.next_event().unwrap().unwrap_err();
    assert_eq!(err.answer(), Answer::Drop);
    assert_eq!(client.state(), State::Closed);
    assert!(client.next_event().is_none());
}

#[test]
fn oversized_response_head_is_dropped() {
    let (mut client, sent) = client_after_request(
        Config::default().max_handshake_size(1024),
        Request::new("h", "/"),
    );
    let filler = format!("X-Filler: {}", "f".repeat(2000));
    client.receive_bytes(&response_101(&request_key(&sent), &[&filler]));
    let err = client.next_event().unwrap().unwrap_err();
    assert_eq!(err.answer(), Answer::Drop);
    assert_eq!(client.state(), State::Closed);
}
