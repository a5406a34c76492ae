//! An echo server over TLS (`wss://`) on smol: every accepted stream is
//! wrapped in TLS with the given certificate chain and key, then served
//! like `echo_server`.
//!
//! ```text
//! cargo run --release --example tls_echo_server CERT_CHAIN.pem KEY.pem [ADDR]   # default 127.0.0.1:9443
//! ```

mod shared;

use std::process::ExitCode;

use wsproto::rt::tls::TlsAcceptor;

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let (cert, key) = match &args[..] {
        [cert, key] | [cert, key, _] => (cert, key),
        _ => {
            eprintln!("usage: tls_echo_server CERT_CHAIN.pem KEY.pem [ADDR]");
            return ExitCode::from(2);
        }
    };
    let addr = args.get(2).map_or("127.0.0.1:9443", String::as_str);
    let tls = match TlsAcceptor::from_pem_files(cert, key) {
        Ok(tls) => tls,
        Err(e) => {
            eprintln!("tls_echo_server: {e}");
            return ExitCode::FAILURE;
        }
    };
    match smol::block_on(serve(addr, tls)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("tls_echo_server: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn serve(addr: &str, tls: TlsAcceptor) -> std::io::Result<()> {
    let listener = smol::net::TcpListener::bind(addr).await?;
    println!(
        "tls_echo_server listening on wss://{}",
        listener.local_addr()?
    );
    loop {
        let (stream, peer) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(e) => {
                eprintln!("accept failed: {e}");
                smol::Timer::after(std::time::Duration::from_millis(10)).await;
                continue;
            }
        };
        let tls = tls.clone();
        smol::spawn(async move {
            let handshake =
                wsproto::rt::smol::accept_tls_with(stream, &tls, shared::echo::config(), |_| {
                    Ok(wsproto::AcceptConnection::new())
                });
            let mut ws = match handshake.await {
                Ok(ws) => ws,
                Err(e) => return eprintln!("{peer}: {e}"),
            };
            if let Err(e) = shared::echo::echo(&mut ws).await {
                eprintln!("{peer}: {e}");
            }
        })
        .detach();
    }
}
