//! The bodies of the fuzz targets, as plain functions of the input bytes so
//! that the `fuzz_targets/` binaries (libFuzzer), the corpus replay tests
//! and the `seeds` generator all run the same code.
//!
//! Each function panics when an invariant breaks; libFuzzer reports a panic
//! as a crash.

pub mod script;
mod whole_frames;
pub mod wire;

pub use whole_frames::whole_frames;

use std::io::IoSlice;

use wsproto::proto::frame::{FrameHeader, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN};
use wsproto::proto::{
    AcceptConnection, Answer, BytesMessage, CloseConnection, Config, DeflateConfig, Event, Header,
    Ping, Pong, RejectConnection, RejectData, Request, Role, State, TextMessage, WsConnection,
};

use script::{Cfg, Op, Script};
use wire::OutputChecker;

/// The `Sec-WebSocket-Accept` of RFC 6455 §1.3's example key. A client
/// target replaces it with the value its own (random) key calls for, so the
/// fuzzer can complete a handshake: see [`substitute_accept`].
pub const ACCEPT_PLACEHOLDER: &[u8] = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// `data` with the placeholder replaced by `accept` where it is the value
/// of a `Sec-WebSocket-Accept` header (after the name, the colon and any
/// blanks), and nowhere else: elsewhere the random value would make the
/// outcome depend on the key (a `/` in it is no token character, say).
pub fn substitute_accept(data: &[u8], accept: &[u8]) -> Vec<u8> {
    const NAME: &[u8] = b"sec-websocket-accept";
    let mut out = data.to_vec();
    let n = ACCEPT_PLACEHOLDER.len();
    let mut i = 0;
    while i + n <= out.len() {
        if &out[i..i + n] != ACCEPT_PLACEHOLDER {
            i += 1;
            continue;
        }
        let mut j = i;
        while j > 0 && matches!(out[j - 1], b' ' | b'\t') {
            j -= 1;
        }
        let after_name = j > NAME.len()
            && out[j - 1] == b':'
            && out[j - 1 - NAME.len()..j - 1].eq_ignore_ascii_case(NAME);
        if after_name {
            out[i..i + n].copy_from_slice(accept);
            i += n;
        } else {
            i += 1;
        }
    }
    out
}

/// Small limits, so that inputs of a few KiB reach every limit.
pub fn small_config() -> Config {
    Config::default()
        .max_frame_size(1024)
        .max_message_size(4096)
        .max_fragments(8)
        .max_handshake_size(512)
        .max_headers(8)
}

/// The permessage-deflate configuration of the connection targets (and of
/// the seeds recorded for them): small messages compressed too, and with
/// `no_takeover`, fresh contexts and 2^10-byte windows both ways.
pub fn deflate_config(no_takeover: bool) -> DeflateConfig {
    let c = DeflateConfig::default().min_size(8);
    if no_takeover {
        c.server_no_context_takeover(true)
            .client_no_context_takeover(true)
            .server_max_window_bits(Some(10))
            .client_max_window_bits(Some(10))
    } else {
        c
    }
}

// ---------------------------------------------------------------------------
// frame_header

