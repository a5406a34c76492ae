//! An independent WebSocket frame decoder (RFC 6455 §5.2), written from the
//! RFC and sharing no code with the crate, used to check that what the
//! engine emits is a well-formed sequence of frames. Compressed messages
//! (RFC 7692) are inflated with miniz_oxide, not the crate's flate2.

use miniz_oxide::inflate::stream::{InflateState, inflate};
use miniz_oxide::{DataFormat, MZError, MZFlush, MZStatus};

/// One decoded frame.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    /// The three reserved bits, as a number 0–7.
    pub rsv: u8,
    pub opcode: u8,
    pub mask: Option<[u8; 4]>,
    /// The payload, unmasked.
    pub payload: Vec<u8>,
}

/// The result of decoding from the start of a buffer.
#[derive(Debug)]
pub enum Parsed {
    /// A whole frame and the number of bytes it took.
    Frame(Frame, usize),
    /// More bytes are needed.
    Incomplete,
    /// No conforming sender writes this.
    Malformed(&'static str),
}

/// Decodes one frame strictly: lengths must use the shortest encoding and
/// the 64-bit length must have its top bit clear, as RFC 6455 §5.2 demands
/// of a sender.
pub fn parse_frame(buf: &[u8]) -> Parsed {
    if buf.len() < 2 {
        return Parsed::Incomplete;
    }
    let (b0, b1) = (buf[0], buf[1]);
    let (len, mut at) = match b1 & 0x7f {
        126 => {
            if buf.len() < 4 {
                return Parsed::Incomplete;
            }
            let n = u64::from(u16::from_be_bytes([buf[2], buf[3]]));
            if n < 126 {
                return Parsed::Malformed("16-bit length for a payload under 126 bytes");
            }
            (n, 4)
        }
        127 => {
            if buf.len() < 10 {
                return Parsed::Incomplete;
            }
            let mut b = [0u8; 8];
            b.copy_from_slice(&buf[2..10]);
            let n = u64::from_be_bytes(b);
            if n >> 63 != 0 {
                return Parsed::Malformed("64-bit length with the top bit set");
            }
            if n <= 0xffff {
                return Parsed::Malformed("64-bit length for a payload under 64 KiB");
            }
            (n, 10)
        }
        n => (u64::from(n), 2),
    };
    let mask = if b1 & 0x80 != 0 {
        if buf.len() < at + 4 {
            return Parsed::Incomplete;
        }
        let k = [buf[at], buf[at + 1], buf[at + 2], buf[at + 3]];
        at += 4;
        Some(k)
    } else {
        None
    };
    if ((buf.len() - at) as u64) < len {
        return Parsed::Incomplete;
    }
    let len = len as usize;
    let mut payload = buf[at..at + len].to_vec();
    if let Some(k) = mask {
        for (i, b) in payload.iter_mut().enumerate() {
            *b ^= k[i % 4];
        }
    }
    Parsed::Frame(
        Frame {
            fin: b0 & 0x80 != 0,
            rsv: (b0 >> 4) & 0x7,
            opcode: b0 & 0x0f,
            mask,
            payload,
        },
        at + len,
    )
}

/// Close codes a close frame may carry (RFC 6455 §7.4.1, §7.4.2 and the
/// IANA registry): never 1004–1006, 1015, 1016–2999 or 5000 and up.
pub fn close_code_allowed(code: u16) -> bool {
    matches!(code, 1000..=1003 | 1007..=1014 | 3000..=4999)
}

/// Checks, frame by frame, the byte stream one endpoint sends after the
/// opening handshake.
pub struct OutputChecker {
    /// Frames must be masked (a client) or must not be (a server).
    masked: bool,
    buf: Vec<u8>,
    /// The opcode of the data message being sent, if one is unfinished.
    message: Option<u8>,
    /// An incomplete UTF-8 sequence carried between text fragments.
    utf8_carry: Vec<u8>,
    /// permessage-deflate was negotiated: the inflater, kept across
    /// messages (context takeover), once it is.
    inflater: Option<Box<InflateState>>,
    /// The message being sent is compressed; its payload so far.
    compressed: Option<Vec<u8>>,
    /// The close frame's code (`Some(None)` for an empty close), once sent.
    pub close: Option<Option<u16>>,
    /// Frames seen so far.
    pub frames: usize,
    /// Compressed messages seen (and inflated) so far.
    pub compressed_messages: usize,
    /// The opcode of the last frame.
    pub last_opcode: Option<u8>,
}

impl std::fmt::Debug for OutputChecker {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OutputChecker")
            .field("masked", &self.masked)
            .field("buffered", &self.buf.len())
            .field("message", &self.message)
            .field("compression", &self.inflater.is_some())
            .field("close", &self.close)
            .field("frames", &self.frames)
            .finish()
    }
}

