//! The echo server the Autobahn fuzzingclient tests (default runtime,
//! smol); `ci/autobahn` runs it.
//!
//! ```text
//! cargo run --release --example autobahn_server [ADDR]     # default 127.0.0.1:9001
//! ```

mod shared;

fn main() -> std::io::Result<()> {
    shared::smol_server::run("autobahn_server")
}
