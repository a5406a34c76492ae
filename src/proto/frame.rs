//! Frame headers (RFC 6455 §5.2): opcodes, decoding and encoding.
//!
//! The decoder checks everything that can be checked from the header alone,
//! byte by byte as soon as the byte is present, so a bad frame is refused
//! before any of its payload is read or buffered.

use std::fmt;

/// The longest frame header: 2 bytes, an 8-byte length and a 4-byte mask key.
pub const MAX_HEADER_LEN: usize = 14;

/// The largest payload a control frame may carry (RFC 6455 §5.5).
pub const MAX_CONTROL_PAYLOAD: usize = 125;

/// A frame opcode (RFC 6455 §5.2, §11.8). The reserved values 3–7 and 11–15
/// have no variant: a frame carrying one is refused while decoding.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[repr(u8)]
pub enum OpCode {
    /// Continues a fragmented message.
    Continuation = 0x0,
    /// Starts a text message.
    Text = 0x1,
    /// Starts a binary message.
    Binary = 0x2,
    /// Starts the closing handshake.
    Close = 0x8,
    /// A keepalive or round-trip probe.
    Ping = 0x9,
    /// The answer to a ping, or an unsolicited heartbeat.
    Pong = 0xa,
}

impl OpCode {
    /// The opcode for a 4-bit value, or `None` for a reserved one.
    pub fn from_bits(bits: u8) -> Option<OpCode> {
        Some(match bits {
            0x0 => OpCode::Continuation,
            0x1 => OpCode::Text,
            0x2 => OpCode::Binary,
            0x8 => OpCode::Close,
            0x9 => OpCode::Ping,
            0xa => OpCode::Pong,
            _ => return None,
        })
    }

    /// Control frames (close, ping, pong) have the top opcode bit set.
    pub fn is_control(self) -> bool {
        (self as u8) & 0x8 != 0
    }
}

/// The three reserved header bits, as they sit in the first header byte
/// (RSV1 = `0x40`, RSV2 = `0x20`, RSV3 = `0x10`). Extensions claim them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub struct Rsv(u8);

impl Rsv {
    /// No reserved bit set.
    pub const NONE: Rsv = Rsv(0);
    /// RSV1, used by permessage-deflate.
    pub const RSV1: Rsv = Rsv(0x40);
    /// RSV2.
    pub const RSV2: Rsv = Rsv(0x20);
    /// RSV3.
    pub const RSV3: Rsv = Rsv(0x10);

    /// The bits of the first header byte that are reserved bits.
    pub fn from_first_byte(byte: u8) -> Rsv {
        Rsv(byte & 0x70)
    }

    /// The bits as they sit in the first header byte.
    pub fn bits(self) -> u8 {
        self.0
    }

    /// Whether no bit is set.
    pub fn is_empty(self) -> bool {
        self.0 == 0
    }

    /// Whether every bit of `other` is set in `self`.
    pub fn contains(self, other: Rsv) -> bool {
        self.0 & other.0 == other.0
    }
}

impl std::ops::BitOr for Rsv {
    type Output = Rsv;
    fn bitor(self, rhs: Rsv) -> Rsv {
        Rsv(self.0 | rhs.0)
    }
}

impl std::ops::BitAnd for Rsv {
    type Output = Rsv;
    fn bitand(self, rhs: Rsv) -> Rsv {
        Rsv(self.0 & rhs.0)
    }
}

impl std::ops::Not for Rsv {
    type Output = Rsv;
    fn not(self) -> Rsv {
        Rsv(!self.0 & 0x70)
    }
}

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FrameHeader {
    /// This is the final frame of its message.
    pub fin: bool,
    /// The reserved bits.
    pub rsv: Rsv,
    /// What the frame carries.
    pub opcode: OpCode,
    /// The masking key, present on every client-to-server frame.
    pub mask: Option<[u8; 4]>,
    /// The payload length in bytes.
    pub payload_len: u64,
}

/// Why a header was refused. Each of these is a protocol error (close 1002).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HeaderError {
    /// Opcodes 3–7 and 11–15 are reserved.
    ReservedOpcode(u8),
    /// Control frames must not be fragmented.
    FragmentedControl,
    /// Control frames carry at most 125 bytes.
    ControlTooLong,
    /// The most significant bit of a 64-bit length must be 0.
    LengthOverflow,
}