/// `FrameHeader::decode` against an independent reading of RFC 6455 §5.2,
/// against its own encoder, and against every prefix of its input.
pub fn frame_header(data: &[u8]) {
    let decoded = FrameHeader::decode(data);
    match decoded {
        Ok(Some((h, len))) => {
            assert!(
                len <= data.len() && len <= MAX_HEADER_LEN,
                "header length {len}"
            );
            let expect_len =
                2 + match data[1] & 0x7f {
                    126 => 2,
                    127 => 8,
                    _ => 0,
                } + if data[1] & 0x80 != 0 { 4 } else { 0 };
            assert_eq!(len, expect_len, "header length");
            assert_eq!(h.fin, data[0] & 0x80 != 0);
            assert_eq!(h.rsv.bits(), data[0] & 0x70);
            assert_eq!(h.opcode as u8, data[0] & 0x0f);
            let want_len = match data[1] & 0x7f {
                126 => u64::from(u16::from_be_bytes([data[2], data[3]])),
                127 => u64::from_be_bytes(data[2..10].try_into().unwrap()),
                n => u64::from(n),
            };
            assert_eq!(h.payload_len, want_len);
            assert!(
                want_len >> 63 == 0,
                "accepted a length with the top bit set"
            );
            match h.mask {
                Some(k) => assert_eq!(&k[..], &data[len - 4..len]),
                None => assert_eq!(data[1] & 0x80, 0),
            }
            if h.opcode.is_control() {
                assert!(h.fin, "accepted a fragmented control frame");
                assert!(h.payload_len <= MAX_CONTROL_PAYLOAD as u64);
            }
            assert!(
                matches!(data[0] & 0x0f, 0 | 1 | 2 | 8 | 9 | 10),
                "accepted a reserved opcode"
            );
            // Its own encoding (always the shortest) decodes to the same.
            let mut buf = [0u8; MAX_HEADER_LEN];
            let n = h.encode(&mut buf);
            assert_eq!(FrameHeader::decode(&buf[..n]), Ok(Some((h, n))));
            assert!(n <= len);
            // Every strict prefix asks for more; more bytes change nothing.
            for cut in 0..len {
                assert_eq!(FrameHeader::decode(&data[..cut]), Ok(None), "prefix {cut}");
            }
        }
        Ok(None) => {
            // Only a prefix of a valid header may ask for more.
            assert!(
                data.len() < MAX_HEADER_LEN,
                "{} bytes were not enough",
                data.len()
            );
            for cut in 0..data.len() {
                assert_eq!(FrameHeader::decode(&data[..cut]), Ok(None), "prefix {cut}");
            }
        }
        Err(e) => {
            // The error is reported at the first offending byte: a shorter
            // prefix asks for more, and the first failing prefix fails alike.
            let first_bad = (0..=data.len())
                .find(|&cut| FrameHeader::decode(&data[..cut]).is_err())
                .expect("the whole input fails");
            assert_eq!(FrameHeader::decode(&data[..first_bad]), Err(e));
            assert!(first_bad <= 3, "error found only at byte {first_bad}");
        }
    }
}

// ---------------------------------------------------------------------------
// handshake_request / handshake_response

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

/// The value of the header `name` in an HTTP head.
pub fn find_header(head: &[u8], name: &[u8]) -> Option<Vec<u8>> {
    head.split(|&b| b == b'\n').find_map(|line| {
        let colon = line.iter().position(|&b| b == b':')?;
        line[..colon]
            .eq_ignore_ascii_case(name)
            .then(|| line[colon + 1..].trim_ascii().to_vec())
    })
}

/// `data` with every `from` replaced by `to` (of the same length).
pub fn replace_all(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = data.to_vec();
    let mut i = 0;
    while i + from.len() <= out.len() {
        if &out[i..i + from.len()] == from {
            out[i..i + from.len()].copy_from_slice(to);
            i += from.len();
        } else {
            i += 1;
        }
    }
    out
}

// ---------------------------------------------------------------------------
// server_connection / client_connection

/// Where the emitted bytes go.
#[derive(Debug)]
enum Sink {
    /// HTTP (a server's response or rejection), collected.
    Http(Vec<u8>),
    /// Frames, after skipping this many bytes of the 101 response.
    Frames { skip: usize },
}

/// Drives a [`WsConnection`] through a script, checking invariants after
/// every step.
struct Harness {
    ws: WsConnection,
    cfg: Cfg,
    sink: Sink,
    frames: OutputChecker,
    /// Every state seen, to check transitions.
    state: State,
    /// A `RemoteProtocolError` was reported; nothing may follow.
    failed: bool,
    /// Bytes emitted so far.
    emitted: usize,
    /// The received data message in progress: `Some(true)` for text.
    rx_text: Option<bool>,
    saw_request: bool,
    saw_accept: bool,
    saw_reject: Option<bool>,
    eof: bool,
    fed: usize,
}

fn legal(from: State, to: State) -> bool {
    use State::*;
    from == to
        || matches!(
            (from, to),
            (Connecting, Open | Closed | Rejecting)
                | (Open, LocalClosing | RemoteClosing | Closed)
                | (LocalClosing, Closed)
                | (RemoteClosing, Closed)
                | (Rejecting, Closed)
        )
}

impl Harness {
    fn new(role: Role, cfg: Cfg) -> Harness {
        let mut config = if cfg.small_limits {
            small_config()
        } else {
            Config::default()
        };
        config = config.auto_pong(!cfg.auto_pong_off);
        if cfg.deflate {
            config = config.deflate(deflate_config(cfg.no_takeover));
        }
        let ws = WsConnection::with_config(role, config);
        Harness {
            state: ws.state(),
            ws,
            cfg,
            sink: match role {
                Role::Server => Sink::Http(Vec::new()),
                Role::Client => Sink::Frames { skip: 0 },
            },
            frames: OutputChecker::new(role == Role::Client),
            failed: false,
            emitted: 0,
            rx_text: None,
            saw_request: false,
            saw_accept: false,
            saw_reject: None,
            eof: false,
            fed: 0,
        }
    }

