//! An async echo server on smol.
//!
//! ```text
//! cargo run --release --example smol_echo_server [ADDR]     # default 127.0.0.1:9001
//! ```
//!
//! Every connection runs in its own task; text and binary messages are
//! echoed unchanged, pings answered and closes replied to.

#[path = "shared/echo.rs"]
mod shared;

use smol::net::TcpListener;

fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_owned());
    smol::block_on(async {
        let listener = TcpListener::bind(&addr).await?;
        println!(
            "smol_echo_server listening on ws://{}",
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
            smol::spawn(async move {
                let result = match wsproto::rt::smol::accept(stream).await {
                    Ok(ws) => shared::echo(ws).await,
                    Err(e) => Err(e),
                };
                if let Err(e) = result {
                    eprintln!("{peer}: {e}");
                }
            })
            .detach();
        }
    })
}
