//! The bodies of the fuzz targets, as plain functions of the input bytes so
//! that the `fuzz_targets/` binaries (libFuzzer), the corpus replay tests
//! and the `seeds` generator all run the same code.
//!
//! Each function panics when an invariant breaks; libFuzzer reports a panic
//! as a crash.

mod connection;
mod frame_header;
mod handshake;
pub mod script;
mod whole_frames;
pub mod wire;

pub use connection::{Summary, client_connection, run_connection, server_connection};
pub use frame_header::frame_header;
pub use handshake::{handshake_request, handshake_response};
pub use whole_frames::whole_frames;

use wsproto::proto::{Config, DeflateConfig};

/// The `Sec-WebSocket-Accept` of RFC 6455 §1.3's example key. A client
/// target replaces it with the value its own (random) key calls for, so the
/// fuzzer can complete a handshake: see [`substitute_accept`].
pub const ACCEPT_PLACEHOLDER: &[u8] = b"s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// `data` with the placeholder replaced by `accept` where it is the value
/// of a `Sec-WebSocket-Accept` header (after the name, the colon and any
/// blanks), and nowhere else: elsewhere the random value would make the
/// outcome depend on the key (a `/` in it is no token character, say).
pub fn substitute_accept(data: &[u8], accept: &[u8]) -> Vec<u8> {
    const NAME: &[u8] = b"sec-websocket-accept";
    let mut out = data.to_vec();
    let n = ACCEPT_PLACEHOLDER.len();
    let mut i = 0;
    while i + n <= out.len() {
        if &out[i..i + n] != ACCEPT_PLACEHOLDER {
            i += 1;
            continue;
        }
        let mut j = i;
        while j > 0 && matches!(out[j - 1], b' ' | b'\t') {
            j -= 1;
        }
        let after_name = j > NAME.len()
            && out[j - 1] == b':'
            && out[j - 1 - NAME.len()..j - 1].eq_ignore_ascii_case(NAME);
        if after_name {
            out[i..i + n].copy_from_slice(accept);
            i += n;
        } else {
            i += 1;
        }
    }
    out
}

/// Small limits, so that inputs of a few KiB reach every limit.
pub fn small_config() -> Config {
    Config::default()
        .max_frame_size(1024)
        .max_message_size(4096)
        .max_fragments(8)
        .max_handshake_size(512)
        .max_headers(8)
}

/// The permessage-deflate configuration of the connection targets (and of
/// the seeds recorded for them): small messages compressed too, and with
/// `no_takeover`, fresh contexts and 2^10-byte windows both ways.
pub fn deflate_config(no_takeover: bool) -> DeflateConfig {
    let c = DeflateConfig::default().min_size(8);
    if no_takeover {
        c.server_no_context_takeover(true)
            .client_no_context_takeover(true)
            .server_max_window_bits(Some(10))
            .client_max_window_bits(Some(10))
    } else {
        c
    }
}

/// The value of the header `name` in an HTTP head.
pub fn find_header(head: &[u8], name: &[u8]) -> Option<Vec<u8>> {
    head.split(|&b| b == b'\n').find_map(|line| {
        let colon = line.iter().position(|&b| b == b':')?;
        line[..colon]
            .eq_ignore_ascii_case(name)
            .then(|| line[colon + 1..].trim_ascii().to_vec())
    })
}

/// `data` with every `from` replaced by `to` (of the same length).
pub fn replace_all(data: &[u8], from: &[u8], to: &[u8]) -> Vec<u8> {
    assert_eq!(from.len(), to.len());
    let mut out = data.to_vec();
    let mut i = 0;
    while i + from.len() <= out.len() {
        if &out[i..i + from.len()] == from {
            out[i..i + from.len()].copy_from_slice(to);
            i += from.len();
        } else {
            i += 1;
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_placeholder_is_substituted_only_as_the_accept_value() {
        let p = std::str::from_utf8(ACCEPT_PLACEHOLDER).unwrap();
        let input = format!("Sec-WebSocket-Accept: {p}\r\nX: {p}\r\nsec-websocket-accept:{p}");
        let real = "0123456789012345678901234567";
        let got = substitute_accept(input.as_bytes(), real.as_bytes());
        let want = format!("Sec-WebSocket-Accept: {real}\r\nX: {p}\r\nsec-websocket-accept:{real}");
        assert_eq!(String::from_utf8(got).unwrap(), want);
    }
}
