//! permessage-deflate (RFC 7692): per-message DEFLATE compression.
//!
//! The compressor and decompressor are `flate2` raw-deflate streams on the
//! `zlib-rs` backend (pure Rust, zlib-compatible, window bits supported;
//! faster than `miniz_oxide` in `benches/deflate.rs`). Inflation is
//! bounded: output is produced in steps and checked against the message
//! limit as it grows, so a
//! compression bomb costs memory in proportion to the limit (at worst about
//! twice it, while the output buffer grows) and the matching CPU, never more.

use std::collections::HashSet;

use bytes::Bytes;
use flate2::{Compress, Compression, Decompress, FlushCompress};

use super::{Extension, ExtensionError, ExtensionParams};
use crate::proto::frame::{OpCode, Rsv};
use inflate::inflate;
use payoff::Payoff;
use window::Window;

/// The extension's registered name.
pub const NAME: &str = "permessage-deflate";

/// The empty stored block that ends every compressed message, which RFC 7692
/// §7.2.1 has the sender strip and the receiver restore.
const TAIL: [u8; 4] = [0x00, 0x00, 0xff, 0xff];

/// The largest LZ77 window, and the smallest `zlib` can compress with (it
/// turns a request for 8 bits into 9, which a peer limited to 8 could not
/// inflate; so with an 8-bit limit we send messages uncompressed instead).
const MAX_WINDOW_BITS: u8 = 15;
const MIN_COMPRESS_WINDOW_BITS: u8 = 9;

/// How permessage-deflate is offered (client) or accepted (server).
///
/// The parameter names follow RFC 7692 §7.1: `server_*` parameters are about
/// the server's compressor, `client_*` about the client's.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeflateConfig {
    /// Compression level, 0 (store) to 9 (smallest). Default 1: most of the
    /// size win at a fraction of the CPU of the higher levels.
    pub level: u32,
    /// Messages shorter than this many bytes are sent uncompressed (default
    /// 32): compressing them would save nothing or even grow them.
    pub min_size: usize,
    /// Client: ask the server to reset its compressor after every message.
    /// Server: always reset ours, and say so. Costs compression ratio; lets
    /// the peer free its inflater's window between messages (this crate
    /// does). Either way our compressor keeps its allocation (about 310
    /// KiB at 15 window bits and level 1, once a message was compressed)
    /// until the connection goes idle (`Connection::release_idle_memory`);
    /// with context takeover it also keeps a copy of its window (up to 32
    /// KiB) to go on from after that.
    pub server_no_context_takeover: bool,
    /// Client: reset our compressor after every message (and say so).
    /// Server: ask the client to reset its compressor after every message,
    /// so that ours frees its inflater's window (up to 32 KiB) between
    /// messages.
    pub client_no_context_takeover: bool,
    /// Client: ask the server to use at most a `2^n`-byte window (8–15).
    /// Server: use at most this window ourselves.
    pub server_max_window_bits: Option<u8>,
    /// Client: offer `client_max_window_bits` with this value (8–15; without
    /// one the bare parameter says we can honour any limit). Server: ask a
    /// client that offered the parameter to use at most this window.
    pub client_max_window_bits: Option<u8>,
    /// After a few messages in a row that compression shrank by less than
    /// 1/16, send messages uncompressed for a while (8 messages, doubling
    /// up to 1024 while trials still do not pay), so random, encrypted or
    /// already compressed payloads do not pay the compressor's CPU for
    /// nothing. Default on; off compresses every message of at least
    /// `min_size`.
    pub skip_incompressible: bool,
}

impl Default for DeflateConfig {
    fn default() -> DeflateConfig {
        DeflateConfig {
            level: 1,
            min_size: 32,
            server_no_context_takeover: false,
            client_no_context_takeover: false,
            server_max_window_bits: None,
            client_max_window_bits: None,
            skip_incompressible: true,
        }
    }
}

impl DeflateConfig {
    /// Sets the compression level (0–9).
    pub fn level(mut self, level: u32) -> DeflateConfig {
        self.level = level.min(9);
        self
    }

    /// Sets the size under which messages are sent uncompressed.
    pub fn min_size(mut self, bytes: usize) -> DeflateConfig {
        self.min_size = bytes;
        self
    }

    /// Sets `server_no_context_takeover` (see the field).
    pub fn server_no_context_takeover(mut self, on: bool) -> DeflateConfig {
        self.server_no_context_takeover = on;
        self
    }