    fn client(&self) -> bool {
        self.ws.role() == Role::Client
    }

    fn check_state(&mut self) {
        let now = self.ws.state();
        assert!(
            legal(self.state, now),
            "state went {:?} -> {now:?}",
            self.state
        );
        self.state = now;
        if self.failed {
            assert_eq!(now, State::Closed, "a failed connection must be closed");
        }
        if let Some(conn) = self.ws.connection() {
            assert!(
                conn.buffered_input() <= self.fed,
                "more input buffered than fed"
            );
            if now == State::Closed {
                assert_eq!(conn.buffered_input(), 0, "a closed connection keeps input");
            }
        }
    }

    /// Bytes the engine handed over for writing.
    fn emit(&mut self, bytes: &[u8]) {
        if bytes.is_empty() {
            return;
        }
        assert!(!self.failed, "output after the error answer");
        self.emitted += bytes.len();
        match &mut self.sink {
            Sink::Http(buf) => buf.extend_from_slice(bytes),
            Sink::Frames { skip } => {
                let n = (*skip).min(bytes.len());
                *skip -= n;
                self.frames.push(&bytes[n..]);
            }
        }
    }

    fn buffered_output(&self) -> Option<usize> {
        self.ws.connection().map(|c| c.buffered_output())
    }

    fn take_all(&mut self) {
        let out = self.ws.bytes_to_send();
        self.emit(&out);
        assert!(
            self.buffered_output().unwrap_or(0) == 0,
            "output left after bytes_to_send"
        );
    }

    fn take_into(&mut self) {
        let mut buf = vec![0xee; 3];
        self.ws.bytes_to_send_into(&mut buf);
        assert_eq!(
            &buf[..3],
            &[0xee; 3],
            "bytes_to_send_into overwrote the buffer"
        );
        self.emit(&buf[3..]);
    }

    fn write_some(&mut self, limit: usize) {
        let mut slices = [IoSlice::new(&[]); 4];
        let n = self.ws.output_vectored(&mut slices);
        let mut written = Vec::new();
        for s in &slices[..n] {
            let room = limit - written.len();
            written.extend_from_slice(&s[..s.len().min(room)]);
        }
        let k = written.len();
        self.ws.advance_output(k);
        self.emit(&written);
    }

    fn handle_events(&mut self) {
        loop {
            let pending = self.buffered_output().unwrap_or(0);
            let Some(event) = self.ws.next_event() else {
                break;
            };
            assert!(!self.failed, "an event after a protocol error: {event:?}");
            self.on_event(event, pending);
            self.check_state();
        }
        self.check_state();
    }

    fn on_event(&mut self, event: Result<Event, wsproto::RemoteProtocolError>, pending: usize) {
        let before = self.state;
        let event = match event {
            Ok(e) => e,
            Err(e) => return self.on_error(before, pending, e),
        };
        match event {
            Event::Request(req) => {
                assert!(!self.client() && !self.saw_request, "unexpected Request");
                self.saw_request = true;
                assert!(!req.target.is_empty());
                if self.cfg.reject {
                    let reject = RejectConnection {
                        status_code: 403,
                        headers: vec![Header::new("X-Fuzz", "no")],
                        has_body: self.cfg.reject_body,
                    };
                    self.ws.send(reject).expect("rejecting");
                    if self.cfg.reject_body {
                        assert_eq!(self.ws.state(), State::Rejecting);
                        self.ws
                            .send(RejectData {
                                data: b"go away\n"[..].into(),
                                body_finished: true,
                            })
                            .expect("rejection body");
                    }
                    assert_eq!(self.ws.state(), State::Closed);
                } else {
                    let mut accept = AcceptConnection::new().with_header("X-Fuzz", "yes");
                    if let Some(p) = req
                        .subprotocols
                        .first()
                        .filter(|_| self.cfg.pick_subprotocol)
                    {
                        accept = accept.with_subprotocol(p.clone());
                    }
                    self.ws.send(accept).expect("accepting a valid request");
                    assert_eq!(self.ws.state(), State::Open);
                    // Only the 101 response is queued: frames follow it.
                    let skip = self.buffered_output().expect("open");
                    let Sink::Http(http) = &self.sink else {
                        unreachable!()
                    };
                    assert!(http.is_empty(), "server wrote before deciding");
                    self.sink = Sink::Frames { skip };
                    self.on_open();
                }
            }
            Event::AcceptConnection(_) => {
                assert!(
                    self.client() && !self.saw_accept,
                    "unexpected AcceptConnection"
                );
                self.saw_accept = true;
                assert_eq!(self.ws.state(), State::Open);
                self.on_open();
            }
            Event::RejectConnection(r) => {
                assert!(self.client() && self.saw_reject.is_none());
                self.saw_reject = Some(r.has_body);
            }
            Event::RejectData(_) => {
                assert_eq!(self.saw_reject, Some(true), "RejectData without a body");
            }
            Event::TextMessage(m) => self.on_data(true, m.frame_finished, m.message_finished),
            Event::BytesMessage(m) => self.on_data(false, m.frame_finished, m.message_finished),
            Event::Ping(p) => {
                self.expect_frames_phase();
                assert!(p.payload.len() <= MAX_CONTROL_PAYLOAD);
            }
            Event::Pong(p) => {
                self.expect_frames_phase();
                assert!(p.payload.len() <= MAX_CONTROL_PAYLOAD);
            }
            Event::CloseConnection(c) => {
                self.expect_frames_phase();
                assert!(
                    matches!(self.ws.state(), State::RemoteClosing | State::Closed),
                    "after a close: {:?}",
                    self.ws.state()
                );
                assert!(
                    c.code.0 == 1005 || c.code.0 == 1006 || wire::close_code_allowed(c.code.0),
                    "reported close code {}",
                    c.code
                );
                self.rx_text = None;
                assert_eq!(self.ws.next_event(), None, "an event after the close");
            }
        }
    }

