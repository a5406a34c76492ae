//! [`WsConnection`]: the HTTP/1.1 opening handshake (client or server),
//! then the frame engine, [`Connection`], behind one Sans-I/O surface.

use std::io::IoSlice;

use bytes::{Bytes, BytesMut};

use super::body::{BodyReader, BodyStep};
use super::error::{Answer, LocalProtocolError, RemoteProtocolError};
use super::events::{AcceptConnection, Event, RejectConnection, RejectData, Request};
use super::extensions::{self, Extension};
use super::handshake::{self, HeadScanner, ParsedRequest};
use super::outbuf::OutBuffer;
use super::{Config, Connection, Events, Role, State};
use crate::trace::ws_debug;

/// Interim (1xx) responses a client skips before giving up on a server.
const MAX_INTERIM_RESPONSES: u8 = 8;

/// Where a [`WsConnection`] is in its life.
// `Open` is the large variant and the one a connection spends its life in;
// boxing it would cost an allocation and an indirection for nothing.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
enum Phase {
    /// A client that has not sent its request.
    ClientIdle,
    /// A client waiting for the response to its request.
    AwaitingResponse {
        /// Interim (1xx) responses skipped so far.
        interim: u8,
        key: String,
        subprotocols: Vec<String>,
        scanner: HeadScanner,
    },
    /// A server waiting for the request.
    AwaitingRequest { scanner: HeadScanner },
    /// A server that reported the request and waits for the application's
    /// decision.
    AwaitingDecision(Box<ParsedRequest>),
    /// Handshake done: frames.
    Open(Connection),
    /// A client reading a rejection body.
    ReadingRejection(BodyReader),
    /// A server sending a rejection body.
    SendingRejection,
    /// Over before (or without) opening.
    Closed,
}

/// A WebSocket connection over HTTP/1.1: the opening handshake, then
/// messages, pings and the close handshake, for either role.
///
/// ```
/// use wsproto::proto::{Event, Request, Role, State, TextMessage, WsConnection};
///
/// let mut client = WsConnection::new(Role::Client);
/// let mut server = WsConnection::new(Role::Server);
/// client.send(Request::new("example.com", "/chat")).unwrap();
/// server.receive_bytes(&client.bytes_to_send());
/// let Some(Ok(Event::Request(req))) = server.next_event() else { panic!() };
/// assert_eq!(req.target, "/chat");
/// server.send(wsproto::proto::AcceptConnection::new()).unwrap();
/// client.receive_bytes(&server.bytes_to_send());
/// assert!(matches!(client.next_event(), Some(Ok(Event::AcceptConnection(_)))));
/// assert_eq!(client.state(), State::Open);
///
/// client.send(TextMessage::new("hello")).unwrap();
/// server.receive_bytes(&client.bytes_to_send());
/// match server.next_event() {
///     Some(Ok(Event::TextMessage(m))) => assert_eq!(m.data, "hello"),
///     other => panic!("{other:?}"),
/// }
/// ```
#[derive(Debug)]
pub struct WsConnection {
    role: Role,
    config: Config,
    phase: Phase,
    /// Handshake-phase input; handed to the [`Connection`] once open.
    in_buf: BytesMut,
    /// Handshake-phase output; handed to the [`Connection`] once open.
    out: OutBuffer,
    eof: bool,
}

impl WsConnection {
    /// A connection with the default [`Config`].
    pub fn new(role: Role) -> WsConnection {
        WsConnection::with_config(role, Config::default())
    }

    /// A connection with `config`.
    pub fn with_config(role: Role, config: Config) -> WsConnection {
        let phase = match role {
            Role::Client => Phase::ClientIdle,
            Role::Server => Phase::AwaitingRequest {
                scanner: HeadScanner::default(),
            },
        };
        WsConnection {
            role,
            config,
            phase,
            in_buf: BytesMut::new(),
            out: OutBuffer::default(),
            eof: false,
        }
    }

    /// Which side of the connection this is.
    pub fn role(&self) -> Role {
        self.role
    }