impl OutputChecker {
    pub fn new(masked: bool) -> OutputChecker {
        OutputChecker {
            masked,
            buf: Vec::new(),
            message: None,
            utf8_carry: Vec::new(),
            inflater: None,
            compressed: None,
            close: None,
            frames: 0,
            compressed_messages: 0,
            last_opcode: None,
        }
    }

    /// From now on, data messages may be compressed (RSV1 on their first
    /// frame).
    pub fn allow_compression(&mut self) {
        self.inflater = Some(InflateState::new_boxed(DataFormat::Raw));
    }

    /// Takes more output; panics at the first malformed frame.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
        loop {
            match parse_frame(&self.buf) {
                Parsed::Incomplete => return,
                Parsed::Malformed(why) => panic!("engine emitted a malformed frame: {why}"),
                Parsed::Frame(frame, used) => {
                    self.check(&frame);
                    self.buf.drain(..used);
                }
            }
        }
    }

    /// Whether the output so far ends at a frame boundary.
    pub fn at_boundary(&self) -> bool {
        self.buf.is_empty()
    }

    fn check(&mut self, f: &Frame) {
        assert!(
            self.close.is_none(),
            "engine emitted a frame (opcode {:#x}) after its close frame",
            f.opcode
        );
        assert_eq!(
            f.mask.is_some(),
            self.masked,
            "frame masking must be {} (opcode {:#x})",
            if self.masked { "on" } else { "off" },
            f.opcode
        );
        let first_data = matches!(f.opcode, 0x1 | 0x2);
        if f.rsv == 0x4 && first_data {
            assert!(
                self.inflater.is_some(),
                "RSV1 set without permessage-deflate"
            );
        } else {
            assert_eq!(f.rsv, 0, "reserved bits set (opcode {:#x})", f.opcode);
        }
        self.frames += 1;
        self.last_opcode = Some(f.opcode);
        match f.opcode {
            0x0 => {
                let Some(op) = self.message else {
                    panic!("continuation frame with no message in progress");
                };
                self.data(op, f);
            }
            0x1 | 0x2 => {
                assert!(
                    self.message.is_none(),
                    "new data frame inside an unfinished message"
                );
                self.message = Some(f.opcode);
                self.compressed = (f.rsv == 0x4).then(Vec::new);
                self.data(f.opcode, f);
            }
            0x8..=0xa => {
                assert!(f.fin, "fragmented control frame");
                assert!(f.payload.len() <= 125, "control payload over 125 bytes");
                if f.opcode == 0x8 {
                    self.close = Some(check_close_payload(&f.payload));
                }
            }
            op => panic!("reserved opcode {op:#x} emitted"),
        }
    }

    fn data(&mut self, op: u8, f: &Frame) {
        if let Some(payload) = &mut self.compressed {
            payload.extend_from_slice(&f.payload);
            if f.fin {
                let payload = self.compressed.take().expect("compressed");
                let state = self.inflater.as_mut().expect("negotiated");
                let plain = inflate_message(state, &payload);
                self.compressed_messages += 1;
                if op == 0x1 {
                    assert!(
                        std::str::from_utf8(&plain).is_ok(),
                        "emitted compressed text is not UTF-8"
                    );
                }
                self.message = None;
            }
            return;
        }
        if op == 0x1 {
            self.utf8_carry.extend_from_slice(&f.payload);
            match std::str::from_utf8(&self.utf8_carry) {
                Ok(_) => self.utf8_carry.clear(),
                Err(e) if e.error_len().is_none() && !f.fin => {
                    let valid = e.valid_up_to();
                    self.utf8_carry.drain(..valid);
                }
                Err(e) => panic!("emitted text message is not UTF-8: {e}"),
            }
        }
        if f.fin {
            self.message = None;
            self.utf8_carry.clear();
        }
    }
}

