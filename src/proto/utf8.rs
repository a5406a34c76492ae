//! Incremental UTF-8 validation for text messages that arrive in pieces.
//!
//! A text message may be split into frames, and frames into reads, at any
//! byte, including inside a multi-byte character. [`Utf8Stream`] validates
//! each piece as it arrives, so invalid text is rejected at the frame where
//! the bad byte appears (RFC 6455 §8.1 "fail fast"), and carries an
//! incomplete trailing sequence (at most three bytes) into the next piece so
//! it is never mis-decoded. Validation runs on `simdutf8` (SIMD, picked at
//! run time for the CPU), several times faster than `std::str::from_utf8`
//! on non-ASCII text.

use bytes::{Bytes, BytesMut};

/// The text was not valid UTF-8.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct InvalidUtf8;

/// At most four bytes of one character, on the stack: the incomplete
/// character a piece ended in, or one completed across pieces.
#[derive(Debug, Default, Clone)]
struct Carried {
    bytes: [u8; 4],
    len: u8,
}

impl Carried {
    fn of(data: &[u8]) -> Carried {
        let mut c = Carried::default();
        c.extend_from_slice(data);
        c
    }

    fn extend_from_slice(&mut self, data: &[u8]) {
        let len = usize::from(self.len);
        self.bytes[len..len + data.len()].copy_from_slice(data);
        self.len += data.len() as u8;
    }
}

impl std::ops::Deref for Carried {
    type Target = [u8];

    fn deref(&self) -> &[u8] {
        &self.bytes[..usize::from(self.len)]
    }
}

/// Validation state carried between the pieces of one text message: the
/// incomplete character the last piece ended in.
#[derive(Debug, Default, Clone)]
pub(crate) struct Utf8Stream {
    carry: Carried,
}

impl Utf8Stream {
    /// Validates the next piece of text and returns the longest prefix of
    /// (carried bytes + `piece`) that ends on a character boundary. The rest,
    /// an incomplete but so far valid sequence, is kept for the next call.
    pub(crate) fn feed(&mut self, piece: Bytes) -> Result<Bytes, InvalidUtf8> {
        let (head, take, end) = self.judge(&piece)?;
        if head.is_empty() {
            return Ok(piece.slice(..end));
        }
        let mut joined = BytesMut::with_capacity(head.len() + end - take);
        joined.extend_from_slice(&head);
        joined.extend_from_slice(&piece[take..end]);
        Ok(joined.freeze())
    }

    /// Validates the next piece without producing output, advancing the
    /// state as [`Self::feed`] would: for text gathered into a buffer of
    /// its own, judged as it arrives and handed over later with
    /// [`Self::take_checked`].
    pub(crate) fn check(&mut self, piece: &[u8]) -> Result<(), InvalidUtf8> {
        self.judge(piece).map(drop)
    }

    /// Judges `piece` after the carried bytes and keeps the new carry.
    /// Returns the carried character if `piece` completed it (empty
    /// otherwise), how many of `piece`'s bytes that took, and where in
    /// `piece` the whole characters after it end (0 if the carried one is
    /// still unfinished).
    fn judge(&mut self, piece: &[u8]) -> Result<(Carried, usize, usize), InvalidUtf8> {
        let mut head = Carried::default();
        let mut take = 0;
        if !self.carry.is_empty() {
            take = (sequence_len(self.carry[0]) - self.carry.len()).min(piece.len());
            head = std::mem::take(&mut self.carry);
            head.extend_from_slice(&piece[..take]);
            match std::str::from_utf8(&head) {
                Ok(_) => {}
                Err(e) if e.error_len().is_none() => {
                    // Still a valid prefix; the piece was too short to
                    // finish it.
                    self.carry = head;
                    return Ok((Carried::default(), piece.len(), 0));
                }
                Err(_) => return Err(InvalidUtf8),
            }
        }
        let rest = &piece[take..];
        // The common case, whole characters only, at SIMD speed.
        if simdutf8::basic::from_utf8(rest).is_ok() {
            return Ok((head, take, piece.len()));
        }
        // Invalid, or cut inside its last character: judge the whole
        // characters and the (at most three byte) remainder apart.
        let boundary = last_char_start(rest).ok_or(InvalidUtf8)?;
        let (whole, tail) = rest.split_at(boundary);
        if simdutf8::basic::from_utf8(whole).is_err() {
            return Err(InvalidUtf8);
        }
        match std::str::from_utf8(tail) {
            Err(e) if e.error_len().is_none() => {
                self.carry = Carried::of(tail);
                Ok((head, take, take + boundary))
            }
            // Both halves valid would make the piece valid: it is not.
            _ => Err(InvalidUtf8),
        }
    }

