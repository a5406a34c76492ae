//! An async echo server on tokio (multi-threaded runtime).
//!
//! ```text
//! cargo run --release --features tokio --example tokio_echo_server [ADDR]
//! ```

mod shared;

use tokio::net::TcpListener;

#[tokio::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_owned());
    let listener = TcpListener::bind(&addr).await?;
    println!(
        "tokio_echo_server listening on ws://{}",
        listener.local_addr()?
    );
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept failed: {e}");
                continue;
            }
        };
        tokio::spawn(async move {
            let accepted = wsproto::rt::tokio::accept_with(stream, shared::echo::config(), |_| {
                Ok(wsproto::AcceptConnection::new())
            });
            let mut ws = match accepted.await {
                Ok(ws) => ws,
                Err(e) => return eprintln!("{peer}: {e}"),
            };
            if let Err(e) = shared::echo::echo(&mut ws).await {
                eprintln!("{peer}: {e}");
            }
        });
    }
}
