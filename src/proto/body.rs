//! Reading the body of a handshake rejection (a non-101 response), which a
//! client reports as `RejectData` events: by `Content-Length`, chunked
//! transfer coding, or until the connection closes (RFC 9112 §6.3).

use bytes::{Buf, Bytes, BytesMut};

use super::events::Header;

/// Chunk-size and trailer lines longer than this are refused.
const MAX_LINE: usize = 4096;

/// How the body is delimited.
#[derive(Debug)]
pub(crate) enum BodyReader {
    /// This many bytes remain.
    Length(u64),
    /// Chunked transfer coding.
    Chunked(Chunked),
    /// Everything until the peer closes the connection.
    UntilEof,
}

#[derive(Debug)]
pub(crate) enum Chunked {
    /// Reading a chunk-size line.
    Size,
    /// Reading chunk data; this many bytes remain.
    Data(u64),
    /// Expecting the CRLF after chunk data.
    DataEnd,
    /// Reading trailer lines until the empty one.
    Trailers,
}

/// One step of body reading.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum BodyStep {
    /// Body bytes, and whether the body is complete.
    Data(Bytes, bool),
    /// More input is needed.
    NeedMore,
    /// The body is malformed or was cut short.
    Error(&'static str),
}

impl BodyReader {
    /// How a response with `status` and `headers` delimits its body, or
    /// `None` if it has none.
    pub(crate) fn for_response(status: u16, headers: &[Header]) -> Option<BodyReader> {
        if (100..200).contains(&status) || status == 204 || status == 304 {
            return None;
        }
        let has = |name: &'static str| {
            headers
                .iter()
                .filter(move |h| h.name.eq_ignore_ascii_case(name))
        };
        let chunked = has("transfer-encoding").any(|h| {
            h.value
                .rsplit(|&b| b == b',')
                .next()
                .is_some_and(|t| t.trim_ascii().eq_ignore_ascii_case(b"chunked"))
        });
        if chunked {
            return Some(BodyReader::Chunked(Chunked::Size));
        }
        match has("content-length").next() {
            Some(h) => {
                let len = std::str::from_utf8(&h.value)
                    .ok()
                    .and_then(|v| v.trim().parse::<u64>().ok());
                match len {
                    Some(0) => None,
                    Some(n) => Some(BodyReader::Length(n)),
                    // An unreadable length: read to the end rather than guess.
                    None => Some(BodyReader::UntilEof),
                }
            }
            None => Some(BodyReader::UntilEof),
        }
    }

    /// Takes the next piece of body from `buf`; `eof` says whether the peer
    /// has closed.
    pub(crate) fn step(&mut self, buf: &mut BytesMut, eof: bool) -> BodyStep {
        match self {
            BodyReader::Length(remaining) => {
                let n = (buf.len() as u64).min(*remaining) as usize;
                if n == 0 {
                    return if eof {
                        BodyStep::Error("connection closed inside the response body")
                    } else {
                        BodyStep::NeedMore
                    };
                }
                *remaining -= n as u64;
                BodyStep::Data(buf.split_to(n).freeze(), *remaining == 0)
            }
            BodyReader::UntilEof => {
                if buf.is_empty() {
                    return if eof {
                        BodyStep::Data(Bytes::new(), true)
                    } else {
                        BodyStep::NeedMore
                    };
                }
                BodyStep::Data(buf.split().freeze(), false)
            }
            BodyReader::Chunked(state) => loop {
                match state {
                    Chunked::Size => {
                        let Some(line) = take_line(buf) else {
                            return incomplete(buf, eof);
                        };
                        let Some(line) = line else {
                            return BodyStep::Error("chunk-size line too long");
                        };
                        let digits = line[..]
                            .split(|&b| b == b';')
                            .next()
                            .unwrap_or_default()
                            .trim_ascii();
                        let size = std::str::from_utf8(digits)
                            .ok()
                            .and_then(|d| u64::from_str_radix(d, 16).ok());
                        match size {
                            None => return BodyStep::Error("malformed chunk size"),
                            Some(0) => *state = Chunked::Trailers,
                            Some(n) => *state = Chunked::Data(n),
                        }
                    }
                    Chunked::Data(remaining) => {
                        let n = (buf.len() as u64).min(*remaining) as usize;
                        if n == 0 {
                            return incomplete(buf, eof);
                        }
                        *remaining -= n as u64;
                        if *remaining == 0 {
                            *state = Chunked::DataEnd;
                        }
                        return BodyStep::Data(buf.split_to(n).freeze(), false);
                    }
                    Chunked::DataEnd => {
                        if buf.len() < 2 {
                            return incomplete(buf, eof);
                        }
                        if &buf[..2] != b"\r\n" {
                            return BodyStep::Error("chunk data not followed by CRLF");
                        }
                        buf.advance(2);
                        *state = Chunked::Size;
                    }
                    Chunked::Trailers => {
                        let Some(line) = take_line(buf) else {
                            return incomplete(buf, eof);
                        };
                        match line {
                            None => return BodyStep::Error("trailer line too long"),
                            Some(l) if l.is_empty() => return BodyStep::Data(Bytes::new(), true),
                            Some(_) => {}
                        }
                    }
                }
            },
        }
    }
}