impl fmt::Display for HeaderError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ReservedOpcode(op) => write!(f, "reserved opcode {op:#x}"),
            Self::FragmentedControl => f.write_str("fragmented control frame"),
            Self::ControlTooLong => f.write_str("control frame payload longer than 125 bytes"),
            Self::LengthOverflow => f.write_str("64-bit payload length with the top bit set"),
        }
    }
}

impl FrameHeader {
    /// Decodes a header from the start of `buf`.
    ///
    /// Returns `Ok(None)` when more bytes are needed, and `Ok(Some((header,
    /// header_len)))` once the whole header is present. Errors are reported
    /// as soon as the offending byte is present, even if the rest of the
    /// header is not.
    pub fn decode(buf: &[u8]) -> Result<Option<(FrameHeader, usize)>, HeaderError> {
        let Some(&b0) = buf.first() else {
            return Ok(None);
        };
        let opcode = OpCode::from_bits(b0 & 0x0f).ok_or(HeaderError::ReservedOpcode(b0 & 0x0f))?;
        let fin = b0 & 0x80 != 0;
        if opcode.is_control() && !fin {
            return Err(HeaderError::FragmentedControl);
        }
        let Some(&b1) = buf.get(1) else {
            return Ok(None);
        };
        let masked = b1 & 0x80 != 0;
        let len7 = b1 & 0x7f;
        if opcode.is_control() && usize::from(len7) > MAX_CONTROL_PAYLOAD {
            return Err(HeaderError::ControlTooLong);
        }
        let (payload_len, mut pos) = match len7 {
            126 => {
                let Some(b) = buf.get(2..4) else {
                    return Ok(None);
                };
                (u64::from(u16::from_be_bytes([b[0], b[1]])), 4)
            }
            127 => {
                if let Some(&b2) = buf.get(2) {
                    if b2 & 0x80 != 0 {
                        return Err(HeaderError::LengthOverflow);
                    }
                }
                let Some(b) = buf.get(2..10) else {
                    return Ok(None);
                };
                (u64::from_be_bytes(b.try_into().expect("8 bytes")), 10)
            }
            n => (u64::from(n), 2),
        };
        let mask = if masked {
            let Some(k) = buf.get(pos..pos + 4) else {
                return Ok(None);
            };
            pos += 4;
            Some([k[0], k[1], k[2], k[3]])
        } else {
            None
        };
        let header = FrameHeader {
            fin,
            rsv: Rsv::from_first_byte(b0),
            opcode,
            mask,
            payload_len,
        };
        Ok(Some((header, pos)))
    }

    /// How many bytes the header takes on the wire (what [`Self::encode`]
    /// returns).
    pub fn encoded_len(&self) -> usize {
        let length = match self.payload_len {
            0..=125 => 0,
            126..=0xffff => 2,
            _ => 8,
        };
        2 + length + if self.mask.is_some() { 4 } else { 0 }
    }

