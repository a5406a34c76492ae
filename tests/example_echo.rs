//! The examples' echo loop (`examples/shared/echo.rs`), which every example
//! echo server runs and outside tools drive: data messages come back
//! unchanged, pings are answered, the close handshake completes, and a
//! peer's protocol error is answered with its close code and returned.

mod ws_common;

#[path = "../examples/shared/echo.rs"]
mod echo;

use ws_common::*;
use wsproto::ws::Error;

/// Runs the example's loop on one connection from `peer`, a raw client on
/// a thread of its own; the loop's result and what `peer` returned.
async fn serve<R: Rt, T: Send + 'static>(
    peer: impl FnOnce(Raw) -> T + Send + 'static,
) -> (Result<(), Error>, T) {
    let (l, addr) = R::bind().await;
    let server = R::spawn(async move {
        let mut ws = R::accept_with(&l, echo::config(), accept_all())
            .await
            .unwrap();
        echo::echo(&mut ws).await
    });
    let peer = std::thread::spawn(move || peer(Raw::client(addr, "/")));
    let result = server.await;
    (result, peer.join().unwrap())
}

fn echoes_data_answers_pings_and_ends_at_the_close<R: Rt>() {
    run::<R, _>(async {
        let (result, (frames, eof)) = serve::<R, _>(|mut raw| {
            raw.send(true, TEXT, "h\u{e9}llo".as_bytes());
            raw.send(true, PING, b"p");
            raw.send(false, BINARY, b"ab");
            raw.send(false, CONT, b"");
            raw.send(true, CONT, b"cd");
            raw.send(true, BINARY, b"");
            raw.send_close(1000, "bye");
            let frames: Vec<_> = (0..5).map(|_| raw.expect_frame()).collect();
            (frames, raw.at_eof())
        })
        .await;
        assert_eq!(result.map_err(|e| e.to_string()), Ok(()));
        let got: Vec<_> = frames
            .iter()
            .map(|f| (f.fin, f.opcode, f.masked, f.payload.clone()))
            .collect();
        assert_eq!(
            got,
            [
                (true, TEXT, false, "h\u{e9}llo".as_bytes().to_vec()),
                (true, PONG, false, b"p".to_vec()),
                (true, BINARY, false, b"abcd".to_vec()),
                (true, BINARY, false, Vec::new()),
                (true, CLOSE, false, close_payload(1000, "")),
            ]
        );
        assert!(eof, "the server ends the connection after the close");
    });
}

fn a_protocol_error_is_answered_and_returned_at_the_end<R: Rt>() {
    run::<R, _>(async {
        let (result, ([echo, close], eof)) = serve::<R, _>(|mut raw| {
            raw.send(true, BINARY, b"before");
            // RSV1 without a negotiated extension: 1002.
            raw.send(true, 0x40 | TEXT, b"bad");
            let frames = [raw.expect_frame(), raw.expect_frame()];
            (frames, raw.at_eof())
        })
        .await;
        assert!(
            matches!(result, Err(Error::Protocol(_))),
            "the first error is returned: {result:?}"
        );
        assert_eq!((echo.opcode, echo.payload), (BINARY, b"before".to_vec()));
        assert_eq!(close.close_code(), Some(1002));
        assert!(eof);
    });
}

runtime_tests!(
    echoes_data_answers_pings_and_ends_at_the_close,
    a_protocol_error_is_answered_and_returned_at_the_end,
);
