//! The frames sent (built and masked once, at startup) and a parser for the
//! echoes that reads frame headers only and skips over payloads.

use std::io;

/// The mask key of every frame sent. A fixed key is enough for a benchmark:
/// the server unmasks each frame all the same.
const MASK: [u8; 4] = [0x37, 0xfa, 0x21, 0x3d];

/// From this payload size on, echoes are read header first and their
/// payloads discarded by the kernel (see the driver), as copying them out
/// costs more than the extra system call; unless payloads are to be read.
const DISCARD_MIN: u64 = 16 << 10;

const OP_CONTINUATION: u8 = 0x0;
const OP_TEXT: u8 = 0x1;
const OP_BINARY: u8 = 0x2;
const OP_CLOSE: u8 = 0x8;

/// What a message carries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Payload {
    /// Text: ASCII letters.
    Text,
    /// Binary: a byte pattern (repeating every 251 bytes; compressible).
    Pattern,
    /// Binary: random bytes (xorshift; incompressible).
    Random,
}

/// `copies` back-to-back copies of one masked client message carrying
/// `size` payload bytes of `payload`, in frames of at most `fragment`
/// payload bytes each (one frame if 0). Returns the buffer and the length
/// of one message.
pub fn build(size: usize, payload: Payload, fragment: usize, copies: usize) -> (Vec<u8>, usize) {
    let text = payload == Payload::Text;
    let mut x = 0x9e37_79b9_7f4a_7c15u64;
    let payload: Vec<u8> = (0..size)
        .map(|i| match payload {
            Payload::Text => b'a' + (i % 26) as u8,
            Payload::Pattern => (i * 31 % 251) as u8,
            Payload::Random => {
                x ^= x << 13;
                x ^= x >> 7;
                x ^= x << 17;
                (x >> 32) as u8
            }
        })
        .collect();
    let pieces: Vec<&[u8]> = if fragment == 0 || size <= fragment {
        vec![&payload]
    } else {
        payload.chunks(fragment).collect()
    };
    let mut message = Vec::with_capacity(size + 14 * pieces.len());
    for (i, piece) in pieces.iter().enumerate() {
        let opcode = match (i, text) {
            (0, true) => OP_TEXT,
            (0, false) => OP_BINARY,
            _ => OP_CONTINUATION,
        };
        push_frame(&mut message, i + 1 == pieces.len(), opcode, piece);
    }
    let message_len = message.len();
    (message.repeat(copies), message_len)
}

/// Appends one masked frame.
fn push_frame(out: &mut Vec<u8>, fin: bool, opcode: u8, payload: &[u8]) {
    out.push(if fin { 0x80 } else { 0 } | opcode);
    match payload.len() {
        0..=125 => out.push(0x80 | payload.len() as u8),
        126..=0xffff => {
            out.push(0x80 | 126);
            out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
        }
        _ => {
            out.push(0x80 | 127);
            out.extend_from_slice(&(payload.len() as u64).to_be_bytes());
        }
    }
    out.extend_from_slice(&MASK);
    out.extend(payload.iter().enumerate().map(|(i, b)| b ^ MASK[i % 4]));
}

/// Follows the server's frames across reads and counts complete echoes,
/// checking each one's opcode and length against what was sent.
pub struct Parser {
    expect_opcode: u8,
    expect_len: u64,
    /// Whether large payloads may be discarded unread.
    discard: bool,
    /// Header bytes gathered so far (a header may straddle two reads).
    head: [u8; 14],
    head_len: usize,
    /// Payload bytes of the current frame still to skip.
    skip: u64,
    /// The current frame's FIN bit and opcode.
    fin: bool,
    opcode: u8,
    /// Payload bytes of the message being received so far.
    message_len: u64,
    /// The message's opcode (that of its first frame).
    message_opcode: u8,
    /// The payload of a close frame, as far as it has been read.
    close: Vec<u8>,
    /// permessage-deflate was negotiated: RSV1 may mark a compressed message.
    compressed_ok: bool,
    /// The message being received is compressed (its length is not checked).
    message_compressed: bool,
}

impl Parser {
    /// A parser expecting echoes of `size`-byte text or binary messages;
    /// `discard` lets large payloads be skipped in the kernel.
    pub fn new(size: usize, text: bool, discard: bool) -> Parser {
        Parser {
            expect_opcode: if text { OP_TEXT } else { OP_BINARY },
            expect_len: size as u64,
            discard,
            head: [0; 14],
            head_len: 0,
            skip: 0,
            fin: false,
            opcode: 0,
            message_len: 0,
            message_opcode: 0,
            close: Vec::new(),
            compressed_ok: false,
            message_compressed: false,
        }
    }

    /// Takes compressed echoes (permessage-deflate was negotiated).
    pub fn allow_compressed(mut self) -> Parser {
        self.compressed_ok = true;
        self
    }