    /// The connection's state.
    pub fn state(&self) -> State {
        match &self.phase {
            Phase::ClientIdle
            | Phase::AwaitingResponse { .. }
            | Phase::AwaitingRequest { .. }
            | Phase::AwaitingDecision(_) => State::Connecting,
            Phase::Open(conn) => conn.state(),
            Phase::ReadingRejection(_) | Phase::SendingRejection => State::Rejecting,
            Phase::Closed => State::Closed,
        }
    }

    /// The frame engine, once the handshake has completed.
    pub fn connection(&self) -> Option<&Connection> {
        match &self.phase {
            Phase::Open(conn) => Some(conn),
            _ => None,
        }
    }

    /// Hands over the frame engine once the handshake has completed, for
    /// code that drives frames directly; returns `self` unchanged otherwise.
    pub fn into_connection(self) -> Result<Connection, Box<WsConnection>> {
        match self.phase {
            Phase::Open(conn) => Ok(conn),
            phase => Err(Box::new(WsConnection { phase, ..self })),
        }
    }

    /// The extensions negotiated in the handshake (empty before it ends).
    pub fn extensions(&self) -> &[Box<dyn Extension>] {
        self.connection().map_or(&[], |c| &c.config().extensions)
    }

    /// Feeds bytes received from the peer; they are parsed by
    /// [`Self::next_event`].
    pub fn receive_bytes(&mut self, data: &[u8]) {
        match &mut self.phase {
            Phase::Open(conn) => conn.receive_bytes(data),
            Phase::Closed => {}
            _ if self.eof => {}
            _ => self.in_buf.extend_from_slice(data),
        }
    }

    /// Reports that the peer closed its side of the transport.
    pub fn receive_eof(&mut self) {
        self.eof = true;
        if let Phase::Open(conn) = &mut self.phase {
            conn.receive_eof();
        }
    }