    /// Sets `client_no_context_takeover` (see the field).
    pub fn client_no_context_takeover(mut self, on: bool) -> DeflateConfig {
        self.client_no_context_takeover = on;
        self
    }

    /// Sets `server_max_window_bits` (8–15; see the field).
    pub fn server_max_window_bits(mut self, bits: Option<u8>) -> DeflateConfig {
        self.server_max_window_bits = bits.map(|b| b.clamp(8, MAX_WINDOW_BITS));
        self
    }

    /// Sets `client_max_window_bits` (8–15; see the field).
    pub fn client_max_window_bits(mut self, bits: Option<u8>) -> DeflateConfig {
        self.client_max_window_bits = bits.map(|b| b.clamp(8, MAX_WINDOW_BITS));
        self
    }

    /// Sets `skip_incompressible` (see the field).
    pub fn skip_incompressible(mut self, on: bool) -> DeflateConfig {
        self.skip_incompressible = on;
        self
    }
}

/// What negotiation settled for one connection.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
struct Agreed {
    /// Our compressor's window, in bits.
    own_window_bits: u8,
    /// The peer's compressor's window, in bits: how far back its messages
    /// may refer.
    peer_window_bits: u8,
    /// Reset our compressor after each message.
    own_no_context_takeover: bool,
    /// The peer resets its compressor after each message, so ours is
    /// dropped at each message's end (freeing its window between messages).
    peer_no_context_takeover: bool,
}

/// What a connection uses when it was handed the extension without a
/// handshake (`Connection::with_config`, e.g. after an HTTP/2 bootstrap):
/// permessage-deflate with no parameters.
const UNNEGOTIATED: Agreed = Agreed {
    own_window_bits: MAX_WINDOW_BITS,
    peer_window_bits: MAX_WINDOW_BITS,
    own_no_context_takeover: false,
    peer_no_context_takeover: false,
};

/// The permessage-deflate extension. Configure it on a connection (a
/// template: each connection negotiates and compresses with its own copy).
#[derive(Debug)]
pub struct PerMessageDeflate {
    config: DeflateConfig,
    agreed: Option<Agreed>,
    /// Boxed (as zlib's state already is): a connection that negotiated
    /// the extension but sends nothing, or released its streams while
    /// idle, carries a pointer for each rather than 150 bytes.
    compressor: Option<Box<Compress>>,
    decompressor: Option<Box<Decompress>>,
    /// The inbound message's payload so far ended exactly at the end of a
    /// DEFLATE stream (a final block), so no tail is to be restored.
    inbound_stream_ended: bool,
    /// Compressed bytes received for the inbound message so far.
    inbound_len: usize,
    /// Whether compressing has paid lately (see `skip_incompressible`).
    payoff: Payoff,
    /// With context takeover on our side, the window our compressor has
    /// built, so that it can be dropped while idle and rebuilt (see
    /// `Extension::release_idle_memory`). Boxed, like the streams: made at
    /// the first message, so a connection that sends none carries only a
    /// pointer.
    outbound_window: Option<Box<Window>>,
    /// Likewise the peer's window, what our inflater has inflated, when the
    /// peer keeps its context.
    inbound_window: Option<Box<Window>>,
    /// An outbound message is part-way through the compressor, which
    /// therefore must not be dropped.
    outbound_unfinished: bool,
    /// An inbound message is part-way through the inflater.
    inbound_unfinished: bool,
}

impl PerMessageDeflate {
    /// The extension with `config`.
    pub fn new(config: DeflateConfig) -> PerMessageDeflate {
        PerMessageDeflate {
            config,
            agreed: None,
            compressor: None,
            decompressor: None,
            inbound_stream_ended: false,
            inbound_len: 0,
            payoff: Payoff::new(),
            outbound_window: None,
            inbound_window: None,
            outbound_unfinished: false,
            inbound_unfinished: false,
        }
    }

    /// The configuration.
    pub fn config(&self) -> &DeflateConfig {
        &self.config
    }

