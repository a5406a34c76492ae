//! The HTTP/2 bootstrap (RFC 8441, and RFC 9220 for HTTP/3) in memory: the
//! client's request header list passes the server's validation, the
//! server's response passes the client's, and the two `Connection`s then
//! talk (with and without permessage-deflate). Every validation rule is
//! broken once, on its own, and must fail for its own reason.

use wsproto::h2::{ClientHandshake, ResponseError, ServerHandshake, error_response};
use wsproto::proto::{
    AcceptConnection, BytesMessage, CloseConnection, Config, Connection, Event, Header,
    LocalProtocolError, Ping, RejectConnection, Request, Role, State, TextMessage,
};

/// A valid extended CONNECT request, as `(name, value)` pairs.
fn good_request() -> Vec<(String, String)> {
    [
        (":method", "CONNECT"),
        (":protocol", "websocket"),
        (":scheme", "https"),
        (":path", "/chat?room=1"),
        (":authority", "server.example.com"),
        ("sec-websocket-version", "13"),
        ("sec-websocket-protocol", "chat, superchat"),
        ("origin", "http://www.example.com"),
    ]
    .into_iter()
    .map(|(n, v)| (n.to_owned(), v.to_owned()))
    .collect()
}

fn without(name: &str) -> Vec<(String, String)> {
    good_request()
        .into_iter()
        .filter(|(n, _)| n != name)
        .collect()
}

fn replacing(name: &str, value: &str) -> Vec<(String, String)> {
    good_request()
        .into_iter()
        .map(|(n, v)| {
            if n == name {
                (n, value.to_owned())
            } else {
                (n, v)
            }
        })
        .collect()
}

fn adding(name: &str, value: &str) -> Vec<(String, String)> {
    let mut h = good_request();
    h.push((name.to_owned(), value.to_owned()));
    h
}

/// Expects the server to refuse `fields` with `status`, for a reason whose
/// message contains `why`.
fn refused(fields: &[(String, String)], status: u16, why: &str) {
    let err = match ServerHandshake::new(fields) {
        Err(e) => e,
        Ok(hs) => panic!("accepted {:?} (expected {status}: {why})", hs.request()),
    };
    assert_eq!(err.http_status(), Some(status), "{err}");
    assert!(
        err.message().contains(why),
        "expected a refusal for {why:?}, got {:?}",
        err.message()
    );
    let response = error_response(&err);
    assert_eq!(response[0], Header::new(":status", status.to_string()));
}

fn value<'a>(headers: &'a [Header], name: &str) -> Option<&'a str> {
    headers
        .iter()
        .find(|h| h.name == name)
        .and_then(|h| h.value_str())
}

/// Moves everything `from` has to send into `to`; returns `to`'s events.
fn pump(from: &mut Connection, to: &mut Connection) -> Vec<Event> {
    to.receive_bytes(&from.bytes_to_send());
    let mut events = Vec::new();
    while let Some(event) = to.next_event() {
        events.push(event.expect("no protocol error"));
    }
    events
}

/// Opens a client/server pair through the header lists.
fn open(client_config: Config, server_config: Config) -> (Connection, Connection, Vec<Header>) {
    let client = ClientHandshake::new("server.example.com", "/chat")
        .with_config(client_config)
        .with_subprotocols(["chat"]);
    let request = client.request_headers().unwrap();
    let server = ServerHandshake::with_config(&request, server_config).unwrap();
    let (response, server) = server
        .accept(AcceptConnection::new().with_subprotocol("chat"))
        .unwrap();
    let (client, accepted) = client.receive_response(&response).unwrap();
    assert_eq!(accepted.subprotocol.as_deref(), Some("chat"));
    (client, server, response)
}

