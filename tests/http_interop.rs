//! The `http` feature in memory: conversions between the handshake's types
//! and the `http` crate's, and the upgrade path that starts from a request
//! another HTTP stack parsed (`ServerUpgrade`) checked against the
//! byte-level engine on the other side. Requests are parsed from the bytes a
//! `WsConnection` client writes (with httparse, as an HTTP server would) and
//! responses are written back as bytes for a `WsConnection` client to judge,
//! so each side of the http path meets the engine's own other side. Accept
//! keys are checked against `common::accept_for`, computed independently.

#![cfg(feature = "http")]

mod common;

use common::{accept_for, parse_frames};
use wsproto::proto::{
    AcceptConnection, BytesMessage, ClientUpgrade, Config, Connection, Event, Header,
    RejectConnection, Request, Role, ServerUpgrade, State, TextMessage, WsConnection,
};

/// Parses a request head as an HTTP server would hand it over.
fn http_request(bytes: &[u8]) -> http::Request<()> {
    let mut storage = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut storage);
    assert!(req.parse(bytes).unwrap().is_complete());
    let mut builder = http::Request::builder()
        .method(req.method.unwrap())
        .uri(req.path.unwrap())
        .version(match req.version {
            Some(1) => http::Version::HTTP_11,
            _ => http::Version::HTTP_10,
        });
    for h in req.headers.iter() {
        builder = builder.header(h.name, h.value);
    }
    builder.body(()).unwrap()
}

