//! Raw offers given to a server (fallbacks, declines) and raw responses given to a client.

use super::*;

// ---------------------------------------------------------------------------
// A server given raw offers: fallbacks, declines.

/// Sends a request with these `Sec-WebSocket-Extensions` header values to a
/// server; returns the server (open), the response's extension header, and
/// the offers as the `Request` event reported them.
fn server_given(
    config: DeflateConfig,
    ext_headers: &[&str],
) -> (WsConnection, Option<String>, Vec<String>) {
    let mut server = WsConnection::with_config(Role::Server, Config::default().deflate(config));
    let lines: Vec<String> = ext_headers
        .iter()
        .map(|v| format!("Sec-WebSocket-Extensions: {v}"))
        .collect();
    let mut headers = good_headers();
    headers.extend(lines.iter().map(String::as_str));
    server.receive_bytes(&raw_request("GET / HTTP/1.1", &headers));
    let offers = match server.next_event() {
        Some(Ok(Event::Request(r))) => r.extensions,
        other => panic!("{other:?}"),
    };
    server.send(AcceptConnection::new()).unwrap();
    let resp = server.bytes_to_send();
    assert_eq!(parse_response(&resp).status, 101);
    assert_eq!(server.state(), State::Open);
    let ext = header_of(&resp, "sec-websocket-extensions", false);
    (server, ext, offers)
}

/// The server sends a compressible message; returns its RSV bits and
/// whether the payload is the plain text.
fn server_output_compressed(server: &mut WsConnection) -> bool {
    let text = sample_text();
    server.send(BytesMessage::new(text.clone())).unwrap();
    let frames = parse_frames(&server.bytes_to_send());
    assert_eq!(frames.len(), 1);
    if frames[0].rsv == RSV1 {
        assert_eq!(inflate(&frames[0].payload), text);
        true
    } else {
        assert_eq!(frames[0].rsv, 0);
        assert_eq!(frames[0].payload, text);
        false
    }
}

#[test]
fn fallback_to_the_second_offer() {
    let (mut server, ext, offers) = server_given(
        deflate(),
        &[
            "permessage-deflate; server_max_window_bits=7, permessage-deflate; client_max_window_bits",
        ],
    );
    assert_eq!(
        offers,
        [
            "permessage-deflate; server_max_window_bits=7",
            "permessage-deflate; client_max_window_bits"
        ]
    );
    assert_eq!(ext.as_deref(), Some("permessage-deflate"));
    assert!(server_output_compressed(&mut server));

    // With a wish for the client's window, the answer carries it: proof that
    // the second offer (the one with client_max_window_bits) was taken.
    let (_, ext, _) = server_given(
        deflate().client_max_window_bits(Some(12)),
        &[
            "permessage-deflate; server_max_window_bits=7, permessage-deflate; client_max_window_bits",
        ],
    );
    assert_eq!(
        ext.as_deref(),
        Some("permessage-deflate; client_max_window_bits=12")
    );
}

#[test]
fn the_first_acceptable_offer_wins() {
    let (mut server, ext, _) = server_given(
        deflate(),
        &["permessage-deflate; server_no_context_takeover, permessage-deflate"],
    );
    assert_eq!(
        ext.as_deref(),
        Some("permessage-deflate; server_no_context_takeover")
    );
    assert!(server_output_compressed(&mut server));

    let (_, ext, _) = server_given(
        deflate(),
        &["permessage-deflate, permessage-deflate; server_no_context_takeover"],
    );
    assert_eq!(ext.as_deref(), Some("permessage-deflate"));
}

#[test]
fn offers_spread_over_several_headers_and_unknown_extensions() {
    let (mut server, ext, offers) = server_given(
        deflate(),
        &[
            "x-webkit-deflate-frame; no_context_takeover",
            "permessage-deflate; x-unknown=1",
            "permessage-deflate; server_max_window_bits=11",
        ],
    );
    assert_eq!(offers.len(), 3);
    assert_eq!(
        ext.as_deref(),
        Some("permessage-deflate; server_max_window_bits=11")
    );
    assert!(server_output_compressed(&mut server));
}

#[test]
fn quoted_parameter_values_are_understood() {
    let (_, ext, _) = server_given(
        deflate(),
        &["permessage-deflate; server_max_window_bits=\"10\"; client_max_window_bits"],
    );
    assert_eq!(
        ext.as_deref(),
        Some("permessage-deflate; server_max_window_bits=10")
    );
}

#[test]
fn parameter_names_are_case_insensitive() {
    let (_, ext, _) = server_given(
        deflate(),
        &["permessage-deflate; Server_No_Context_Takeover; SERVER_MAX_WINDOW_BITS=12"],
    );
    assert_eq!(
        ext.as_deref(),
        Some("permessage-deflate; server_no_context_takeover; server_max_window_bits=12")
    );
}