    fn compress(&mut self, data: &[u8], message_finished: bool) -> Bytes {
        let agreed = self.agreed.unwrap_or(UNNEGOTIATED);
        // The field is public: clamp here too, not only in the setter.
        let level = self.config.level.min(9);
        let window = &mut self.outbound_window;
        let compressor = self.compressor.get_or_insert_with(|| {
            let mut c = Compress::new_with_window_bits(
                Compression::new(level),
                false,
                agreed.own_window_bits,
            );
            if let Some(dictionary) = window.as_deref_mut().and_then(Window::dictionary) {
                // Rebuilt after an idle spell: go on from the window the
                // peer holds. (Raw deflate takes a dictionary; it only
                // fails on a stream already started.)
                let preset = c.set_dictionary(dictionary);
                debug_assert!(preset.is_ok(), "{preset:?}");
            }
            Box::new(c)
        });
        let mut out = Vec::with_capacity(data.len() / 2 + 64);
        let mut consumed = 0;
        loop {
            let before = compressor.total_in();
            // `BufError` (no progress possible) is not a failure: it is what
            // a sync flush with nothing new to flush reports.
            let _ = compressor
                .compress_vec(&data[consumed..], &mut out, FlushCompress::Sync)
                .expect("deflate cannot fail on valid state");
            consumed += (compressor.total_in() - before) as usize;
            // A sync flush is complete once it returns with output room left.
            if consumed == data.len() && out.len() < out.capacity() {
                break;
            }
            out.reserve(out.capacity().max(256));
        }
        if message_finished {
            if out.ends_with(&TAIL) {
                out.truncate(out.len() - TAIL.len());
            }
            if out.is_empty() {
                // Nothing was pending since the last flush (an empty final
                // fragment, or an empty message). An empty payload would
                // leave the peer's inflater inside the stored block the
                // restored tail starts; a lone 0x00 completes that block as
                // an empty one (RFC 7692 §7.2.3.6), at the byte boundary our
                // compressor stands on.
                out.push(0x00);
            }
            if agreed.own_no_context_takeover {
                compressor.reset();
            }
        }
        if !agreed.own_no_context_takeover {
            self.outbound_window
                .get_or_insert_with(|| Box::new(Window::new(agreed.own_window_bits)))
                .push(data);
        }
        self.outbound_unfinished = !message_finished;
        // Judged on what goes on the wire (the tail stripped).
        self.payoff.record(data.len(), out.len(), message_finished);
        Bytes::from(out)
    }

    fn decompress(
        &mut self,
        data: &[u8],
        message_finished: bool,
        max_output: usize,
    ) -> Result<Bytes, ExtensionError> {
        let agreed = self.agreed.unwrap_or(UNNEGOTIATED);
        // The peer's window, kept only while it keeps its context.
        let mut window = match agreed.peer_no_context_takeover {
            true => None,
            false => Some(
                &mut **self
                    .inbound_window
                    .get_or_insert_with(|| Box::new(Window::new(agreed.peer_window_bits))),
            ),
        };
        // A decompressor with the largest window inflates anything a peer
        // may send, whatever window it was asked to use.
        let decompressor = self.decompressor.get_or_insert_with(|| {
            let mut d = Decompress::new_with_window_bits(false, MAX_WINDOW_BITS);
            if let Some(dictionary) = window.as_deref_mut().and_then(Window::dictionary) {
                // Rebuilt after an idle spell: the peer may refer back
                // into what it sent before. (Raw inflate takes a
                // dictionary at any point.)
                let preset = d.set_dictionary(dictionary);
                debug_assert!(preset.is_ok(), "{preset:?}");
            }
            Box::new(d)
        });
        let mut out = Vec::new();
        self.inbound_len += data.len();
        self.inbound_unfinished = !message_finished;
        if !data.is_empty() {
            self.inbound_stream_ended = inflate(
                decompressor,
                data,
                &mut out,
                max_output,
                window.as_deref_mut(),
            )?;
        }
        if message_finished {
            // The tail is restored unless the payload is empty (it would
            // start a stored block that never ends) or ended exactly with a
            // final block (the stream is over; §7.2.3.4 senders pad after
            // it, and that padding was inflated as a new stream above).
            if !self.inbound_stream_ended && self.inbound_len > 0 {
                inflate(decompressor, &TAIL, &mut out, max_output, window)?;
            }
            self.inbound_stream_ended = false;
            self.inbound_len = 0;
            if agreed.peer_no_context_takeover {
                // The next message starts afresh: free the window (about
                // 20 KiB after a small message, up to 32 KiB) rather than
                // keep it through the idle time between messages. A new
                // inflater costs about 0.5 us (`cargo bench --bench
                // deflate -- state`).
                self.decompressor = None;
            }
        }
        Ok(Bytes::from(out))
    }
}

