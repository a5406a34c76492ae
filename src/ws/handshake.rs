//! The opening handshake over an async stream: [`client`], [`accept`] and
//! [`accept_with`], each bounded by [`Config::handshake_timeout`].

use std::future::Future;
use std::time::Duration;

use bytes::BytesMut;
use futures_io::{AsyncRead, AsyncWrite};
use futures_util::FutureExt;
use futures_util::future::Either;
use futures_util::io::AsyncWriteExt;

use super::config::Config;
use super::error::{Error, Rejection, TimeoutKind};
use super::readbuf::poll_read_shared;
use super::socket::WebSocket;
use super::timer::timeout;
use crate::proto::{
    AcceptConnection, Answer, Event, RejectConnection, RejectData, Request, Role, WsConnection,
};

/// How much one read takes during the handshake: a head is small, and the
/// engine keeps whatever follows it for the frame parser.
const HANDSHAKE_READ_SIZE: usize = 4096;

/// The server's answer to a client's handshake.
pub type Response = AcceptConnection;

/// The handshake ran out of time. At `debug`: a client that connects and
/// stalls (a scanner, a slow-loris) is routine on a public server, and the
/// caller gets the error to judge.
fn handshake_timed_out() -> Error {
    crate::trace::ws_debug!("opening handshake timed out");
    Error::Timeout(TimeoutKind::Handshake)
}

/// Runs one step of an opening handshake (dialing, TLS, the WebSocket
/// exchange) with the time it has left.
///
/// Not an `async fn`: that would hold `step` twice (as its argument and
/// inside the timeout), and a handshake's state is what a server holds for
/// every connection still shaking hands.
pub(crate) fn within<T>(
    limit: Duration,
    step: impl Future<Output = Result<T, Error>>,
) -> impl Future<Output = Result<T, Error>> {
    timeout(limit, step).map(|done| done.unwrap_or_else(|| Err(handshake_timed_out())))
}

/// Writes everything the engine has queued.
async fn flush<S: AsyncWrite + Unpin>(io: &mut S, ws: &mut WsConnection) -> Result<(), Error> {
    let out = ws.bytes_to_send();
    if !out.is_empty() {
        io.write_all(&out).await?;
        io.flush().await?;
    }
    Ok(())
}

/// Reads once into the engine (through the thread's shared read buffer, so
/// a handshake allocates no buffer of its own); EOF is passed on.
async fn fill<S: AsyncRead + Unpin>(io: &mut S, ws: &mut WsConnection) -> Result<(), Error> {
    std::future::poll_fn(|cx| {
        poll_read_shared(io, cx, HANDSHAKE_READ_SIZE, |data| {
            if data.is_empty() {
                ws.receive_eof();
            } else {
                ws.receive_bytes(data);
            }
        })
    })
    .await?;
    Ok(())
}

/// Turns a handshake-phase protocol error into an `Error`, after sending
/// whatever answer the engine queued.
async fn fail<S: AsyncWrite + Unpin>(
    io: &mut S,
    ws: &mut WsConnection,
    e: crate::RemoteProtocolError,
) -> Error {
    if e.answer() != Answer::Drop {
        let _ = flush(io, ws).await;
    }
    let _ = io.close().await;
    Error::Protocol(e)
}

/// Performs the client side of the handshake on `io` with `request` and the
/// default [`Config`]. Returns the open WebSocket and the server's response.
pub fn client<S>(
    io: S,
    request: Request,
) -> impl Future<Output = Result<(WebSocket<S>, Response), Error>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    client_with_config(io, request, Config::default())
}

/// [`client`] with a [`Config`].
///
/// The returned future is boxed: a task that goes on to use the WebSocket
/// then holds a pointer, not the handshake's state, for the rest of its life.
pub fn client_with_config<S>(
    io: S,
    request: Request,
    config: Config,
) -> impl Future<Output = Result<(WebSocket<S>, Response), Error>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let limit = config.handshake_timeout;
    Box::pin(within(limit, client_handshake(io, request, config)))
}

/// The client handshake without a deadline of its own, for callers that
/// bound it together with the steps before it (the shims' `connect`).
pub(crate) async fn client_handshake<S>(
    mut io: S,
    request: Request,
    config: Config,
) -> Result<(WebSocket<S>, Response), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut ws = WsConnection::with_config(Role::Client, config.protocol.clone());
    ws.send(request)?;
    flush(&mut io, &mut ws).await?;
    let mut rejection: Option<Rejection> = None;
    let mut body = BytesMut::new();
    loop {
        match ws.next_event() {
            Some(Ok(Event::AcceptConnection(response))) => {
                let conn = ws.into_connection().map_err(|_| Error::ConnectionClosed)?;
                return Ok((WebSocket::from_connection(io, conn, config), response));
            }
            Some(Ok(Event::RejectConnection(r))) => {
                let done = !r.has_body;
                rejection = Some(Rejection {
                    status: r.status_code,
                    headers: r.headers,
                    body: Default::default(),
                });
                if done {
                    break;
                }
            }
            Some(Ok(Event::RejectData(d))) => {
                // A rejection body is for humans; keep at most 64 KiB of it.
                let room = (64usize << 10).saturating_sub(body.len());
                body.extend_from_slice(&d.data[..d.data.len().min(room)]);
                if d.body_finished {
                    break;
                }
            }
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(fail(&mut io, &mut ws, e).await),
            None => fill(&mut io, &mut ws).await?,
        }
    }
    let _ = io.close().await;
    let mut rejection = rejection.expect("a rejection was received");
    rejection.body = body.freeze();
    Err(Error::Rejected(rejection))
}

