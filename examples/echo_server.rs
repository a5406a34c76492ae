//! An async echo server on the default runtime (smol).
//!
//! ```text
//! cargo run --release --example echo_server [ADDR]     # default 127.0.0.1:9001
//! ```
//!
//! Every connection runs in its own task; text and binary messages are
//! echoed unchanged, pings answered and closes replied to.

mod shared;

fn main() -> std::io::Result<()> {
    shared::smol_server::run("echo_server")
}