/// A window-bits value: a number from 8 to 15.
fn window_bits(value: Option<&str>) -> Option<u8> {
    let v = value?;
    if v.is_empty() || v.len() > 2 || !v.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    v.parse::<u8>()
        .ok()
        .filter(|b| (8..=MAX_WINDOW_BITS).contains(b))
}

/// The parameters of an offer or response, each name at most once; `None`
/// if a name repeats.
fn unique_params(params: &ExtensionParams) -> Option<Vec<(String, Option<&str>)>> {
    let mut seen = HashSet::new();
    let mut out = Vec::with_capacity(params.params.len());
    for (name, value) in &params.params {
        let name = name.to_ascii_lowercase();
        if !seen.insert(name.clone()) {
            return None;
        }
        out.push((name, value.as_deref()));
    }
    Some(out)
}

impl Extension for PerMessageDeflate {
    fn name(&self) -> &str {
        NAME
    }

    fn rsv_bits(&self) -> Rsv {
        Rsv::RSV1
    }

    fn offer(&self) -> Vec<ExtensionParams> {
        let c = &self.config;
        let mut params = Vec::new();
        if c.server_no_context_takeover {
            params.push(("server_no_context_takeover".to_owned(), None));
        }
        if c.client_no_context_takeover {
            params.push(("client_no_context_takeover".to_owned(), None));
        }
        if let Some(bits) = c.server_max_window_bits {
            params.push(("server_max_window_bits".to_owned(), Some(bits.to_string())));
        }
        // Always present: it tells the server we can honour a window limit.
        params.push((
            "client_max_window_bits".to_owned(),
            c.client_max_window_bits.map(|b| b.to_string()),
        ));
        vec![ExtensionParams {
            name: NAME.to_owned(),
            params,
        }]
    }

    /// Accepts a client's offer (RFC 7692 §7.1), or declines one with an
    /// unknown, repeated or malformed parameter so the next offer is tried.
    fn accept(&mut self, offer: &ExtensionParams) -> Option<ExtensionParams> {
        let c = &self.config;
        let mut own_no_context_takeover = c.server_no_context_takeover;
        let mut requested_server_bits = None;
        let mut client_bits_offered = None;
        for (name, value) in unique_params(offer)? {
            match name.as_str() {
                "server_no_context_takeover" if value.is_none() => own_no_context_takeover = true,
                // A hint that the client resets its context; we need not act on it.
                "client_no_context_takeover" if value.is_none() => {}
                "server_max_window_bits" => requested_server_bits = Some(window_bits(value)?),
                "client_max_window_bits" => {
                    client_bits_offered = Some(match value {
                        None => MAX_WINDOW_BITS,
                        Some(_) => window_bits(value)?,
                    })
                }
                _ => return None,
            }
        }
        let own_window_bits = c
            .server_max_window_bits
            .unwrap_or(MAX_WINDOW_BITS)
            .min(requested_server_bits.unwrap_or(MAX_WINDOW_BITS));
        let mut params = Vec::new();
        if own_no_context_takeover {
            params.push(("server_no_context_takeover".to_owned(), None));
        }
        let peer_no_context_takeover = c.client_no_context_takeover;
        if peer_no_context_takeover {
            params.push(("client_no_context_takeover".to_owned(), None));
        }
        if requested_server_bits.is_some() {
            params.push((
                "server_max_window_bits".to_owned(),
                Some(own_window_bits.to_string()),
            ));
        }
        let mut peer_window_bits = MAX_WINDOW_BITS;
        if let (Some(offered), Some(wanted)) = (client_bits_offered, c.client_max_window_bits) {
            peer_window_bits = wanted.min(offered);
            params.push((
                "client_max_window_bits".to_owned(),
                Some(peer_window_bits.to_string()),
            ));
        }
        self.agreed = Some(Agreed {
            own_window_bits,
            peer_window_bits,
            own_no_context_takeover,
            peer_no_context_takeover,
        });
        Some(ExtensionParams {
            name: NAME.to_owned(),
            params,
        })
    }