/// Text, binary, a fragmented message, ping/pong and the close handshake,
/// both ways.
fn exchange(client: &mut Connection, server: &mut Connection) {
    assert_eq!((client.role(), server.role()), (Role::Client, Role::Server));
    assert_eq!((client.state(), server.state()), (State::Open, State::Open));
    let text = "héllo ".repeat(200);
    client.send(TextMessage::new(text.as_str())).unwrap();
    client.send(BytesMessage::new(vec![7u8; 3000])).unwrap();
    match &pump(client, server)[..] {
        [Event::TextMessage(t), Event::BytesMessage(b)] => {
            assert_eq!(t.data, text.as_str());
            assert!(t.message_finished);
            assert_eq!(&b.data[..], &[7u8; 3000][..]);
        }
        other => panic!("{other:?}"),
    }
    server.send(TextMessage::fragment("par", false)).unwrap();
    server.send(TextMessage::fragment("ts", true)).unwrap();
    let got: String = pump(server, client)
        .into_iter()
        .map(|e| match e {
            Event::TextMessage(t) => t.data.to_string(),
            other => panic!("{other:?}"),
        })
        .collect();
    assert_eq!(got, "parts");

    server.send(Ping::new(&b"are you there"[..])).unwrap();
    assert!(matches!(&pump(server, client)[..], [Event::Ping(p)] if p.payload == "are you there"));
    assert!(matches!(&pump(client, server)[..], [Event::Pong(p)] if p.payload == "are you there"));

    client.send(CloseConnection::new(1000, "bye")).unwrap();
    assert_eq!(client.state(), State::LocalClosing);
    match &pump(client, server)[..] {
        [Event::CloseConnection(c)] => assert_eq!((c.code.0, c.reason.as_str()), (1000, "bye")),
        other => panic!("{other:?}"),
    }
    match &pump(server, client)[..] {
        [Event::CloseConnection(c)] => assert_eq!(c.code.0, 1000),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        (client.state(), server.state()),
        (State::Closed, State::Closed)
    );
}

#[test]
fn request_headers_follow_rfc8441() {
    let client = ClientHandshake::new("server.example.com", "/chat")
        .with_subprotocols(["chat", "superchat"])
        .with_header("Origin", "http://www.example.com");
    let headers = client.request_headers().unwrap();
    let pairs: Vec<(&str, &str)> = headers
        .iter()
        .map(|h| (h.name.as_str(), h.value_str().unwrap()))
        .collect();
    assert_eq!(
        pairs,
        [
            (":method", "CONNECT"),
            (":protocol", "websocket"),
            (":scheme", "https"),
            (":path", "/chat"),
            (":authority", "server.example.com"),
            ("sec-websocket-version", "13"),
            ("sec-websocket-protocol", "chat, superchat"),
            ("origin", "http://www.example.com"),
        ]
    );
    let insecure = ClientHandshake::new("h:8080", "/").with_scheme("http");
    assert_eq!(
        value(&insecure.request_headers().unwrap(), ":scheme"),
        Some("http")
    );
}

#[test]
fn the_server_reads_the_rfc_example() {
    // RFC 8441 §5.1, as an HTTP/2 layer would hand it over.
    let hs = ServerHandshake::new(&good_request()).unwrap();
    let req = hs.request();
    assert_eq!(req.host, "server.example.com");
    assert_eq!(req.target, "/chat?room=1");
    assert_eq!(req.subprotocols, ["chat", "superchat"]);
    assert!(req.extensions.is_empty());
    assert_eq!(
        req.extra_headers,
        [Header::new("origin", "http://www.example.com")]
    );
    assert_eq!(hs.scheme(), "https");
    // Accepted with the same semantics as over HTTP/1.1.
    let (response, conn) = hs
        .accept(AcceptConnection::new().with_subprotocol("superchat"))
        .unwrap();
    assert_eq!(
        response,
        [
            Header::new(":status", "200"),
            Header::new("sec-websocket-protocol", "superchat")
        ]
    );
    assert_eq!(conn.role(), Role::Server);
    assert!(conn.config().extensions.is_empty());
}

#[test]
fn lenient_where_the_rfcs_allow() {
    // Upgrade tokens and schemes compare without case; `te: trailers` is
    // the one connection-ish header HTTP/2 allows; a Host equal to the
    // authority is fine; Sec-WebSocket-Key is simply not processed.
    let mut fields = replacing(":protocol", "WebSocket");
    fields = fields
        .into_iter()
        .map(|(n, v)| {
            if n == ":scheme" {
                (n, "HTTP".into())
            } else {
                (n, v)
            }
        })
        .collect();
    fields.push(("te".into(), "trailers".into()));
    fields.push(("host".into(), "SERVER.example.com".into()));
    fields.push((
        "sec-websocket-key".into(),
        "dGhlIHNhbXBsZSBub25jZQ==".into(),
    ));
    let hs = ServerHandshake::new(&fields).unwrap();
    assert_eq!(hs.scheme(), "http");
    assert_eq!(
        hs.request().extra_headers,
        [
            Header::new("origin", "http://www.example.com"),
            Header::new("te", "trailers")
        ]
    );
    // Borrowed pairs work as input too.
    let owned = good_request();
    let borrowed: Vec<(&str, &[u8])> = owned
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_bytes()))
        .collect();
    assert!(ServerHandshake::new(&borrowed).is_ok());
}

