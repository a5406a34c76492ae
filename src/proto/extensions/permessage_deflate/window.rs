//! The last bytes our compressor was fed: what the peer's inflater holds as
//! its window, and so all a compressor needs to go on from where a dropped
//! one left off. (And likewise the last bytes our inflater produced.)
//!
//! A compressor holds about 310 KiB (hash chains, its own window, output
//! staging) and an idle connection needs none of it, but with context
//! takeover the next message may refer back into everything sent before.
//! Keeping a copy of the window (at most `2^bits` bytes, 32 KiB at 15 bits)
//! lets an idle connection drop the compressor and a new one start from
//! that window as a preset dictionary (`Compress::set_dictionary`): the
//! peer, whose window holds the same bytes, cannot tell the difference.
//! Copying each message's last 32 KiB costs little beside compressing it.

/// A ring of the last `capacity` bytes pushed.
#[derive(Debug)]
pub(super) struct Window {
    /// Until full, the bytes in order; then a ring whose oldest byte is at
    /// `head`.
    buf: Vec<u8>,
    head: usize,
    capacity: usize,
}

impl Window {
    /// An empty window of `2^bits` bytes; nothing is allocated until bytes
    /// are pushed, and then no more than they need.
    pub(super) fn new(bits: u8) -> Window {
        Window {
            buf: Vec::new(),
            head: 0,
            capacity: 1 << bits,
        }
    }

    /// Appends `data`, forgetting what falls out of the window.
    pub(super) fn push(&mut self, data: &[u8]) {
        let mut data = &data[data.len().saturating_sub(self.capacity)..];
        if self.buf.len() < self.capacity {
            let (now, later) = data.split_at(data.len().min(self.capacity - self.buf.len()));
            if self.buf.capacity() - self.buf.len() < now.len() {
                // Grow geometrically, but never past the window.
                let want = (self.buf.len() * 2)
                    .max(self.buf.len() + now.len())
                    .min(self.capacity);
                self.buf.reserve_exact(want - self.buf.len());
            }
            self.buf.extend_from_slice(now);
            data = later;
            if data.is_empty() {
                return;
            }
        }
        // Full: overwrite the oldest bytes, wrapping at the end.
        let first = data.len().min(self.capacity - self.head);
        let (to_end, wrapped) = data.split_at(first);
        self.buf[self.head..self.head + first].copy_from_slice(to_end);
        self.buf[..wrapped.len()].copy_from_slice(wrapped);
        self.head = (self.head + data.len()) % self.capacity;
    }

    /// The bytes, oldest first (rotated into order in place), as a preset
    /// dictionary for a rebuilt compressor or inflater; `None` if empty.
    pub(super) fn dictionary(&mut self) -> Option<&[u8]> {
        self.buf.rotate_left(self.head);
        self.head = 0;
        (!self.buf.is_empty()).then_some(&self.buf[..])
    }

    /// How many bytes it holds.
    #[cfg(test)]
    pub(super) fn len(&self) -> usize {
        self.buf.len()
    }

    /// Forgets everything, freeing the buffer (a new stream starts with no
    /// window).
    pub(super) fn clear(&mut self) {
        *self = Window {
            buf: Vec::new(),
            head: 0,
            capacity: self.capacity,
        };
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn holds_the_last_bytes_pushed_in_order() {
        let mut next = crate::proto::rng(7);
        let mut window = Window::new(8);
        let mut all = Vec::new();
        for _ in 0..500 {
            // Pieces from empty to beyond the whole window.
            let len = (next() % 300) as usize;
            let piece: Vec<u8> = (0..len).map(|_| next() as u8).collect();
            window.push(&piece);
            all.extend_from_slice(&piece);
            let expected = &all[all.len().saturating_sub(256)..];
            assert_eq!(window.len(), expected.len());
            if next() % 4 == 0 {
                let dictionary = window.dictionary().unwrap_or_default();
                assert_eq!(dictionary, expected);
            }
        }
        assert!(window.buf.capacity() <= 256, "{}", window.buf.capacity());
    }

    #[test]
    fn allocates_no_more_than_it_holds_until_full() {
        let mut window = Window::new(15);
        assert_eq!(window.buf.capacity(), 0);
        window.push(&[1; 1000]);
        assert!(window.buf.capacity() < 4096, "{}", window.buf.capacity());
        window.push(&[2; 40_000]);
        assert_eq!(window.buf.capacity(), 1 << 15);
        assert!(window.dictionary().unwrap().iter().all(|&b| b == 2));
    }
}
