//! What the driver needs to tell a peer that waits on each reply (answer
//! each at once) from a busy connection (answer a burst with one write).
//!
//! Input after a quiet spell suggests the first; but a stream's `Pending`
//! means "quiet" only if it looked. The smol shim's `TcpStream` and
//! [`crate::rt::YieldingStream`] answer `Pending` once after a short read
//! without looking, so that other tasks run first; they say so through
//! [`note_yield`], and such a `Pending` does not count. And a connection
//! whose thread served other connections while it waited is one of many
//! sharing a busy thread: answering each message with its own write would
//! cost every one of them a system call per message (16 connections, 8
//! messages in flight: a fifth of the messages per second on tokio).
//! So every poll of a WebSocket on a thread is counted ([`tick`]).

use std::cell::Cell;

thread_local! {
    static POLLS: Cell<u32> = const { Cell::new(0) };
    static YIELDED: Cell<bool> = const { Cell::new(false) };
}

/// Called by a stream that answers `Pending` without looking, just before
/// it does.
#[inline]
pub(crate) fn note_yield() {
    YIELDED.set(true);
}

/// Whether the stream last polled on this thread noted a yield; clears it.
#[inline]
pub(super) fn take_yield() -> bool {
    YIELDED.replace(false)
}

/// Counts a poll of a WebSocket on this thread.
#[inline]
pub(super) fn tick() {
    POLLS.set(POLLS.get().wrapping_add(1));
}

/// WebSocket polls on this thread so far (wrapping).
#[inline]
pub(super) fn polls() -> u32 {
    POLLS.get()
}