#[test]
fn both_ends_talk_without_extensions() {
    let (mut client, mut server, response) = open(Config::default(), Config::default());
    assert_eq!(value(&response, "sec-websocket-extensions"), None);
    exchange(&mut client, &mut server);
}

#[cfg(feature = "deflate")]
#[test]
fn both_ends_talk_with_permessage_deflate() {
    use wsproto::DeflateConfig;
    let deflate = || Config::default().deflate(DeflateConfig::default());
    let client = ClientHandshake::new("a", "/").with_config(deflate());
    let request = client.request_headers().unwrap();
    assert_eq!(
        value(&request, "sec-websocket-extensions"),
        Some("permessage-deflate; client_max_window_bits")
    );
    let (mut client, mut server, response) = open(deflate(), deflate());
    assert!(
        value(&response, "sec-websocket-extensions")
            .unwrap()
            .starts_with("permessage-deflate")
    );
    for conn in [&client, &server] {
        let names: Vec<&str> = conn.config().extensions.iter().map(|e| e.name()).collect();
        assert_eq!(names, ["permessage-deflate"]);
    }
    // The first frame is compressed (RSV1) and much smaller than the text.
    client.send(TextMessage::new("abc".repeat(1000))).unwrap();
    let wire = client.bytes_to_send();
    assert_eq!(wire[0] & 0x40, 0x40, "RSV1 marks a compressed message");
    assert!(wire.len() < 200, "{} bytes on the wire", wire.len());
    server.receive_bytes(&wire);
    match server.next_event() {
        Some(Ok(Event::TextMessage(t))) => assert_eq!(t.data, "abc".repeat(1000).as_str()),
        other => panic!("{other:?}"),
    }
    exchange(&mut client, &mut server);

    // A server that accepts no extensions ignores the offer, and the client
    // then runs without.
    let (client, server, response) = open(deflate(), Config::default());
    assert_eq!(value(&response, "sec-websocket-extensions"), None);
    assert!(client.config().extensions.is_empty());
    assert!(server.config().extensions.is_empty());
}

#[test]
fn server_refuses_each_malformed_request_for_its_own_reason() {
    refused(&without(":method"), 400, "missing :method");
    refused(
        &adding("content-length", "5"),
        400,
        "carries no content-length",
    );
    refused(&replacing(":method", "GET"), 400, "method must be CONNECT");
    refused(
        &replacing(":method", "connect"),
        400,
        "method must be CONNECT",
    );
    refused(&without(":protocol"), 400, "without :protocol");
    refused(
        &replacing(":protocol", "webtransport"),
        501,
        "not supported",
    );
    refused(&without(":scheme"), 400, "missing :scheme");
    refused(
        &replacing(":scheme", "wss"),
        400,
        ":scheme must be https or http",
    );
    refused(&without(":path"), 400, "missing :path");
    refused(&replacing(":path", "chat"), 400, "malformed :path");
    refused(&replacing(":path", "/a b"), 400, "malformed :path");
    refused(&replacing(":path", ""), 400, "malformed :path");
    refused(&without(":authority"), 400, "missing :authority");
    refused(&replacing(":authority", ""), 400, "malformed :authority");
    refused(
        &replacing(":authority", "user@h"),
        400,
        "malformed :authority",
    );
    refused(
        &adding("host", "other.example"),
        400,
        "differs from :authority",
    );
    refused(
        &without("sec-websocket-version"),
        400,
        "sec-websocket-version",
    );
    refused(
        &replacing("sec-websocket-version", "8"),
        400,
        "sec-websocket-version",
    );
    refused(&adding("sec-websocket-version", "13"), 400, "duplicate");
    refused(
        &replacing("sec-websocket-protocol", "a b"),
        400,
        "malformed sec-websocket-protocol",
    );
    refused(
        &adding("sec-websocket-extensions", "x; ="),
        400,
        "Sec-WebSocket-Extensions",
    );
    // RFC 9113 §8.2.2 (and RFC 8441 §5 for Connection and Upgrade).
    for name in [
        "connection",
        "upgrade",
        "keep-alive",
        "transfer-encoding",
        "proxy-connection",
    ] {
        refused(
            &adding(name, "x"),
            400,
            &format!("connection-specific header {name}"),
        );
    }
    refused(&adding("te", "gzip"), 400, "te header");
    // RFC 9113 §8.2.1: lower-case token names, no CR/LF/NUL in values.
    refused(&adding("Origin", "x"), 400, "not in lower case");
    refused(&adding("bad name", "x"), 400, "malformed header name");
    refused(&adding("", "x"), 400, "malformed header name");
    refused(&adding("x-evil", "a\r\nb: c"), 400, "NUL, CR or LF");
    refused(&replacing(":path", "/\0"), 400, "NUL, CR or LF");
    // Names that failed validation are quoted: they end up in logs.
    refused(&adding(":x\r\ny", "1"), 400, "field \":x\\r\\ny\"");
    // RFC 9113 §8.3: pseudo-header fields first, once each, only known ones.
    refused(&adding(":path", "/again"), 400, "after a regular field");
    let mut dup = good_request();
    dup.insert(1, (":method".into(), "CONNECT".into()));
    refused(&dup, 400, "duplicate pseudo-header field :method");
    let mut status = good_request();
    status.insert(0, (":status".into(), "200".into()));
    refused(&status, 400, "unexpected pseudo-header field \":status\"");
    // A bound on the header count, like the HTTP/1.1 handshake's.
    let mut many = good_request();
    for i in 0..64 {
        many.push((format!("x-{i}"), "y".into()));
    }
    let err = ServerHandshake::with_config(&many, Config::default()).unwrap_err();
    assert_eq!(err.http_status(), Some(431));
}

