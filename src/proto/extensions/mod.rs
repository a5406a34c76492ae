//! Extensions (RFC 6455 §9): negotiation in the handshake, and hooks that
//! transform message payloads and claim reserved bits.
//!
//! An [`Extension`] is configured on a connection as a template; each
//! connection works on its own clone, so state such as a compression context
//! is never shared. permessage-deflate (RFC 7692) implements this trait
//! behind the `deflate` feature.

#[cfg(feature = "deflate")]
pub mod permessage_deflate;

use std::fmt;

use bytes::Bytes;

use super::close::CloseCode;
use super::frame::{OpCode, Rsv};

/// One extension offer or response: `name; param; param=value`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionParams {
    /// The extension's registered name, e.g. `permessage-deflate`.
    pub name: String,
    /// The parameters in order: name and optional value (unquoted).
    pub params: Vec<(String, Option<String>)>,
}

impl ExtensionParams {
    /// The value of the first parameter called `name`, `Some(None)` if it
    /// has no value, `None` if it is absent.
    pub fn get(&self, name: &str) -> Option<Option<&str>> {
        self.params
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_deref())
    }
}

impl fmt::Display for ExtensionParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.name)?;
        for (name, value) in &self.params {
            match value {
                Some(v) if v.bytes().all(is_token_byte) && !v.is_empty() => {
                    write!(f, "; {name}={v}")?
                }
                Some(v) => write!(
                    f,
                    "; {name}=\"{}\"",
                    v.replace('\\', "\\\\").replace('"', "\\\"")
                )?,
                None => write!(f, "; {name}")?,
            }
        }
        Ok(())
    }
}

/// Whether `b` may appear in an HTTP token (RFC 9110 §5.6.2).
pub(crate) fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || b"!#$%&'*+-.^_`|~".contains(&b)
}

/// Parses a `Sec-WebSocket-Extensions` value into its offers, in order.
/// Returns `None` if the value is not well formed.
pub fn parse_extensions(value: &str) -> Option<Vec<ExtensionParams>> {
    let mut out = Vec::new();
    let mut p = Parser {
        s: value.as_bytes(),
        pos: 0,
    };
    loop {
        p.skip_ows();
        if p.at_end() {
            // Empty list elements are allowed by the list syntax; an entirely
            // empty value yields no offers.
            return Some(out);
        }
        if p.eat(b',') {
            continue;
        }
        let name = p.token()?;
        let mut params = Vec::new();
        loop {
            p.skip_ows();
            if p.at_end() || p.eat(b',') {
                break;
            }
            if !p.eat(b';') {
                return None;
            }
            p.skip_ows();
            let pname = p.token()?;
            p.skip_ows();
            let pvalue = if p.eat(b'=') {
                p.skip_ows();
                Some(if p.peek() == Some(b'"') {
                    p.quoted()?
                } else {
                    p.token()?
                })
            } else {
                None
            };
            params.push((pname, pvalue));
        }
        out.push(ExtensionParams { name, params });
    }
}

struct Parser<'a> {
    s: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn at_end(&self) -> bool {
        self.pos >= self.s.len()
    }
    fn peek(&self) -> Option<u8> {
        self.s.get(self.pos).copied()
    }
    fn eat(&mut self, b: u8) -> bool {
        if self.peek() == Some(b) {
            self.pos += 1;
            true
        } else {
            false
        }
    }
    fn skip_ows(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.pos += 1;
        }
    }
    fn token(&mut self) -> Option<String> {
        let start = self.pos;
        while self.peek().is_some_and(is_token_byte) {
            self.pos += 1;
        }
        (self.pos > start).then(|| String::from_utf8_lossy(&self.s[start..self.pos]).into_owned())
    }
    fn quoted(&mut self) -> Option<String> {
        self.pos += 1; // opening quote
        let mut v = Vec::new();
        loop {
            match self.peek()? {
                b'"' => {
                    self.pos += 1;
                    return String::from_utf8(v).ok();
                }
                b'\\' => {
                    self.pos += 1;
                    v.push(self.peek()?);
                    self.pos += 1;
                }
                b => {
                    v.push(b);
                    self.pos += 1;
                }
            }
        }
    }
}

