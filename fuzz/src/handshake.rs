//! The `handshake_request` and `handshake_response` targets.

use wsproto::proto::{
    AcceptConnection, Answer, Config, DeflateConfig, Event, Request, Role, State, WsConnection,
};

use crate::{
    ACCEPT_PLACEHOLDER, deflate_config, find_header, replace_all, small_config, substitute_accept,
};

/// What feeding a handshake produced, to compare two feedings.
#[derive(Debug, PartialEq, Eq)]
struct Outcome {
    /// The first event, or the error, in `Debug` form.
    first: String,
    /// The rejection body a client read.
    body: Vec<u8>,
    body_finished: bool,
    state: State,
    output: Vec<u8>,
}

/// Feeds `data` to `ws` in pieces of `piece` bytes (all at once if 0),
/// handling events after each piece, then EOF.
/// `accept`: the real accept value that replaced the placeholder (client),
/// mapped back so that two clients with different keys compare equal.
fn feed_handshake(
    mut ws: WsConnection,
    data: &[u8],
    piece: usize,
    accept: Option<&[u8]>,
) -> Outcome {
    let normalize = |bytes: &[u8]| match accept {
        Some(a) => replace_all(bytes, a, ACCEPT_PLACEHOLDER),
        None => bytes.to_vec(),
    };
    let mut outcome = Outcome {
        first: String::new(),
        body: Vec::new(),
        body_finished: false,
        state: ws.state(),
        output: ws.bytes_to_send().to_vec(),
    };
    let server = ws.role() == Role::Server;
    let chunks: Vec<&[u8]> = if piece == 0 {
        vec![data]
    } else {
        data.chunks(piece).collect()
    };
    let mut done = false;
    let mut handle = |ws: &mut WsConnection, outcome: &mut Outcome| {
        while !done {
            let Some(event) = ws.next_event() else { break };
            if outcome.first.is_empty() {
                // Header values may hold the substituted accept value.
                outcome.first = match &event {
                    Ok(Event::RejectConnection(r)) => {
                        let mut r = r.clone();
                        for h in &mut r.headers {
                            h.value = normalize(&h.value);
                        }
                        format!("{r:?}")
                    }
                    Ok(Event::AcceptConnection(a)) => {
                        let mut a = a.clone();
                        for h in &mut a.extra_headers {
                            h.value = normalize(&h.value);
                        }
                        format!("{a:?}")
                    }
                    other => format!("{other:?}"),
                };
            }
            match event {
                Ok(Event::Request(req)) => {
                    assert!(server);
                    assert_eq!(ws.state(), State::Connecting);
                    assert!(!req.target.is_empty());
                    let accept = match req.subprotocols.first() {
                        Some(p) => AcceptConnection::new().with_subprotocol(p.clone()),
                        None => AcceptConnection::new(),
                    };
                    ws.send(accept).expect("accepting a valid request");
                    assert_eq!(ws.state(), State::Open);
                    let out = ws.bytes_to_send();
                    assert!(
                        out.starts_with(b"HTTP/1.1 101 Switching Protocols\r\n"),
                        "{out:?}"
                    );
                    outcome.output.extend_from_slice(&out);
                    done = true;
                }
                Ok(Event::AcceptConnection(_)) => {
                    assert!(!server);
                    assert_eq!(ws.state(), State::Open);
                    done = true;
                }
                Ok(Event::RejectConnection(r)) => {
                    assert!(!server);
                    // Not 1xx (skipped), nor 101, nor outside 100-599 (refused).
                    assert!((200..=599).contains(&r.status_code), "{}", r.status_code);
                    if r.has_body {
                        assert_eq!(ws.state(), State::Rejecting);
                    } else {
                        assert_eq!(ws.state(), State::Closed);
                    }
                }
                Ok(Event::RejectData(d)) => {
                    assert!(!server);
                    assert!(!outcome.body_finished, "body data after its end");
                    outcome.body.extend_from_slice(&d.data);
                    outcome.body_finished = d.body_finished;
                    if d.body_finished {
                        assert_eq!(ws.state(), State::Closed);
                    }
                }
                Ok(other) => panic!("unexpected handshake event {other:?}"),
                Err(e) => {
                    assert_eq!(ws.state(), State::Closed);
                    assert_eq!(ws.next_event(), None, "an event after an error");
                    let out = ws.bytes_to_send();
                    match e.answer() {
                        Answer::Http(status) => {
                            assert!(server, "a client answered HTTP");
                            assert!(matches!(status, 400 | 426 | 431), "status {status}");
                            let line = format!("HTTP/1.1 {status} ");
                            assert!(out.starts_with(line.as_bytes()), "{out:?}");
                        }
                        Answer::Drop => assert!(out.is_empty(), "answer Drop but {out:?}"),
                        Answer::Close(c) => panic!("close {c} during the handshake"),
                    }
                    outcome.output.extend_from_slice(&out);
                    done = true;
                }
            }
        }
    };
    for chunk in chunks {
        ws.receive_bytes(chunk);
        handle(&mut ws, &mut outcome);
    }
    ws.receive_eof();
    handle(&mut ws, &mut outcome);
    outcome.state = ws.state();
    outcome.output.extend_from_slice(&ws.bytes_to_send());
    outcome.body = normalize(&outcome.body);
    outcome
}

/// Default limits, small limits, and permessage-deflate (whose parameter
/// negotiation then parses the offers or the response).
fn handshake_configs() -> [Config; 4] {
    [
        Config::default(),
        small_config(),
        Config::default().deflate(DeflateConfig::default()),
        Config::default().deflate(deflate_config(true)),
    ]
}

/// The server's request parser: any bytes, fed at once and byte by byte,
/// with each of [`handshake_configs`], must give the same outcome and a
/// well-formed answer.
pub fn handshake_request(data: &[u8]) {
    for config in handshake_configs() {
        let server = |config| WsConnection::with_config(Role::Server, config);
        let whole = feed_handshake(server(config.clone()), data, 0, None);
        let bytewise = feed_handshake(server(config), data, 1, None);
        // The accept key in a 101 is deterministic, so outputs compare too.
        assert_eq!(whole, bytewise, "whole vs byte-by-byte");
    }
}

/// A client that sent its request, `data` with the placeholder replaced,
/// and the accept value that replaced it.
fn client_after_request(config: Config, data: &[u8]) -> (WsConnection, Vec<u8>, String) {
    let mut ws = WsConnection::with_config(Role::Client, config);
    ws.send(Request::new("example.com", "/chat").with_subprotocols(["chat", "superchat"]))
        .expect("a valid request");
    let request = ws.bytes_to_send();
    let key = find_header(&request, b"sec-websocket-key").expect("the request has a key");
    let accept = wsproto::proto::handshake::accept_key(&key);
    let input = substitute_accept(data, accept.as_bytes());
    (ws, input, accept)
}

/// The client's response parser: the same checks as for requests.
pub fn handshake_response(data: &[u8]) {
    for config in handshake_configs() {
        let (ws, input, accept) = client_after_request(config.clone(), data);
        let whole = feed_handshake(ws, &input, 0, Some(accept.as_bytes()));
        let (ws, input, accept) = client_after_request(config, data);
        let mut bytewise = feed_handshake(ws, &input, 1, Some(accept.as_bytes()));
        // The two clients have different keys, so a body holding part of
        // the substituted accept value differs; only its length must agree.
        if whole.body != bytewise.body && whole.body.len() == bytewise.body.len() {
            bytewise.body.clone_from(&whole.body);
        }
        assert_eq!(whole, bytewise, "whole vs byte-by-byte");
    }
}