    /// An iterator over the events in the bytes received so far. To answer
    /// events as they come, loop over [`Self::next_event`] instead: the
    /// iterator borrows the connection.
    pub fn events(&mut self) -> Events<'_, WsConnection> {
        Events::new(self)
    }

    /// Parses and returns the next event, or `None` when more bytes are
    /// needed, the application must decide (a server holding a `Request`),
    /// or the connection is over.
    pub fn next_event(&mut self) -> Option<Result<Event, RemoteProtocolError>> {
        loop {
            return match &mut self.phase {
                Phase::Open(conn) => conn.next_event(),
                Phase::AwaitingRequest { scanner } => {
                    // Judged before the head is looked for, so the answer is
                    // the same however the bytes were split.
                    if let Some(why) = not_a_request_start(&self.in_buf) {
                        return Some(Err(self.refuse(RemoteProtocolError::http(400, why))));
                    }
                    let Some(head_len) =
                        find_head(scanner, &self.in_buf, self.config.max_handshake_size)
                    else {
                        if self.in_buf.len() >= self.config.max_handshake_size {
                            let limit = self.config.max_handshake_size;
                            return Some(Err(self.refuse(RemoteProtocolError::http(
                                431,
                                format!("request head exceeds {limit} bytes"),
                            ))));
                        }
                        return self.ended_during_handshake();
                    };
                    let head = self.in_buf.split_to(head_len);
                    match handshake::parse_request(&head, self.config.max_headers) {
                        Ok(parsed) => {
                            let request = parsed.request.clone();
                            self.phase = Phase::AwaitingDecision(Box::new(parsed));
                            Some(Ok(Event::Request(request)))
                        }
                        Err(e) => Some(Err(self.refuse(e))),
                    }
                }
                Phase::AwaitingResponse { scanner, .. } => {
                    if let Some(why) = not_a_response_start(&self.in_buf) {
                        return Some(Err(self.abandon(why)));
                    }
                    let Some(head_len) =
                        find_head(scanner, &self.in_buf, self.config.max_handshake_size)
                    else {
                        if self.in_buf.len() >= self.config.max_handshake_size {
                            return Some(Err(self.abandon("response head too large".into())));
                        }
                        return self.ended_during_handshake();
                    };
                    scanner.reset();
                    let head = self.in_buf.split_to(head_len);
                    match self.on_response(&head) {
                        // An interim response (e.g. 100 Continue): the real one follows.
                        Ok(None) => continue,
                        Ok(Some(event)) => Some(Ok(event)),
                        Err(e) => Some(Err(e)),
                    }
                }
                Phase::ReadingRejection(reader) => match reader.step(&mut self.in_buf, self.eof) {
                    BodyStep::NeedMore => None,
                    BodyStep::Data(data, body_finished) => {
                        if body_finished {
                            self.phase = Phase::Closed;
                            self.in_buf = BytesMut::new();
                        }
                        Some(Ok(Event::RejectData(RejectData {
                            data,
                            body_finished,
                        })))
                    }
                    BodyStep::Error(e) => Some(Err(self.abandon(e.into()))),
                },
                Phase::ClientIdle
                | Phase::AwaitingDecision(_)
                | Phase::SendingRejection
                | Phase::Closed => None,
            };
        }
    }

    /// EOF before the handshake completed ends the connection with an error.
    fn ended_during_handshake(&mut self) -> Option<Result<Event, RemoteProtocolError>> {
        if !self.eof {
            return None;
        }
        Some(Err(self.abandon(
            "connection closed during the opening handshake".into(),
        )))
    }

    /// A server refuses a bad request: the error response is queued.
    fn refuse(&mut self, err: RemoteProtocolError) -> RemoteProtocolError {
        // A bad request is the client's fault: `debug`, not a warning.
        ws_debug!("handshake request refused: {err}");
        self.out
            .append(|out| handshake::write_error_response(out, &err));
        self.phase = Phase::Closed;
        self.in_buf = BytesMut::new();
        err
    }

    /// The handshake failed where no answer can be sent: drop the transport.
    fn abandon(&mut self, message: String) -> RemoteProtocolError {
        ws_debug!("handshake failed: {message}");
        self.phase = Phase::Closed;
        self.in_buf = BytesMut::new();
        RemoteProtocolError::new(Answer::Drop, message)
    }

    /// A client handles the server's response head; `None` for an interim
    /// (1xx) response, which is skipped.
    fn on_response(&mut self, head: &[u8]) -> Result<Option<Event>, RemoteProtocolError> {
        let response = handshake::parse_response(head, self.config.max_headers)
            .map_err(|e| self.abandon(e.message().to_owned()))?;
        if !(100..=599).contains(&response.status) {
            // RFC 9110 §15: a status is three digits from 100 to 599.
            let status = response.status;
            return Err(self.abandon(format!("malformed handshake response: status {status}")));
        }
        if response.status != 101 {
            if (100..200).contains(&response.status) {
                let Phase::AwaitingResponse { interim, .. } = &mut self.phase else {
                    unreachable!()
                };
                *interim += 1;
                if *interim > MAX_INTERIM_RESPONSES {
                    return Err(self.abandon("too many interim (1xx) responses".into()));
                }
                return Ok(None);
            }
            ws_debug!("handshake rejected by the server: HTTP {}", response.status);
            let reader = BodyReader::for_response(response.status, &response.headers);
            let has_body = reader.is_some();
            self.phase = match reader {
                Some(r) => Phase::ReadingRejection(r),
                None => Phase::Closed,
            };
            return Ok(Some(Event::RejectConnection(RejectConnection {
                status_code: response.status,
                headers: response.headers,
                has_body,
            })));
        }
        let Phase::AwaitingResponse {
            key, subprotocols, ..
        } = &self.phase
        else {
            unreachable!()
        };
        let accepted = handshake::validate_accept(&response.headers, key, subprotocols)
            .and_then(|accepted| {
                let active = extensions::finalize(&self.config.extensions, &accepted.extensions)?;
                Ok((accepted, active))
            })
            .map_err(|m| self.abandon(m))?;
        let (accepted, active) = accepted;
        ws_debug!(
            "handshake accepted by the server; subprotocol {:?}, extensions [{}]",
            accepted.subprotocol,
            extensions::names(&active)
        );
        self.open(active);
        Ok(Some(Event::AcceptConnection(AcceptConnection {
            subprotocol: accepted.subprotocol,
            extra_headers: accepted.extra_headers,
        })))
    }

    /// Hands over to the frame engine with the negotiated extensions.
    fn open(&mut self, extensions: Vec<Box<dyn Extension>>) {
        let config = self.config.with_extensions(extensions);
        let mut conn = Connection::from_handshake(
            self.role,
            config,
            std::mem::take(&mut self.in_buf),
            std::mem::take(&mut self.out),
        );
        if self.eof {
            conn.receive_eof();
        }
        self.phase = Phase::Open(conn);
    }

    /// Sends an event. Which events are valid depends on the role and state:
    /// a client starts with [`Request`]; a server answers a received request
    /// with [`AcceptConnection`] or [`RejectConnection`] (then
    /// [`RejectData`]); once open, either side sends messages, pings, pongs
    /// and [`CloseConnection`](super::CloseConnection).
    pub fn send(&mut self, event: impl Into<Event>) -> Result<(), LocalProtocolError> {
        let event = event.into();
        let name = event.name();
        let state = self.state();
        let result = match (&mut self.phase, event) {
            (
                Phase::Open(conn),
                ev @ (Event::TextMessage(_)
                | Event::BytesMessage(_)
                | Event::Ping(_)
                | Event::Pong(_)
                | Event::CloseConnection(_)),
            ) => return conn.send(ev),
            (Phase::ClientIdle, Event::Request(req)) => self.send_request(req),
            (Phase::AwaitingDecision(_), Event::AcceptConnection(accept)) => {
                self.send_accept(accept)
            }
            (Phase::AwaitingDecision(_), Event::RejectConnection(reject)) => {
                self.send_reject(reject)
            }
            (Phase::SendingRejection, Event::RejectData(data)) => {
                self.out.extend_from_slice(&data.data);
                if data.body_finished {
                    self.phase = Phase::Closed;
                }
                Ok(())
            }
            _ => Err(LocalProtocolError::WrongState { event: name, state }),
        };
        if let Err(e) = &result {
            // The application's mistake, and it is told so by the error.
            ws_debug!("refused to send: {e}");
        }
        result
    }

    fn send_request(&mut self, req: Request) -> Result<(), LocalProtocolError> {
        handshake::check_request(&req)?;
        let key = handshake::generate_key();
        let offers = extensions::offers(&self.config.extensions);
        self.out
            .append(|out| handshake::write_request(out, &req, &key, &offers));
        self.phase = Phase::AwaitingResponse {
            interim: 0,
            key,
            subprotocols: req.subprotocols,
            scanner: HeadScanner::default(),
        };
        Ok(())
    }

    fn send_accept(&mut self, accept: AcceptConnection) -> Result<(), LocalProtocolError> {
        let Phase::AwaitingDecision(parsed) = &self.phase else {
            unreachable!()
        };
        handshake::check_accept(&parsed.request, &accept)?;
        // Take the client's offers in its order of preference; each
        // configured extension accepts at most one.
        let (active, responses) = extensions::negotiate(&self.config.extensions, &parsed.offers);
        ws_debug!(
            "handshake accepted; subprotocol {:?}, extensions [{}]",
            accept.subprotocol,
            extensions::names(&active)
        );
        self.out.append(|out| {
            handshake::write_accept(
                out,
                &parsed.key,
                accept.subprotocol.as_deref(),
                &responses,
                &accept.extra_headers,
            )
        });
        self.open(active);
        Ok(())
    }

    fn send_reject(&mut self, reject: RejectConnection) -> Result<(), LocalProtocolError> {
        // A 1xx is interim, never a final answer: a client would wait on.
        if !(200..=599).contains(&reject.status_code) {
            return Err(LocalProtocolError::InvalidStatus(reject.status_code));
        }
        for h in &reject.headers {
            handshake::check_header(&h.name, &h.value)?;
        }
        ws_debug!("handshake rejected: HTTP {}", reject.status_code);
        self.out.append(|out| {
            handshake::write_reject(out, reject.status_code, &reject.headers, reject.has_body)
        });
        self.in_buf = BytesMut::new();
        self.phase = if reject.has_body {
            Phase::SendingRejection
        } else {
            Phase::Closed
        };
        Ok(())
    }

    /// How many received bytes wait to be parsed.
    pub fn buffered_input(&self) -> usize {
        match &self.phase {
            Phase::Open(conn) => conn.buffered_input(),
            _ => self.in_buf.len(),
        }
    }

    /// Frees what only a busy connection needs, once it is open: see
    /// [`Connection::release_idle_memory`].
    pub fn release_idle_memory(&mut self) {
        if let Phase::Open(conn) = &mut self.phase {
            conn.release_idle_memory();
        }
    }

    /// Whether [`Self::release_idle_memory`] would free anything now.
    pub fn holds_idle_memory(&self) -> bool {
        matches!(&self.phase, Phase::Open(conn) if conn.holds_idle_memory())
    }

    /// How many bytes wait to be sent (excluding an owed automatic pong).
    pub fn buffered_output(&self) -> usize {
        match &self.phase {
            Phase::Open(conn) => conn.buffered_output(),
            _ => self.out.len(),
        }
    }

    /// Whether anything waits to be sent.
    pub fn has_bytes_to_send(&self) -> bool {
        match &self.phase {
            Phase::Open(conn) => conn.has_bytes_to_send(),
            _ => !self.out.is_empty(),
        }
    }

    /// Takes the bytes to send to the peer.
    pub fn bytes_to_send(&mut self) -> Bytes {
        match &mut self.phase {
            Phase::Open(conn) => conn.bytes_to_send(),
            _ => self.out.take_all(),
        }
    }

    /// Appends the bytes to send to `buf`, for writers that own a buffer.
    pub fn bytes_to_send_into(&mut self, buf: &mut Vec<u8>) {
        match &mut self.phase {
            Phase::Open(conn) => conn.bytes_to_send_into(buf),
            _ => self.out.take_into(buf),
        }
    }

    /// Fills `dst` with the pending output as slices, for a vectored write;
    /// report what was written with [`Self::advance_output`].
    pub fn output_vectored<'a>(&'a mut self, dst: &mut [IoSlice<'a>]) -> usize {
        match &mut self.phase {
            Phase::Open(conn) => conn.output_vectored(dst),
            _ => self.out.chunks_vectored(dst),
        }
    }

    /// Drops the first `n` bytes of pending output, which were written.
    pub fn advance_output(&mut self, n: usize) {
        match &mut self.phase {
            Phase::Open(conn) => conn.advance_output(n),
            _ => self.out.advance(n),
        }
    }
}