    fn on_open(&mut self) {
        let extensions = self.ws.extensions();
        assert!(
            extensions.len() <= 1,
            "{} extensions active",
            extensions.len()
        );
        if !extensions.is_empty() {
            assert!(
                self.cfg.deflate,
                "an extension active that was not configured"
            );
            self.frames.allow_compression();
        }
    }

    fn expect_frames_phase(&self) {
        assert!(
            matches!(self.state, State::Open | State::LocalClosing),
            "frame event in state {:?}",
            self.state
        );
    }

    fn on_data(&mut self, text: bool, frame_finished: bool, message_finished: bool) {
        self.expect_frames_phase();
        assert!(!message_finished || frame_finished);
        if let Some(t) = self.rx_text {
            assert_eq!(t, text, "text and binary pieces mixed in one message");
        }
        self.rx_text = (!message_finished).then_some(text);
    }

    /// `pending`: the output queued before the event that failed.
    fn on_error(&mut self, before: State, pending: usize, e: wsproto::RemoteProtocolError) {
        assert_eq!(self.ws.state(), State::Closed, "state after an error");
        assert_eq!(self.ws.next_event(), None, "an event after an error");
        // The answer is queued: take it now, then nothing more may come.
        let out = self.ws.bytes_to_send();
        self.emit(&out);
        match e.answer() {
            Answer::Http(status) => {
                assert!(!self.client() && before == State::Connecting);
                let Sink::Http(http) = &self.sink else {
                    panic!("HTTP answer on an open connection")
                };
                let line = format!("HTTP/1.1 {status} ");
                assert!(http.starts_with(line.as_bytes()), "{http:?}");
            }
            Answer::Close(code) => {
                assert_eq!(before, State::Open, "close answer sent when not open");
                assert_eq!(
                    self.frames.close,
                    Some(Some(code.0)),
                    "the answer must be the last frame: a close with {code}"
                );
                assert_eq!(self.frames.last_opcode, Some(0x8));
            }
            Answer::Drop => assert_eq!(out.len(), pending, "Drop, yet bytes were queued"),
        }
        self.failed = true;
    }

    fn feed(&mut self, bytes: &[u8]) {
        self.fed += bytes.len();
        let pieces: Vec<&[u8]> = match self.cfg.split {
            0 => vec![bytes],
            n => bytes.chunks(usize::from(n)).collect(),
        };
        for p in pieces {
            self.ws.receive_bytes(p);
            if !self.cfg.lazy_events {
                self.handle_events();
            }
        }
    }

    /// Runs an application send and checks that a refusal queues nothing.
    fn send(&mut self, event: Event) {
        let before = self.buffered_output();
        let had = self.ws.has_bytes_to_send();
        let state = self.ws.state();
        match self.ws.send(event) {
            Ok(()) => {
                if state == State::Open {
                    assert!(self.ws.has_bytes_to_send(), "a send queued nothing");
                }
            }
            Err(_) => {
                assert_eq!(
                    self.buffered_output(),
                    before,
                    "a refused send queued bytes"
                );
                assert_eq!(self.ws.has_bytes_to_send(), had);
                assert_eq!(self.ws.state(), state, "a refused send changed the state");
            }
        }
    }

