//! Diagnostics behind the optional `tracing` and `log` features.
//!
//! `ws_trace!`, `ws_debug!`, `ws_info!` and `ws_warn!` take a format string
//! and its arguments. They expand to `tracing`'s macros when the `tracing`
//! feature is on, else to `log`'s when `log` is on, and else to a branch
//! that is never taken: the arguments are type-checked (so nothing becomes
//! an unused variable) but never evaluated, and no code is left behind.
//! Events keep the target of the module that emits them
//! (`wsproto::proto::connection::receive`, `wsproto::ws::driver`, ...);
//! filter on a prefix (`wsproto::proto`) to take a whole layer.
//!
//! Levels: `debug` for a connection's life (handshake outcome, close frames,
//! the end), for protocol errors of the peer and for the application's
//! misuse; `info` for a dead peer found by keepalive; `trace` for
//! per-message events. Nothing is logged at `warn` or `error`: every
//! failure here is either the peer's or is returned to the application as
//! an error, which decides how much it matters.

#[cfg(feature = "tracing")]
macro_rules! ws_event {
    ($level:ident, $($arg:tt)+) => {
        ::tracing::$level!($($arg)+)
    };
}

#[cfg(all(feature = "log", not(feature = "tracing")))]
macro_rules! ws_event {
    ($level:ident, $($arg:tt)+) => {
        ::log::$level!($($arg)+)
    };
}

#[cfg(not(any(feature = "tracing", feature = "log")))]
macro_rules! ws_event {
    ($level:ident, $($arg:tt)+) => {
        if false {
            let _ = ::core::format_args!($($arg)+);
        }
    };
}

/// A per-message event.
macro_rules! ws_trace {
    ($($arg:tt)+) => { $crate::trace::ws_event!(trace, $($arg)+) };
}

/// A connection's life, the peer's errors, the application's misuse.
macro_rules! ws_debug {
    ($($arg:tt)+) => { $crate::trace::ws_event!(debug, $($arg)+) };
}

/// Something an operator may want to see without asking for details.
macro_rules! ws_info {
    ($($arg:tt)+) => { $crate::trace::ws_event!(info, $($arg)+) };
}

pub(crate) use {ws_debug, ws_event, ws_info, ws_trace};

#[cfg(test)]
mod tests {
    #[test]
    fn arguments_are_evaluated_only_when_enabled() {
        // No subscriber or logger is installed in the unit tests, so with
        // or without the features nothing is enabled and nothing evaluated.
        let mut evaluated = 0;
        let mut touch = || {
            evaluated += 1;
            evaluated
        };
        ws_trace!("{}", touch());
        ws_debug!("{} {}", touch(), "x");
        ws_info!("{value}", value = touch());
        assert_eq!(evaluated, 0);
    }
}
