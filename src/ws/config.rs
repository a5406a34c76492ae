//! [`Config`] for the async layer: the protocol limits plus buffering and
//! timers.

use std::time::Duration;

use crate::proto;

/// How a [`super::WebSocket`] buffers and times out.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct Config {
    /// The protocol engine's limits and extensions.
    pub protocol: proto::Config,
    /// Sending waits (`poll_ready` is pending) while at least this many
    /// bytes wait to be written (default 64 KiB), until the socket has taken
    /// enough to bring the backlog under it. Pongs owed while the
    /// output is stuck coalesce into one, so a peer that does not read
    /// cannot make them pile up.
    pub write_buffer_high_water: usize,
    /// The size of each read from the socket (default 256 KiB). The read
    /// buffer is shared by the connections polled on a thread, so an idle
    /// connection holds none. After a data frame larger than this, a read
    /// asks for that frame's size, up to 8 times this, so that the next
    /// frame like it arrives in one read and is not copied.
    pub read_buffer_size: usize,
    /// Messages read ahead while the application only sends, so pings and
    /// closes are still answered; reading pauses once this many payload
    /// bytes wait unread (default 1 MiB).
    pub read_ahead_limit: usize,
    /// Send a ping after this long without hearing from the peer (default
    /// off).
    pub keepalive_interval: Option<Duration>,
    /// End the connection if the peer sends nothing for this long after a
    /// keepalive ping (default 20 s).
    pub keepalive_timeout: Duration,
    /// How long to wait for the peer's part of the close handshake, and for
    /// a server to drop the transport after it (default 5 s).
    pub close_timeout: Duration,
    /// How long the opening handshake may take (default 10 s). For the
    /// shims' `connect` this covers dialing and the TLS handshake too; for
    /// `accept_tls`, the TLS handshake and then the WebSocket handshake each.
    pub handshake_timeout: Duration,
    /// After one to two of these periods without a data message sent or
    /// received, free what only a busy connection needs
    /// (`Connection::release_idle_memory`): today the permessage-deflate
    /// compressor (about 310 KiB) and inflater, rebuilt from their kept
    /// windows at the next compressed message (default 5 s; `None` keeps
    /// them, and the window copies are kept either way). Checked while
    /// the stream is being read: a connection whose messages are never
    /// asked for keeps them.
    pub release_idle_after: Option<Duration>,
}

/// What an open [`super::WebSocket`] keeps of its [`Config`]: all but the
/// protocol part, which its `Connection` holds already. Every idle
/// connection carries this, so it is not kept twice (72 bytes less each).
#[derive(Debug, Clone, Copy)]
pub(super) struct Settings {
    pub(super) write_buffer_high_water: usize,
    pub(super) read_buffer_size: usize,
    pub(super) read_ahead_limit: usize,
    pub(super) keepalive_interval: Option<Duration>,
    pub(super) keepalive_timeout: Duration,
    pub(super) close_timeout: Duration,
    pub(super) handshake_timeout: Duration,
    pub(super) release_idle_after: Option<Duration>,
}

impl Settings {
    /// Everything of `config` but its protocol part. (Written out field by
    /// field, here and in `with_protocol`, so that a field added to
    /// `Config` does not compile until it is kept.)
    pub(super) fn of(config: &Config) -> Settings {
        let Config {
            protocol: _,
            write_buffer_high_water,
            read_buffer_size,
            read_ahead_limit,
            keepalive_interval,
            keepalive_timeout,
            close_timeout,
            handshake_timeout,
            release_idle_after,
        } = *config;
        Settings {
            write_buffer_high_water,
            read_buffer_size,
            read_ahead_limit,
            keepalive_interval,
            keepalive_timeout,
            close_timeout,
            handshake_timeout,
            release_idle_after,
        }
    }

    /// The whole configuration again, with `protocol`.
    pub(super) fn with_protocol(&self, protocol: proto::Config) -> Config {
        Config {
            protocol,
            write_buffer_high_water: self.write_buffer_high_water,
            read_buffer_size: self.read_buffer_size,
            read_ahead_limit: self.read_ahead_limit,
            keepalive_interval: self.keepalive_interval,
            keepalive_timeout: self.keepalive_timeout,
            close_timeout: self.close_timeout,
            handshake_timeout: self.handshake_timeout,
            release_idle_after: self.release_idle_after,
        }
    }
}

