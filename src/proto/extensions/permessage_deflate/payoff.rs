//! Whether compressing pays for what a connection sends.
//!
//! Payloads that do not shrink (random bytes, encrypted or already
//! compressed data: images, video, archives) cost the compressor's CPU for
//! nothing; at level 1 that is several times what the rest of sending such
//! a message costs (`cargo bench --bench deflate`, the random cases). So
//! after a few compressions in a row that saved next to nothing, messages
//! go out as they are (RSV1 clear, which RFC 7692 §6 allows for any
//! message) for a while, and compression is tried again now and then in
//! case the traffic changed. A message sent as it is never enters the
//! compressor, so the peer's window and ours stay in step.

/// Compressions that did not pay, in a row, before messages are sent as
/// they are.
const MISSES_BEFORE_SKIPPING: u8 = 2;

/// Messages sent as they are after compression stopped paying; doubled
/// each time the trial after them does not pay either, up to
/// [`MAX_SKIP`].
const FIRST_SKIP: u16 = 8;

/// The longest run of messages sent as they are between two trials.
const MAX_SKIP: u16 = 1024;

/// Messages shorter than this say little about the data (a sync flush's
/// few bytes dominate them) and are not counted either way.
const MIN_JUDGED: usize = 64;

/// A compressed message pays when it comes out shorter than this many
/// sixteenths of its input (it saves at least 1/16).
const PAYING_SIXTEENTHS: usize = 15;

/// The record of recent compressions, and how many messages to send as
/// they are before the next trial.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) struct Payoff {
    /// Compressions in a row that did not pay.
    misses: u8,
    /// Messages still to send as they are.
    skip_left: u16,
    /// The length of the next run of messages sent as they are.
    next_skip: u16,
    /// Bytes in and out of the compressor for the message being sent so
    /// far: a message is judged once, however many pieces it is sent in.
    message_in: usize,
    message_out: usize,
}

impl Payoff {
    /// No record yet: compress.
    pub(super) fn new() -> Payoff {
        Payoff {
            misses: 0,
            skip_left: 0,
            next_skip: FIRST_SKIP,
            message_in: 0,
            message_out: 0,
        }
    }

    /// Whether to compress the message about to be sent (a message sent
    /// as it is counts against the run).
    pub(super) fn should_compress(&mut self) -> bool {
        if self.skip_left > 0 {
            self.skip_left -= 1;
            return false;
        }
        true
    }

    /// A piece of `input` bytes was compressed to `output` bytes; the
    /// message is judged at its last piece.
    pub(super) fn record(&mut self, input: usize, output: usize, message_finished: bool) {
        self.message_in = self.message_in.saturating_add(input);
        self.message_out = self.message_out.saturating_add(output);
        if !message_finished {
            return;
        }
        let input = std::mem::take(&mut self.message_in);
        let output = std::mem::take(&mut self.message_out);
        if input < MIN_JUDGED {
            return;
        }
        if output.saturating_mul(16) < input.saturating_mul(PAYING_SIXTEENTHS) {
            *self = Payoff::new();
            return;
        }
        self.misses = self.misses.saturating_add(1);
        if self.misses >= MISSES_BEFORE_SKIPPING {
            self.skip_left = self.next_skip;
            self.next_skip = self.next_skip.saturating_mul(2).min(MAX_SKIP);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Messages sent as they are before the next `should_compress` is true.
    fn skipped(p: &mut Payoff) -> usize {
        let mut n = 0;
        while !p.should_compress() {
            n += 1;
            assert!(n <= MAX_SKIP as usize, "never tries again");
        }
        n
    }

    #[test]
    fn compression_that_pays_goes_on() {
        let mut p = Payoff::new();
        for _ in 0..100 {
            assert!(p.should_compress());
            p.record(1000, 300, true);
        }
    }

    #[test]
    fn one_miss_does_not_stop_it() {
        let mut p = Payoff::new();
        p.record(1000, 1010, true);
        assert!(p.should_compress());
        p.record(1000, 300, true);
        p.record(1000, 1010, true);
        assert!(
            p.should_compress(),
            "the hit between cleared the first miss"
        );
    }

    #[test]
    fn misses_in_a_row_skip_runs_that_grow_until_a_trial_pays() {
        let mut p = Payoff::new();
        p.record(1000, 1010, true);
        p.record(1000, 1010, true);
        assert_eq!(skipped(&mut p), FIRST_SKIP as usize);
        // The trial does not pay: a run twice as long.
        p.record(1000, 1010, true);
        assert_eq!(skipped(&mut p), 2 * FIRST_SKIP as usize);
        for _ in 0..20 {
            p.record(1000, 1010, true);
            let run = skipped(&mut p);
            assert!(run <= MAX_SKIP as usize);
        }
        assert_eq!(skipped(&mut p), 0, "the trial is due");
        p.record(1000, 1010, true);
        assert_eq!(skipped(&mut p), MAX_SKIP as usize, "capped");
        // A trial that pays starts over.
        p.record(1000, 500, true);
        assert_eq!(p, Payoff::new());
    }

    #[test]
    fn a_saving_under_a_sixteenth_is_a_miss() {
        let mut p = Payoff::new();
        p.record(1600, 1500, true); // 15/16 exactly: not under it
        p.record(1600, 1500, true);
        assert_eq!(skipped(&mut p), FIRST_SKIP as usize);
        let mut p = Payoff::new();
        p.record(1600, 1499, true);
        p.record(1600, 1499, true);
        assert_eq!(skipped(&mut p), 0);
    }

    #[test]
    fn small_messages_are_not_judged() {
        let mut p = Payoff::new();
        for _ in 0..10 {
            p.record(MIN_JUDGED - 1, MIN_JUDGED + 5, true);
        }
        assert_eq!(p, Payoff::new());
    }

    #[test]
    fn a_message_in_many_pieces_is_judged_once() {
        let mut p = Payoff::new();
        // Twenty pieces that do not shrink: one miss, not a run of them.
        for i in 0..20 {
            p.record(1000, 1010, i == 19);
        }
        assert_eq!(skipped(&mut p), 0, "one miss only");
        p.record(1000, 1010, true);
        assert_eq!(skipped(&mut p), FIRST_SKIP as usize, "the second miss");
        // Small pieces that add up to a judged message count together.
        let mut p = Payoff::new();
        for _ in 0..2 {
            for i in 0..4 {
                p.record(MIN_JUDGED / 2, MIN_JUDGED, i == 3);
            }
        }
        assert_eq!(skipped(&mut p), FIRST_SKIP as usize);
    }
}
