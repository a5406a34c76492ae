//! The input format of the whole-connection targets: two configuration
//! bytes, then records that feed bytes (in the chunks the records give),
//! report EOF, make the application send, or drain output in various ways.
//!
//! ```text
//! input   := cfg0 cfg1 record*
//! record  := 0x00..=0x7f data[tag]      feed `tag` bytes
//!          | 0x80 len:u16le data[len]    feed `len` bytes (cut short at the end of input)
//!          | 0x81                        EOF from the peer
//!          | 0x82 x                      send a text fragment of x&0x3f characters; final unless x&0x80
//!          | 0x83 x                      send a binary fragment of x&0x7f bytes; final unless x&0x80
//!          | 0x84 x                      send a ping of x bytes (over 125 is refused)
//!          | 0x85 x                      send an unsolicited pong of x bytes
//!          | 0x86 hi lo                  send a close with code hi:lo (invalid codes are refused)
//!          | 0x87 x                      write x bytes of output (output_vectored + advance_output)
//!          | 0x88                        take all output (bytes_to_send)
//!          | 0x89                        take all output (bytes_to_send_into)
//!          | 0x8a                        handle buffered events (next_event until None)
//!          | 0x8b x                      send a binary message of 64·x bytes (zero-copy path)
//!          | anything else               nothing
//! cfg0 bit 0: auto_pong off          bit 1: small limits
//!      bit 2: server rejects         bit 3: the rejection has a body
//!      bit 4: client offers subprotocols  bit 5: server picks one
//!      bit 6: events are handled only by 0x8a records, not after every record
//!      bit 7: output is taken only by records, not after every record
//! cfg1 bit 7: permessage-deflate configured (see `crate::deflate_config`)
//!      bit 6: ... with no context takeover and 2^10-byte windows
//!      bits 0-5: if non-zero, each feed is split into pieces of this many bytes
//! ```

/// One step of a script.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Op {
    /// Feed `stream[start..end]`.
    Feed {
        start: usize,
        end: usize,
    },
    Eof,
    SendText(u8),
    SendBinary(u8),
    SendPing(u8),
    SendPong(u8),
    SendClose(u16),
    WriteSome(u8),
    TakeAll,
    TakeInto,
    Events,
    SendLarge(u8),
}

/// The configuration bits.
#[derive(Debug, Clone, Copy, Default)]
pub struct Cfg {
    pub auto_pong_off: bool,
    pub small_limits: bool,
    pub reject: bool,
    pub reject_body: bool,
    pub offer_subprotocols: bool,
    pub pick_subprotocol: bool,
    pub lazy_events: bool,
    pub lazy_output: bool,
    pub deflate: bool,
    pub no_takeover: bool,
    pub split: u8,
}

impl Cfg {
    pub fn from_bytes(b0: u8, b1: u8) -> Cfg {
        Cfg {
            auto_pong_off: b0 & 1 != 0,
            small_limits: b0 & 2 != 0,
            reject: b0 & 4 != 0,
            reject_body: b0 & 8 != 0,
            offer_subprotocols: b0 & 16 != 0,
            pick_subprotocol: b0 & 32 != 0,
            lazy_events: b0 & 64 != 0,
            lazy_output: b0 & 128 != 0,
            deflate: b1 & 0x80 != 0,
            no_takeover: b1 & 0x40 != 0,
            split: b1 & 0x3f,
        }
    }

    pub fn to_bytes(self) -> [u8; 2] {
        let bits = [
            self.auto_pong_off,
            self.small_limits,
            self.reject,
            self.reject_body,
            self.offer_subprotocols,
            self.pick_subprotocol,
            self.lazy_events,
            self.lazy_output,
        ];
        let b0 = bits
            .iter()
            .enumerate()
            .fold(0u8, |acc, (i, &on)| acc | (u8::from(on) << i));
        let b1 = (u8::from(self.deflate) << 7) | (u8::from(self.no_takeover) << 6) | self.split;
        [b0, b1]
    }
}

/// A parsed script: the configuration, the steps, and the bytes the feeds
/// refer to, concatenated (so a placeholder can be replaced across feeds).
#[derive(Debug, Default)]
pub struct Script {
    pub cfg: Cfg,
    pub ops: Vec<Op>,
    pub stream: Vec<u8>,
}