#[test]
fn malformed_or_duplicate_parameters_are_declined() {
    for offer in [
        "permessage-deflate; server_max_window_bits",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=010",
        "permessage-deflate; server_max_window_bits=+9",
        "permessage-deflate; server_max_window_bits=abc",
        "permessage-deflate; server_max_window_bits=\"\"",
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; client_max_window_bits=16",
        "permessage-deflate; client_max_window_bits=1x",
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_no_context_takeover=true",
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
        "permessage-deflate; client_max_window_bits; client_max_window_bits=10",
        "permessage-deflate; server_no_context_takeover; SERVER_NO_CONTEXT_TAKEOVER",
        "permessage-deflate; unknown",
        "permessage-deflate; unknown=1",
    ] {
        let (mut server, ext, offers) = server_given(deflate(), &[offer]);
        assert_eq!(offers, [offer]);
        assert_eq!(ext, None, "{offer}: should have been declined");
        assert!(server.extensions().is_empty(), "{offer}");
        assert!(!server_output_compressed(&mut server), "{offer}");
        // And a compressed frame from the client is now a protocol error.
        server.receive_bytes(&masked(
            FIN | RSV1 | TEXT,
            &[0xf2, 0x48, 0xcd, 0xc9, 0xc9, 0x07, 0x00],
        ));
        let err = server.next_event().unwrap().unwrap_err();
        assert_close_answer(&err, &server.bytes_to_send(), 1002);
    }
}

#[test]
fn a_declined_offer_falls_back_to_no_compression_per_offer() {
    // Every offer bad: no extension, but the handshake still succeeds.
    let (_, ext, _) = server_given(
        deflate(),
        &["permessage-deflate; server_max_window_bits=20, permessage-deflate; foo"],
    );
    assert_eq!(ext, None);
}

#[test]
fn a_syntactically_broken_extensions_header_is_refused() {
    // Not a list of extensions at all: the request itself is bad (400),
    // rather than merely an offer to decline.
    let mut server = WsConnection::with_config(Role::Server, Config::default().deflate(deflate()));
    let mut headers = good_headers();
    headers.push("Sec-WebSocket-Extensions: permessage-deflate; =10");
    server.receive_bytes(&raw_request("GET / HTTP/1.1", &headers));
    let err = server.next_event().unwrap().unwrap_err();
    assert_eq!(err.http_status(), Some(400), "{err}");
    assert_eq!(parse_response(&server.bytes_to_send()).status, 400);
}

// ---------------------------------------------------------------------------
// A client given raw responses.

/// A client with `config` that receives a 101 carrying these extension
/// header lines; returns the event it reports and the client.
fn client_given(
    config: DeflateConfig,
    ext_lines: &[&str],
) -> (
    Option<Result<Event, wsproto::proto::RemoteProtocolError>>,
    WsConnection,
) {
    let (mut client, req) = client_after_request(
        Config::default().deflate(config),
        Request::new("example.com", "/"),
    );
    let lines: Vec<String> = ext_lines
        .iter()
        .map(|v| format!("Sec-WebSocket-Extensions: {v}"))
        .collect();
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    client.receive_bytes(&response_101(&request_key(&req), &refs));
    let ev = client.next_event();
    (ev, client)
}

fn assert_refused(config: DeflateConfig, ext_lines: &[&str]) {
    let (ev, mut client) = client_given(config, ext_lines);
    match ev {
        Some(Err(e)) => {
            assert_eq!(e.answer(), Answer::Drop, "{ext_lines:?}: {e}");
            assert_eq!(e.close_code(), None);
        }
        other => panic!("{ext_lines:?}: expected a refusal, got {other:?}"),
    }
    assert_eq!(client.state(), State::Closed, "{ext_lines:?}");
    assert!(client.bytes_to_send().is_empty(), "{ext_lines:?}");
    assert!(client.next_event().is_none());
    assert!(client.extensions().is_empty());
}

#[test]
fn client_refuses_invalid_responses() {
    for ext in [
        // Unknown parameters.
        "permessage-deflate; x-foo",
        "permessage-deflate; x-foo=1",
        "permessage-deflate; no_context_takeover",
        // Duplicates.
        "permessage-deflate; server_no_context_takeover; server_no_context_takeover",
        "permessage-deflate; client_no_context_takeover; client_no_context_takeover",
        "permessage-deflate; server_max_window_bits=10; server_max_window_bits=10",
        "permessage-deflate; client_max_window_bits=10; client_max_window_bits=10",
        // client_max_window_bits needs a value in a response.
        "permessage-deflate; client_max_window_bits",
        "permessage-deflate; server_max_window_bits",
        // Out of range or malformed values.
        "permessage-deflate; client_max_window_bits=7",
        "permessage-deflate; client_max_window_bits=16",
        "permessage-deflate; client_max_window_bits=010",
        "permessage-deflate; client_max_window_bits=x",
        "permessage-deflate; server_max_window_bits=7",
        "permessage-deflate; server_max_window_bits=16",
        "permessage-deflate; server_max_window_bits=-9",
        // Values on flags.
        "permessage-deflate; server_no_context_takeover=1",
        "permessage-deflate; client_no_context_takeover=1",
    ] {
        assert_refused(deflate(), &[ext]);
    }
}

