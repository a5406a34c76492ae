//! Echo server on `tokio-websockets`, after its `examples/echo_server.rs`: a
//! current-thread tokio runtime, each connection in an unconstrained task,
//! unlimited limits and no fragmentation of outgoing messages.

use futures_util::{SinkExt, StreamExt};
use tokio::net::{TcpListener, TcpStream};
use tokio_websockets::{Config, Error, Limits, ServerBuilder};

/// Accepts the upgrade, then echoes data messages until the client closes.
async fn echo(stream: TcpStream) -> Result<(), Error> {
    let (_request, mut ws) = ServerBuilder::new()
        .config(Config::default().frame_size(usize::MAX))
        .limits(Limits::unlimited())
        .accept(stream)
        .await?;
    while let Some(message) = ws.next().await {
        let message = message?;
        if message.is_text() || message.is_binary() {
            ws.send(message).await?;
        }
    }
    Ok(())
}

fn main() -> std::io::Result<()> {
    let addr = peers::listen_addr();
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    rt.block_on(async {
        let listener = TcpListener::bind(&addr).await?;
        println!(
            "tokio_websockets_echo listening on {}",
            listener.local_addr()?
        );
        loop {
            let (stream, _) = listener.accept().await?;
            tokio::spawn(tokio::task::unconstrained(async move {
                if let Err(e) = echo(stream).await {
                    eprintln!("connection: {e}");
                }
            }));
        }
    })
}
