//! "No allocation is sized by a peer's claim": a counting global allocator
//! records the largest single allocation made on the test's thread while
//! the connection handles a header that announces a huge payload.

mod common;

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

use common::*;
use wsproto::proto::{Config, Connection, Event, Request, Role, State, WsConnection};

struct Tracking;

thread_local! {
    static LARGEST: Cell<usize> = const { Cell::new(0) };
}

fn note(size: usize) {
    let _ = LARGEST.try_with(|c| {
        if size > c.get() {
            c.set(size)
        }
    });
}

// SAFETY: forwards to the system allocator; the bookkeeping allocates
// nothing (a const-initialised thread-local `Cell`).
unsafe impl GlobalAlloc for Tracking {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        note(layout.size());
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        note(new_size);
        unsafe { System.realloc(ptr, layout, new_size) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Tracking = Tracking;

/// The largest allocation `f` makes on this thread.
fn largest_during(f: impl FnOnce()) -> usize {
    LARGEST.with(|c| c.set(0));
    f();
    LARGEST.with(|c| c.get())
}

const SMALL: usize = 64 << 10;

#[test]
fn the_tracker_sees_big_allocations() {
    // The harness itself must be able to fail.
    let n = largest_during(|| {
        let v = vec![0u8; 3 << 20];
        std::hint::black_box(&v);
    });
    assert!(n >= 3 << 20);
}

#[test]
fn header_announcing_2_pow_62_bytes_allocates_nothing_big() {
    let mut wire = vec![FIN | BINARY, 0x80 | 127];
    wire.extend_from_slice(&(1u64 << 62).to_be_bytes());
    wire.extend_from_slice(&RFC_MASK);
    let mut conn = Connection::new(Role::Server, vec![]);
    let largest = largest_during(|| {
        conn.receive_bytes(&wire);
        let err = conn.next_event().unwrap().unwrap_err();
        assert_eq!(err.close_code().map(|c| c.0), Some(1009));
    });
    assert!(largest < SMALL, "allocated {largest} bytes");
    assert_eq!(conn.state(), State::Closed);
}

#[test]
fn a_large_announced_frame_is_streamed_not_preallocated() {
    // 15 MiB: within the default 16 MiB frame limit.
    let announced = 15usize << 20;
    let mut wire = vec![FIN | BINARY, 0x80 | 127];
    wire.extend_from_slice(&(announced as u64).to_be_bytes());
    wire.extend_from_slice(&RFC_MASK);
    wire.extend(std::iter::repeat_n(0u8, 1000));
    let mut conn = Connection::new(Role::Server, vec![]);
    let mut got = 0;
    let largest = largest_during(|| {
        conn.receive_bytes(&wire);
        while let Some(ev) = conn.next_event() {
            let Event::BytesMessage(m) = ev.unwrap() else {
                panic!()
            };
            assert!(!m.frame_finished);
            got += m.data.len();
        }
    });
    assert!(largest < SMALL, "allocated {largest} bytes");
    // What arrived so far is delivered without waiting for the whole frame.
    assert_eq!(got, 1000);
    assert_eq!(conn.state(), State::Open);
}

#[test]
fn over_limit_frame_with_small_config_is_refused_from_its_header() {
    let mut conn = Connection::with_config(Role::Client, Config::default().max_frame_size(10));
    let mut wire = vec![FIN | TEXT, 126];
    wire.extend_from_slice(&1000u16.to_be_bytes());
    let largest = largest_during(|| {
        conn.receive_bytes(&wire);
        let err = conn.next_event().unwrap().unwrap_err();
        assert_eq!(err.close_code().map(|c| c.0), Some(1009));
    });
    assert!(largest < SMALL);
}

#[test]
fn rejection_body_with_huge_content_length_is_streamed() {
    let mut client = WsConnection::new(Role::Client);
    client.send(Request::new("h", "/")).unwrap();
    let _ = client.bytes_to_send();
    let largest = largest_during(|| {
        client.receive_bytes(b"HTTP/1.1 400 Bad\r\nContent-Length: 999999999999\r\n\r\nabc");
        let events = drain_ok(&mut client);
        assert!(matches!(events[0], Event::RejectConnection(_)));
        assert!(matches!(&events[1], Event::RejectData(d) if d.data == "abc" && !d.body_finished));
    });
    assert!(largest < SMALL, "allocated {largest} bytes");

    let mut client = WsConnection::new(Role::Client);
    client.send(Request::new("h", "/")).unwrap();
    let _ = client.bytes_to_send();
    let largest = largest_during(|| {
        client.receive_bytes(
            b"HTTP/1.1 400 Bad\r\nTransfer-Encoding: chunked\r\n\r\nfffffffffff\r\nabc",
        );
        let events = drain_ok(&mut client);
        assert!(matches!(&events[1], Event::RejectData(d) if d.data == "abc"));
    });
    assert!(largest < SMALL, "allocated {largest} bytes");
}

#[test]
fn ping_flood_keeps_memory_bounded() {
    let mut conn = Connection::new(Role::Server, vec![]);
    let one = masked(FIN | PING, &[b'p'; 125]);
    let mut wire = Vec::new();
    for _ in 0..100 {
        wire.extend_from_slice(&one);
    }
    for _ in 0..100 {
        conn.receive_bytes(&wire);
        while let Some(ev) = conn.next_event() {
            assert!(matches!(ev, Ok(Event::Ping(_))));
        }
    }
    // 10 000 pings answered by one pong.
    assert!(conn.buffered_output() < 200, "{}", conn.buffered_output());
    let frames = parse_frames(&conn.bytes_to_send());
    assert_eq!(frames.len(), 1);
}
