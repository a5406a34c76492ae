//! The `server_connection` and `client_connection` targets: a [`Harness`]
//! runs a connection script and checks invariants after every step.

use std::io::IoSlice;

use wsproto::proto::frame::MAX_CONTROL_PAYLOAD;
use wsproto::proto::{
    AcceptConnection, Answer, BytesMessage, CloseConnection, Config, Event, Header, Ping, Pong,
    RejectConnection, RejectData, Request, Role, State, TextMessage, WsConnection,
};

use crate::script::{Cfg, Op, Script};
use crate::wire::{self, OutputChecker};
use crate::{deflate_config, find_header, small_config, substitute_accept};

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
