//! The accept loop the smol example servers share: one task per connection,
//! each running the echo loop.

use smol::net::TcpListener;

use super::echo::echo;

/// Serves echo on the address given as the first argument (default
/// 127.0.0.1:9001) until the process ends.
pub fn run(name: &str) -> std::io::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_owned());
    smol::block_on(async {
        let listener = TcpListener::bind(&addr).await?;
        println!("{name} listening on ws://{}", listener.local_addr()?);
        loop {
            let (stream, peer) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(e) => {
                    eprintln!("accept failed: {e}");
                    continue;
                }
            };
            smol::spawn(async move {
                let result =
                    match wsproto::rt::smol::accept_with(stream, super::echo::config(), |_| {
                        Ok(wsproto::AcceptConnection::new())
                    })
                    .await
                    {
                        Ok(ws) => echo(ws).await,
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
