//! Model-based round trips: random sequences of sends on both sides of an
//! in-memory client/server pair, with output taken at random moments and
//! delivered in random chunk sizes. Each side must receive exactly what the
//! other sent, in order; automatic pongs may only coalesce, never reorder
//! or invent.

mod common;

use common::*;
use proptest::prelude::*;
use wsproto::proto::{BytesMessage, CloseConnection, Ping, Pong, State, TextMessage, WsConnection};

#[derive(Debug, Clone)]
enum Op {
    Text(Vec<String>),
    Binary(Vec<Vec<u8>>),
    /// Payloads start with 'P' (pings) or 'U' (unsolicited pongs), so an
    /// automatic pong can be told from an application one.
    Ping(Vec<u8>),
    Pong(Vec<u8>),
}

fn op(with_pongs: bool) -> impl Strategy<Value = Op> {
    let control = prop::collection::vec(any::<u8>(), 0..120);
    let pong = control.clone().prop_map(|mut p| {
        p.insert(0, b'U');
        Op::Pong(p)
    });
    prop_oneof![
        4 => prop::collection::vec("\\PC{0,12}", 1..5).prop_map(Op::Text),
        4 => prop::collection::vec(
            prop_oneof![
                prop::collection::vec(any::<u8>(), 0..200),
                prop::collection::vec(any::<u8>(), 4000..9000),
            ],
            1..4
        )
        .prop_map(Op::Binary),
        4 => control.prop_map(|mut p| {
            p.insert(0, b'P');
            Op::Ping(p)
        }),
        if with_pongs { 2 } else { 0 } => pong,
    ]
}

/// Sends `op` and returns what the peer should see.
fn apply(conn: &mut WsConnection, op: &Op) -> Msg {
    match op {
        Op::Text(parts) => {
            for (i, p) in parts.iter().enumerate() {
                let last = i + 1 == parts.len();
                conn.send(TextMessage::fragment(p.as_str(), last)).unwrap();
            }
            Msg::Text(parts.concat())
        }
        Op::Binary(parts) => {
            for (i, p) in parts.iter().enumerate() {
                let last = i + 1 == parts.len();
                conn.send(BytesMessage::fragment(p.clone(), last)).unwrap();
            }
            Msg::Binary(parts.concat())
        }
        Op::Ping(p) => {
            conn.send(Ping::new(p.clone())).unwrap();
            Msg::Ping(p.clone())
        }
        Op::Pong(p) => {
            conn.send(Pong::new(p.clone())).unwrap();
            Msg::Pong(p.clone())
        }
    }
}

/// Moves `from`'s output to `to` in chunks; returns whether bytes moved.
fn pump(
    from: &mut WsConnection,
    to: &mut WsConnection,
    sizes: &[usize],
    rx: &mut Coalescer,
) -> bool {
    let bytes = from.bytes_to_send();
    let mut pos = 0;
    let mut sizes = sizes.iter().cycle();
    while pos < bytes.len() {
        let n = (*sizes.next().unwrap()).min(bytes.len() - pos);
        to.receive_bytes(&bytes[pos..pos + n]);
        pos += n;
        while let Some(ev) = to.next_event() {
            rx.push(ev.unwrap_or_else(|e| panic!("{e}")));
        }
    }
    !bytes.is_empty()
}

/// Splits what a side received into (application messages, automatic
/// pongs' payloads).
fn split(received: Vec<Msg>) -> (Vec<Msg>, Vec<Vec<u8>>) {
    let mut app = Vec::new();
    let mut auto = Vec::new();
    for m in received {
        match m {
            Msg::Pong(p) if p.first() == Some(&b'P') => auto.push(p),
            other => app.push(other),
        }
    }
    (app, auto)
}

/// Automatic pongs must answer pings in order (a subsequence, since they
/// coalesce), and the newest ping must be answered.
fn check_pongs(pings: &[Vec<u8>], pongs: &[Vec<u8>]) {
    let mut it = pings.iter();
    for p in pongs {
        assert!(
            it.any(|q| q == p),
            "pong {p:?} not a later ping of {pings:?}"
        );
    }
    assert_eq!(pongs.last(), pings.last(), "the newest ping is unanswered");
}

/// Runs `script` (side, operation, deliver afterwards), checks what each
/// side received, then closes from one side.
fn run(script: &[(bool, Op, bool)], sizes: &[usize], client_closes: bool) {
    let (mut client, mut server) = open_pair();
    let mut at_server = Coalescer::default();
    let mut at_client = Coalescer::default();
    let mut sent_by_client = Vec::new();
    let mut sent_by_server = Vec::new();
    for (from_client, op, deliver) in script {
        if *from_client {
            sent_by_client.push(apply(&mut client, op));
        } else {
            sent_by_server.push(apply(&mut server, op));
        }
        if *deliver {
            pump(&mut client, &mut server, sizes, &mut at_server);
            pump(&mut server, &mut client, sizes, &mut at_client);
        }
    }
    // Deliver everything, including pongs owed for the last pings.
    loop {
        let a = pump(&mut client, &mut server, sizes, &mut at_server);
        let b = pump(&mut server, &mut client, sizes, &mut at_client);
        if !a && !b {
            break;
        }
    }
    assert!(!at_server.in_message() && !at_client.in_message());
    let pings = |sent: &[Msg]| -> Vec<Vec<u8>> {
        sent.iter()
            .filter_map(|m| match m {
                Msg::Ping(p) => Some(p.clone()),
                _ => None,
            })
            .collect()
    };
    let (server_app, server_auto) = split(at_server.messages);
    let (client_app, client_auto) = split(at_client.messages);
    assert_eq!(server_app, sent_by_client);
    assert_eq!(client_app, sent_by_server);
    check_pongs(&pings(&sent_by_client), &client_auto);
    check_pongs(&pings(&sent_by_server), &server_auto);
    assert_eq!(client.state(), State::Open);
    assert_eq!(server.state(), State::Open);

    // Then one side closes; both end Closed, each having seen one close.
    let (closer, other) = if client_closes {
        (&mut client, &mut server)
    } else {
        (&mut server, &mut client)
    };
    closer.send(CloseConnection::new(4000u16, "model")).unwrap();
    let mut at_closer = Coalescer::default();
    let mut at_other = Coalescer::default();
    pump(closer, other, sizes, &mut at_other);
    assert_eq!(other.state(), State::RemoteClosing);
    pump(other, closer, sizes, &mut at_closer);
    assert_eq!(at_other.messages, [Msg::Close(4000, "model".into())]);
    assert_eq!(at_closer.messages, [Msg::Close(4000, String::new())]);
    assert_eq!(closer.state(), State::Closed);
    assert_eq!(other.state(), State::Closed);
    assert!(closer.bytes_to_send().is_empty() && other.bytes_to_send().is_empty());
}

fn sizes() -> impl Strategy<Value = Vec<usize>> {
    prop::collection::vec(prop_oneof![1usize..10, 1usize..10_000], 1..8)
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Messages and pings both ways (no application pongs: see below).
    #[test]
    fn random_conversations_arrive_intact(
        script in prop::collection::vec((any::<bool>(), op(false), any::<bool>()), 0..24),
        sizes in sizes(),
        client_closes in any::<bool>(),
    ) {
        run(&script, &sizes, client_closes);
    }

    /// The same with unsolicited application pongs mixed in.
    #[test]
    fn random_conversations_with_unsolicited_pongs(
        script in prop::collection::vec((any::<bool>(), op(true), any::<bool>()), 0..24),
        sizes in sizes(),
        client_closes in any::<bool>(),
    ) {
        run(&script, &sizes, client_closes);
    }
}
