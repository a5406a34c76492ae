//! Helpers shared by the core integration tests: an independent frame
//! encoder/decoder, HTTP parsing of queued responses (httparse), handshake
//! shortcuts and a message coalescer.
//!
//! The frame codec here is written from RFC 6455 §5.2 on purpose, without
//! using the crate's own `frame` module, so the tests check the wire format
//! against a second implementation.

#![allow(dead_code)]

use base64::Engine as _;
use sha1::{Digest, Sha1};
use wsproto::proto::{
    AcceptConnection, Answer, Config, Connection, Event, RemoteProtocolError, Request, Role, State,
    WsConnection,
};

/// RFC 6455 §1.3: the sample key and its accept value.
pub const RFC_KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
pub const RFC_ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// The masking key of the RFC 6455 §5.7 examples.
pub const RFC_MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// Opcodes, for readability.
pub const CONT: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xa;
pub const FIN: u8 = 0x80;

/// The RFC 6455 §1.3 sample client handshake, byte for byte.
pub fn rfc_request() -> Vec<u8> {
    format!(
        "GET /chat HTTP/1.1\r\n\
         Host: server.example.com\r\n\
         Upgrade: websocket\r\n\
         Connection: Upgrade\r\n\
         Sec-WebSocket-Key: {RFC_KEY}\r\n\
         Origin: http://example.com\r\n\
         Sec-WebSocket-Protocol: chat, superchat\r\n\
         Sec-WebSocket-Version: 13\r\n\r\n"
    )
    .into_bytes()
}

/// A request made of `request_line` and `headers` (one `Name: value` each).
pub fn raw_request(request_line: &str, headers: &[&str]) -> Vec<u8> {
    let mut s = format!("{request_line}\r\n");
    for h in headers {
        s.push_str(h);
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    s.into_bytes()
}

/// The headers of a valid minimal request, for tests that alter one.
pub fn good_headers() -> Vec<&'static str> {
    vec![
        "Host: example.com",
        "Upgrade: websocket",
        "Connection: Upgrade",
        "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==",
        "Sec-WebSocket-Version: 13",
    ]
}

/// `Sec-WebSocket-Accept` for `key`, computed independently of the crate.
pub fn accept_for(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

/// Encodes one frame: `b0` is the first header byte (FIN, RSV, opcode).
pub fn frame(b0: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![b0];
    let mbit = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n @ 0..=125 => out.push(mbit | n as u8),
        n @ 126..=0xffff => {
            out.push(mbit | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(mbit | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        None => out.extend_from_slice(payload),
        Some(key) => {
            out.extend_from_slice(&key);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ key[i % 4]));
        }
    }
    out
}

/// A masked frame, as a client sends it.
pub fn masked(b0: u8, payload: &[u8]) -> Vec<u8> {
    frame(b0, Some(RFC_MASK), payload)
}

/// An unmasked frame, as a server sends it.
pub fn unmasked(b0: u8, payload: &[u8]) -> Vec<u8> {
    frame(b0, None, payload)
}

/// A close frame payload.
pub fn close_payload(code: u16, reason: &[u8]) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason);
    p
}

/// A frame as found on the wire, already unmasked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WireFrame {
    pub fin: bool,
    pub rsv: u8,
    pub opcode: u8,
    pub mask: Option<[u8; 4]>,
    pub payload: Vec<u8>,
}

impl WireFrame {
    /// The close code of a close frame, if it has one.
    pub fn close_code(&self) -> Option<u16> {
        assert_eq!(self.opcode, CLOSE, "not a close frame: {self:?}");
        (self.payload.len() >= 2).then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }
}

/// Decodes a sequence of complete frames; panics on trailing garbage.
pub fn parse_frames(mut bytes: &[u8]) -> Vec<WireFrame> {
    let mut frames = Vec::new();
    while !bytes.is_empty() {
        assert!(bytes.len() >= 2, "truncated frame header: {bytes:?}");
        let b0 = bytes[0];
        let b1 = bytes[1];
        let (len, mut pos) = match b1 & 0x7f {
            126 => (u16::from_be_bytes([bytes[2], bytes[3]]) as usize, 4),
            127 => (
                u64::from_be_bytes(bytes[2..10].try_into().unwrap()) as usize,
                10,
            ),
            n => (n as usize, 2),
        };
        let mask = if b1 & 0x80 != 0 {
            let k: [u8; 4] = bytes[pos..pos + 4].try_into().unwrap();
            pos += 4;
            Some(k)
        } else {
            None
        };
        assert!(bytes.len() >= pos + len, "truncated frame payload");
        let mut payload = bytes[pos..pos + len].to_vec();
        if let Some(k) = mask {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= k[i % 4];
            }
        }
        frames.push(WireFrame {
            fin: b0 & 0x80 != 0,
            rsv: b0 & 0x70,
            opcode: b0 & 0x0f,
            mask,
            payload,
        });
        bytes = &bytes[pos + len..];
    }
    frames
}

