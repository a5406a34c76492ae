//! Memory: a counting global allocator (live heap and its peak), the
//! [`serial`] lock, [`HeapWatch`] and [`rss`].

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::SeqCst};
use std::sync::{Mutex, MutexGuard};
use std::time::Instant;

struct Counting;

static LIVE: AtomicUsize = AtomicUsize::new(0);
static PEAK: AtomicUsize = AtomicUsize::new(0);

fn grew(n: usize) {
    let live = LIVE.fetch_add(n, SeqCst) + n;
    PEAK.fetch_max(live, SeqCst);
}

// SAFETY: forwards to the system allocator; the bookkeeping is two atomics
// and allocates nothing.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = unsafe { System.alloc_zeroed(layout) };
        if !p.is_null() {
            grew(layout.size());
        }
        p
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = unsafe { System.realloc(ptr, layout, new_size) };
        if !p.is_null() {
            LIVE.fetch_sub(layout.size(), SeqCst);
            grew(new_size);
        }
        p
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        LIVE.fetch_sub(layout.size(), SeqCst);
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

/// Serialises the tests of one binary, so that the heap they measure is
/// theirs alone.
pub fn serial() -> MutexGuard<'static, ()> {
    static LOCK: Mutex<()> = Mutex::new(());
    LOCK.lock().unwrap_or_else(|e| e.into_inner())
}

/// Measures the heap's peak above its level at the start.
pub struct HeapWatch {
    base: usize,
    rss: usize,
    started: Instant,
}

impl HeapWatch {
    pub fn start() -> HeapWatch {
        let base = LIVE.load(SeqCst);
        PEAK.store(base, SeqCst);
        HeapWatch {
            base,
            rss: rss(),
            started: Instant::now(),
        }
    }

    /// The highest the heap rose above its starting level.
    pub fn peak_growth(&self) -> usize {
        PEAK.load(SeqCst).saturating_sub(self.base)
    }

    /// Prints the measurements and checks the peak against `bound`.
    pub fn assert_peak_below(&self, what: &str, bound: usize) {
        let peak = self.peak_growth();
        let rss_growth = rss().saturating_sub(self.rss);
        println!(
            "{what}: heap peak +{} KiB (bound {} KiB), RSS +{} KiB, {:?}",
            peak >> 10,
            bound >> 10,
            rss_growth >> 10,
            self.started.elapsed()
        );
        assert!(
            peak < bound,
            "{what}: the heap grew by {peak} bytes, more than {bound}"
        );
    }
}

/// The process's resident set size in bytes (from /proc/self/statm).
pub fn rss() -> usize {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<usize>().ok())
        .map_or(0, |pages| pages * 4096)
}
