//! [`Partial`]: a data message assembled from the frames it came in.

use bytes::{Bytes, BytesMut};

use super::message::Message;
use crate::proto::Utf8Bytes;

/// A data message being assembled from its pieces. A message that arrives
/// in one piece is passed on without a copy, and never stored here.
#[derive(Debug, Default)]
pub(super) enum Partial {
    /// No data message is in progress.
    #[default]
    Idle,
    /// The first piece, kept as it came.
    One { text: bool, data: Bytes },
    /// Two or more pieces, joined.
    Joined { text: bool, data: BytesMut },
}

impl Partial {
    /// Takes in one piece of a data message (`text` counts only for the
    /// first); the whole message once it ends.
    pub(super) fn piece(
        &mut self,
        text: bool,
        data: Bytes,
        message_finished: bool,
    ) -> Option<Message> {
        if message_finished && matches!(self, Partial::Idle) {
            // The usual message, in one piece: never stored.
            return Some(message(text, data));
        }
        // An empty piece adds nothing, so a message is copied only when a
        // second non-empty piece comes.
        let pieces = match std::mem::take(self) {
            Partial::Idle => Partial::One { text, data },
            so_far if data.is_empty() => so_far,
            Partial::One { text, data: first } => {
                let mut joined = BytesMut::with_capacity(first.len() + data.len());
                joined.extend_from_slice(&first);
                joined.extend_from_slice(&data);
                Partial::Joined { text, data: joined }
            }
            Partial::Joined {
                text,
                data: mut joined,
            } => {
                joined.extend_from_slice(&data);
                Partial::Joined { text, data: joined }
            }
        };
        match pieces {
            Partial::One { text, data } if message_finished => Some(message(text, data)),
            Partial::Joined { text, data } if message_finished => {
                Some(message(text, data.freeze()))
            }
            in_progress => {
                *self = in_progress;
                None
            }
        }
    }
}

/// The message of `data`, which was validated piece by piece (each ending
/// on a character boundary) if `text`.
fn message(text: bool, data: Bytes) -> Message {
    if text {
        Message::Text(Utf8Bytes::from_validated(data))
    } else {
        Message::Binary(data)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn binary(m: Message) -> Bytes {
        match m {
            Message::Binary(b) => b,
            other => panic!("not binary: {other:?}"),
        }
    }

    #[test]
    fn a_message_in_one_piece_is_passed_on_as_it_came() {
        let mut p = Partial::default();
        let data = Bytes::from(vec![1, 2, 3]);
        let ptr = data.as_ptr();
        let out = binary(p.piece(false, data, true).expect("finished"));
        assert_eq!(out.as_ptr(), ptr, "no copy");
        assert!(matches!(p, Partial::Idle));
    }

    #[test]
    fn pieces_are_joined_in_order_and_the_first_one_decides_the_kind() {
        let mut p = Partial::default();
        assert!(p.piece(true, Bytes::from_static(b"h\xc3"), false).is_none());
        assert!(matches!(p, Partial::One { text: true, .. }));
        assert!(
            p.piece(false, Bytes::from_static(b"\xa9l"), false)
                .is_none()
        );
        assert!(matches!(p, Partial::Joined { text: true, .. }));
        assert!(p.piece(false, Bytes::new(), false).is_none());
        match p.piece(false, Bytes::from_static(b"lo"), true) {
            Some(Message::Text(t)) => assert_eq!(t.as_str(), "h\u{e9}llo"),
            other => panic!("{other:?}"),
        }
        assert!(matches!(p, Partial::Idle), "ready for the next message");
        // Two pieces: the first kept as it came, then joined once.
        assert!(p.piece(false, Bytes::from_static(b"ab"), false).is_none());
        assert_eq!(
            binary(p.piece(true, Bytes::from_static(b"cd"), true).unwrap()),
            &b"abcd"[..]
        );
    }

    #[test]
    fn empty_pieces_after_the_first_leave_it_uncopied() {
        let mut p = Partial::default();
        let first = Bytes::from(vec![5; 10]);
        let ptr = first.as_ptr();
        assert!(p.piece(false, first, false).is_none());
        assert!(p.piece(true, Bytes::new(), false).is_none());
        assert!(matches!(p, Partial::One { .. }));
        let out = binary(p.piece(false, Bytes::new(), true).unwrap());
        assert_eq!(out.as_ptr(), ptr);
        assert_eq!(out, vec![5; 10]);
    }

    #[test]
    fn it_stays_small_inline() {
        // Every open WebSocket carries one.
        assert!(std::mem::size_of::<Partial>() <= 40);
    }

    #[test]
    fn empty_pieces_make_an_empty_message() {
        let mut p = Partial::default();
        assert!(p.piece(false, Bytes::new(), false).is_none());
        assert!(binary(p.piece(false, Bytes::new(), true).unwrap()).is_empty());
    }
}