    /// What [`Self::feed`] would return for `piece`, which `checked` (a
    /// copy of this state that [`Self::check`]ed all of `piece`) has already
    /// validated; this state becomes `checked`.
    ///
    /// A `checked` that cannot have come from this state and `piece` (its
    /// carry longer than what there is) is refused rather than trusted.
    pub(crate) fn take_checked(
        &mut self,
        piece: Bytes,
        checked: Utf8Stream,
    ) -> Result<Bytes, InvalidUtf8> {
        let carried = self.carry.len();
        let out_len = (carried + piece.len())
            .checked_sub(checked.carry.len())
            .filter(|&n| n == 0 || n >= carried)
            .ok_or(InvalidUtf8)?;
        let out = if out_len == 0 {
            Bytes::new()
        } else if carried == 0 {
            piece.slice(..out_len)
        } else {
            let mut joined = BytesMut::with_capacity(out_len);
            joined.extend_from_slice(&self.carry);
            joined.extend_from_slice(&piece[..out_len - carried]);
            joined.freeze()
        };
        *self = checked;
        Ok(out)
    }

    /// Whether a character is waiting for its remaining bytes.
    pub(crate) fn is_incomplete(&self) -> bool {
        !self.carry.is_empty()
    }

    /// Ends the message: text that stops inside a character is invalid.
    pub(crate) fn finish(&mut self) -> Result<(), InvalidUtf8> {
        let incomplete = self.is_incomplete();
        self.carry = Carried::default();
        if incomplete { Err(InvalidUtf8) } else { Ok(()) }
    }
}

/// Where the last character of `bytes` starts: the last byte that is not a
/// continuation byte, looking no further back than a character is long.
fn last_char_start(bytes: &[u8]) -> Option<usize> {
    let from = bytes.len().saturating_sub(4);
    (from..bytes.len()).rev().find(|&i| bytes[i] & 0xc0 != 0x80)
}