/// Client: the offers of every configured extension, in order.
pub(crate) fn offers(templates: &[Box<dyn Extension>]) -> Vec<ExtensionParams> {
    templates.iter().flat_map(|e| e.offer()).collect()
}

/// Server: takes the client's `offers` in its order of preference, each
/// configured extension (a template in `templates`) accepting at most one.
/// Returns the accepted extensions and the responses to send, in order.
pub(crate) fn negotiate(
    templates: &[Box<dyn Extension>],
    offers: &[ExtensionParams],
) -> (Vec<Box<dyn Extension>>, Vec<ExtensionParams>) {
    let mut active: Vec<Box<dyn Extension>> = Vec::new();
    let mut responses = Vec::new();
    for offer in offers {
        if active.iter().any(|e| e.name() == offer.name) {
            continue;
        }
        let Some(template) = templates.iter().find(|e| e.name() == offer.name) else {
            continue;
        };
        let mut ext = template.box_clone();
        if let Some(response) = ext.accept(offer) {
            responses.push(response);
            if active.is_empty() {
                // Sized for what can be accepted (each template at most
                // once), and only once something is: the list lives as long
                // as the connection, and a growing Vec would hold room for
                // four.
                active.reserve_exact(templates.len().min(offers.len()));
            }
            active.push(ext);
        }
    }
    (active, responses)
}

/// Client: matches the extensions a server `accepted` with those offered
/// (`templates`), and lets each finalize its parameters.
pub(crate) fn finalize(
    templates: &[Box<dyn Extension>],
    accepted: &[ExtensionParams],
) -> Result<Vec<Box<dyn Extension>>, String> {
    // Sized as in `negotiate`: it lives as long as the connection.
    let mut active: Vec<Box<dyn Extension>> =
        Vec::with_capacity(accepted.len().min(templates.len()));
    for params in accepted {
        if active.iter().any(|e| e.name() == params.name) {
            return Err(format!("server accepted extension {} twice", params.name));
        }
        let template = templates
            .iter()
            .find(|e| e.name() == params.name)
            .ok_or_else(|| {
                format!(
                    "server accepted extension {}, which was not offered",
                    params.name
                )
            })?;
        let mut ext = template.box_clone();
        ext.finalize(params)
            .map_err(|e| format!("extension {}: {e}", params.name))?;
        active.push(ext);
    }
    Ok(active)
}

/// Extension offers or responses as one `Sec-WebSocket-Extensions` value.
pub(crate) fn join(params: &[ExtensionParams]) -> String {
    let list: Vec<String> = params.iter().map(ToString::to_string).collect();
    list.join(", ")
}

/// The names of `extensions`, comma-separated, for diagnostics.
pub(crate) fn names(extensions: &[Box<dyn Extension>]) -> String {
    let names: Vec<&str> = extensions.iter().map(|e| e.name()).collect();
    names.join(", ")
}

/// A failure inside an extension that ends the connection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExtensionError {
    /// The close code to send (1002 for protocol errors, 1009 for too much
    /// data, 1007 for bad data, 1011 for internal failures).
    pub code: CloseCode,
    /// What went wrong.
    pub message: String,
}

/// A WebSocket extension.
///
/// The connection drives an extension through three phases: negotiation
/// (`offer` on the client, `accept` on the server, `finalize` on the client),
/// then per message, inbound (`begin_inbound` / `decode`) and outbound
/// (`begin_outbound` / `encode`). Extensions see message payloads in the
/// order they travel, already unmasked; control frames never reach them.
pub trait Extension: fmt::Debug + Send + Sync {
    /// The registered name, e.g. `permessage-deflate`.
    fn name(&self) -> &str;

    /// The reserved bits this extension may set on the first frame of a
    /// message. Frames using any other reserved bit are protocol errors.
    fn rsv_bits(&self) -> Rsv;

    /// Client: the offers to send, most preferred first (each is rendered as
    /// `name; params`). An empty list offers nothing.
    fn offer(&self) -> Vec<ExtensionParams>;

    /// Server: looks at one of the client's offers for this extension and
    /// returns the parameters of the response to accept it, or `None` to
    /// decline (the server then tries the next offer).
    fn accept(&mut self, offer: &ExtensionParams) -> Option<ExtensionParams>;