impl Default for Config {
    fn default() -> Config {
        Config {
            protocol: proto::Config::default(),
            write_buffer_high_water: 64 << 10,
            read_buffer_size: 256 << 10,
            read_ahead_limit: 1 << 20,
            keepalive_interval: None,
            keepalive_timeout: Duration::from_secs(20),
            close_timeout: Duration::from_secs(5),
            handshake_timeout: Duration::from_secs(10),
            release_idle_after: Some(Duration::from_secs(5)),
        }
    }
}

impl Config {
    /// Sets the protocol limits and extensions.
    pub fn protocol(mut self, protocol: proto::Config) -> Config {
        self.protocol = protocol;
        self
    }

    /// Offers (client) or accepts (server) permessage-deflate (RFC 7692).
    #[cfg(feature = "deflate")]
    pub fn deflate(mut self, config: crate::proto::DeflateConfig) -> Config {
        self.protocol = self.protocol.deflate(config);
        self
    }

    /// Sets the write buffer's high-water mark.
    pub fn write_buffer_high_water(mut self, bytes: usize) -> Config {
        self.write_buffer_high_water = bytes;
        self
    }

    /// Sets the size of each read.
    pub fn read_buffer_size(mut self, bytes: usize) -> Config {
        self.read_buffer_size = bytes.max(1);
        self
    }

    /// Sets how much is read ahead while the application only sends.
    pub fn read_ahead_limit(mut self, bytes: usize) -> Config {
        self.read_ahead_limit = bytes;
        self
    }

    /// Pings the peer after `interval` of silence and ends the connection if
    /// it stays silent for `timeout` more. The peer's answers surface as
    /// `Message::Pong` with the payload `keepalive`.
    pub fn keepalive(mut self, interval: Duration, timeout: Duration) -> Config {
        self.keepalive_interval = Some(interval);
        self.keepalive_timeout = timeout;
        self
    }

    /// Sets the close handshake timeout.
    pub fn close_timeout(mut self, timeout: Duration) -> Config {
        self.close_timeout = timeout;
        self
    }

    /// Sets the opening handshake timeout.
    pub fn handshake_timeout(mut self, timeout: Duration) -> Config {
        self.handshake_timeout = timeout;
        self
    }

    /// Sets how long a connection is quiet before it frees its idle
    /// memory (`None`: never; see the field).
    pub fn release_idle_after(mut self, after: Option<Duration>) -> Config {
        self.release_idle_after = after;
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proto::{Connection, Role};
    use crate::ws::WebSocket;

    #[test]
    fn an_open_websocket_reports_the_configuration_it_was_given() {
        let config = Config::default()
            .protocol(
                proto::Config::default()
                    .max_message_size(1234)
                    .max_frame_size(567)
                    .auto_pong(false),
            )
            .write_buffer_high_water(77)
            .read_buffer_size(1000)
            .read_ahead_limit(99)
            .keepalive(Duration::from_secs(3), Duration::from_millis(4500))
            .close_timeout(Duration::from_micros(6))
            .handshake_timeout(Duration::from_secs(7))
            .release_idle_after(None);
        #[cfg(feature = "deflate")]
        let config = config.deflate(crate::proto::DeflateConfig::default());
        let io = futures_util::io::Cursor::new(Vec::new());
        let ws = WebSocket::from_upgraded(io, Role::Server, config);
        let got = ws.config();
        assert_eq!(got.protocol.max_message_size, 1234);
        assert_eq!(got.protocol.max_frame_size, 567);
        assert!(!got.protocol.auto_pong);
        assert_eq!(got.write_buffer_high_water, 77);
        assert_eq!(got.read_buffer_size, 1000);
        assert_eq!(got.read_ahead_limit, 99);
        assert_eq!(got.keepalive_interval, Some(Duration::from_secs(3)));
        assert_eq!(got.keepalive_timeout, Duration::from_millis(4500));
        assert_eq!(got.close_timeout, Duration::from_micros(6));
        assert_eq!(got.handshake_timeout, Duration::from_secs(7));
        assert_eq!(got.release_idle_after, None);
        // Offers are not kept; what is in use is the connection's.
        assert!(got.protocol.extensions.is_empty());
        #[cfg(feature = "deflate")]
        assert_eq!(ws.connection().config().extensions.len(), 1);
    }

    #[test]
    fn the_protocol_limits_reported_are_the_connections() {
        let conn =
            Connection::with_config(Role::Client, proto::Config::default().max_message_size(42));
        let config = Config::default()
            .protocol(proto::Config::default().max_message_size(9999))
            .read_buffer_size(500);
        let io = futures_util::io::Cursor::new(Vec::new());
        let ws = WebSocket::from_connection(io, conn, config);
        assert_eq!(ws.config().protocol.max_message_size, 42);
        assert_eq!(ws.config().read_buffer_size, 500);
    }
}