/// Why the start of a request head cannot be HTTP, if it cannot: judged on
/// the first byte, so a peer speaking another protocol (most often TLS to a
/// plain `ws://` server) is answered at once instead of when its bytes
/// reach the size limit or the timeout. A request line starts with a method
/// token, after any empty lines (RFC 9112 §2.2).
fn not_a_request_start(buf: &[u8]) -> Option<String> {
    let first = *buf.iter().find(|&&b| b != b'\r' && b != b'\n')?;
    let tchar = extensions::is_token_byte(first);
    match first {
        _ if tchar => None,
        0x16 => {
            Some("a TLS handshake reached a server without TLS (wss:// to a ws:// port?)".into())
        }
        b => Some(format!("not an HTTP request: it starts with byte {b:#04x}")),
    }
}

/// Why the start of a response head cannot be HTTP, if it cannot: a
/// response starts with `HTTP/` (RFC 9112 §4), so anything else is known
/// from the first bytes; most often a TLS server's alert to a `ws://`
/// client.
fn not_a_response_start(buf: &[u8]) -> Option<String> {
    // Empty lines before the status line are skipped, as on the request
    // side and as httparse does.
    let start = buf.iter().position(|&b| b != b'\r' && b != b'\n')?;
    let buf = &buf[start..];
    let n = buf.len().min(5);
    if buf[..n] == b"HTTP/"[..n] {
        return None;
    }
    Some(match buf[0] {
        0x15 | 0x16 => "the server answered with TLS: use wss:// for this port".into(),
        b => format!("not an HTTP response: it starts with byte {b:#04x}"),
    })
}

/// Looks for the end of a handshake head within the size limit. Empty
/// lines before the head (RFC 9112 §2.2) are no head of their own: the
/// search starts after them, so a head is found (or a foreign first byte
/// refused) the same way however the bytes were split.
fn find_head(scanner: &mut HeadScanner, buf: &[u8], limit: usize) -> Option<usize> {
    let buf = &buf[..buf.len().min(limit)];
    // Until a byte other than CR or LF arrives nothing is scanned, so the
    // scanner's progress is always relative to the same start.
    let skip = buf.iter().position(|&b| b != b'\r' && b != b'\n')?;
    scanner.find(&buf[skip..]).map(|len| skip + len)
}