    /// Checks the server's response against what was offered (RFC 7692
    /// §7.1); anything else fails the connection.
    fn finalize(&mut self, response: &ExtensionParams) -> Result<(), String> {
        let c = &self.config;
        let mut own_window_bits = c.client_max_window_bits.unwrap_or(MAX_WINDOW_BITS);
        let mut own_no_context_takeover = c.client_no_context_takeover;
        let mut peer_no_context_takeover = false;
        let mut peer_window_bits = MAX_WINDOW_BITS;
        let params = unique_params(response).ok_or("a parameter appears twice in the response")?;
        for (name, value) in params {
            let bad = || {
                format!(
                    "invalid response parameter {name}{}",
                    // Quoted: a peer-chosen value reaches error messages and logs.
                    value.map(|v| format!("={v:?}")).unwrap_or_default()
                )
            };
            match name.as_str() {
                "server_no_context_takeover" if value.is_none() => peer_no_context_takeover = true,
                "client_no_context_takeover" if value.is_none() => own_no_context_takeover = true,
                "server_max_window_bits" => {
                    let bits = window_bits(value).ok_or_else(bad)?;
                    if c.server_max_window_bits.is_some_and(|asked| bits > asked) {
                        return Err(bad());
                    }
                    peer_window_bits = bits;
                }
                "client_max_window_bits" => {
                    // We always offer the parameter, so the server may set it.
                    let bits = window_bits(value).ok_or_else(bad)?;
                    if c.client_max_window_bits
                        .is_some_and(|offered| bits > offered)
                    {
                        return Err(bad());
                    }
                    own_window_bits = bits;
                }
                _ => return Err(bad()),
            }
        }
        self.agreed = Some(Agreed {
            own_window_bits,
            peer_window_bits,
            own_no_context_takeover,
            peer_no_context_takeover,
        });
        Ok(())
    }

    fn begin_inbound(&mut self, _opcode: OpCode, rsv: Rsv) -> Result<bool, ExtensionError> {
        Ok(rsv.contains(Rsv::RSV1))
    }

    fn decode(
        &mut self,
        data: Bytes,
        message_finished: bool,
        max_output: usize,
    ) -> Result<Bytes, ExtensionError> {
        self.decompress(&data, message_finished, max_output)
    }

    fn begin_outbound(&mut self, _opcode: OpCode, first: &[u8]) -> Rsv {
        let Some(agreed) = self.agreed else {
            return Rsv::NONE;
        };
        if agreed.own_window_bits < MIN_COMPRESS_WINDOW_BITS || first.len() < self.config.min_size {
            return Rsv::NONE;
        }
        if self.config.skip_incompressible && !self.payoff.should_compress() {
            return Rsv::NONE;
        }
        Rsv::RSV1
    }

    fn encode(&mut self, data: Bytes, message_finished: bool) -> Bytes {
        self.compress(&data, message_finished)
    }

    fn box_clone(&self) -> Box<dyn Extension> {
        Box::new(PerMessageDeflate::new(self.config.clone()))
    }

    /// Drops the compressor between messages: about 310 KiB at 15 window
    /// bits (355 KiB with the window copy and the rest of the extension,
    /// after 64 KiB sent: `cargo bench --bench deflate -- idle`), of which the window kept for
    /// context takeover (our own window, 32 KiB by default) is all the
    /// next compressor needs. The copies are kept whether or not this is
    /// ever called: up to 64 KiB per busy connection, for both
    /// directions.
    /// Rebuilding it from a full 32 KiB window costs about 80 us where the
    /// kept one compresses a 1 KiB message in about 1 us (`cargo bench
    /// --bench deflate -- idle`), so this is for connections that went
    /// quiet, not for every message.
    ///
    /// The inflater, too, when the peer keeps its context: its window is
    /// kept the same way (what was inflated), which saves only the
    /// inflater's own state once the window is full, but most of the
    /// inflater after small messages (19,873 B after a 1 KiB one, `cargo
    /// bench --bench deflate -- state`); rebuilding it costs about 4 us.
    fn release_idle_memory(&mut self) {
        if !self.outbound_unfinished {
            self.compressor = None;
        }
        if !self.inbound_unfinished {
            self.decompressor = None;
        }
    }

    fn holds_idle_memory(&self) -> bool {
        (self.compressor.is_some() && !self.outbound_unfinished)
            || (self.decompressor.is_some() && !self.inbound_unfinished)
    }
}

mod inflate;
mod payoff;
#[cfg(test)]
mod tests;
mod window;