    /// Encodes the header into `out` and returns how many bytes it used.
    /// Lengths use the shortest encoding, as RFC 6455 §5.2 requires.
    pub fn encode(&self, out: &mut [u8; MAX_HEADER_LEN]) -> usize {
        out[0] = (u8::from(self.fin) << 7) | self.rsv.bits() | self.opcode as u8;
        let mask_bit = if self.mask.is_some() { 0x80 } else { 0 };
        let mut pos = match self.payload_len {
            n @ 0..=125 => {
                out[1] = mask_bit | n as u8;
                2
            }
            n @ 126..=0xffff => {
                out[1] = mask_bit | 126;
                out[2..4].copy_from_slice(&(n as u16).to_be_bytes());
                4
            }
            n => {
                out[1] = mask_bit | 127;
                out[2..10].copy_from_slice(&n.to_be_bytes());
                10
            }
        };
        if let Some(key) = self.mask {
            out[pos..pos + 4].copy_from_slice(&key);
            pos += 4;
        }
        pos
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn header(fin: bool, opcode: OpCode, mask: Option<[u8; 4]>, len: u64) -> FrameHeader {
        FrameHeader {
            fin,
            rsv: Rsv::NONE,
            opcode,
            mask,
            payload_len: len,
        }
    }

    fn encoded(h: &FrameHeader) -> Vec<u8> {
        let mut buf = [0u8; MAX_HEADER_LEN];
        let n = h.encode(&mut buf);
        buf[..n].to_vec()
    }

    #[test]
    fn encoded_len_is_what_encode_writes() {
        for len in [0, 125, 126, 0xffff, 0x1_0000, u64::MAX >> 1] {
            for mask in [None, Some([1, 2, 3, 4])] {
                let h = header(true, OpCode::Binary, mask, len);
                assert_eq!(h.encoded_len(), encoded(&h).len(), "{len} {mask:?}");
            }
        }
    }

    #[test]
    fn rfc_examples_encode_byte_for_byte() {
        // RFC 6455 §5.7.
        assert_eq!(encoded(&header(true, OpCode::Text, None, 5)), [0x81, 0x05]);
        assert_eq!(
            encoded(&header(
                true,
                OpCode::Text,
                Some([0x37, 0xfa, 0x21, 0x3d]),
                5
            )),
            [0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d]
        );
        assert_eq!(encoded(&header(false, OpCode::Text, None, 3)), [0x01, 0x03]);
        assert_eq!(
            encoded(&header(true, OpCode::Continuation, None, 2)),
            [0x80, 0x02]
        );
        assert_eq!(encoded(&header(true, OpCode::Ping, None, 5)), [0x89, 0x05]);
        assert_eq!(
            encoded(&header(true, OpCode::Binary, None, 256)),
            [0x82, 0x7e, 0x01, 0x00]
        );
        assert_eq!(
            encoded(&header(true, OpCode::Binary, None, 65536)),
            [0x82, 0x7f, 0, 0, 0, 0, 0, 1, 0, 0]
        );
    }

    #[test]
    fn length_encoding_boundaries_round_trip() {
        for len in [0u64, 1, 125, 126, 127, 65535, 65536, 1 << 32, (1 << 63) - 1] {
            for mask in [None, Some([9, 8, 7, 6])] {
                let h = header(true, OpCode::Binary, mask, len);
                let bytes = encoded(&h);
                let want_len = match len {
                    0..=125 => 2,
                    126..=65535 => 4,
                    _ => 10,
                } + if mask.is_some() { 4 } else { 0 };
                assert_eq!(bytes.len(), want_len);
                assert_eq!(FrameHeader::decode(&bytes), Ok(Some((h, want_len))));
                // Every strict prefix asks for more bytes.
                for cut in 0..bytes.len() {
                    assert_eq!(
                        FrameHeader::decode(&bytes[..cut]),
                        Ok(None),
                        "len {len} cut {cut}"
                    );
                }
            }
        }
    }

    #[test]
    fn refuses_bad_headers_at_the_first_bad_byte() {
        assert_eq!(
            FrameHeader::decode(&[0x83]),
            Err(HeaderError::ReservedOpcode(3))
        );
        assert_eq!(
            FrameHeader::decode(&[0x8b]),
            Err(HeaderError::ReservedOpcode(0xb))
        );
        assert_eq!(
            FrameHeader::decode(&[0x09]),
            Err(HeaderError::FragmentedControl)
        );
        assert_eq!(
            FrameHeader::decode(&[0x89, 0x7e]),
            Err(HeaderError::ControlTooLong)
        );
        assert_eq!(
            FrameHeader::decode(&[0x82, 0x7f, 0x80]),
            Err(HeaderError::LengthOverflow)
        );
    }

    #[test]
    fn rsv_bits_are_reported() {
        let (h, _) = FrameHeader::decode(&[0xc1, 0x00]).unwrap().unwrap();
        assert_eq!(h.rsv, Rsv::RSV1);
        let (h, _) = FrameHeader::decode(&[0xb1, 0x00]).unwrap().unwrap();
        assert_eq!(h.rsv, Rsv::RSV2 | Rsv::RSV3);
        assert!(!h.rsv.contains(Rsv::RSV1));
    }
}
