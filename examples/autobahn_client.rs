//! The client the Autobahn fuzzingserver tests: it asks for the number of
//! cases, runs each one by echoing every message until the server closes,
//! then asks the server to write its reports.
//!
//! ```text
//! autobahn_client [URL] [AGENT]     # default $AUTOBAHN_URL or ws://127.0.0.1:9001, agent wsproto
//! ```

use std::process::ExitCode;

use wsproto::DeflateConfig;
use wsproto::ws::{Config, Error, Message};

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .or_else(|| std::env::var("AUTOBAHN_URL").ok())
        .unwrap_or_else(|| "ws://127.0.0.1:9001".to_owned());
    let agent = args.next().unwrap_or_else(|| "wsproto".to_owned());
    match smol::block_on(run(base.trim_end_matches('/'), &agent)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("autobahn_client: {e}");
            ExitCode::FAILURE
        }
    }
}

async fn run(base: &str, agent: &str) -> Result<(), Error> {
    let (mut ws, _) = wsproto::rt::smol::connect(&format!("{base}/getCaseCount")).await?;
    let mut count = None;
    while let Some(message) = ws.recv().await {
        if let Message::Text(text) = message? {
            count = text.trim().parse::<u32>().ok();
        }
    }
    let count = count.ok_or_else(|| Error::Io(std::io::Error::other("no case count received")))?;
    println!("running {count} cases as agent {agent}");
    for case in 1..=count {
        let url = format!("{base}/runCase?case={case}&agent={agent}");
        let config = Config::default().deflate(DeflateConfig::default());
        match wsproto::rt::smol::connect_with_config(&url, config).await {
            Ok((ws, _)) => echo(ws).await,
            Err(e) => eprintln!("case {case}: {e}"),
        }
    }
    let (mut ws, _) =
        wsproto::rt::smol::connect(&format!("{base}/updateReports?agent={agent}")).await?;
    while ws.recv().await.is_some() {}
    Ok(())
}

/// Echoes until the connection ends; protocol errors are the point of many
/// cases, so they end the case quietly.
async fn echo<S>(mut ws: wsproto::ws::WebSocket<S>)
where
    S: futures_io::AsyncRead + futures_io::AsyncWrite + Unpin,
{
    while let Some(message) = ws.recv().await {
        match message {
            Ok(m) if m.is_data() => {
                let _ = ws.send(m).await;
            }
            Ok(_) | Err(_) => {}
        }
    }
}
