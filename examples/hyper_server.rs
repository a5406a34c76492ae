//! WebSockets on a hyper server: hyper parses every request and serves a
//! page at `/`; a request to `/ws` is validated and answered with the
//! `http::Response` wsproto builds, and once hyper has switched protocols
//! the upgraded connection runs the frame engine wsproto handed back, with
//! no second handshake. Messages are echoed; permessage-deflate is
//! negotiated when the client offers it.
//!
//! ```text
//! cargo run --features tokio,http --example hyper_server [ADDR]
//! ```
//!
//! then open `http://127.0.0.1:9002/` in a browser.

use std::convert::Infallible;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::header::{ALLOW, CONTENT_TYPE, HeaderValue};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use tokio::net::TcpListener;
use wsproto::rt::tokio::TokioStream;
use wsproto::ws::{Config, Error, WebSocket};
use wsproto::{AcceptConnection, DeflateConfig, ServerUpgrade};

/// The page at `/`: a form that sends what is typed over a WebSocket to
/// `/ws` and lists the echoes.
pub const PAGE: &str = r#"<!doctype html>
<html lang="en">
<head><meta charset="utf-8"><title>wsproto on hyper</title></head>
<body>
<h1>wsproto on hyper: echo</h1>
<form id="form"><input id="text" autocomplete="off" autofocus> <button>Send</button></form>
<p id="status">connecting...</p>
<ul id="log"></ul>
<script>
const scheme = location.protocol === "https:" ? "wss://" : "ws://";
const ws = new WebSocket(scheme + location.host + "/ws");
const status = document.getElementById("status");
const log = (line) => {
  const item = document.createElement("li");
  item.textContent = line;
  document.getElementById("log").append(item);
};
ws.onopen = () => { status.textContent = "open"; };
ws.onclose = (e) => { status.textContent = "closed (" + e.code + ")"; };
ws.onmessage = (e) => log("echo: " + e.data);
document.getElementById("form").onsubmit = (e) => {
  e.preventDefault();
  const input = document.getElementById("text");
  ws.send(input.value);
  input.value = "";
};
</script>
</body>
</html>
"#;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9002".to_owned());
    let listener = TcpListener::bind(&addr).await?;
    println!(
        "hyper_server listening on http://{}",
        listener.local_addr()?
    );
    serve(listener).await
}

/// The WebSocket configuration: defaults, plus permessage-deflate for the
/// clients that offer it.
pub fn config() -> Config {
    Config::default().deflate(DeflateConfig::default())
}

/// Accepts connections until the listener fails; hyper serves each on its
/// own task, with upgrades enabled.
pub async fn serve(listener: TcpListener) -> std::io::Result<()> {
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        let _ = stream.set_nodelay(true);
        tokio::spawn(async move {
            let connection = http1::Builder::new()
                .serve_connection(TokioIo::new(stream), service_fn(route))
                .with_upgrades();
            if let Err(e) = connection.await {
                eprintln!("{peer}: {e}");
            }
        });
    }
}

/// The router: the page at `/`, the WebSocket at `/ws`.
async fn route(request: Request<Incoming>) -> Result<Response<Full<Bytes>>, Infallible> {
    Ok(match request.uri().path() {
        "/" if request.method() == Method::GET => {
            let mut response = Response::new(Full::from(PAGE));
            response.headers_mut().insert(
                CONTENT_TYPE,
                HeaderValue::from_static("text/html; charset=utf-8"),
            );
            response
        }
        "/" => {
            let mut response = text(StatusCode::METHOD_NOT_ALLOWED, "use GET\n");
            response
                .headers_mut()
                .insert(ALLOW, HeaderValue::from_static("GET"));
            response
        }
        "/ws" => upgrade(request),
        _ => text(StatusCode::NOT_FOUND, "not found\n"),
    })
}

/// Validates the upgrade, answers it, and echoes on the upgraded connection
/// once hyper hands it over.
fn upgrade(mut request: Request<Incoming>) -> Response<Full<Bytes>> {
    let upgrade = match ServerUpgrade::from_http(&request) {
        Ok(upgrade) => upgrade,
        // 400, or 426 with `Sec-WebSocket-Version: 13`.
        Err(e) => {
            let body = format!("{}\n", e.message());
            return e.http_response().map(|()| Full::from(body));
        }
    };
    let config = config();
    let (response, connection) =
        match upgrade.accept_http(AcceptConnection::new(), &config.protocol) {
            Ok(accepted) => accepted,
            Err(e) => return text(StatusCode::INTERNAL_SERVER_ERROR, &format!("{e}\n")),
        };
    let upgraded = hyper::upgrade::on(&mut request);
    tokio::spawn(async move {
        let io = match upgraded.await {
            Ok(io) => TokioStream::new(TokioIo::new(io)),
            Err(e) => return eprintln!("upgrade failed: {e}"),
        };
        let mut ws = WebSocket::from_connection(io, connection, config);
        if let Err(e) = echo(&mut ws).await {
            eprintln!("websocket: {e}");
        }
    });
    response.map(|()| Full::default())
}

/// Echoes text and binary messages until the peer closes (the library
/// answers pings and the close itself).
async fn echo<S>(ws: &mut WebSocket<S>) -> Result<(), Error>
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    while let Some(message) = ws.recv().await {
        let message = message?;
        if message.is_data() {
            ws.send(message).await?;
        }
    }
    Ok(())
}

/// A plain-text response.
fn text(status: StatusCode, body: &str) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::from(body.to_owned()));
    *response.status_mut() = status;
    response.headers_mut().insert(
        CONTENT_TYPE,
        HeaderValue::from_static("text/plain; charset=utf-8"),
    );
    response
}
