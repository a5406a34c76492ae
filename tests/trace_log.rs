//! With the `log` feature, the same diagnostics arrive as `log` records (with
//! `tracing` on as well, through `tracing`, which hands them to `log` while
//! no subscriber is set). A tiny logger, written here, records them; it is
//! global, so this file holds one test.

#![cfg(feature = "log")]

use std::sync::Mutex;

use log::{Level, LevelFilter, Log, Metadata, Record};
use wsproto::proto::{CloseConnection, Connection, Role};

static RECORDS: Mutex<Vec<(Level, String, String)>> = Mutex::new(Vec::new());

struct Recorder;

impl Log for Recorder {
    fn enabled(&self, _: &Metadata<'_>) -> bool {
        true
    }
    fn log(&self, record: &Record<'_>) {
        RECORDS.lock().unwrap().push((
            record.level(),
            record.target().to_owned(),
            record.args().to_string(),
        ));
    }
    fn flush(&self) {}
}

static RECORDER: Recorder = Recorder;

fn find(needle: &str) -> (Level, String, String) {
    let records = RECORDS.lock().unwrap();
    records
        .iter()
        .find(|(_, _, message)| message.contains(needle))
        .cloned()
        .unwrap_or_else(|| panic!("no record with {needle:?} in {records:#?}"))
}

#[test]
fn protocol_errors_and_closes_are_logged() {
    log::set_logger(&RECORDER).unwrap();
    log::set_max_level(LevelFilter::Trace);

    // A client frame that is not masked: the peer's protocol error.
    let mut server = Connection::new(Role::Server, Vec::new());
    server.receive_bytes(&[0x81, 0x02, b'h', b'i']);
    assert!(server.next_event().unwrap().is_err());
    let (level, target, message) = find("protocol error from the peer");
    assert_eq!(level, Level::Debug);
    // The module path: a filter on `wsproto::proto::connection` (or any
    // prefix of it) selects the engine's records.
    assert!(target.starts_with("wsproto::proto::connection"), "{target}");
    assert!(message.contains("1002"), "{message}");

    // A close handshake.
    let mut client = Connection::new(Role::Client, Vec::new());
    let mut server = Connection::new(Role::Server, Vec::new());
    client.send(CloseConnection::new(1001, "bye")).unwrap();
    server.receive_bytes(&client.bytes_to_send());
    assert!(server.next_event().unwrap().is_ok());
    client.receive_bytes(&server.bytes_to_send());
    assert!(client.next_event().unwrap().is_ok());
    assert_eq!(find("close sent: 1001").0, Level::Debug);
    assert_eq!(find("close received: 1001").0, Level::Debug);
    assert_eq!(find("connection closed").0, Level::Debug);
    let records = RECORDS.lock().unwrap();
    assert!(
        records.iter().all(|(level, _, _)| *level >= Level::Debug),
        "{records:#?}"
    );
}
