//! An async echo server on async-std (discontinued upstream, still served).
//!
//! ```text
//! cargo run --release --features async-std --example async_std_echo_server [ADDR]
//! ```

mod shared;

use async_std::net::TcpListener;

#[async_std::main]
async fn main() -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_owned());
    let listener = TcpListener::bind(&addr).await?;
    println!(
        "async_std_echo_server listening on ws://{}",
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
        async_std::task::spawn(async move {
            let accepted =
                wsproto::rt::async_std::accept_with(stream, shared::echo::config(), |_| {
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
