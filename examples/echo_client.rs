//! Connects to a WebSocket server, sends each MESSAGE as text (or each line
//! of standard input if none is given), prints each echo on its own line,
//! then closes with 1000.
//!
//! ```text
//! cargo run --example echo_client ws://127.0.0.1:9001/ hello world
//! SSL_CERT_FILE=ca.pem cargo run --example echo_client wss://localhost:9443/ hello
//! ```
//!
//! `wss://` URLs trust the platform's root certificates plus those in the
//! PEM file named by `SSL_CERT_FILE`, when it is set (a private CA, say).

use std::io::BufRead;
use std::process::ExitCode;

use wsproto::ws::{Config, Error, Message};
use wsproto::{CloseCode, DeflateConfig};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let Some(url) = args.next() else {
        eprintln!("usage: echo_client URL [MESSAGE...]");
        return ExitCode::from(2);
    };
    let messages: Vec<String> = args.collect();
    match smol::block_on(run(&url, messages)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("echo_client: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(url: &str, messages: Vec<String>) -> Result<(), Error> {
    // Offer permessage-deflate; servers that do not support it just decline.
    let config = Config::default().deflate(DeflateConfig::default());
    let (mut ws, _response) = wsproto::rt::smol::connect_with_config(url, config).await?;
    let lines: Box<dyn Iterator<Item = String>> = if messages.is_empty() {
        Box::new(
            std::io::stdin()
                .lock()
                .lines()
                .map_while(Result::ok)
                .collect::<Vec<_>>()
                .into_iter(),
        )
    } else {
        Box::new(messages.into_iter())
    };
    for line in lines {
        ws.send(Message::text(line)).await?;
        loop {
            match ws.recv().await {
                Some(Ok(Message::Text(text))) => {
                    println!("{text}");
                    break;
                }
                Some(Ok(Message::Binary(data))) => {
                    println!("{}", String::from_utf8_lossy(&data));
                    break;
                }
                Some(Ok(Message::Close(frame))) => {
                    return Err(Error::Io(std::io::Error::other(format!(
                        "server closed the connection: {frame:?}"
                    ))));
                }
                Some(Ok(_)) => {}
                Some(Err(e)) => return Err(e),
                None => return Err(Error::ConnectionClosed),
            }
        }
    }
    ws.close(CloseCode::NORMAL, "").await?;
    // Read to the end: the server's close reply, then its end of TCP.
    while let Some(message) = ws.recv().await {
        message?;
    }
    Ok(())
}