    /// Consumes `data`, returning how many echoes it completed.
    pub fn feed(&mut self, mut data: &[u8]) -> io::Result<usize> {
        let mut done = 0;
        while !data.is_empty() {
            if self.skip > 0 {
                let n = self.skip.min(data.len() as u64) as usize;
                if self.opcode == OP_CLOSE {
                    self.close.extend_from_slice(&data[..n]);
                }
                done += self.skipped(n)?;
                data = &data[n..];
                continue;
            }
            let take = (self.head_needed() - self.head_len).min(data.len());
            self.head[self.head_len..self.head_len + take].copy_from_slice(&data[..take]);
            self.head_len += take;
            data = &data[take..];
            if self.head_len == self.head_needed() {
                self.start_frame()?;
                if self.skip == 0 {
                    done += self.end_frame()?;
                }
            }
        }
        Ok(done)
    }

    /// Payload bytes of the current frame not yet seen, if they belong to
    /// a data frame and so may be dropped unread.
    pub fn to_skip(&self) -> u64 {
        match self.opcode {
            OP_CONTINUATION | OP_TEXT | OP_BINARY => self.skip,
            _ => 0,
        }
    }

    /// Accounts for `n` payload bytes (at most [`Parser::to_skip`]) passed
    /// over unread, returning the echoes that completed.
    pub fn skipped(&mut self, n: usize) -> io::Result<usize> {
        self.skip -= n as u64;
        if self.skip == 0 {
            self.end_frame()
        } else {
            Ok(0)
        }
    }

    /// Whether echoes are large enough to skip their payloads in the kernel
    /// rather than read them (and skipping is allowed).
    pub fn large(&self) -> bool {
        self.discard && self.expect_len >= DISCARD_MIN
    }

    /// The length of the header being gathered, as far as is known yet.
    fn head_needed(&self) -> usize {
        if self.head_len < 2 {
            return 2;
        }
        match self.head[1] & 0x7f {
            126 => 4,
            127 => 10,
            _ => 2,
        }
    }

    /// Decodes a complete header.
    fn start_frame(&mut self) -> io::Result<()> {
        let [b0, b1] = [self.head[0], self.head[1]];
        let rsv1_allowed = self.compressed_ok && matches!(b0 & 0x0f, OP_TEXT | OP_BINARY);
        if b0 & 0x70 != 0 && !(rsv1_allowed && b0 & 0x70 == 0x40) {
            return Err(bad(format!(
                "RSV bits set in {b0:#04x} (not allowed by what was negotiated)"
            )));
        }
        if b1 & 0x80 != 0 {
            return Err(bad("the server masked a frame".to_owned()));
        }
        if b0 & 0x0f >= 8 && (b0 & 0x80 == 0 || b1 & 0x7f > 125) {
            return Err(bad(format!(
                "malformed control frame header {b0:#04x} {b1:#04x}"
            )));
        }
        self.fin = b0 & 0x80 != 0;
        self.opcode = b0 & 0x0f;
        self.skip = match b1 & 0x7f {
            126 => u16::from_be_bytes([self.head[2], self.head[3]]).into(),
            127 => u64::from_be_bytes(self.head[2..10].try_into().expect("8 bytes")),
            len => len.into(),
        };
        self.head_len = 0;
        match self.opcode {
            OP_CONTINUATION => self.message_len += self.skip,
            OP_TEXT | OP_BINARY => {
                self.message_opcode = self.opcode;
                self.message_len = self.skip;
                self.message_compressed = b0 & 0x40 != 0;
            }
            _ => {}
        }
        Ok(())
    }

    /// Called once a frame's payload has been skipped: 1 if it completed an
    /// echo, else 0.
    fn end_frame(&mut self) -> io::Result<usize> {
        match self.opcode {
            OP_CLOSE => Err(bad(match self.close.split_at_checked(2) {
                Some((code, reason)) => format!(
                    "the server closed the connection with code {} `{}`",
                    u16::from_be_bytes([code[0], code[1]]),
                    String::from_utf8_lossy(reason)
                ),
                None => "the server closed the connection (no close code)".to_owned(),
            })),
            OP_CONTINUATION | OP_TEXT | OP_BINARY if self.fin => {
                let len_ok = self.message_compressed || self.message_len == self.expect_len;
                if self.message_opcode != self.expect_opcode || !len_ok {
                    return Err(bad(format!(
                        "echo has opcode {} and {} bytes; sent opcode {} and {} bytes",
                        self.message_opcode, self.message_len, self.expect_opcode, self.expect_len
                    )));
                }
                Ok(1)
            }
            // A non-final data frame, or a ping or pong: nothing to count.
            _ => Ok(0),
        }
    }
}

