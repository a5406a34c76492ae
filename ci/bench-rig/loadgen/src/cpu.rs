//! CPU time from `/proc`: of a process (all its threads), and of CPUs.

/// User plus system CPU seconds used so far by `pid` (`None`: this
/// process), or `None` if it cannot be read.
pub fn seconds(pid: Option<u32>) -> Option<f64> {
    let path = match pid {
        Some(pid) => format!("/proc/{pid}/stat"),
        None => "/proc/self/stat".to_owned(),
    };
    let stat = std::fs::read_to_string(path).ok()?;
    // Fields after the parenthesised command name: state is field 3, utime
    // and stime are fields 14 and 15.
    let mut fields = stat[stat.rfind(')')? + 2..].split(' ');
    let utime: f64 = fields.nth(11)?.parse().ok()?;
    let stime: f64 = fields.next()?.parse().ok()?;
    Some((utime + stime) / clock_ticks())
}

/// CPU seconds the given CPUs spent busy or stolen by the hypervisor so far
/// (`/proc/stat`: everything but idle and iowait), or `None` if unreadable.
pub fn busy_seconds(cpus: &[usize]) -> Option<f64> {
    let stat = std::fs::read_to_string("/proc/stat").ok()?;
    let mut ticks = 0u64;
    for cpu in cpus {
        let name = format!("cpu{cpu}");
        let line = stat.lines().find(|l| l.split(' ').next() == Some(&name))?;
        let fields: Vec<u64> = line
            .split_whitespace()
            .skip(1)
            .filter_map(|f| f.parse().ok())
            .collect();
        // user nice system idle iowait irq softirq steal (guest time is
        // already counted in user).
        ticks += fields.iter().take(8).sum::<u64>() - fields.get(3)? - fields.get(4)?;
    }
    Some(ticks as f64 / clock_ticks())
}

/// Clock ticks per second, the unit of `/proc` CPU times.
fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    unsafe { libc::sysconf(libc::_SC_CLK_TCK) as f64 }
}
