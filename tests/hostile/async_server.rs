//! The async server: [`AsyncServer`] (`wsproto::ws::accept_with` on smol)
//! over a byte-counting stream, and its echo application.

use std::future::Future;
use std::io;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::Ordering::SeqCst;
use std::task::{Context, Poll};
use std::time::Duration;

use futures::io::{AsyncRead, AsyncWrite};
use wsproto::AcceptConnection;
use wsproto::ws::{self, Config, Message};

use super::{Stats, describe};

/// A stream that counts what is read through it.
pub struct Counted<S> {
    inner: S,
    stats: Arc<Stats>,
}

impl<S: AsyncRead + Unpin> AsyncRead for Counted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut [u8],
    ) -> Poll<io::Result<usize>> {
        let r = Pin::new(&mut self.inner).poll_read(cx, buf);
        if let Poll::Ready(Ok(n)) = r {
            self.stats.read.fetch_add(n, SeqCst);
        }
        r
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Counted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }
    fn poll_write_vectored(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write_vectored(cx, bufs)
    }
    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }
    fn poll_close(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_close(cx)
    }
}

/// What the async server's application does with an open connection.
pub type App = Arc<
    dyn Fn(
            ws::WebSocket<Counted<smol::net::TcpStream>>,
            Arc<Stats>,
        ) -> Pin<Box<dyn Future<Output = ()> + Send>>
        + Send
        + Sync,
>;

/// The async layer serving on 127.0.0.1:0 from a thread of its own, one
/// task per connection.
pub struct AsyncServer {
    pub addr: SocketAddr,
    pub stats: Arc<Stats>,
}

impl AsyncServer {
    /// An echo server, like `examples/echo_server.rs`.
    pub fn echo(config: Config) -> AsyncServer {
        AsyncServer::with_app(config, Arc::new(|ws, stats| Box::pin(echo(ws, stats))))
    }

    pub fn with_app(config: Config, app: App) -> AsyncServer {
        let stats = Arc::new(Stats::default());
        let (tx, rx) = std::sync::mpsc::channel();
        let st = Arc::clone(&stats);
        std::thread::spawn(move || {
            smol::block_on(async move {
                let listener = smol::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
                tx.send(listener.local_addr().unwrap()).unwrap();
                loop {
                    let Ok((stream, _)) = listener.accept().await else {
                        continue;
                    };
                    let stats = Arc::clone(&st);
                    let config = config.clone();
                    let app = Arc::clone(&app);
                    smol::spawn(async move {
                        stream.set_nodelay(true).ok();
                        let io = Counted {
                            inner: stream,
                            stats: Arc::clone(&stats),
                        };
                        match ws::accept_with(io, config, |_| Ok(AcceptConnection::new())).await {
                            Ok(ws) => {
                                stats.opened.fetch_add(1, SeqCst);
                                app(ws, stats).await;
                            }
                            Err(e) => stats.outcome(format!("handshake {}", describe(&e))),
                        }
                    })
                    .detach();
                }
            })
        });
        let addr = rx.recv_timeout(Duration::from_secs(5)).unwrap();
        AsyncServer { addr, stats }
    }
}

/// Records what an open connection's engine holds.
pub fn observe<S: AsyncRead + AsyncWrite + Unpin>(ws: &ws::WebSocket<S>, stats: &Stats) {
    stats.note_out(ws.buffered_output());
    stats.note_in(ws.connection().buffered_input());
}

/// The echo loop of `examples/shared/echo.rs`, recording what it sees.
pub async fn echo<S: AsyncRead + AsyncWrite + Unpin>(mut ws: ws::WebSocket<S>, stats: Arc<Stats>) {
    let mut outcome = "eof".to_owned();
    while let Some(item) = ws.recv().await {
        observe(&ws, &stats);
        match item {
            Ok(Message::Ping(_)) => {
                stats.pings.fetch_add(1, SeqCst);
            }
            Ok(m) if m.is_data() => {
                stats.messages.fetch_add(1, SeqCst);
                let _ = ws.send(m).await;
                observe(&ws, &stats);
            }
            Ok(Message::Close(frame)) => {
                outcome = format!("closed {:?}", frame.map(|f| f.code.0));
            }
            Ok(_) => {}
            Err(e) => outcome = describe(&e),
        }
    }
    observe(&ws, &stats);
    stats.note_in(ws.connection().buffered_input());
    stats.outcome(outcome);
}