/// Writes a response head as an HTTP server would.
fn response_bytes(response: &http::Response<()>) -> Vec<u8> {
    let mut out = format!("HTTP/1.1 {}\r\n", response.status()).into_bytes();
    for (name, value) in response.headers() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// A byte-level client's request for `req`, as an `http::Request`.
fn client_request(config: Config, req: Request) -> (WsConnection, http::Request<()>) {
    let mut client = WsConnection::with_config(Role::Client, config);
    client.send(req).unwrap();
    let bytes = client.bytes_to_send();
    (client, http_request(&bytes))
}

fn lowercase_names(mut req: Request) -> Request {
    for h in &mut req.extra_headers {
        h.name.make_ascii_lowercase();
    }
    req
}

#[test]
fn a_received_request_survives_a_round_trip_through_http() {
    // What a WsConnection server reports for a real client request...
    let sent = Request::new("example.com:8443", "/chat/room?id=7&x=%20")
        .with_subprotocols(["v2.chat", "chat"])
        .with_header("Origin", "https://example.com")
        .with_header("Cookie", "session=abc")
        .with_header("X-Repeated", "1")
        .with_header("X-Repeated", "2");
    let config = Config::default().deflate(wsproto::DeflateConfig::default());
    let mut client = WsConnection::with_config(Role::Client, config);
    client.send(sent).unwrap();
    let mut server = WsConnection::new(Role::Server);
    server.receive_bytes(&client.bytes_to_send());
    let Some(Ok(Event::Request(received))) = server.next_event() else {
        panic!("no request")
    };
    assert!(!received.extensions.is_empty(), "the deflate offer");

    // ...turned into an http::Request for a router, and back.
    let http = http::Request::<()>::try_from(&received).unwrap();
    assert_eq!(http.method(), http::Method::GET);
    assert_eq!(http.uri().path(), "/chat/room");
    assert_eq!(http.uri().query(), Some("id=7&x=%20"));
    let headers = http.headers();
    assert_eq!(headers["host"], "example.com:8443");
    assert_eq!(headers["upgrade"], "websocket");
    assert_eq!(headers["sec-websocket-protocol"], "v2.chat, chat");
    assert_eq!(headers["origin"], "https://example.com");
    let repeated: Vec<_> = headers.get_all("x-repeated").iter().collect();
    assert_eq!(repeated, ["1", "2"]);
    assert!(
        headers["sec-websocket-extensions"]
            .to_str()
            .unwrap()
            .starts_with("permessage-deflate")
    );

    let back = Request::try_from(&http).unwrap();
    assert_eq!(back, lowercase_names(received));
}

#[test]
fn a_client_request_built_from_http_is_sent_as_given() {
    let http = http::Request::get("ws://example.com:9000/feed?since=3")
        .header("Sec-WebSocket-Protocol", "graphql-ws")
        .header("Authorization", "Bearer t0ken")
        .body(())
        .unwrap();
    let request = Request::try_from(&http).unwrap();
    let mut client = WsConnection::new(Role::Client);
    client.send(request).unwrap();
    let wire = http_request(&client.bytes_to_send());
    assert_eq!(wire.uri(), "/feed?since=3");
    assert_eq!(wire.headers()["host"], "example.com:9000");
    assert_eq!(wire.headers()["sec-websocket-protocol"], "graphql-ws");
    assert_eq!(wire.headers()["authorization"], "Bearer t0ken");
    assert_eq!(wire.headers().get_all("upgrade").iter().count(), 1);
}

#[test]
fn the_accept_response_satisfies_the_byte_level_client() {
    let req = Request::new("h", "/").with_subprotocols(["a", "b"]);
    let (mut client, http) = client_request(Config::default(), req);
    let upgrade = ServerUpgrade::from_http(&http).unwrap();
    let key = upgrade.key().to_owned();
    let accept = AcceptConnection::new()
        .with_subprotocol("b")
        .with_header("X-Served-By", "test");
    let (response, mut server) = upgrade.accept_http(accept, &Config::default()).unwrap();
    assert_eq!(response.status(), http::StatusCode::SWITCHING_PROTOCOLS);
    assert_eq!(
        response.headers()["sec-websocket-accept"],
        accept_for(&key).as_str()
    );
    assert_eq!(response.headers()["sec-websocket-protocol"], "b");

    client.receive_bytes(&response_bytes(&response));
    match client.next_event() {
        Some(Ok(Event::AcceptConnection(accepted))) => {
            assert_eq!(accepted.subprotocol.as_deref(), Some("b"));
            assert_eq!(accepted.extra_headers, [Header::new("x-served-by", "test")]);
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(client.state(), State::Open);

    client.send(TextMessage::new("ping?")).unwrap();
    server.receive_bytes(&client.bytes_to_send());
    assert!(matches!(server.next_event(), Some(Ok(Event::TextMessage(m))) if m.data == "ping?"));
    server.send(BytesMessage::new(vec![0u8, 1, 2])).unwrap();
    client.receive_bytes(&server.bytes_to_send());
    assert!(
        matches!(client.next_event(), Some(Ok(Event::BytesMessage(m))) if m.data[..] == [0, 1, 2])
    );
}

#[test]
fn the_client_validator_checks_an_http_response() {
    let config = Config::default();
    let client =
        ClientUpgrade::new(Request::new("h", "/x").with_subprotocols(["p"]), &config).unwrap();
    let request = client.http_request().unwrap();
    assert_eq!(request.uri(), "/x");
    assert_eq!(request.headers()["sec-websocket-key"], client.key());

    let upgrade = ServerUpgrade::from_http(&request).unwrap();
    let (good, _) = upgrade
        .accept_http(AcceptConnection::new().with_subprotocol("p"), &config)
        .unwrap();

    // A wrong accept key, a status other than 101, a subprotocol not
    // offered: each refused.
    let mut forged = good.clone();
    forged.headers_mut().insert(
        "sec-websocket-accept",
        http::HeaderValue::from_static("s3pPLMBiTxaQ9kYGzzhZRbK+xOo="),
    );
    let mut ok_status = good.clone();
    *ok_status.status_mut() = http::StatusCode::OK;
    let mut other_protocol = good.clone();
    other_protocol.headers_mut().insert(
        "sec-websocket-protocol",
        http::HeaderValue::from_static("q"),
    );
    for (response, what) in [
        (forged, "Sec-WebSocket-Accept"),
        (ok_status, "200"),
        (other_protocol, "not offered"),
    ] {
        let err = client.clone().finish_http(&response).unwrap_err();
        assert!(err.message().contains(what), "{err} should mention {what}");
    }

    let (accepted, conn) = client.finish_http(&good).unwrap();
    assert_eq!(accepted.subprotocol.as_deref(), Some("p"));
    assert_eq!(conn.role(), Role::Client);
    assert_eq!(conn.state(), State::Open);
}

#[test]
fn rejections_carry_their_status_and_headers() {
    let reject = RejectConnection {
        status_code: 401,
        headers: vec![
            Header::new("WWW-Authenticate", "Bearer"),
            Header::new("Content-Type", "text/plain"),
        ],
        has_body: true,
    };
    let response = http::Response::try_from(&reject).unwrap();
    assert_eq!(response.status(), http::StatusCode::UNAUTHORIZED);
    assert_eq!(response.headers()["www-authenticate"], "Bearer");
    assert_eq!(response.headers()["content-type"], "text/plain");
    assert_eq!(response.headers().len(), 2);

    // The same rejection, written as bytes by a WsConnection server and read
    // by a WsConnection client, reports the same status and headers.
    let (mut client, http) = client_request(Config::default(), Request::new("h", "/"));
    let mut server = WsConnection::new(Role::Server);
    server.receive_bytes(&request_bytes(&http));
    assert!(matches!(server.next_event(), Some(Ok(Event::Request(_)))));
    server
        .send(RejectConnection {
            has_body: false,
            ..reject
        })
        .unwrap();
    client.receive_bytes(&server.bytes_to_send());
    match client.next_event() {
        Some(Ok(Event::RejectConnection(r))) => {
            assert_eq!(r.status_code, response.status().as_u16());
            for (name, value) in response.headers() {
                assert!(
                    r.headers
                        .iter()
                        .any(|h| h.name.eq_ignore_ascii_case(name.as_str())
                            && h.value == value.as_bytes()),
                    "{name} missing from {:?}",
                    r.headers
                );
            }
        }
        other => panic!("{other:?}"),
    }
}

/// An `http::Request` written back as bytes (for a byte-level server).
fn request_bytes(req: &http::Request<()>) -> Vec<u8> {
    let mut out = format!("{} {} HTTP/1.1\r\n", req.method(), req.uri()).into_bytes();
    for (name, value) in req.headers() {
        out.extend_from_slice(name.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(value.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    out.extend_from_slice(b"\r\n");
    out
}

/// A valid upgrade request with one header replaced, removed or added.
fn variant(edit: impl FnOnce(&mut http::Request<()>)) -> http::Request<()> {
    let mut req = http::Request::get("/ws")
        .header("Host", "h")
        .header("Upgrade", "websocket")
        .header("Connection", "keep-alive, Upgrade")
        .header("Sec-WebSocket-Key", common::RFC_KEY)
        .header("Sec-WebSocket-Version", "13")
        .body(())
        .unwrap();
    edit(&mut req);
    req
}

#[test]
fn invalid_upgrades_are_answered_400_or_426_like_the_byte_handshake() {
    use http::HeaderValue as V;
    let set = |name: &'static str, value: &'static str| {
        variant(move |r| {
            r.headers_mut().insert(name, V::from_static(value));
        })
    };
    let remove = |name: &'static str| {
        variant(move |r| {
            r.headers_mut().remove(name);
        })
    };
    let cases: Vec<(&str, http::Request<()>, u16)> = vec![
        (
            "post",
            variant(|r| *r.method_mut() = http::Method::POST),
            400,
        ),
        ("no host", remove("host"), 400),
        ("no upgrade", remove("upgrade"), 400),
        ("upgrade h2c", set("upgrade", "h2c"), 400),
        ("connection close", set("connection", "close"), 400),
        (
            "key not base64",
            set("sec-websocket-key", "not base64!"),
            400,
        ),
        (
            "key of 15 bytes",
            set("sec-websocket-key", "AAAAAAAAAAAAAAAAAAAA"),
            400,
        ),
        ("no key", remove("sec-websocket-key"), 400),
        (
            "two keys",
            variant(|r| {
                r.headers_mut()
                    .append("sec-websocket-key", V::from_static(common::RFC_KEY));
            }),
            400,
        ),
        ("a body", set("content-length", "5"), 400),
        ("version 8", set("sec-websocket-version", "8"), 426),
        ("no version", remove("sec-websocket-version"), 426),
    ];
    for (what, req, status) in cases {
        let err = ServerUpgrade::from_http(&req).unwrap_err();
        assert_eq!(err.status(), status, "{what}: {err}");
        let response = err.http_response();
        assert_eq!(response.status().as_u16(), status, "{what}");
        let version = response.headers().get("sec-websocket-version");
        if status == 426 {
            assert_eq!(version.map(|v| v.as_bytes()), Some(&b"13"[..]), "{what}");
        } else {
            assert!(version.is_none(), "{what}");
        }
        // The byte-level handshake, fed the same request, answers the same.
        let mut server = WsConnection::new(Role::Server);
        server.receive_bytes(&request_bytes(&req));
        match server.next_event() {
            Some(Err(e)) => assert_eq!(e.http_status(), Some(status), "{what}: bytes"),
            other => panic!("{what}: the byte handshake gave {other:?}"),
        }
    }
    assert!(ServerUpgrade::from_http(&variant(|_| {})).is_ok());
}

const RSV1: u8 = 0x40;

/// Sends `text` from `from` to `to` and returns the frames on the wire.
fn exchange(from: &mut Connection, to: &mut Connection, text: &str) -> Vec<common::WireFrame> {
    from.send(TextMessage::new(text)).unwrap();
    let wire = from.bytes_to_send();
    let frames = parse_frames(&wire);
    to.receive_bytes(&wire);
    let mut got = String::new();
    while let Some(event) = to.next_event() {
        match event.unwrap() {
            Event::TextMessage(m) => got.push_str(&m.data),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(got, text);
    frames
}

#[cfg(feature = "deflate")]
#[test]
fn deflate_negotiated_on_the_http_path_compresses_both_ways() {
    use wsproto::DeflateConfig;
    let deflate = || Config::default().deflate(DeflateConfig::default());
    let text = "compressible text, compressible text, compressible text. ".repeat(40);

    // A byte-level client against the http path...
    let (mut client, http) = client_request(deflate(), Request::new("h", "/"));
    let upgrade = ServerUpgrade::from_http(&http).unwrap();
    assert!(upgrade.request().extensions[0].starts_with("permessage-deflate"));
    let (response, mut server) = upgrade
        .accept_http(AcceptConnection::new(), &deflate())
        .unwrap();
    let negotiated = response.headers()["sec-websocket-extensions"]
        .to_str()
        .unwrap();
    assert!(negotiated.starts_with("permessage-deflate"), "{negotiated}");
    assert_eq!(server.config().extensions.len(), 1);
    client.receive_bytes(&response_bytes(&response));
    assert!(matches!(
        client.next_event(),
        Some(Ok(Event::AcceptConnection(_)))
    ));
    assert_eq!(client.extensions().len(), 1);
    let mut client = client.into_connection().unwrap();

    for to_server in [true, false] {
        let frames = if to_server {
            exchange(&mut client, &mut server, &text)
        } else {
            exchange(&mut server, &mut client, &text)
        };
        assert_eq!(frames.len(), 1);
        assert_eq!(frames[0].rsv, RSV1, "compressed");
        assert!(frames[0].payload.len() < text.len() / 4, "it shrank");
    }

    // ...and a ClientUpgrade against it, both sides on the http path.
    let client = ClientUpgrade::new(Request::new("h", "/"), &deflate()).unwrap();
    let upgrade = ServerUpgrade::from_http(&client.http_request().unwrap()).unwrap();
    let (response, mut server) = upgrade
        .accept_http(AcceptConnection::new(), &deflate())
        .unwrap();
    let (_, mut client) = client.finish_http(&response).unwrap();
    assert_eq!(client.config().extensions.len(), 1);
    assert_eq!(exchange(&mut client, &mut server, &text)[0].rsv, RSV1);
    assert_eq!(exchange(&mut server, &mut client, &text)[0].rsv, RSV1);
}

#[cfg(feature = "deflate")]
#[test]
fn deflate_stays_off_unless_the_server_config_enables_it() {
    use wsproto::DeflateConfig;
    let offer = Config::default().deflate(DeflateConfig::default());
    let (mut client, http) = client_request(offer, Request::new("h", "/"));
    let (response, mut server) = ServerUpgrade::from_http(&http)
        .unwrap()
        .accept_http(AcceptConnection::new(), &Config::default())
        .unwrap();
    assert!(response.headers().get("sec-websocket-extensions").is_none());
    assert!(server.config().extensions.is_empty());
    client.receive_bytes(&response_bytes(&response));
    assert!(matches!(
        client.next_event(),
        Some(Ok(Event::AcceptConnection(_)))
    ));
    let mut client = client.into_connection().unwrap();
    let frames = exchange(&mut client, &mut server, &"plain ".repeat(100));
    assert_eq!(frames[0].rsv, 0);
}

#[test]
fn server_config_limits_reach_the_connection() {
    let (_, http) = client_request(Config::default(), Request::new("h", "/"));
    let config = Config::default().max_message_size(1000);
    let (_, server) = ServerUpgrade::from_http(&http)
        .unwrap()
        .accept_http(AcceptConnection::new(), &config)
        .unwrap();
    assert_eq!(server.config().max_message_size, 1000);
    assert_eq!(server.role(), Role::Server);
}
