//! Close codes (RFC 6455 §7.4) and the close frame payload.

use std::fmt;

use bytes::{BufMut, BytesMut};

/// A WebSocket close status code (RFC 6455 §7.4).
///
/// A plain `u16` would let any number through; this type names the codes the
/// RFC and the IANA registry define and knows which of them may appear in a
/// close frame on the wire.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CloseCode(pub u16);

impl CloseCode {
    /// 1000: the purpose of the connection has been fulfilled.
    pub const NORMAL: CloseCode = CloseCode(1000);
    /// 1001: the endpoint is going away (server shutdown, page navigation).
    pub const GOING_AWAY: CloseCode = CloseCode(1001);
    /// 1002: the peer violated the protocol.
    pub const PROTOCOL_ERROR: CloseCode = CloseCode(1002);
    /// 1003: the endpoint cannot accept this kind of data.
    pub const UNSUPPORTED_DATA: CloseCode = CloseCode(1003);
    /// 1005: no status code was present. Reported locally, never sent.
    pub const NO_STATUS_RCVD: CloseCode = CloseCode(1005);
    /// 1006: the connection ended without a close frame. Reported locally, never sent.
    pub const ABNORMAL_CLOSURE: CloseCode = CloseCode(1006);
    /// 1007: a message's data was inconsistent with its type (invalid UTF-8 text).
    pub const INVALID_PAYLOAD: CloseCode = CloseCode(1007);
    /// 1008: a message violated the endpoint's policy.
    pub const POLICY_VIOLATION: CloseCode = CloseCode(1008);
    /// 1009: a message or frame was too big to process.
    pub const MESSAGE_TOO_BIG: CloseCode = CloseCode(1009);
    /// 1010: the client expected the server to negotiate an extension it did not.
    pub const MANDATORY_EXTENSION: CloseCode = CloseCode(1010);
    /// 1011: the server hit an unexpected condition.
    pub const INTERNAL_ERROR: CloseCode = CloseCode(1011);
    /// 1012: the service is restarting (IANA registry).
    pub const SERVICE_RESTART: CloseCode = CloseCode(1012);
    /// 1013: try again later (IANA registry).
    pub const TRY_AGAIN_LATER: CloseCode = CloseCode(1013);
    /// 1014: a gateway received an invalid response (IANA registry).
    pub const BAD_GATEWAY: CloseCode = CloseCode(1014);
    /// 1015: the TLS handshake failed. Reported locally, never sent.
    pub const TLS_HANDSHAKE: CloseCode = CloseCode(1015);

    /// Whether this code may be sent in, or accepted from, a close frame.
    ///
    /// Codes below 1000, the reserved 1004, the local-only 1005, 1006 and
    /// 1015, unassigned codes in 1016–2999 and anything from 5000 up are not.
    /// 3000–3999 (registered) and 4000–4999 (private use) are.
    pub fn is_allowed_on_wire(self) -> bool {
        matches!(self.0, 1000..=1003 | 1007..=1014 | 3000..=4999)
    }
}

impl From<u16> for CloseCode {
    fn from(code: u16) -> Self {
        CloseCode(code)
    }
}

impl From<CloseCode> for u16 {
    fn from(code: CloseCode) -> Self {
        code.0
    }
}

impl fmt::Display for CloseCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(&self.0, f)
    }
}

/// The largest close reason that fits a control frame: 125 bytes of payload
/// less the two-byte code.
pub const MAX_REASON_LEN: usize = 123;

/// Why a received close payload is unacceptable.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum BadClosePayload {
    /// One byte: too short for a code, too long for none (→ 1002).
    Truncated,
    /// A code that may not appear on the wire (→ 1002).
    Code(u16),
    /// The reason is not UTF-8 (→ 1007).
    Reason,
}

/// Parses a received close payload into (code, reason). An empty payload
/// means "no status" and is reported as 1005.
pub(crate) fn parse_close_payload(payload: &[u8]) -> Result<(CloseCode, &str), BadClosePayload> {
    match payload {
        [] => Ok((CloseCode::NO_STATUS_RCVD, "")),
        [_] => Err(BadClosePayload::Truncated),
        [hi, lo, reason @ ..] => {
            let code = CloseCode(u16::from_be_bytes([*hi, *lo]));
            if !code.is_allowed_on_wire() {
                return Err(BadClosePayload::Code(code.0));
            }
            let reason = std::str::from_utf8(reason).map_err(|_| BadClosePayload::Reason)?;
            Ok((code, reason))
        }
    }
}

/// Writes a close payload. `None` writes the empty payload ("no status").
pub(crate) fn write_close_payload(out: &mut BytesMut, code: Option<CloseCode>, reason: &str) {
    if let Some(code) = code {
        out.put_u16(code.0);
        out.extend_from_slice(reason.as_bytes());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn wire_validity_follows_rfc_and_registry() {
        for ok in [
            1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014, 3000, 3999,
            4000, 4999,
        ] {
            assert!(CloseCode(ok).is_allowed_on_wire(), "{ok}");
        }
        for bad in [
            0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535,
        ] {
            assert!(!CloseCode(bad).is_allowed_on_wire(), "{bad}");
        }
    }

    #[test]
    fn parses_payloads() {
        assert_eq!(
            parse_close_payload(&[]),
            Ok((CloseCode::NO_STATUS_RCVD, ""))
        );
        assert_eq!(
            parse_close_payload(&[0x03]),
            Err(BadClosePayload::Truncated)
        );
        assert_eq!(
            parse_close_payload(&[0x03, 0xe8, b'o', b'k']),
            Ok((CloseCode::NORMAL, "ok"))
        );
        assert_eq!(
            parse_close_payload(&[0x03, 0xed]),
            Err(BadClosePayload::Code(1005))
        );
        assert_eq!(
            parse_close_payload(&[0x03, 0xe8, 0xff]),
            Err(BadClosePayload::Reason)
        );
    }
}