fn incomplete(buf: &BytesMut, eof: bool) -> BodyStep {
    if eof {
        BodyStep::Error("connection closed inside the chunked response body")
    } else if buf.len() > MAX_LINE {
        BodyStep::Error("chunk-size line too long")
    } else {
        BodyStep::NeedMore
    }
}

/// Takes one CRLF-terminated line (without the CRLF). `None`: incomplete;
/// `Some(None)`: longer than allowed.
fn take_line(buf: &mut BytesMut) -> Option<Option<BytesMut>> {
    let end = buf.windows(2).position(|w| w == b"\r\n")?;
    if end > MAX_LINE {
        return Some(None);
    }
    let line = buf.split_to(end);
    buf.advance(2);
    Some(Some(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read_all(
        reader: &mut BodyReader,
        input: &[u8],
        eof: bool,
    ) -> Result<(Vec<u8>, bool), &'static str> {
        let mut buf = BytesMut::from(input);
        let mut out = Vec::new();
        loop {
            match reader.step(&mut buf, eof) {
                BodyStep::Data(d, done) => {
                    out.extend_from_slice(&d);
                    if done {
                        return Ok((out, true));
                    }
                }
                BodyStep::NeedMore => return Ok((out, false)),
                BodyStep::Error(e) => return Err(e),
            }
        }
    }

    #[test]
    fn framing_is_chosen_from_the_headers() {
        assert!(BodyReader::for_response(204, &[]).is_none());
        assert!(BodyReader::for_response(400, &[Header::new("Content-Length", "0")]).is_none());
        assert!(matches!(
            BodyReader::for_response(400, &[Header::new("content-length", "5")]),
            Some(BodyReader::Length(5))
        ));
        assert!(matches!(
            BodyReader::for_response(502, &[Header::new("Transfer-Encoding", "gzip, chunked")]),
            Some(BodyReader::Chunked(_))
        ));
        assert!(matches!(
            BodyReader::for_response(403, &[]),
            Some(BodyReader::UntilEof)
        ));
    }

    #[test]
    fn content_length_body() {
        let mut r = BodyReader::Length(5);
        assert_eq!(
            read_all(&mut r, b"hello, extra", false),
            Ok((b"hello".to_vec(), true))
        );
        let mut r = BodyReader::Length(5);
        assert_eq!(
            read_all(&mut r, b"hel", true).unwrap_err(),
            "connection closed inside the response body"
        );
    }

    #[test]
    fn chunked_body_in_any_split() {
        let wire = b"5;ext=1\r\nhello\r\n7\r\n, world\r\n0\r\nX-Trailer: 1\r\n\r\n";
        for split in 0..wire.len() {
            let mut r = BodyReader::Chunked(Chunked::Size);
            let mut buf = BytesMut::from(&wire[..split]);
            let mut out = Vec::new();
            let mut done = false;
            for eof_stage in [false, true] {
                if eof_stage {
                    buf.extend_from_slice(&wire[split..]);
                }
                loop {
                    match r.step(&mut buf, false) {
                        BodyStep::Data(d, fin) => {
                            out.extend_from_slice(&d);
                            if fin {
                                done = true;
                                break;
                            }
                        }
                        BodyStep::NeedMore => break,
                        BodyStep::Error(e) => panic!("{e} at split {split}"),
                    }
                }
            }
            assert!(done, "split {split}");
            assert_eq!(out, b"hello, world");
        }
    }

    #[test]
    fn malformed_chunked_bodies_fail() {
        let mut r = BodyReader::Chunked(Chunked::Size);
        assert!(read_all(&mut r, b"zz\r\n", false).is_err());
        let mut r = BodyReader::Chunked(Chunked::Size);
        assert!(read_all(&mut r, b"2\r\nabXX", false).is_err());
        let mut r = BodyReader::Chunked(Chunked::Size);
        assert!(read_all(&mut r, &[b'1'; 5000], false).is_err());
    }

    #[test]
    fn until_eof_body() {
        let mut r = BodyReader::UntilEof;
        assert_eq!(
            read_all(&mut r, b"abc", false),
            Ok((b"abc".to_vec(), false))
        );
        assert_eq!(read_all(&mut r, b"", true), Ok((vec![], true)));
    }
}
