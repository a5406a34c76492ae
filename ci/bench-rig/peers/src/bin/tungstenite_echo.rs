//! Echo server on `tokio-tungstenite`, after its `examples/echo-server.rs`:
//! `#[tokio::main]`, one task per connection, the stream of data messages
//! forwarded into the sink (which batches writes while more is readable).

use futures_util::{StreamExt, TryStreamExt, future};
use tokio::net::{TcpListener, TcpStream};
use tokio_tungstenite::tungstenite::Error;

/// Accepts the upgrade, then echoes data messages until the client closes.
async fn echo(stream: TcpStream) -> Result<(), Error> {
    let ws = tokio_tungstenite::accept_async(stream).await?;
    let (write, read) = ws.split();
    read.try_filter(|message| future::ready(message.is_text() || message.is_binary()))
        .forward(write)
        .await
}

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = peers::listen_addr();
    let listener = TcpListener::bind(&addr).await?;
    println!("tungstenite_echo listening on {}", listener.local_addr()?);
    loop {
        let (stream, _) = listener.accept().await?;
        tokio::spawn(async move {
            if let Err(e) = echo(stream).await {
                eprintln!("connection: {e}");
            }
        });
    }
}
