//! The kernel's TCP trouble counters (`/proc/net/netstat`), read around the
//! measured window.
//!
//! Loopback never loses a packet on its own; when it does, the kernel was
//! short of TCP memory (`tcp_mem`: many connections with megabytes in
//! flight cross its pressure mark), pruned receive queues and dropped what
//! did not fit, and the sender waited for a retransmission timeout (200 ms
//! at least). A figure from such a window measures the kernel's recovery as
//! much as the server, and the report says so.

/// Counters of the whole network namespace (every process's sockets, the
/// server's and this one's alike), so a delta over a window is the run's
/// own only while nothing else moves data; on the benchmark machine nothing
/// does.
#[derive(Clone, Copy, Debug, Default)]
pub struct Trouble {
    /// Retransmission timeouts (`TcpExt: TCPTimeouts`).
    pub rto: u64,
    /// Receive queues pruned for want of memory (`TcpExt: PruneCalled`).
    pub pruned: u64,
}

impl Trouble {
    /// The counters now, or `None` if `/proc/net/netstat` cannot be read.
    pub fn now() -> Option<Trouble> {
        parse(&std::fs::read_to_string("/proc/net/netstat").ok()?)
    }

    /// How much each counter grew since `start`.
    pub fn since(self, start: Trouble) -> Trouble {
        Trouble {
            rto: self.rto.saturating_sub(start.rto),
            pruned: self.pruned.saturating_sub(start.pruned),
        }
    }
}

/// `TcpExt:` comes as two lines, the names and then their values.
fn parse(netstat: &str) -> Option<Trouble> {
    let mut lines = netstat.lines().filter(|l| l.starts_with("TcpExt:"));
    let (names, values) = (lines.next()?, lines.next()?);
    let value = |name: &str| {
        let at = names.split_whitespace().position(|n| n == name)?;
        values.split_whitespace().nth(at)?.parse().ok()
    };
    Some(Trouble {
        rto: value("TCPTimeouts")?,
        pruned: value("PruneCalled")?,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_the_counters_by_name() {
        let text = "TcpExt: SyncookiesSent PruneCalled TCPTimeouts\n\
                    TcpExt: 0 17 3\n\
                    IpExt: InNoRoutes\n\
                    IpExt: 0\n";
        let t = parse(text).unwrap();
        assert_eq!((t.rto, t.pruned), (3, 17));
        let later = Trouble { rto: 5, pruned: 17 };
        let d = later.since(t);
        assert_eq!((d.rto, d.pruned), (2, 0));
    }

    #[test]
    fn a_missing_counter_is_none() {
        assert!(parse("TcpExt: PruneCalled\nTcpExt: 1\n").is_none());
        assert!(parse("IpExt: InNoRoutes\nIpExt: 0\n").is_none());
    }

    #[test]
    fn this_kernel_has_them() {
        if std::path::Path::new("/proc/net/netstat").exists() {
            assert!(Trouble::now().is_some());
        }
    }
}
