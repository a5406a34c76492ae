//! An async echo server on smol.
//!
//! ```text
//! cargo run --release --example smol_echo_server [ADDR]     # default 127.0.0.1:9001
//! ```

mod shared;

fn main() -> std::io::Result<()> {
    shared::smol_server::run("smol_echo_server")
}