/// Inflates one compressed message (RFC 7692 §7.2.2: the payload, then
/// 0x00 0x00 0xff 0xff), keeping the window for the next one; panics if it
/// does not inflate.
pub fn inflate_message(state: &mut InflateState, payload: &[u8]) -> Vec<u8> {
    let mut input = payload.to_vec();
    input.extend_from_slice(&[0x00, 0x00, 0xff, 0xff]);
    let mut out = Vec::new();
    let mut buf = vec![0u8; 32 << 10];
    let mut pos = 0;
    loop {
        let r = inflate(state, &input[pos..], &mut buf, MZFlush::Sync);
        pos += r.bytes_consumed;
        out.extend_from_slice(&buf[..r.bytes_written]);
        match r.status {
            Ok(MZStatus::StreamEnd) => {
                // A final block: legal, and the next message starts anew.
                state.reset(DataFormat::Raw);
            }
            Ok(_) => {}
            Err(MZError::Buf) => {
                assert_eq!(pos, input.len(), "inflate stalled inside a message");
                return out;
            }
            Err(e) => panic!("emitted a compressed message that does not inflate: {e:?}"),
        }
        if pos == input.len() && r.bytes_written < buf.len() {
            return out;
        }
    }
}

/// Checks a close payload and returns its code.
pub fn check_close_payload(payload: &[u8]) -> Option<u16> {
    match payload {
        [] => None,
        [_] => panic!("close frame with a one-byte payload"),
        [hi, lo, reason @ ..] => {
            let code = u16::from_be_bytes([*hi, *lo]);
            assert!(close_code_allowed(code), "close code {code} sent");
            assert!(
                std::str::from_utf8(reason).is_ok(),
                "close reason is not UTF-8"
            );
            Some(code)
        }
    }
}

/// Encodes a frame (for seeds): shortest length encoding, masked with `mask`.
pub fn encode(fin: bool, opcode: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![(u8::from(fin) << 7) | opcode];
    let m = if mask.is_some() { 0x80 } else { 0 };
    match payload.len() {
        n @ 0..=125 => out.push(m | n as u8),
        n @ 126..=0xffff => {
            out.push(m | 126);
            out.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            out.push(m | 127);
            out.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    match mask {
        None => out.extend_from_slice(payload),
        Some(k) => {
            out.extend_from_slice(&k);
            out.extend(payload.iter().enumerate().map(|(i, b)| b ^ k[i % 4]));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc_examples_decode() {
        // RFC 6455 §5.7: a masked "Hello".
        let wire = [
            0x81, 0x85, 0x37, 0xfa, 0x21, 0x3d, 0x7f, 0x9f, 0x4d, 0x51, 0x58,
        ];
        let Parsed::Frame(f, used) = parse_frame(&wire) else {
            panic!()
        };
        assert_eq!(used, wire.len());
        assert_eq!(f.payload, b"Hello");
        assert!(matches!(parse_frame(&wire[..5]), Parsed::Incomplete));
        assert!(matches!(
            parse_frame(&[0x82, 126, 0, 5]),
            Parsed::Malformed(_)
        ));
    }

    #[test]
    #[should_panic(expected = "after its close frame")]
    fn nothing_after_close() {
        let mut c = OutputChecker::new(false);
        c.push(&encode(true, 0x8, None, &1000u16.to_be_bytes()));
        c.push(&encode(true, 0x9, None, b""));
    }

    #[test]
    fn text_split_inside_a_character_is_fine() {
        let mut c = OutputChecker::new(true);
        let s = "é€".as_bytes();
        c.push(&encode(false, 0x1, Some([1, 2, 3, 4]), &s[..1]));
        c.push(&encode(true, 0x0, Some([1, 2, 3, 4]), &s[1..]));
        assert!(c.at_boundary());
    }
}