#[test]
fn client_refuses_extensions_it_did_not_offer() {
    assert_refused(deflate(), &["x-webkit-deflate-frame"]);
    assert_refused(deflate(), &["permessage-deflate, x-other"]);
    // Accepted twice, in one header or two.
    assert_refused(deflate(), &["permessage-deflate, permessage-deflate"]);
    assert_refused(deflate(), &["permessage-deflate", "permessage-deflate"]);

    // A client without deflate configured offers nothing and must refuse it.
    let (mut client, req) =
        client_after_request(Config::default(), Request::new("example.com", "/"));
    assert!(header_of(&req, "sec-websocket-extensions", true).is_none());
    client.receive_bytes(&response_101(
        &request_key(&req),
        &["Sec-WebSocket-Extensions: permessage-deflate"],
    ));
    let err = client.next_event().unwrap().unwrap_err();
    assert_eq!(err.answer(), Answer::Drop);
    assert_eq!(client.state(), State::Closed);
}

#[test]
fn client_refuses_windows_above_what_it_offered_or_asked() {
    assert_refused(
        deflate().client_max_window_bits(Some(10)),
        &["permessage-deflate; client_max_window_bits=11"],
    );
    assert_refused(
        deflate().server_max_window_bits(Some(10)),
        &["permessage-deflate; server_max_window_bits=12"],
    );
}

/// A client opened against a hand-written response; returns it.
fn client_accepting(config: DeflateConfig, ext: &str) -> WsConnection {
    let (ev, client) = client_given(config, &[ext]);
    assert!(
        matches!(ev, Some(Ok(Event::AcceptConnection(_)))),
        "{ext}: {ev:?}"
    );
    assert_eq!(client.state(), State::Open);
    assert_eq!(client.extensions().len(), 1);
    client
}

/// The client sends `data`; returns the frame (checked independently).
fn client_frame(client: &mut WsConnection, data: &[u8]) -> WireFrame {
    client.send(BytesMessage::new(data.to_vec())).unwrap();
    let frames = parse_frames(&client.bytes_to_send());
    assert_eq!(frames.len(), 1);
    let f = frames.into_iter().next().unwrap();
    assert!(f.mask.is_some());
    f
}

#[test]
fn client_accepts_what_a_server_may_add_unasked() {
    // RFC 7692 §7.1.1.1: a server may reset its context unasked.
    client_accepting(deflate(), "permessage-deflate; server_no_context_takeover");
    // §7.1.2.1: a server may announce its window unasked.
    client_accepting(deflate(), "permessage-deflate; server_max_window_bits=10");
    client_accepting(
        deflate(),
        "permessage-deflate; server_max_window_bits=\"9\"",
    );
    // A lower window than asked is fine.
    client_accepting(
        deflate().server_max_window_bits(Some(12)),
        "permessage-deflate; server_max_window_bits=9",
    );
    // Equal to what was offered.
    client_accepting(
        deflate().client_max_window_bits(Some(10)),
        "permessage-deflate; client_max_window_bits=10",
    );
}

#[test]
fn client_obeys_client_no_context_takeover_from_the_server() {
    let mut client = client_accepting(deflate(), "permessage-deflate; client_no_context_takeover");
    let text = noise(2000, 5);
    let a = client_frame(&mut client, &text);
    let b = client_frame(&mut client, &text);
    assert_eq!(a.rsv, RSV1);
    assert_eq!(a.payload, b.payload, "the client kept its context");
    assert_eq!(inflate(&b.payload), text);

    // Without it the client keeps its context.
    let mut client = client_accepting(deflate(), "permessage-deflate");
    let a = client_frame(&mut client, &text);
    let b = client_frame(&mut client, &text);
    assert!(b.payload.len() * 4 < a.payload.len());
}

#[test]
fn client_obeys_client_max_window_bits_from_the_server() {
    let mut client = client_accepting(d9(), "permessage-deflate; client_max_window_bits=10");
    assert_window(
        |d| {
            let f = client_frame(&mut client, d);
            assert_eq!(inflate(&f.payload), d);
            f
        },
        10,
    );
    let mut client = client_accepting(deflate(), "permessage-deflate; client_max_window_bits=8");
    let f = client_frame(&mut client, &sample_text());
    assert_eq!(f.rsv, 0, "an 8-bit window means no compression");
}

#[test]
fn client_ignores_unrelated_headers_and_a_missing_extension() {
    // The server did not accept: the client runs uncompressed.
    let (ev, mut client) = client_given(deflate(), &[]);
    assert!(matches!(ev, Some(Ok(Event::AcceptConnection(_)))));
    assert!(client.extensions().is_empty());
    let f = client_frame(&mut client, &sample_text());
    assert_eq!(f.rsv, 0);
    // An empty extensions header accepts nothing either.
    let (ev, client) = client_given(deflate(), &[""]);
    assert!(matches!(ev, Some(Ok(Event::AcceptConnection(_)))), "{ev:?}");
    assert!(client.extensions().is_empty());
}