impl Script {
    pub fn parse(data: &[u8]) -> Script {
        let mut script = Script::default();
        let (cfg, mut rest) = match data {
            [a, b, rest @ ..] => (Cfg::from_bytes(*a, *b), rest),
            _ => return script,
        };
        script.cfg = cfg;
        let feed = |script: &mut Script, bytes: &[u8]| {
            let start = script.stream.len();
            script.stream.extend_from_slice(bytes);
            script.ops.push(Op::Feed {
                start,
                end: script.stream.len(),
            });
        };
        while let [tag, tail @ ..] = rest {
            rest = tail;
            let mut arg = || {
                let (&x, tail) = rest.split_first().unwrap_or((&0, &[]));
                rest = tail;
                x
            };
            let op = match *tag {
                n @ 0x00..=0x7f => {
                    let n = usize::from(n).min(rest.len());
                    let (bytes, tail) = rest.split_at(n);
                    rest = tail;
                    feed(&mut script, bytes);
                    continue;
                }
                0x80 => {
                    let n = usize::from(u16::from_le_bytes([arg(), arg()])).min(rest.len());
                    let (bytes, tail) = rest.split_at(n);
                    rest = tail;
                    feed(&mut script, bytes);
                    continue;
                }
                0x81 => Op::Eof,
                0x82 => Op::SendText(arg()),
                0x83 => Op::SendBinary(arg()),
                0x84 => Op::SendPing(arg()),
                0x85 => Op::SendPong(arg()),
                0x86 => Op::SendClose(u16::from_be_bytes([arg(), arg()])),
                0x87 => Op::WriteSome(arg()),
                0x88 => Op::TakeAll,
                0x89 => Op::TakeInto,
                0x8a => Op::Events,
                0x8b => Op::SendLarge(arg()),
                _ => continue,
            };
            script.ops.push(op);
        }
        script
    }
}

/// Writes scripts (for seeds).
#[derive(Debug)]
pub struct Builder {
    out: Vec<u8>,
}

impl Builder {
    pub fn new(cfg: Cfg) -> Builder {
        Builder {
            out: cfg.to_bytes().to_vec(),
        }
    }

    /// Feeds `bytes` in chunks of at most `chunk` bytes.
    pub fn feed(mut self, bytes: &[u8], chunk: usize) -> Builder {
        for piece in bytes.chunks(chunk.clamp(1, 0xffff)) {
            if piece.len() <= 0x7f {
                self.out.push(piece.len() as u8);
            } else {
                self.out.push(0x80);
                self.out
                    .extend_from_slice(&(piece.len() as u16).to_le_bytes());
            }
            self.out.extend_from_slice(piece);
        }
        self
    }

    pub fn op(mut self, op: Op) -> Builder {
        match op {
            Op::Feed { .. } => panic!("use feed"),
            Op::Eof => self.out.push(0x81),
            Op::SendText(x) => self.out.extend_from_slice(&[0x82, x]),
            Op::SendBinary(x) => self.out.extend_from_slice(&[0x83, x]),
            Op::SendPing(x) => self.out.extend_from_slice(&[0x84, x]),
            Op::SendPong(x) => self.out.extend_from_slice(&[0x85, x]),
            Op::SendClose(c) => {
                self.out.push(0x86);
                self.out.extend_from_slice(&c.to_be_bytes());
            }
            Op::WriteSome(x) => self.out.extend_from_slice(&[0x87, x]),
            Op::TakeAll => self.out.push(0x88),
            Op::TakeInto => self.out.push(0x89),
            Op::Events => self.out.push(0x8a),
            Op::SendLarge(x) => self.out.extend_from_slice(&[0x8b, x]),
        }
        self
    }

    pub fn build(self) -> Vec<u8> {
        self.out
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builder_and_parser_agree() {
        let cfg = Cfg {
            small_limits: true,
            lazy_events: true,
            deflate: true,
            split: 3,
            ..Cfg::default()
        };
        let big = vec![7u8; 300];
        let data = Builder::new(cfg)
            .feed(b"hello", 2)
            .op(Op::SendClose(1000))
            .feed(&big, 1000)
            .op(Op::Eof)
            .build();
        let s = Script::parse(&data);
        assert!(s.cfg.small_limits && s.cfg.lazy_events && s.cfg.split == 3);
        assert!(s.cfg.deflate && !s.cfg.no_takeover);
        assert_eq!(
            s.ops,
            [
                Op::Feed { start: 0, end: 2 },
                Op::Feed { start: 2, end: 4 },
                Op::Feed { start: 4, end: 5 },
                Op::SendClose(1000),
                Op::Feed { start: 5, end: 305 },
                Op::Eof,
            ]
        );
        assert_eq!(&s.stream[..5], b"hello");
    }
}
