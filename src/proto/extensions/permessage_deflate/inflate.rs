//! Bounded inflation of one message's compressed payload.
//!
//! The output grows in steps and is checked against the message limit
//! after each, so a compression bomb costs memory in proportion to the
//! limit, never to what the stream would inflate to.

use flate2::{Decompress, FlushDecompress, Status};

use super::window::Window;
use crate::proto::close::CloseCode;
use crate::proto::extensions::ExtensionError;

/// Inflates `input` into `out`, never letting `out` grow past
/// `max_output + 1` bytes (one more than allowed proves the overflow).
///
/// A final block (BFINAL) ends a DEFLATE stream; whatever follows it in the
/// message starts a new one (RFC 7692 §7.2.1), so the decompressor starts
/// over there, with an empty window. What is inflated is added to `window`
/// (see `PerMessageDeflate::inbound_window`). Returns whether the input
/// ended exactly at a stream's end.
pub(super) fn inflate(
    d: &mut Decompress,
    input: &[u8],
    out: &mut Vec<u8>,
    max_output: usize,
    mut window: Option<&mut Window>,
) -> Result<bool, ExtensionError> {
    let corrupt = |detail: String| ExtensionError {
        code: CloseCode::INVALID_PAYLOAD,
        message: format!("invalid compressed data: {detail}"),
    };
    let mut consumed = 0;
    loop {
        if out.len() == out.capacity() {
            if out.len() > max_output {
                return Err(too_big(max_output));
            }
            // Grow geometrically, but never beyond one byte over the limit.
            let want =
                (out.capacity().max(input.len() * 2).max(1024)).min(max_output + 1 - out.len());
            out.reserve_exact(want.max(1));
        }
        let (in_before, out_before) = (d.total_in(), out.len());
        let status = d
            .decompress_vec(&input[consumed..], out, FlushDecompress::Sync)
            .map_err(|e| corrupt(e.to_string()))?;
        consumed += (d.total_in() - in_before) as usize;
        if out.len() > max_output {
            return Err(too_big(max_output));
        }
        if let Some(window) = window.as_deref_mut() {
            window.push(&out[out_before..]);
        }
        if status == Status::StreamEnd {
            d.reset(false);
            if let Some(window) = window.as_deref_mut() {
                window.clear();
            }
            if consumed == input.len() {
                return Ok(true);
            }
            continue;
        }
        if consumed == input.len() && out.len() < out.capacity() {
            return Ok(false);
        }
        let progressed = out.len() != out_before || d.total_in() != in_before;
        if !progressed && out.len() < out.capacity() {
            return Err(corrupt("the stream made no progress".into()));
        }
    }
}

/// The error for inflated output past `max_output` bytes.
fn too_big(max_output: usize) -> ExtensionError {
    ExtensionError {
        code: CloseCode::MESSAGE_TOO_BIG,
        message: format!("decompressed message exceeds the limit ({max_output} bytes left)"),
    }
}