#[test]
fn error_and_rejection_responses() {
    let err = ServerHandshake::new(&replacing(":protocol", "x")).unwrap_err();
    assert_eq!(
        error_response(&err),
        [
            Header::new(":status", "501"),
            Header::new("sec-websocket-version", "13")
        ]
    );
    let hs = ServerHandshake::new(&good_request()).unwrap();
    let mut reject = RejectConnection::new(403);
    reject.headers.push(Header::new("Retry-After", "5"));
    assert_eq!(
        hs.reject(reject).unwrap(),
        [
            Header::new(":status", "403"),
            Header::new("retry-after", "5")
        ]
    );
    // A 2xx would open the stream, a 1xx is not an answer.
    for status in [200, 204, 101, 99, 600] {
        assert_eq!(
            hs.reject(RejectConnection::new(status)),
            Err(LocalProtocolError::InvalidStatus(status))
        );
    }
    let mut bad = RejectConnection::new(400);
    bad.headers.push(Header::new("connection", "close"));
    assert!(matches!(
        hs.reject(bad),
        Err(LocalProtocolError::InvalidHeader(_))
    ));
}

#[test]
fn server_accept_checks_what_it_sends() {
    let hs = ServerHandshake::new(&good_request()).unwrap();
    assert_eq!(
        hs.accept(AcceptConnection::new().with_subprotocol("other"))
            .unwrap_err(),
        LocalProtocolError::SubprotocolNotOffered("other".into())
    );
    for name in ["upgrade", "Connection", "te", "bad name"] {
        assert!(
            matches!(
                hs.accept(AcceptConnection::new().with_header(name, "x")),
                Err(LocalProtocolError::InvalidHeader(_))
            ),
            "{name}"
        );
    }
    let (response, _) = hs
        .accept(AcceptConnection::new().with_header("X-Server", "wsproto"))
        .unwrap();
    assert_eq!(response[1], Header::new("x-server", "wsproto"));
}

#[test]
fn client_refuses_to_build_a_bad_request() {
    let invalid_request = |c: ClientHandshake| {
        assert!(
            matches!(
                c.request_headers(),
                Err(LocalProtocolError::InvalidRequest(_))
            ),
            "{:?}",
            c.request()
        );
    };
    invalid_request(ClientHandshake::new("", "/"));
    invalid_request(ClientHandshake::new("a/b", "/"));
    invalid_request(ClientHandshake::new("user@a", "/"));
    invalid_request(ClientHandshake::new("a", "chat"));
    invalid_request(ClientHandshake::new("a", "/a b"));
    invalid_request(ClientHandshake::new("a", "/").with_scheme("wss"));
    let mut with_ext = Request::new("a", "/");
    with_ext.extensions.push("permessage-deflate".into());
    invalid_request(ClientHandshake::from_request(with_ext));
    let invalid_header = |c: ClientHandshake| {
        assert!(
            matches!(
                c.request_headers(),
                Err(LocalProtocolError::InvalidHeader(_))
            ),
            "{:?}",
            c.request()
        );
    };
    invalid_header(ClientHandshake::new("a", "/").with_subprotocols(["a b"]));
    invalid_header(ClientHandshake::new("a", "/").with_subprotocols([""]));
    invalid_header(ClientHandshake::new("a", "/").with_header("Upgrade", "websocket"));
    invalid_header(ClientHandshake::new("a", "/").with_header("x", "a\r\nb"));
}

