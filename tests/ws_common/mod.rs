//! Helpers for the async-layer tests (`tests/ws_*.rs`).
//!
//! * [`Rt`]: one runtime (smol, async-std, tokio) behind a common face.
//!   Every method goes through that runtime's own shim in `wsproto::rt`
//!   (`connect`, `connect_with_config`, `accept`, `accept_with`), its own
//!   listener, its own `spawn` and its own timer, so a test written once
//!   over `R: Rt` exercises each shim for real.
//! * [`runtime_tests!`]: instantiates generic test functions once per
//!   runtime whose feature is enabled.
//! * [`Raw`]: a blocking `std::net` peer speaking WebSocket by hand (its
//!   own frame codec, written from RFC 6455 §5.2, independent of the crate),
//!   for behaviour a well-behaved peer never shows: stalling, not reading,
//!   trickling bytes, breaking the protocol.

#![allow(dead_code)]

#[cfg(feature = "rustls")]
pub mod certs;

mod helpers;
mod raw;
mod rt;

// Each test crate uses only part of these.
#[allow(unused_imports)]
pub use helpers::*;
#[allow(unused_imports)]
pub use raw::*;
#[allow(unused_imports)]
pub use rt::*;

/// Instantiates generic tests `fn name<R: Rt>()` once per enabled runtime,
/// in modules `on_smol`, `on_async_std` and `on_tokio`. Attributes (e.g.
/// `#[ignore = "BUG: .."]`) before a name are copied to each instance.
#[macro_export]
macro_rules! runtime_tests {
    ($($(#[$attr:meta])* $name:ident),* $(,)?) => {
        #[cfg(feature = "smol")]
        mod on_smol {
            $( $(#[$attr])* #[test] fn $name() { super::$name::<$crate::ws_common::Smol>() } )*
        }
        #[cfg(feature = "async-std")]
        mod on_async_std {
            $( $(#[$attr])* #[test] fn $name() { super::$name::<$crate::ws_common::AsyncStd>() } )*
        }
        #[cfg(feature = "tokio")]
        mod on_tokio {
            $( $(#[$attr])* #[test] fn $name() { super::$name::<$crate::ws_common::Tokio>() } )*
        }
    };
}