fn bad(msg: String) -> io::Error {
    io::Error::new(io::ErrorKind::InvalidData, msg)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// An unmasked server frame.
    fn server_frame(fin: bool, opcode: u8, len: usize) -> Vec<u8> {
        let (mut frame, _) = build(len, Payload::Pattern, 0, 1);
        frame[0] = if fin { 0x80 } else { 0 } | opcode;
        frame[1] &= 0x7f;
        let mask_at = frame.len() - len - 4;
        frame.drain(mask_at..mask_at + 4);
        frame
    }

    #[test]
    fn counts_echoes_split_anywhere() {
        for size in [0, 5, 125, 126, 65535, 65536, 70000] {
            let mut stream = server_frame(true, OP_BINARY, size);
            stream.extend(server_frame(false, OP_BINARY, size / 2));
            stream.extend(server_frame(true, 0x9, 3)); // a ping between fragments
            stream.extend(server_frame(true, OP_CONTINUATION, size - size / 2));
            for chunk in [1, 3, 7, 1000, usize::MAX] {
                let mut parser = Parser::new(size, false, true);
                let done: usize = stream
                    .chunks(chunk.min(stream.len()).max(1))
                    .map(|c| parser.feed(c).unwrap())
                    .sum();
                assert_eq!(done, 2, "size {size}, chunks of {chunk}");
            }
        }
    }

    #[test]
    fn builds_fragmented_messages() {
        let (message, len) = build(300, Payload::Pattern, 128, 1);
        assert_eq!(len, message.len());
        // 128 + 128 + 44 payload bytes, each frame with a 4-byte length
        // header (or 2) and a mask.
        assert_eq!(len, (4 + 4 + 128) * 2 + (2 + 4 + 44));
        assert_eq!(&message[..2], &[OP_BINARY, 0x80 | 126]);
        assert_eq!(message[136], OP_CONTINUATION);
        assert_eq!(message[272], 0x80 | OP_CONTINUATION);
        // The server's echo is one whole message.
        assert_eq!(
            Parser::new(300, false, true)
                .feed(&server_frame(true, OP_BINARY, 300))
                .unwrap(),
            1
        );
    }

    #[test]
    fn discards_large_payloads_only_when_allowed() {
        assert!(Parser::new(16 << 10, false, true).large());
        assert!(!Parser::new((16 << 10) - 1, false, true).large());
        assert!(!Parser::new(1 << 20, false, false).large());
    }

    #[test]
    fn reports_the_close_code() {
        let mut close = server_frame(true, OP_CLOSE, 8);
        let n = close.len();
        close[n - 8..].copy_from_slice(b"\x03\xf1toobig");
        let err = Parser::new(10, false, true).feed(&close).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the server closed the connection with code 1009 `toobig`"
        );
    }

    #[test]
    fn rejects_wrong_echoes() {
        assert!(
            Parser::new(10, false, true)
                .feed(&server_frame(true, OP_BINARY, 9))
                .is_err()
        );
        assert!(
            Parser::new(10, true, true)
                .feed(&server_frame(true, OP_BINARY, 10))
                .is_err()
        );
        assert!(
            Parser::new(10, false, true)
                .feed(&server_frame(true, OP_CLOSE, 2))
                .is_err()
        );
    }

    #[test]
    fn takes_compressed_echoes_only_when_deflate_was_negotiated() {
        // A compressed echo: RSV1 on its first frame, a length of its own.
        let mut compressed = server_frame(true, OP_BINARY, 40);
        compressed[0] |= 0x40;
        assert!(Parser::new(100, false, true).feed(&compressed).is_err());
        let mut parser = Parser::new(100, false, true).allow_compressed();
        assert_eq!(parser.feed(&compressed).unwrap(), 1);
        // An uncompressed echo is still checked, and RSV1 on a control
        // frame or RSV2 are still refused.
        assert!(parser.feed(&server_frame(true, OP_BINARY, 99)).is_err());
        let mut parser = Parser::new(100, false, true).allow_compressed();
        let mut ping = server_frame(true, 0x9, 3);
        ping[0] |= 0x40;
        assert!(parser.feed(&ping).is_err());
        let mut rsv2 = server_frame(true, OP_BINARY, 40);
        rsv2[0] |= 0x20;
        assert!(
            Parser::new(100, false, true)
                .allow_compressed()
                .feed(&rsv2)
                .is_err()
        );
    }

    #[test]
    fn builds_masked_frames() {
        let (frames, len) = build(200, Payload::Text, 0, 3);
        assert_eq!(len, 200 + 8);
        assert_eq!(frames.len(), 3 * len);
        assert_eq!(&frames[..4], &[0x81, 0x80 | 126, 0, 200]);
        let payload: Vec<u8> = frames[8..len]
            .iter()
            .enumerate()
            .map(|(i, b)| b ^ MASK[i % 4])
            .collect();
        assert!(payload.iter().all(u8::is_ascii_lowercase));
    }
}