/// The response a server sends, as the client sees it.
fn response(fields: &[(&str, &str)]) -> Result<(Connection, AcceptConnection), ResponseError> {
    ClientHandshake::new("a", "/")
        .with_subprotocols(["chat", "superchat"])
        .receive_response(fields)
}

fn invalid_response(fields: &[(&str, &str)], why: &str) {
    match response(fields) {
        Err(ResponseError::Invalid(e)) => {
            assert!(e.message().contains(why), "expected {why:?}, got {e}");
            assert_eq!(e.http_status(), None);
        }
        Err(e) => panic!("expected an invalid response ({why}), got {e}"),
        Ok(_) => panic!("accepted {fields:?}, expected {why}"),
    }
}

#[test]
fn client_checks_the_response() {
    let (conn, accepted) = response(&[(":status", "200"), ("x-a", "b")]).unwrap();
    assert_eq!(conn.role(), Role::Client);
    assert_eq!(accepted.subprotocol, None);
    assert_eq!(accepted.extra_headers, [Header::new("x-a", "b")]);

    for status in ["404", "101", "204", "503"] {
        match response(&[(":status", status), ("retry-after", "1")]) {
            Err(e @ ResponseError::Rejected { .. }) => {
                assert_eq!(e.status(), Some(status.parse().unwrap()));
                let ResponseError::Rejected { headers, .. } = e else {
                    unreachable!()
                };
                assert_eq!(headers, [Header::new("retry-after", "1")]);
            }
            other => panic!("{status}: {other:?}"),
        }
    }
    invalid_response(&[("x-a", "b")], "without :status");
    invalid_response(&[(":status", "2000")], "malformed :status");
    invalid_response(&[(":status", "ok")], "malformed :status");
    invalid_response(&[(":status", "099")], "malformed :status");
    invalid_response(
        &[(":status", "200"), ("sec-websocket-protocol", "other")],
        "not offered",
    );
    invalid_response(
        &[
            (":status", "200"),
            ("sec-websocket-protocol", "chat, superchat"),
        ],
        "more than one subprotocol",
    );
    invalid_response(
        &[
            (":status", "200"),
            ("sec-websocket-extensions", "permessage-deflate"),
        ],
        "which was not offered",
    );
    invalid_response(
        &[(":status", "200"), ("sec-websocket-extensions", "a;")],
        "Sec-WebSocket-Extensions",
    );
    invalid_response(
        &[(":status", "200"), ("upgrade", "websocket")],
        "connection-specific",
    );
    invalid_response(&[(":status", "200"), ("X-A", "b")], "not in lower case");
    invalid_response(
        &[(":status", "200"), (":method", "GET")],
        "unexpected pseudo-header",
    );
    invalid_response(&[("x-a", "b"), (":status", "200")], "after a regular field");
    invalid_response(
        &[(":status", "200"), (":status", "200")],
        "duplicate pseudo-header",
    );
    invalid_response(&[(":status", "200"), ("x", "a\nb")], "NUL, CR or LF");
}

#[cfg(feature = "deflate")]
#[test]
fn client_refuses_extension_parameters_it_did_not_offer() {
    use wsproto::DeflateConfig;
    let client = ClientHandshake::new("a", "/")
        .with_config(Config::default().deflate(DeflateConfig::default()));
    for bad in [
        "permessage-deflate; unknown_param",
        "permessage-deflate, permessage-deflate",
        "permessage-deflate; server_max_window_bits=7",
    ] {
        match client.receive_response(&[(":status", "200"), ("sec-websocket-extensions", bad)]) {
            Err(ResponseError::Invalid(e)) => assert!(e.message().contains("extension"), "{e}"),
            other => panic!("{bad}: {other:?}"),
        }
    }
    let (conn, _) = client
        .receive_response(&[
            (":status", "200"),
            ("sec-websocket-extensions", "permessage-deflate"),
        ])
        .unwrap();
    assert_eq!(conn.config().extensions.len(), 1);
}