/// Performs the server side of the handshake on `io`, accepting any valid
/// request, with the default [`Config`].
pub fn accept<S>(io: S) -> impl Future<Output = Result<WebSocket<S>, Error>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    accept_with(io, Config::default(), |_| Ok(AcceptConnection::new()))
}

/// Performs the server side of the handshake on `io`; `decide` sees the
/// client's [`Request`] (path, headers, offered subprotocols) and accepts it
/// (choosing a subprotocol, adding headers) or rejects it with a
/// [`Rejection`], which is sent and reported as [`Error::Rejected`].
///
/// Invalid requests are answered (400, 426 or 431) and reported as
/// [`Error::Protocol`]. The handshake, including a client that sends half a
/// request and stalls, is bounded by [`Config::handshake_timeout`]. To decide
/// asynchronously (a database lookup, say), use [`read_request`].
///
/// The returned future is boxed: a task that goes on to use the WebSocket
/// then holds a pointer, not the handshake's state, for the rest of its life.
pub fn accept_with<S, F>(
    io: S,
    config: Config,
    decide: F,
) -> impl Future<Output = Result<WebSocket<S>, Error>>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request) -> Result<AcceptConnection, Rejection>,
{
    let read = read_request(io, config);
    Box::pin(async move {
        // `pending` ends with the block, before its answer is awaited, so
        // that this future holds it once (inside the answer), not twice.
        {
            let pending = read.await?;
            match decide(pending.request()) {
                Ok(response) => Either::Left(pending.accept(response)),
                // Rare, and larger: boxed, so the common path sizes this.
                Err(rejection) => Either::Right(Box::pin(pending.refuse(rejection))),
            }
        }
        .await
    })
}

/// Reads and validates a client's handshake request, leaving the decision
/// to the caller: [`PendingAccept::accept`] or [`PendingAccept::reject`].
/// Bounded by [`Config::handshake_timeout`]; invalid requests are answered
/// (400, 426 or 431) and reported as [`Error::Protocol`]. The returned
/// future is boxed, like every handshake future (see [`accept_with`]).
pub fn read_request<S>(
    mut io: S,
    config: Config,
) -> impl Future<Output = Result<PendingAccept<S>, Error>>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let limit = config.handshake_timeout;
    let started = std::time::Instant::now();
    let read = async move {
        let mut ws = WsConnection::with_config(Role::Server, config.protocol.clone());
        loop {
            match ws.next_event() {
                Some(Ok(Event::Request(request))) => {
                    return Ok(PendingAccept {
                        io,
                        ws,
                        config,
                        request,
                        started,
                    });
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(fail(&mut io, &mut ws, e).await),
                None => fill(&mut io, &mut ws).await?,
            }
        }
    };
    Box::pin(within(limit, read))
}

/// A server handshake whose request has been read and validated, waiting
/// for the application to accept or reject it.
#[derive(Debug)]
pub struct PendingAccept<S> {
    io: S,
    ws: WsConnection,
    config: Config,
    request: Request,
    started: std::time::Instant,
}

impl<S> PendingAccept<S>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    /// The client's request: target, headers, offered subprotocols and
    /// extensions.
    pub fn request(&self) -> &Request {
        &self.request
    }

    /// The time left of the handshake timeout.
    fn remaining(&self) -> std::time::Duration {
        self.config
            .handshake_timeout
            .saturating_sub(self.started.elapsed())
    }

    /// Accepts: sends the 101 response and returns the open WebSocket. A
    /// decision made after the handshake timeout is refused.
    ///
    /// (Like [`Self::reject`], a function returning a future rather than an
    /// `async fn`, which would hold `self` twice: as its argument and as
    /// the local it is moved to.)
    #[expect(clippy::manual_async_fn, reason = "an async fn holds self twice")]
    pub fn accept(
        mut self,
        response: AcceptConnection,
    ) -> impl Future<Output = Result<WebSocket<S>, Error>> {
        async move {
            let limit = self.remaining();
            if limit.is_zero() {
                let _ = self.io.close().await;
                return Err(handshake_timed_out());
            }
            self.ws.send(response)?;
            within(limit, flush(&mut self.io, &mut self.ws)).await?;
            let conn = self
                .ws
                .into_connection()
                .map_err(|_| Error::ConnectionClosed)?;
            Ok(WebSocket::from_connection(self.io, conn, self.config))
        }
    }

    /// Rejects: sends the rejection (status, headers, body with its
    /// `Content-Length`) and closes the stream. After the handshake timeout
    /// the stream is closed without an answer.
    #[expect(clippy::manual_async_fn, reason = "an async fn holds self twice")]
    pub fn reject(mut self, rejection: Rejection) -> impl Future<Output = Result<(), Error>> {
        async move {
            if self.remaining().is_zero() {
                let _ = self.io.close().await;
                return Err(handshake_timed_out());
            }
            let mut headers = rejection.headers;
            if !headers
                .iter()
                .any(|h| h.name.eq_ignore_ascii_case("content-length"))
            {
                headers.push(crate::Header::new(
                    "Content-Length",
                    rejection.body.len().to_string(),
                ));
            }
            let has_body = !rejection.body.is_empty();
            self.ws.send(RejectConnection {
                status_code: rejection.status,
                headers,
                has_body,
            })?;
            if has_body {
                self.ws.send(RejectData {
                    data: rejection.body,
                    body_finished: true,
                })?;
            }
            let limit = self.remaining();
            let io = &mut self.io;
            let ws = &mut self.ws;
            within(limit, async move {
                flush(io, ws).await?;
                io.close().await.map_err(Error::Io)
            })
            .await
        }
    }

    /// [`Self::reject`], reported as the [`Error::Rejected`] it was.
    async fn refuse(self, rejection: Rejection) -> Result<WebSocket<S>, Error> {
        self.reject(rejection.clone()).await?;
        Err(Error::Rejected(rejection))
    }
}