    fn step(&mut self, op: Op, stream: &[u8]) {
        match op {
            Op::Feed { start, end } => self.feed(&stream[start..end]),
            Op::Eof => {
                self.eof = true;
                self.ws.receive_eof();
            }
            Op::SendText(x) => {
                const CHARS: [char; 4] = ['a', 'é', '€', '𝄞'];
                let s: String = (0..usize::from(x & 0x3f))
                    .map(|i| CHARS[(i + usize::from(x)) % 4])
                    .collect();
                self.send(TextMessage::fragment(s, x & 0x80 == 0).into());
            }
            Op::SendBinary(x) => {
                let data = vec![x; usize::from(x & 0x7f)];
                self.send(BytesMessage::fragment(data, x & 0x80 == 0).into());
            }
            Op::SendLarge(x) => {
                let data = vec![x; usize::from(x) * 64];
                self.send(BytesMessage::new(data).into());
            }
            Op::SendPing(x) => self.send(Ping::new(vec![b'p'; usize::from(x)]).into()),
            Op::SendPong(x) => self.send(Pong::new(vec![b'q'; usize::from(x)]).into()),
            Op::SendClose(code) => self.send(CloseConnection::new(code, "").into()),
            Op::WriteSome(x) => self.write_some(usize::from(x)),
            Op::TakeAll => self.take_all(),
            Op::TakeInto => self.take_into(),
            Op::Events => self.handle_events(),
        }
        if !self.cfg.lazy_events {
            self.handle_events();
        }
        if !self.cfg.lazy_output {
            self.take_all();
        }
        self.check_state();
    }

    fn finish(mut self) -> Summary {
        self.handle_events();
        self.take_all();
        self.check_state();
        if matches!(self.sink, Sink::Frames { skip: 0 }) {
            assert!(self.frames.at_boundary(), "output ends inside a frame");
        }
        if self.eof {
            assert_eq!(self.state, State::Closed, "EOF handled, all output taken");
        }
        // A refused connection stays refused.
        if self.failed {
            assert_eq!(self.ws.next_event(), None);
            assert!(!self.ws.has_bytes_to_send());
        }
        Summary {
            opened: self.saw_accept || matches!(self.sink, Sink::Frames { .. }) && !self.client(),
            frames_sent: self.frames.frames,
            compressed_sent: self.frames.compressed_messages,
            failed: self.failed,
            state: self.state,
        }
    }
}

/// What a connection script did, for the seed generator's report.
#[derive(Debug, Clone, Copy)]
pub struct Summary {
    /// The handshake completed.
    pub opened: bool,
    /// Frames the engine emitted (all checked).
    pub frames_sent: usize,
    /// Compressed messages among them (inflated by the checker).
    pub compressed_sent: usize,
    /// The peer broke the protocol.
    pub failed: bool,
    /// The final state.
    pub state: State,
}

/// Runs a connection script for `role` and reports what happened.
pub fn run_connection(role: Role, data: &[u8]) -> Summary {
    let mut script = Script::parse(data);
    let mut h = Harness::new(role, script.cfg);
    if role == Role::Client {
        let mut req = Request::new("example.com", "/chat");
        if script.cfg.offer_subprotocols {
            req = req.with_subprotocols(["chat", "superchat"]);
        }
        h.ws.send(req).expect("a valid request");
        let request = h.ws.bytes_to_send();
        assert!(request.starts_with(b"GET /chat HTTP/1.1\r\n"));
        let key = find_header(&request, b"sec-websocket-key").expect("a key");
        let accept = wsproto::proto::handshake::accept_key(&key);
        script.stream = substitute_accept(&script.stream, accept.as_bytes());
        h.check_state();
    }
    for op in script.ops.iter().copied() {
        h.step(op, &script.stream);
    }
    h.finish()
}

/// A whole server connection fed a script.
pub fn server_connection(data: &[u8]) {
    run_connection(Role::Server, data);
}

/// A whole client connection fed a script (after sending its request).
pub fn client_connection(data: &[u8]) {
    run_connection(Role::Client, data);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_placeholder_is_substituted_only_as_the_accept_value() {
        let p = std::str::from_utf8(ACCEPT_PLACEHOLDER).unwrap();
        let input = format!("Sec-WebSocket-Accept: {p}\r\nX: {p}\r\nsec-websocket-accept:{p}");
        let real = "0123456789012345678901234567";
        let got = substitute_accept(input.as_bytes(), real.as_bytes());
        let want = format!("Sec-WebSocket-Accept: {real}\r\nX: {p}\r\nsec-websocket-accept:{real}");
        assert_eq!(String::from_utf8(got).unwrap(), want);
    }
}
