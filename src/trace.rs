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
// macro left spills and checks on the path of every message even with no
// subscriber (callgrind, 16 B x 256 ping-pong: 3,720 instructions a message
// with it inline, 3,647 without). The function is declared inside the
// expansion so the event keeps the target of the module that emits it.

#[cfg(any(feature = "tracing", feature = "log"))]
macro_rules! ws_event {
    ($level:ident, $tracing_level:ident, $log_level:ident, $($arg:tt)+) => {
        if $crate::trace::ws_enabled!($tracing_level, $log_level) {
            #[cold]
            #[inline(never)]
            fn emit(args: ::core::fmt::Arguments<'_>) {
                $crate::trace::ws_emit!($level, args);
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

/// The event itself: through `tracing` when it is on (which passes it to
/// `log` where that is its configuration), else through `log`.
#[cfg(feature = "tracing")]
macro_rules! ws_emit {
    ($level:ident, $args:expr) => {
        ::tracing::$level!("{}", $args)
    };
}

#[cfg(all(feature = "log", not(feature = "tracing")))]
macro_rules! ws_emit {
    ($level:ident, $args:expr) => {
        ::log::$level!("{}", $args)
    };
}

/// Whether the event might go anywhere: a `tracing` subscriber's maximum
/// level admits it, or `log`'s does (with the `log` feature, on its own or
/// as `tracing`'s fallback). The macro in the cold function then decides
/// exactly (whether a subscriber is set, `tracing`'s `log-always`, the call
/// site's interest).
#[cfg(all(feature = "tracing", feature = "log"))]
macro_rules! ws_enabled {
    ($tracing_level:ident, $log_level:ident) => {
        $crate::trace::tracing_enabled(::tracing::Level::$tracing_level)
            || $crate::trace::log_enabled(::log::Level::$log_level)
    };
}

#[cfg(all(feature = "tracing", not(feature = "log")))]
macro_rules! ws_enabled {
    ($tracing_level:ident, $log_level:ident) => {
        $crate::trace::tracing_enabled(::tracing::Level::$tracing_level)
    };
}

#[cfg(all(feature = "log", not(feature = "tracing")))]
macro_rules! ws_enabled {
    ($tracing_level:ident, $log_level:ident) => {
        $crate::trace::log_enabled(::log::Level::$log_level)
    };
}

/// Whether a `tracing` subscriber's maximum level admits `level`.
#[cfg(feature = "tracing")]
#[inline]
pub(crate) fn tracing_enabled(level: tracing::Level) -> bool {
    use tracing::level_filters::{LevelFilter, STATIC_MAX_LEVEL};
    level <= STATIC_MAX_LEVEL && level <= LevelFilter::current()
}

/// Whether `log` takes records at `level`.
#[cfg(feature = "log")]
#[inline]
pub(crate) fn log_enabled(level: log::Level) -> bool {
    level <= log::STATIC_MAX_LEVEL && level <= log::max_level()
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
#[cfg(any(feature = "tracing", feature = "log"))]
pub(crate) use {ws_emit, ws_enabled};

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
