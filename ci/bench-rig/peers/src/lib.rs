//! What the peer echo servers share: where to listen.
//!
//! Each server binary echoes text and binary messages unchanged and lets its
//! crate answer pings and closes, set up the way that crate's own README and
//! examples show for throughput. Each takes the address to listen on as its
//! first argument and prints one line once it listens.

/// The address given as the first argument, or 127.0.0.1:9001.
pub fn listen_addr() -> String {
    std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:9001".to_owned())
}