/// A parsed HTTP response, as queued by a server.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl HttpResponse {
    /// The first header called `name` (case-insensitively).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

/// Parses a complete response head (and whatever follows it, as the body)
/// with httparse.
pub fn parse_response(bytes: &[u8]) -> HttpResponse {
    let mut storage = [httparse::EMPTY_HEADER; 64];
    let mut res = httparse::Response::new(&mut storage);
    let httparse::Status::Complete(n) = res.parse(bytes).expect("a valid HTTP response") else {
        panic!("incomplete response: {:?}", String::from_utf8_lossy(bytes));
    };
    HttpResponse {
        status: res.code.unwrap(),
        headers: res
            .headers
            .iter()
            .map(|h| {
                (
                    h.name.to_owned(),
                    String::from_utf8(h.value.to_vec()).unwrap(),
                )
            })
            .collect(),
        body: bytes[n..].to_vec(),
    }
}

/// The `Sec-WebSocket-Key` of a request a client queued.
pub fn request_key(bytes: &[u8]) -> String {
    let mut storage = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut storage);
    assert!(req.parse(bytes).unwrap().is_complete());
    let key = req
        .headers
        .iter()
        .find(|h| h.name.eq_ignore_ascii_case("sec-websocket-key"))
        .expect("a key");
    String::from_utf8(key.value.to_vec()).unwrap()
}

/// A 101 response accepting `key`, with extra header lines.
pub fn response_101(key: &str, extra: &[&str]) -> Vec<u8> {
    let mut s = format!(
        "HTTP/1.1 101 Switching Protocols\r\n\
         Upgrade: websocket\r\n\
         Connection: Upgrade\r\n\
         Sec-WebSocket-Accept: {}\r\n",
        accept_for(key)
    );
    for h in extra {
        s.push_str(h);
        s.push_str("\r\n");
    }
    s.push_str("\r\n");
    s.into_bytes()
}

/// A client that has sent its request; returns it and the request bytes.
pub fn client_after_request(config: Config, req: Request) -> (WsConnection, Vec<u8>) {
    let mut client = WsConnection::with_config(Role::Client, config);
    client.send(req).unwrap();
    let bytes = client.bytes_to_send().to_vec();
    assert_eq!(client.state(), State::Connecting);
    (client, bytes)
}

/// A client whose handshake completed against a hand-written 101.
pub fn open_client_with(config: Config) -> WsConnection {
    let (mut client, req) = client_after_request(config, Request::new("example.com", "/"));
    client.receive_bytes(&response_101(&request_key(&req), &[]));
    assert!(matches!(
        client.next_event(),
        Some(Ok(Event::AcceptConnection(_)))
    ));
    assert_eq!(client.state(), State::Open);
    assert!(client.bytes_to_send().is_empty());
    client
}

pub fn open_client() -> WsConnection {
    open_client_with(Config::default())
}

/// A server that accepted the RFC sample request; its 101 was taken.
pub fn open_server_with(config: Config) -> WsConnection {
    let mut server = WsConnection::with_config(Role::Server, config);
    server.receive_bytes(&rfc_request());
    assert!(matches!(server.next_event(), Some(Ok(Event::Request(_)))));
    server.send(AcceptConnection::new()).unwrap();
    let resp = parse_response(&server.bytes_to_send());
    assert_eq!(resp.status, 101);
    assert_eq!(server.state(), State::Open);
    server
}

pub fn open_server() -> WsConnection {
    open_server_with(Config::default())
}

/// A client and a server, handshake completed in memory.
pub fn open_pair_with(client_cfg: Config, server_cfg: Config) -> (WsConnection, WsConnection) {
    let mut client = WsConnection::with_config(Role::Client, client_cfg);
    let mut server = WsConnection::with_config(Role::Server, server_cfg);
    client.send(Request::new("example.com", "/")).unwrap();
    transfer(&mut client, &mut server);
    assert!(matches!(server.next_event(), Some(Ok(Event::Request(_)))));
    server.send(AcceptConnection::new()).unwrap();
    transfer(&mut server, &mut client);
    assert!(matches!(
        client.next_event(),
        Some(Ok(Event::AcceptConnection(_)))
    ));
    assert_eq!(client.state(), State::Open);
    assert_eq!(server.state(), State::Open);
    (client, server)
}

