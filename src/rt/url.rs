//! `ws://` and `wss://` URLs (RFC 6455 §3).

use std::fmt;

use crate::ws::Error;

/// A parsed WebSocket URL.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct WsUrl {
    /// `wss://` rather than `ws://`.
    pub secure: bool,
    /// The host name or address (IPv6 without brackets).
    pub host: String,
    /// The port (80 or 443 unless given).
    pub port: u16,
    /// The path and query, `/` if empty.
    pub target: String,
}

impl WsUrl {
    /// Parses `ws://host[:port][/path][?query]` or the `wss://` form.
    /// Fragments are not allowed (RFC 6455 §3).
    pub fn parse(url: &str) -> Result<WsUrl, Error> {
        let bad = |why: &str| Error::Url(format!("{url:?}: {why}"));
        let (scheme, rest) = url
            .split_once("://")
            .ok_or_else(|| bad("expected ws://host/path"))?;
        let secure = match scheme.to_ascii_lowercase().as_str() {
            "ws" => false,
            "wss" => true,
            "http" | "https" => return Err(bad("use ws:// or wss://, not http(s)://")),
            _ => return Err(bad("the scheme must be ws:// or wss://")),
        };
        if rest.contains('#') {
            return Err(bad("WebSocket URLs cannot have a fragment"));
        }
        let split = rest.find(['/', '?']).unwrap_or(rest.len());
        let (authority, target) = rest.split_at(split);
        let target = match target {
            "" => "/".to_owned(),
            t if t.starts_with('?') => format!("/{t}"),
            t => t.to_owned(),
        };
        if authority.contains('@') {
            return Err(bad("credentials in the URL are not supported"));
        }
        let (host, port) = if let Some(v6) = authority.strip_prefix('[') {
            let (host, after) = v6
                .split_once(']')
                .ok_or_else(|| bad("unclosed [ in the host"))?;
            match after {
                "" => (host, None),
                p => (
                    host,
                    Some(
                        p.strip_prefix(':')
                            .ok_or_else(|| bad("junk after the IPv6 address"))?,
                    ),
                ),
            }
        } else {
            match authority.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (authority, None),
            }
        };
        if host.is_empty() {
            return Err(bad("missing host"));
        }
        let port = match port {
            None => {
                if secure {
                    443
                } else {
                    80
                }
            }
            Some(p) => match p.parse::<u16>() {
                Ok(p) if p != 0 => p,
                _ => return Err(bad("the port must be a number from 1 to 65535")),
            },
        };
        if target.bytes().any(|b| b.is_ascii_control() || b == b' ') {
            return Err(bad("the path contains spaces or control characters"));
        }
        Ok(WsUrl {
            secure,
            host: host.to_owned(),
            port,
            target,
        })
    }

    /// The `Host` header value: the port is included unless it is the
    /// scheme's default.
    pub fn host_header(&self) -> String {
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        let default = if self.secure { 443 } else { 80 };
        if self.port == default {
            host
        } else {
            format!("{host}:{}", self.port)
        }
    }
}

impl fmt::Display for WsUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let scheme = if self.secure { "wss" } else { "ws" };
        let host = if self.host.contains(':') {
            format!("[{}]", self.host)
        } else {
            self.host.clone()
        };
        write!(f, "{scheme}://{host}:{}{}", self.port, self.target)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_good_urls() {
        let u = WsUrl::parse("ws://example.com/chat?x=1").unwrap();
        assert_eq!(
            (u.secure, u.host.as_str(), u.port, u.target.as_str()),
            (false, "example.com", 80, "/chat?x=1")
        );
        assert_eq!(u.host_header(), "example.com");
        let u = WsUrl::parse("wss://example.com:8443").unwrap();
        assert_eq!((u.secure, u.port, u.target.as_str()), (true, 8443, "/"));
        assert_eq!(u.host_header(), "example.com:8443");
        let u = WsUrl::parse("ws://[::1]:9001/x").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 9001));
        assert_eq!(u.host_header(), "[::1]:9001");
        assert_eq!(WsUrl::parse("WS://h?q").unwrap().target, "/?q");
    }

    #[test]
    fn refuses_bad_urls_with_a_reason() {
        for (url, why) in [
            ("http://example.com/", "not http(s)"),
            ("example.com", "expected ws://"),
            ("ftp://x/", "scheme must be"),
            ("ws:///path", "missing host"),
            ("ws://host:99999/", "port must be"),
            ("ws://host:abc/", "port must be"),
            ("ws://host:0/", "port must be"),
            ("ws://host/#frag", "fragment"),
            ("ws://user@host/", "credentials"),
            ("ws://[::1/", "unclosed"),
        ] {
            let err = WsUrl::parse(url).unwrap_err().to_string();
            assert!(err.contains(why), "{url}: {err}");
        }
    }
}