/// The length of the sequence that a valid lead byte starts.
fn sequence_len(lead: u8) -> usize {
    match lead {
        0x00..=0x7f => 1,
        0xc0..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn feed_all(pieces: &[&[u8]]) -> Result<String, InvalidUtf8> {
        let mut s = Utf8Stream::default();
        let mut out = Vec::new();
        for p in pieces {
            out.extend_from_slice(&s.feed(Bytes::copy_from_slice(p))?);
        }
        s.finish()?;
        Ok(String::from_utf8(out).expect("validated output is UTF-8"))
    }

    #[test]
    fn whole_text_passes_through() {
        assert_eq!(feed_all(&["héllo 𝄞".as_bytes()]).unwrap(), "héllo 𝄞");
    }

    #[test]
    fn every_split_of_multibyte_text_round_trips() {
        let text = "aé€𝄞z€";
        let bytes = text.as_bytes();
        for i in 0..=bytes.len() {
            for j in i..=bytes.len() {
                let got = feed_all(&[&bytes[..i], &bytes[i..j], &bytes[j..]]).unwrap();
                assert_eq!(got, text, "split at {i},{j}");
            }
        }
    }

    #[test]
    fn a_four_byte_character_fed_byte_by_byte() {
        let bytes = "𝄞".as_bytes();
        let mut s = Utf8Stream::default();
        for b in &bytes[..3] {
            assert!(s.feed(Bytes::copy_from_slice(&[*b])).unwrap().is_empty());
            assert!(s.is_incomplete());
        }
        assert_eq!(
            &s.feed(Bytes::copy_from_slice(&bytes[3..])).unwrap()[..],
            bytes
        );
        assert!(s.finish().is_ok());
    }

    #[test]
    fn fails_at_the_first_impossible_byte() {
        // 0xF4 0x90 starts a code point above U+10FFFF: invalid as soon as
        // the second byte is seen, even though the sequence is unfinished.
        let mut s = Utf8Stream::default();
        assert!(s.feed(Bytes::from_static(&[b'a', 0xf4])).is_ok());
        assert_eq!(s.feed(Bytes::from_static(&[0x90])), Err(InvalidUtf8));
        // A lone continuation byte and an overlong encoding fail at once.
        assert!(
            Utf8Stream::default()
                .feed(Bytes::from_static(&[0x80]))
                .is_err()
        );
        assert!(
            Utf8Stream::default()
                .feed(Bytes::from_static(&[0xc0, 0xaf]))
                .is_err()
        );
        // Surrogates are not valid UTF-8.
        assert!(
            Utf8Stream::default()
                .feed(Bytes::from_static(&[0xed, 0xa0, 0x80]))
                .is_err()
        );
    }

    #[test]
    fn unfinished_character_at_message_end_is_invalid() {
        assert_eq!(feed_all(&[&[0xe2, 0x82]]), Err(InvalidUtf8));
    }

    #[test]
    fn invalid_byte_after_carry_in_the_same_piece() {
        let mut s = Utf8Stream::default();
        s.feed(Bytes::from_static(&[0xe2])).unwrap();
        assert_eq!(
            s.feed(Bytes::from_static(&[0x82, 0xac, 0xff])),
            Err(InvalidUtf8)
        );
    }

    /// 3000 strings of up to `max_len` random bytes, biased towards UTF-8's
    /// interesting values, so valid text, truncated characters and every
    /// kind of bad byte all occur.
    fn random_byte_strings(seed: u64, max_len: u64) -> impl Iterator<Item = Vec<u8>> {
        let alphabet = [
            b'a', b'z', 0x7f, 0x80, 0x8f, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xed, 0xef,
            0xf0, 0xf4, 0xf5, 0xff,
        ];
        let mut state = seed;
        let mut next = move || {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            state
        };
        (0..3000).map(move |_| {
            let len = next() % max_len;
            (0..len)
                .map(|_| alphabet[(next() % alphabet.len() as u64) as usize])
                .collect()
        })
    }

    #[test]
    fn agrees_with_std_on_every_split_of_random_bytes() {
        for bytes in random_byte_strings(0x2545_f491_4f6c_dd1d, 12) {
            let len = bytes.len();
            let expected = std::str::from_utf8(&bytes).is_ok();
            for i in 0..=len {
                let got = feed_all(&[&bytes[..i], &bytes[i..]]);
                assert_eq!(got.is_ok(), expected, "{bytes:x?} split at {i}");
                if let Ok(text) = got {
                    assert_eq!(text.as_bytes(), &bytes[..]);
                }
            }
        }
    }

    #[test]
    fn check_then_take_checked_equals_feed() {
        let text = "aé€𝄞z€".repeat(3);
        let bytes = text.as_bytes();
        for i in 0..=bytes.len() {
            for j in i..=bytes.len() {
                let pieces = [&bytes[..i], &bytes[i..j], &bytes[j..]];
                let mut fed = Utf8Stream::default();
                let mut taken = Utf8Stream::default();
                for piece in pieces {
                    let want = fed.feed(Bytes::copy_from_slice(piece)).unwrap();
                    let mut checked = taken.clone();
                    // Checked in two halves, as a gathered frame arrives.
                    let half = piece.len() / 2;
                    checked.check(&piece[..half]).unwrap();
                    checked.check(&piece[half..]).unwrap();
                    let got = taken
                        .take_checked(Bytes::copy_from_slice(piece), checked)
                        .unwrap();
                    assert_eq!(got, want, "split at {i},{j}");
                }
                assert!(fed.finish().is_ok() && taken.finish().is_ok());
            }
        }
    }

    #[test]
    fn check_agrees_with_feed_on_random_bytes() {
        for bytes in random_byte_strings(0x9e37_79b9_7f4a_7c15, 10) {
            let len = bytes.len();
            for i in 0..=len {
                let mut fed = Utf8Stream::default();
                let mut checked = Utf8Stream::default();
                let a = fed.feed(Bytes::copy_from_slice(&bytes[..i]));
                let b = a
                    .is_ok()
                    .then(|| fed.feed(Bytes::copy_from_slice(&bytes[i..])));
                let fed_ok = matches!(b, Some(Ok(_))) && fed.finish().is_ok();
                let checked_ok = checked.check(&bytes[..i]).is_ok()
                    && checked.check(&bytes[i..]).is_ok()
                    && checked.finish().is_ok();
                assert_eq!(checked_ok, fed_ok, "{bytes:x?} split at {i}");
            }
        }
    }
}
