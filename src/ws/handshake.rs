//! The opening handshake over an async stream: [`client`], [`accept`] and
//! [`accept_with`], each bounded by [`Config::handshake_timeout`].

use bytes::BytesMut;
use futures_io::{AsyncRead, AsyncWrite};
use futures_util::io::{AsyncReadExt, AsyncWriteExt};

use super::config::Config;
use super::error::{Error, Rejection, TimeoutKind};
use super::socket::WebSocket;
use super::timer::timeout;
use crate::proto::{
    AcceptConnection, Answer, Event, RejectConnection, RejectData, Request, Role, WsConnection,
};

/// The server's answer to a client's handshake.
pub type Response = AcceptConnection;

/// Writes everything the engine has queued.
async fn flush<S: AsyncWrite + Unpin>(io: &mut S, ws: &mut WsConnection) -> Result<(), Error> {
    let out = ws.bytes_to_send();
    if !out.is_empty() {
        io.write_all(&out).await?;
        io.flush().await?;
    }
    Ok(())
}

/// Reads once into the engine; EOF is passed on.
async fn fill<S: AsyncRead + Unpin>(
    io: &mut S,
    ws: &mut WsConnection,
    buf: &mut [u8],
) -> Result<(), Error> {
    match io.read(buf).await? {
        0 => ws.receive_eof(),
        n => ws.receive_bytes(&buf[..n]),
    }
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
pub async fn client<S>(io: S, request: Request) -> Result<(WebSocket<S>, Response), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    client_with_config(io, request, Config::default()).await
}

/// [`client`] with a [`Config`].
pub async fn client_with_config<S>(
    io: S,
    request: Request,
    config: Config,
) -> Result<(WebSocket<S>, Response), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let limit = config.handshake_timeout;
    timeout(limit, client_handshake(io, request, config))
        .await
        .unwrap_or(Err(Error::Timeout(TimeoutKind::Handshake)))
}

async fn client_handshake<S>(
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
    let mut buf = vec![0u8; 4096];
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
            None => fill(&mut io, &mut ws, &mut buf).await?,
        }
    }
    let _ = io.close().await;
    let mut rejection = rejection.expect("a rejection was received");
    rejection.body = body.freeze();
    Err(Error::Rejected(rejection))
}

/// Performs the server side of the handshake on `io`, accepting any valid
/// request, with the default [`Config`].
pub async fn accept<S>(io: S) -> Result<WebSocket<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    accept_with(io, Config::default(), |_| Ok(AcceptConnection::new())).await
}

/// Performs the server side of the handshake on `io`; `decide` sees the
/// client's [`Request`] (path, headers, offered subprotocols) and accepts it
/// (choosing a subprotocol, adding headers) or rejects it with a
/// [`Rejection`], which is sent and reported as [`Error::Rejected`].
///
/// Invalid requests are answered (400, 426 or 431) and reported as
/// [`Error::Protocol`]. The whole handshake, including a client that sends
/// half a request and stalls, is bounded by [`Config::handshake_timeout`].
pub async fn accept_with<S, F>(io: S, config: Config, decide: F) -> Result<WebSocket<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request) -> Result<AcceptConnection, Rejection>,
{
    let limit = config.handshake_timeout;
    timeout(limit, server_handshake(io, config, decide))
        .await
        .unwrap_or(Err(Error::Timeout(TimeoutKind::Handshake)))
}

async fn server_handshake<S, F>(mut io: S, config: Config, decide: F) -> Result<WebSocket<S>, Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
    F: FnOnce(&Request) -> Result<AcceptConnection, Rejection>,
{
    let mut ws = WsConnection::with_config(Role::Server, config.protocol.clone());
    let mut buf = vec![0u8; 4096];
    let request = loop {
        match ws.next_event() {
            Some(Ok(Event::Request(request))) => break request,
            Some(Ok(_)) => {}
            Some(Err(e)) => return Err(fail(&mut io, &mut ws, e).await),
            None => fill(&mut io, &mut ws, &mut buf).await?,
        }
    };
    match decide(&request) {
        Ok(accept) => {
            ws.send(accept)?;
            flush(&mut io, &mut ws).await?;
            let conn = ws.into_connection().map_err(|_| Error::ConnectionClosed)?;
            Ok(WebSocket::from_connection(io, conn, config))
        }
        Err(rejection) => {
            let mut headers = rejection.headers.clone();
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
            ws.send(RejectConnection {
                status_code: rejection.status,
                headers,
                has_body,
            })?;
            if has_body {
                ws.send(RejectData {
                    data: rejection.body.clone(),
                    body_finished: true,
                })?;
            }
            flush(&mut io, &mut ws).await?;
            let _ = io.close().await;
            Err(Error::Rejected(rejection))
        }
    }
}
