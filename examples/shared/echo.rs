//! The echo loop the example servers share: every text and binary message
//! goes back unchanged; pings are answered and closes replied to by the
//! library itself.

use futures::SinkExt;
use futures_io::{AsyncRead, AsyncWrite};
use wsproto::DeflateConfig;
use wsproto::ws::{Config, Error, WebSocket};

/// The servers' configuration: defaults, plus permessage-deflate for the
/// clients that offer it.
pub fn config() -> Config {
    Config::default().deflate(DeflateConfig::default())
}

/// Echoes until the peer closes; reading on to the stream's end lets the
/// library finish the close handshake and drop the connection.
///
/// Echoes are queued with `feed`, not flushed one by one: `recv` writes
/// whatever is queued before it waits for input, so a burst of messages
/// that was waiting in one read is answered in one write, and a lone
/// message is answered as soon as the next `recv` finds nothing more to
/// read. (A burst that ends a quiet spell has each echo written at the next
/// `recv`: see `WebSocket`'s docs.)
///
/// It borrows the WebSocket rather than taking it: a future that owns a
/// large argument keeps a second copy of it in its state, so a by-value
/// WebSocket would double what every idle connection's task holds. For the
/// same reason the message is moved into `feed` in a scope that ends
/// before the await (a binding still in scope keeps its own slot in the
/// state), and the first error, rare, is boxed: this future went from 264
/// to 80 bytes (`-Zprint-type-sizes`).
pub async fn echo<S>(ws: &mut WebSocket<S>) -> Result<(), Error>
where
    S: AsyncRead + AsyncWrite + Unpin,
{
    let mut first_error: Option<Box<Error>> = None;
    loop {
        let feed = match ws.recv().await {
            None => break,
            Some(Ok(message)) if message.is_data() => ws.feed(message),
            Some(Ok(_)) => continue,
            // The answer (a close frame) is queued; the stream ends next.
            Some(Err(e)) => {
                first_error.get_or_insert_with(|| Box::new(e));
                continue;
            }
        };
        if let Err(e) = feed.await {
            first_error.get_or_insert_with(|| Box::new(e));
        }
    }
    first_error.map_or(Ok(()), |e| Err(*e))
}