pub fn open_pair() -> (WsConnection, WsConnection) {
    open_pair_with(Config::default(), Config::default())
}

/// Moves everything `from` has queued into `to`; returns the byte count.
pub fn transfer(from: &mut WsConnection, to: &mut WsConnection) -> usize {
    let bytes = from.bytes_to_send();
    to.receive_bytes(&bytes);
    bytes.len()
}

/// Every event currently available.
pub fn drain(conn: &mut WsConnection) -> Vec<Result<Event, RemoteProtocolError>> {
    conn.events().collect()
}

/// Every event currently available, which must all be `Ok`.
pub fn drain_ok(conn: &mut WsConnection) -> Vec<Event> {
    conn.events()
        .map(|e| e.unwrap_or_else(|err| panic!("unexpected error: {err}")))
        .collect()
}

/// Every event a bare [`Connection`] has available, which must all be `Ok`.
pub fn drain_conn_ok(conn: &mut Connection) -> Vec<Event> {
    conn.events()
        .map(|e| e.unwrap_or_else(|err| panic!("unexpected error: {err}")))
        .collect()
}

/// Asserts that a failure queued exactly one close frame carrying `code`,
/// as the last frame (only a pong owed for an earlier ping may precede it).
pub fn assert_close_answer(err: &RemoteProtocolError, out: &[u8], code: u16) {
    assert_eq!(err.close_code().map(|c| c.0), Some(code), "{err}");
    assert_eq!(err.answer(), Answer::Close(code.into()));
    assert_eq!(err.http_status(), None);
    let frames = parse_frames(out);
    let (close, earlier) = frames.split_last().expect("a close frame");
    assert!(
        earlier.len() <= 1 && earlier.iter().all(|f| f.opcode == PONG),
        "expected one close frame: {frames:?}"
    );
    assert_eq!(close.opcode, CLOSE);
    assert!(close.fin);
    assert_eq!(close.close_code(), Some(code));
    assert!(close.payload.len() <= 125);
    assert!(std::str::from_utf8(&close.payload[2..]).is_ok());
}

/// One whole message or control event, for comparing streams regardless of
/// how they were split into frames and reads.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Msg {
    Request(String),
    Accept,
    Text(String),
    Binary(Vec<u8>),
    Ping(Vec<u8>),
    Pong(Vec<u8>),
    Close(u16, String),
}

/// Joins `TextMessage` / `BytesMessage` pieces into whole messages.
#[derive(Debug, Default)]
pub struct Coalescer {
    text: Option<Vec<u8>>,
    binary: Option<Vec<u8>>,
    pub messages: Vec<Msg>,
}

impl Coalescer {
    pub fn push(&mut self, event: Event) {
        match event {
            Event::Request(r) => self.messages.push(Msg::Request(r.target)),
            Event::AcceptConnection(_) => self.messages.push(Msg::Accept),
            Event::TextMessage(m) => {
                assert!(self.binary.is_none(), "text inside a binary message");
                let buf = self.text.get_or_insert_with(Vec::new);
                buf.extend_from_slice(m.data.as_bytes());
                if m.message_finished {
                    assert!(m.frame_finished);
                    let t = String::from_utf8(self.text.take().unwrap()).unwrap();
                    self.messages.push(Msg::Text(t));
                }
            }
            Event::BytesMessage(m) => {
                assert!(self.text.is_none(), "binary inside a text message");
                let buf = self.binary.get_or_insert_with(Vec::new);
                buf.extend_from_slice(&m.data);
                if m.message_finished {
                    assert!(m.frame_finished);
                    self.messages.push(Msg::Binary(self.binary.take().unwrap()));
                }
            }
            Event::Ping(p) => self.messages.push(Msg::Ping(p.payload.to_vec())),
            Event::Pong(p) => self.messages.push(Msg::Pong(p.payload.to_vec())),
            Event::CloseConnection(c) => self.messages.push(Msg::Close(c.code.0, c.reason)),
            other => panic!("unexpected event {other:?}"),
        }
    }

    /// Whether a message is half received.
    pub fn in_message(&self) -> bool {
        self.text.is_some() || self.binary.is_some()
    }
}
