//! Diagnostics behind the optional `tracing` and `log` features.
//!
//! `ws_trace!`, `ws_debug!` and `ws_info!` take a format string and its
//! arguments. They emit through `tracing`'s macros when the `tracing`
//! feature is on, else through `log`'s when `log` is on, and else expand to
//! a branch that is never taken: the arguments are type-checked (so
//! nothing becomes an unused variable) but never evaluated, and no code is
//! left behind.
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

// Enabled or not, an event costs its call site only the level check: the
// event itself is built in a cold function of its own, which the format
// arguments reach as one `fmt::Arguments`. Written inline, `tracing`'s
// macro left about a hundred instructions of spills and checks on the path
// of every message even with no subscriber (callgrind, 16 B messages). The
// function is declared inside the expansion so the event keeps the target
// of the module that emits it.

#[cfg(feature = "tracing")]
macro_rules! ws_event {
    ($level:ident, $tracing_level:ident, $log_level:ident, $($arg:tt)+) => {
        if $crate::trace::enabled(::tracing::Level::$tracing_level) {
            #[cold]
            #[inline(never)]
            fn emit(args: ::core::fmt::Arguments<'_>) {
                ::tracing::$level!("{}", args);
            }
            emit(::core::format_args!($($arg)+));
        }
    };
}

#[cfg(all(feature = "log", not(feature = "tracing")))]
macro_rules! ws_event {
    ($level:ident, $tracing_level:ident, $log_level:ident, $($arg:tt)+) => {
        if ::log::Level::$log_level <= ::log::STATIC_MAX_LEVEL
            && ::log::Level::$log_level <= ::log::max_level()
        {
            #[cold]
            #[inline(never)]
            fn emit(args: ::core::fmt::Arguments<'_>) {
                ::log::$level!("{}", args);
            }
            emit(::core::format_args!($($arg)+));
        }
    };
}

#[cfg(not(any(feature = "tracing", feature = "log")))]
macro_rules! ws_event {
    ($level:ident, $tracing_level:ident, $log_level:ident, $($arg:tt)+) => {
        if false {
            let _ = ::core::format_args!($($arg)+);
        }
    };
}

/// Whether `tracing`'s own macro might do anything at `level`: a
/// subscriber's maximum level admits it, or (with the `log` feature, which
/// turns on `tracing`'s fallback to `log`) `log`'s maximum level does. The
/// macro itself, in the cold function, then decides exactly (whether a
/// subscriber is set, `tracing`'s `log-always`, the call site's interest).
#[cfg(feature = "tracing")]
#[inline]
pub(crate) fn enabled(level: tracing::Level) -> bool {
    use tracing::level_filters::{LevelFilter, STATIC_MAX_LEVEL};
    (level <= STATIC_MAX_LEVEL && level <= LevelFilter::current()) || log_enabled(level)
}

/// Whether `log` takes records at `level`.
#[cfg(all(feature = "tracing", feature = "log"))]
#[inline]
fn log_enabled(level: tracing::Level) -> bool {
    let level = match level {
        tracing::Level::ERROR => log::Level::Error,
        tracing::Level::WARN => log::Level::Warn,
        tracing::Level::INFO => log::Level::Info,
        tracing::Level::DEBUG => log::Level::Debug,
        _ => log::Level::Trace,
    };
    level <= log::STATIC_MAX_LEVEL && level <= log::max_level()
}

/// Without the `log` feature `tracing` has no fallback.
#[cfg(all(feature = "tracing", not(feature = "log")))]
#[inline]
fn log_enabled(_: tracing::Level) -> bool {
    false
}

/// A per-message event.
macro_rules! ws_trace {
    ($($arg:tt)+) => { $crate::trace::ws_event!(trace, TRACE, Trace, $($arg)+) };
}

/// A connection's life, the peer's errors, the application's misuse.
macro_rules! ws_debug {
    ($($arg:tt)+) => { $crate::trace::ws_event!(debug, DEBUG, Debug, $($arg)+) };
}

/// Something an operator may want to see without asking for details.
macro_rules! ws_info {
    ($($arg:tt)+) => { $crate::trace::ws_event!(info, INFO, Info, $($arg)+) };
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
