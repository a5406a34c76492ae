//! `whole_frames`: a server [`Connection`] in whole-frame mode, fed through
//! [`Connection::payload_buf`] wherever it is offered (and otherwise,
//! if asked, through [`Connection::receive_owned`]), against one fed the
//! same bytes piece by piece: both must report the same messages, pings,
//! pongs and close, fail alike, and write the same bytes.
//!
//! Input: one control byte, then the client's wire. Control bits 0–1 pick
//! the `at_least` asked of `payload_buf`, bits 2–3 how large reads are,
//! bit 4 small limits, bits 5–6 whether reads go through `receive_owned`
//! and the `keep_from` given it; all bits seed the read sizes.

use wsproto::proto::{Answer, Config, Connection, Event, Role};

use crate::small_config;

/// What a connection reported, to compare the two feedings.
#[derive(Debug, Default, PartialEq, Eq)]
struct Report {
    /// Whole data messages (`true` for text) and control frames, in order.
    items: Vec<(Item, Vec<u8>)>,
    /// How the peer's input failed, if it did.
    failure: Option<(Answer, String)>,
    /// Everything the connection wrote (pongs, its close frame).
    output: Vec<u8>,
}

#[derive(Debug, PartialEq, Eq)]
enum Item {
    Text,
    Binary,
    Ping,
    Pong,
    Close(u16),
}

/// Joins data pieces into whole messages while collecting a [`Report`].
#[derive(Default)]
struct Collector {
    report: Report,
    partial: Vec<u8>,
}

impl Collector {
    /// Takes every event now available; `false` once input failed.
    fn drain(&mut self, conn: &mut Connection) -> bool {
        while let Some(event) = conn.next_event() {
            let event = match event {
                Ok(event) => event,
                Err(e) => {
                    self.report.failure = Some((e.answer(), e.to_string()));
                    return false;
                }
            };
            match event {
                Event::TextMessage(m) => {
                    self.partial.extend_from_slice(m.data.as_str().as_bytes());
                    if m.message_finished {
                        let data = std::mem::take(&mut self.partial);
                        self.report.items.push((Item::Text, data));
                    }
                }
                Event::BytesMessage(m) => {
                    self.partial.extend_from_slice(&m.data);
                    if m.message_finished {
                        let data = std::mem::take(&mut self.partial);
                        self.report.items.push((Item::Binary, data));
                    }
                }
                Event::Ping(p) => self.report.items.push((Item::Ping, p.payload.to_vec())),
                Event::Pong(p) => self.report.items.push((Item::Pong, p.payload.to_vec())),
                Event::CloseConnection(c) => self
                    .report
                    .items
                    .push((Item::Close(c.code.into()), c.reason.into_bytes())),
                other => panic!("unexpected event {other:?}"),
            }
        }
        true
    }

    fn finish(mut self, conn: &mut Connection) -> Report {
        self.drain(conn);
        self.report.output = conn.bytes_to_send().to_vec();
        self.report
    }
}

/// A deterministic xorshift stream of read sizes in `1..=max`.
fn read_sizes(seed: u8, max: usize) -> impl FnMut() -> usize {
    let mut state = u64::from(seed).wrapping_mul(0x9e37_79b9_7f4a_7c15) | 1;
    move || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state % max as u64) as usize + 1
    }
}

/// See the module docs.
pub fn whole_frames(data: &[u8]) {
    run(data);
}

/// How many reads of the whole-frame connection went where.
#[derive(Debug, Default)]
struct Reads {
    /// Into a payload buffer.
    direct: usize,
    /// Kept by `receive_owned`.
    kept: usize,
}

/// The target's body.
fn run(data: &[u8]) -> Reads {
    let mut reads = Reads::default();
    let Some((&control, wire)) = data.split_first() else {
        return reads;
    };
    let at_least = [1, 16, 512, 4096][usize::from(control & 3)];
    let keep_from = [None, Some(0), Some(2), Some(126)][usize::from(control >> 5 & 3)];
    let max_read = [1, 7, 300, 5000][usize::from(control >> 2 & 3)];
    let config = if control & 0x10 != 0 {
        small_config()
    } else {
        Config::default()
    };

    let mut piecewise = Connection::with_config(Role::Server, config.clone());
    let mut pieces = Collector::default();
    let mut sizes = read_sizes(control, max_read);
    let mut rest = wire;
    while !rest.is_empty() {
        let n = sizes().min(rest.len());
        piecewise.receive_bytes(&rest[..n]);
        rest = &rest[n..];
        if !pieces.drain(&mut piecewise) {
            break;
        }
    }
    piecewise.receive_eof();
    let want = pieces.finish(&mut piecewise);

    let mut whole = Connection::with_config(Role::Server, config);
    whole.set_whole_frames(true);
    let mut frames = Collector::default();
    let mut sizes = read_sizes(control.rotate_left(3), max_read);
    let mut rest = wire;
    while !rest.is_empty() {
        let n = sizes().min(rest.len());
        let taken = match whole.payload_buf(at_least) {
            Some(mut room) => {
                reads.direct += 1;
                assert!(!room.is_empty(), "an empty payload buffer was offered");
                let n = n.min(room.len());
                room[..n].copy_from_slice(&rest[..n]);
                room.filled(n);
                n
            }
            None => {
                match keep_from {
                    Some(keep_from) => {
                        // The read at an offset in a buffer of its own, as
                        // a transport's read buffer holds it.
                        let mut buf = vec![0xee; n + 9];
                        buf[3..3 + n].copy_from_slice(&rest[..n]);
                        let kept = whole.receive_owned(&mut buf, 3..3 + n, keep_from);
                        assert_eq!(kept, buf.capacity() == 0, "kept means taken");
                        reads.kept += usize::from(kept);
                    }
                    None => whole.receive_bytes(&rest[..n]),
                }
                n
            }
        };
        rest = &rest[taken..];
        if !frames.drain(&mut whole) {
            break;
        }
    }
    whole.receive_eof();
    let got = frames.finish(&mut whole);

    assert_eq!(got, want, "whole frames (with direct reads) vs piecewise");
    reads
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wire::encode;

    #[test]
    fn a_large_frame_in_small_reads_goes_through_the_payload_buffer() {
        let payload: Vec<u8> = (0..3000u32).map(|i| i as u8).collect();
        // at_least 1, reads of up to 300 bytes.
        let mut data = vec![0x08];
        data.extend(encode(true, 0x2, Some([1, 2, 3, 4]), &payload));
        assert!(run(&data).direct > 0);
    }

    #[test]
    fn whole_frames_kept_from_their_reads_report_what_pieces_report() {
        // Two frames and a ping, in reads of up to 5000 bytes kept from
        // frames of 126 bytes.
        let mut data = vec![0b0110_1100];
        data.extend(encode(true, 0x2, Some([1, 2, 3, 4]), &[9; 200]));
        data.extend(encode(true, 0x1, Some([5, 6, 7, 8]), "é".repeat(100).as_bytes()));
        data.extend(encode(true, 0x9, Some([5, 6, 7, 8]), b"ping"));
        assert!(run(&data).kept > 0);
    }
}
