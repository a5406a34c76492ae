//! The raw peer: [`Raw`], a blocking `std::net` WebSocket peer written by
//! hand, with its own frame codec ([`encode`], [`Frame`]) and [`accept_key`].

use std::io::{ErrorKind, Read, Write};
use std::net::{SocketAddr, TcpListener as StdListener, TcpStream as StdTcp};
use std::time::Duration;

use base64::Engine as _;
use sha1::{Digest, Sha1};

/// Read timeout of the blocking raw peers.
pub const RAW_TIMEOUT: Duration = Duration::from_secs(3);

pub const CONT: u8 = 0x0;
pub const TEXT: u8 = 0x1;
pub const BINARY: u8 = 0x2;
pub const CLOSE: u8 = 0x8;
pub const PING: u8 = 0x9;
pub const PONG: u8 = 0xa;

/// One frame as the raw peer decoded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Frame {
    pub fin: bool,
    pub opcode: u8,
    pub masked: bool,
    pub payload: Vec<u8>,
}

impl Frame {
    /// The code of a close frame.
    pub fn close_code(&self) -> Option<u16> {
        (self.opcode == CLOSE && self.payload.len() >= 2)
            .then(|| u16::from_be_bytes([self.payload[0], self.payload[1]]))
    }
}

/// Encodes a frame; `mask` for client frames.
pub fn encode(fin: bool, opcode: u8, mask: Option<[u8; 4]>, payload: &[u8]) -> Vec<u8> {
    let mut out = vec![if fin { 0x80 } else { 0 } | opcode];
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

pub fn close_payload(code: u16, reason: &str) -> Vec<u8> {
    let mut p = code.to_be_bytes().to_vec();
    p.extend_from_slice(reason.as_bytes());
    p
}

/// `Sec-WebSocket-Accept` for `key`, computed here, not by the crate.
pub fn accept_key(key: &str) -> String {
    let mut sha = Sha1::new();
    sha.update(key.as_bytes());
    sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
    base64::engine::general_purpose::STANDARD.encode(sha.finalize())
}

/// A blocking WebSocket peer written by hand.
pub struct Raw {
    pub s: StdTcp,
    /// Whether frames we send are masked (we are the client).
    pub client: bool,
    buf: Vec<u8>,
}

impl Raw {
    fn wrap(s: StdTcp, client: bool) -> Raw {
        s.set_read_timeout(Some(RAW_TIMEOUT)).unwrap();
        s.set_write_timeout(Some(RAW_TIMEOUT)).unwrap();
        s.set_nodelay(true).unwrap();
        Raw {
            s,
            client,
            buf: Vec::new(),
        }
    }

    /// A TCP connection with no handshake yet.
    pub fn tcp(addr: SocketAddr) -> Raw {
        Raw::wrap(StdTcp::connect(addr).unwrap(), true)
    }

    /// Connects and completes a client handshake for `path`.
    pub fn client(addr: SocketAddr, path: &str) -> Raw {
        let mut raw = Raw::tcp(addr);
        let key = "dGhlIHNhbXBsZSBub25jZQ==";
        raw.write(
            format!(
                "GET {path} HTTP/1.1\r\nHost: {addr}\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n\
                 Sec-WebSocket-Version: 13\r\n\r\n"
            )
            .as_bytes(),
        );
        let head = raw.read_head().expect("a handshake response");
        assert!(head.starts_with("HTTP/1.1 101"), "{head}");
        let want = format!("sec-websocket-accept: {}", accept_key(key)).to_lowercase();
        assert!(head.to_lowercase().contains(&want), "{head}");
        raw
    }

    /// Accepts one TCP connection on `l` as a server, no handshake yet.
    pub fn wrap_accepted(l: &StdListener) -> Raw {
        Raw::wrap(l.accept().unwrap().0, false)
    }

    /// Accepts one connection on `l` and completes a server handshake.
    pub fn server(l: &StdListener) -> Raw {
        let mut raw = Raw::wrap_accepted(l);
        let head = raw.read_head().expect("a handshake request");
        let key = head
            .lines()
            .find_map(|l| {
                let (n, v) = l.split_once(':')?;
                n.eq_ignore_ascii_case("sec-websocket-key")
                    .then(|| v.trim().to_owned())
            })
            .expect("Sec-WebSocket-Key");
        raw.write(
            format!(
                "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\n\
                 Connection: Upgrade\r\nSec-WebSocket-Accept: {}\r\n\r\n",
                accept_key(&key)
            )
            .as_bytes(),
        );
        raw
    }

    pub fn write(&mut self, bytes: &[u8]) {
        self.s.write_all(bytes).unwrap();
    }

    /// Sends a frame, masked if we are the client.
    pub fn send(&mut self, fin: bool, opcode: u8, payload: &[u8]) {
        let mask = self.client.then_some([0x12, 0x34, 0x56, 0x78]);
        let bytes = encode(fin, opcode, mask, payload);
        self.write(&bytes);
    }

    pub fn send_close(&mut self, code: u16, reason: &str) {
        self.send(true, CLOSE, &close_payload(code, reason));
    }

    /// Fills the buffer to at least `n` bytes; false on EOF.
    fn fill(&mut self, n: usize) -> bool {
        let mut chunk = [0u8; 16 << 10];
        while self.buf.len() < n {
            match self.s.read(&mut chunk) {
                Ok(0) => return false,
                Ok(k) => self.buf.extend_from_slice(&chunk[..k]),
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return false,
                Err(e) => panic!("raw peer read: {e}"),
            }
        }
        true
    }

    /// An HTTP head up to the blank line; `None` on EOF.
    pub fn read_head(&mut self) -> Option<String> {
        loop {
            if let Some(end) = self.buf.windows(4).position(|w| w == b"\r\n\r\n") {
                let head: Vec<u8> = self.buf.drain(..end + 4).collect();
                return Some(String::from_utf8(head).unwrap());
            }
            let want = self.buf.len() + 1;
            if !self.fill(want) {
                return None;
            }
        }
    }

    /// Everything until EOF.
    pub fn read_to_end(&mut self) -> Vec<u8> {
        while self.fill(self.buf.len() + 1) {}
        std::mem::take(&mut self.buf)
    }

    /// The next frame; `None` on EOF.
    pub fn read_frame(&mut self) -> Option<Frame> {
        if !self.fill(2) {
            assert!(self.buf.is_empty(), "EOF inside a frame header");
            return None;
        }
        let (b0, b1) = (self.buf[0], self.buf[1]);
        let masked = b1 & 0x80 != 0;
        let (len, mut at) = match b1 & 0x7f {
            126 => {
                assert!(self.fill(4), "EOF in a frame header");
                (u16::from_be_bytes([self.buf[2], self.buf[3]]) as usize, 4)
            }
            127 => {
                assert!(self.fill(10), "EOF in a frame header");
                let mut b = [0u8; 8];
                b.copy_from_slice(&self.buf[2..10]);
                (u64::from_be_bytes(b) as usize, 10)
            }
            n => (n as usize, 2),
        };
        let mut key = [0u8; 4];
        if masked {
            assert!(self.fill(at + 4), "EOF in a frame header");
            key.copy_from_slice(&self.buf[at..at + 4]);
            at += 4;
        }
        assert!(self.fill(at + len), "EOF inside a frame payload");
        let mut payload: Vec<u8> = self.buf.drain(..at + len).skip(at).collect();
        if masked {
            for (i, b) in payload.iter_mut().enumerate() {
                *b ^= key[i % 4];
            }
        }
        Some(Frame {
            fin: b0 & 0x80 != 0,
            opcode: b0 & 0x0f,
            masked,
            payload,
        })
    }

    /// The next frame if its first bytes arrive within `d`; `Err(())` if
    /// nothing arrived in time.
    pub fn frame_within(&mut self, d: Duration) -> Result<Option<Frame>, ()> {
        if self.buf.is_empty() {
            self.s.set_read_timeout(Some(d)).unwrap();
            let mut chunk = [0u8; 4096];
            let r = self.s.read(&mut chunk);
            self.s.set_read_timeout(Some(RAW_TIMEOUT)).unwrap();
            match r {
                Ok(0) => return Ok(None),
                Ok(k) => self.buf.extend_from_slice(&chunk[..k]),
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    return Err(());
                }
                Err(e) if e.kind() == ErrorKind::ConnectionReset => return Ok(None),
                Err(e) => panic!("raw peer read: {e}"),
            }
        }
        Ok(self.read_frame())
    }

    /// The next frame, which must exist.
    pub fn expect_frame(&mut self) -> Frame {
        self.read_frame().expect("a frame, got EOF")
    }

    /// Waits (up to the read timeout) for the peer to end the connection:
    /// true on EOF or reset, false if more data arrived first.
    pub fn at_eof(&mut self) -> bool {
        if !self.buf.is_empty() {
            return false;
        }
        let mut b = [0u8; 1];
        match self.s.read(&mut b) {
            Ok(0) => true,
            Ok(_) => false,
            Err(e) if e.kind() == ErrorKind::ConnectionReset => true,
            Err(e) => panic!("raw peer waiting for EOF: {e}"),
        }
    }
}