    /// Client: the server accepted this extension with `response`. Returning
    /// an error fails the handshake.
    fn finalize(&mut self, response: &ExtensionParams) -> Result<(), String>;

    /// An inbound data message starts, with these reserved bits on its first
    /// frame. Returns whether this extension transforms the message.
    fn begin_inbound(&mut self, opcode: OpCode, rsv: Rsv) -> Result<bool, ExtensionError>;

    /// Transforms a piece of an inbound message this extension claimed.
    /// `max_output` is how many more bytes the message may grow to; producing
    /// more is an error with code 1009.
    fn decode(
        &mut self,
        data: Bytes,
        message_finished: bool,
        max_output: usize,
    ) -> Result<Bytes, ExtensionError>;

    /// An outbound data message starts with `first` (its first piece).
    /// Returns the reserved bits for its first frame; a non-empty set means
    /// `encode` will be called for each of its pieces.
    fn begin_outbound(&mut self, opcode: OpCode, first: &[u8]) -> Rsv;

    /// Transforms a piece of an outbound message this extension claimed.
    fn encode(&mut self, data: Bytes, message_finished: bool) -> Bytes;

    /// A copy with the same configuration and fresh state, for a new
    /// connection.
    fn box_clone(&self) -> Box<dyn Extension>;

    /// Frees state that only makes the next message cheaper (such as a
    /// compressor's tables), for a connection that went quiet. It must not
    /// change what either side receives, and keeps what a message part-way
    /// through (in either direction) needs. By default there is none to
    /// free.
    fn release_idle_memory(&mut self) {}

    /// Whether [`Self::release_idle_memory`] would free anything now.
    fn holds_idle_memory(&self) -> bool {
        false
    }
}

impl Clone for Box<dyn Extension> {
    fn clone(&self) -> Self {
        self.box_clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[cfg(feature = "deflate")]
    fn the_accepted_list_holds_room_for_what_was_accepted_only() {
        use permessage_deflate::{DeflateConfig, PerMessageDeflate};
        let templates: Vec<Box<dyn Extension>> =
            vec![Box::new(PerMessageDeflate::new(DeflateConfig::default()))];
        let offers = parse_extensions(
            "permessage-deflate; x-unknown, permessage-deflate, permessage-deflate",
        )
        .unwrap();
        let (active, responses) = negotiate(&templates, &offers);
        assert_eq!((active.len(), responses.len()), (1, 1));
        assert_eq!(active.capacity(), 1);
        // Nothing accepted: nothing allocated for the connection's life.
        let (active, responses) = negotiate(&templates, &offers[..1]);
        assert!(active.is_empty() && responses.is_empty());
        assert_eq!(active.capacity(), 0);
    }

    #[test]
    fn parses_offers_with_params_and_quotes() {
        let got = parse_extensions(
            "permessage-deflate; client_max_window_bits, permessage-deflate; server_max_window_bits=\"10\" ,x-foo",
        )
        .unwrap();
        assert_eq!(got.len(), 3);
        assert_eq!(got[0].name, "permessage-deflate");
        assert_eq!(got[0].get("client_max_window_bits"), Some(None));
        assert_eq!(got[1].get("server_max_window_bits"), Some(Some("10")));
        assert_eq!(
            got[2],
            ExtensionParams {
                name: "x-foo".into(),
                params: vec![]
            }
        );
    }

    #[test]
    fn refuses_malformed_values() {
        for bad in ["a;", "a; =1", "a b", "a; b=\"x", "a; b=", ";a", "a; b=1 c"] {
            assert_eq!(parse_extensions(bad), None, "{bad:?}");
        }
        assert_eq!(parse_extensions("").unwrap(), vec![]);
        assert_eq!(parse_extensions(" , ").unwrap(), vec![]);
    }

    #[test]
    fn display_round_trips() {
        let e = ExtensionParams {
            name: "x".into(),
            params: vec![
                ("a".into(), None),
                ("b".into(), Some("1".into())),
                ("c".into(), Some("a b".into())),
            ],
        };
        let s = e.to_string();
        assert_eq!(s, "x; a; b=1; c=\"a b\"");
        assert_eq!(parse_extensions(&s).unwrap(), vec![e]);
    }
}
