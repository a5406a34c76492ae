//! wss:// on every runtime shim: echo over TLS with a certificate made at
//! test time, clear errors for the certificates a client must refuse, and
//! the platform roots that `connect("wss://…")` uses by default, with a
//! private CA added through `SSL_CERT_FILE`.

#![cfg(feature = "rustls")]

#[macro_use]
mod ws_common;

use std::time::Duration;

use ws_common::certs::{Leaf, TestCa, self_signed};
use ws_common::{Rt, echo, pattern, run};
use wsproto::ws::{Config, Error, Message, TlsErrorKind};

runtime_tests!(
    wss_echoes_text_and_large_binary,
    wss_to_an_ip_address_checks_the_address,
    expired_certificate_is_refused,
    unknown_issuer_is_refused,
    wrong_name_is_refused,
    wss_to_a_plain_server_fails_the_tls_handshake,
    an_ip_address_the_certificate_lacks_is_refused,
    a_tls_peer_gone_without_close_notify_is_an_abnormal_closure,
);

fn wss_echoes_text_and_large_binary<R: Rt>() {
    let ca = TestCa::new();
    let acceptor = ca.leaf(Leaf::Good).acceptor();
    run::<R, _>(async {
        let (listener, addr) = R::bind().await;
        let server = R::spawn(async move {
            let ws = R::accept_tls(&listener, &acceptor).await.unwrap();
            echo(ws).await
        });
        let url = format!("wss://localhost:{}/tls", addr.port());
        let (mut ws, _) = R::connect_with_tls(&url, &ca.connector()).await.unwrap();
        let session = ws.get_ref().tls_session().expect("a TLS stream");
        assert!(session.protocol_version().is_some());
        assert_eq!(session.alpn_protocol(), None, "the server offered no ALPN");

        ws.send(Message::text("over tls")).await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("over tls"));
        // Far larger than a TLS record (16 KiB): many records each way.
        let big = pattern(1 << 20, 7);
        ws.send(Message::binary(big.clone())).await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::binary(big));

        ws.close(wsproto::CloseCode::NORMAL, "bye").await.unwrap();
        while let Some(m) = ws.recv().await {
            m.unwrap();
        }
        let log = server.await;
        assert!(
            matches!(log.as_slice(), [Ok(Message::Close(Some(f)))] if f.reason == "bye"),
            "server saw {log:?}"
        );
    });
}

fn wss_to_an_ip_address_checks_the_address<R: Rt>() {
    let ca = TestCa::new();
    let acceptor = ca.leaf(Leaf::Good).acceptor();
    run::<R, _>(async {
        let (listener, addr) = R::bind().await;
        let server = R::spawn(async move {
            let ws = R::accept_tls(&listener, &acceptor).await.unwrap();
            echo(ws).await
        });
        let url = format!("wss://{addr}/");
        let (mut ws, _) = R::connect_with_tls(&url, &ca.connector()).await.unwrap();
        ws.send(Message::binary(vec![1, 2, 3])).await.unwrap();
        assert_eq!(
            ws.recv().await.unwrap().unwrap(),
            Message::binary(vec![1, 2, 3])
        );
        ws.close(wsproto::CloseCode::NORMAL, "").await.unwrap();
        while ws.recv().await.is_some() {}
        server.await;
    });
}

/// Connects with `ca`'s roots to a server presenting `cert`; returns the
/// client's error and the server's.
async fn refused<R: Rt>(ca: &TestCa, cert: ws_common::certs::ServerCert) -> (Error, Error) {
    let acceptor = cert.acceptor();
    let (listener, addr) = R::bind().await;
    let server = R::spawn(async move { R::accept_tls(&listener, &acceptor).await.err() });
    let url = format!("wss://localhost:{}/", addr.port());
    let client = R::connect_with_tls(&url, &ca.connector())
        .await
        .expect_err("the client refuses the certificate");
    let server = server.await.expect("the server's handshake fails too");
    (client, server)
}

fn tls_kind(e: &Error) -> TlsErrorKind {
    match e {
        Error::Tls(t) => t.kind(),
        other => panic!("expected a TLS error, got {other:?}"),
    }
}

fn expired_certificate_is_refused<R: Rt>() {
    let ca = TestCa::new();
    run::<R, _>(async {
        let (client, server) = refused::<R>(&ca, ca.leaf(Leaf::Expired)).await;
        assert_eq!(tls_kind(&client), TlsErrorKind::CertificateExpired);
        let text = client.to_string();
        assert!(text.contains("expired"), "{text}");
        // The server's handshake fails too: on the client's alert, or on
        // its end of the stream if the alert was not written in time.
        match &server {
            Error::Tls(t) => assert_eq!(t.kind(), TlsErrorKind::Handshake, "{server}"),
            Error::Io(e) => assert_eq!(e.kind(), std::io::ErrorKind::UnexpectedEof),
            other => panic!("unexpected {other:?}"),
        }
    });
}

fn unknown_issuer_is_refused<R: Rt>() {
    let ca = TestCa::new();
    run::<R, _>(async {
        let (client, _) = refused::<R>(&ca, self_signed()).await;
        assert_eq!(tls_kind(&client), TlsErrorKind::UnknownIssuer);
        let text = client.to_string();
        assert!(text.contains("not signed by a trusted authority"), "{text}");
    });
}

fn wrong_name_is_refused<R: Rt>() {
    let ca = TestCa::new();
    run::<R, _>(async {
        let (client, _) = refused::<R>(&ca, ca.leaf(Leaf::OtherName)).await;
        assert_eq!(tls_kind(&client), TlsErrorKind::NameMismatch);
        let text = client.to_string();
        assert!(
            text.contains("another name") && text.contains("other.example"),
            "the message names what the certificate is for: {text}"
        );
    });
}

fn an_ip_address_the_certificate_lacks_is_refused<R: Rt>() {
    let ca = TestCa::new();
    let acceptor = ca.leaf(Leaf::OtherName).acceptor();
    run::<R, _>(async {
        let (listener, addr) = R::bind().await;
        let server = R::spawn(async move { R::accept_tls(&listener, &acceptor).await.err() });
        let err = R::connect_with_tls(&format!("wss://{addr}/"), &ca.connector())
            .await
            .expect_err("the certificate holds no IP address");
        assert_eq!(tls_kind(&err), TlsErrorKind::NameMismatch, "{err}");
        assert!(err.to_string().contains("127.0.0.1"), "{err}");
        server.await;
    });
}

/// Most TLS peers end TCP without a `close_notify` alert; rustls reports
/// that as an unexpected end. Over `wss://` that must read like a peer gone
/// over `ws://`: a 1006 abnormal closure, not an I/O error.
fn a_tls_peer_gone_without_close_notify_is_an_abnormal_closure<R: Rt>() {
    let ca = TestCa::new();
    let acceptor = ca.leaf(Leaf::Good).acceptor();
    run::<R, _>(async {
        let (listener, addr) = R::bind().await;
        let server = R::spawn(async move {
            let mut ws = R::accept_tls(&listener, &acceptor).await.unwrap();
            let first = ws.recv().await.unwrap().unwrap();
            ws.send(first).await.unwrap();
            // Dropped without closing: TCP ends, no close frame, no alert.
            drop(ws);
        });
        let url = format!("wss://localhost:{}/", addr.port());
        let (mut ws, _) = R::connect_with_tls(&url, &ca.connector()).await.unwrap();
        ws.send(Message::text("one")).await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("one"));
        server.await;
        match ws.recv().await {
            Some(Err(Error::AbnormalClosure)) => {}
            other => panic!("expected an abnormal closure, got {other:?}"),
        }
    });
}

fn wss_to_a_plain_server_fails_the_tls_handshake<R: Rt>() {
    let ca = TestCa::new();
    run::<R, _>(async {
        let (listener, addr) = R::bind().await;
        let server = R::spawn(async move { R::accept(&listener).await.err() });
        let url = format!("wss://localhost:{}/", addr.port());
        let err = R::connect_with_tls(&url, &ca.connector())
            .await
            .expect_err("no TLS server there");
        // The plain server answers the ClientHello with an HTTP 400, which
        // is no TLS record; or it closes first, which is an I/O error.
        match &err {
            Error::Tls(t) => assert_eq!(t.kind(), TlsErrorKind::Handshake, "{err}"),
            Error::Io(_) => {}
            other => panic!("unexpected {other:?}"),
        }
        assert!(matches!(server.await, Some(Error::Protocol(_))));
    });
}

#[cfg(feature = "smol")]
#[test]
fn a_silent_client_times_out_the_tls_handshake() {
    let ca = TestCa::new();
    let acceptor = ca.leaf(Leaf::Good).acceptor();
    smol::block_on(async {
        let listener = smol::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let _silent = smol::net::TcpStream::connect(addr).await.unwrap();
        let (stream, _) = listener.accept().await.unwrap();
        let config = Config::default().handshake_timeout(Duration::from_millis(200));
        let started = std::time::Instant::now();
        let err = wsproto::rt::smol::accept_tls_with(stream, &acceptor, config, |_| {
            Ok(wsproto::AcceptConnection::new())
        })
        .await
        .err()
        .unwrap();
        assert!(
            matches!(err, Error::Timeout(wsproto::ws::TimeoutKind::Handshake)),
            "{err:?}"
        );
        assert!(started.elapsed() < Duration::from_secs(5));
    });
}

/// `connect("wss://…")` trusts the platform's roots plus `SSL_CERT_FILE`.
/// The variable must be set before the roots are first loaded (they are
/// cached per process), so the check runs in a child process of this test
/// binary with the variable set from the start.
#[cfg(feature = "smol")]
#[test]
fn default_connect_trusts_ssl_cert_file() {
    const CHILD: &str = "WSPROTO_TLS_CHILD_DIR";
    match std::env::var_os(CHILD) {
        Some(mode) if mode == "typo" => return child_sees_the_typo(),
        Some(dir) => return child_connects_with_platform_roots(std::path::Path::new(&dir)),
        None => {}
    }
    let ca = TestCa::new();
    let leaf = ca.leaf(Leaf::Good);
    let dir = std::env::temp_dir().join(format!("wsproto-tls-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("chain.pem"), &leaf.chain_pem).unwrap();
    std::fs::write(dir.join("key.pem"), &leaf.key_pem).unwrap();
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "default_connect_trusts_ssl_cert_file",
            "--nocapture",
        ])
        .env(CHILD, &dir)
        .env("SSL_CERT_FILE", dir.join("ca.pem"))
        .output()
        .unwrap();
    std::fs::remove_dir_all(&dir).ok();
    assert!(
        out.status.success(),
        "child failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(String::from_utf8_lossy(&out.stdout).contains("child: echoed over wss"));

    // A typo in SSL_CERT_FILE is an error, not a silently smaller store.
    let out = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "default_connect_trusts_ssl_cert_file",
            "--nocapture",
        ])
        .env(CHILD, "typo")
        .env("SSL_CERT_FILE", "/nonexistent/wsproto-ca.pem")
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "typo child failed:\n{}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
}

#[cfg(feature = "smol")]
fn child_connects_with_platform_roots(dir: &std::path::Path) {
    let roots = wsproto::rt::tls::platform_roots().unwrap();
    let system_has_roots = ["/etc/ssl/certs", "/etc/pki/tls/certs"]
        .iter()
        .any(|d| std::path::Path::new(d).is_dir());
    if system_has_roots {
        assert!(
            roots.len() > 1,
            "SSL_CERT_FILE adds to the platform's roots, not replaces them ({} roots)",
            roots.len()
        );
    }
    let acceptor =
        wsproto::rt::tls::TlsAcceptor::from_pem_files(dir.join("chain.pem"), dir.join("key.pem"))
            .unwrap();
    smol::block_on(async {
        let listener = smol::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = smol::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            echo(
                wsproto::rt::smol::accept_tls(stream, &acceptor)
                    .await
                    .unwrap(),
            )
            .await
        });
        let url = format!("wss://localhost:{port}/");
        let (mut ws, _) = wsproto::rt::smol::connect(&url).await.unwrap();
        assert!(ws.get_ref().is_tls());
        ws.send(Message::text("platform")).await.unwrap();
        assert_eq!(ws.recv().await.unwrap().unwrap(), Message::text("platform"));
        ws.close(wsproto::CloseCode::NORMAL, "").await.unwrap();
        while ws.recv().await.is_some() {}
        server.await;
    });
    println!("child: echoed over wss");
}

#[cfg(feature = "smol")]
fn child_sees_the_typo() {
    let err = smol::block_on(wsproto::rt::smol::connect("wss://localhost:9/"))
        .expect_err("roots cannot load");
    match &err {
        Error::Tls(t) => {
            assert_eq!(t.kind(), TlsErrorKind::Config);
            assert!(err.to_string().contains("SSL_CERT_FILE"), "{err}");
            assert!(
                err.to_string().contains("/nonexistent/wsproto-ca.pem"),
                "{err}"
            );
        }
        // Nothing listens on port 9, but the roots load before dialing.
        other => panic!("expected the SSL_CERT_FILE error, got {other:?}"),
    }
}

/// A server requiring client certificates refuses a client without one
/// after TLS 1.3's handshake is done, while the WebSocket handshake runs:
/// the client still gets a sorted TLS error, not a bare I/O error.
#[cfg(feature = "smol")]
#[test]
fn a_server_demanding_a_client_certificate_is_a_tls_error() {
    use std::sync::Arc;
    use wsproto::rt::tls::TlsAcceptor;
    use wsproto::rt::tls::rustls::pki_types::pem::PemObject;
    use wsproto::rt::tls::rustls::pki_types::{CertificateDer, PrivateKeyDer};
    use wsproto::rt::tls::rustls::server::WebPkiClientVerifier;
    use wsproto::rt::tls::rustls::{RootCertStore, ServerConfig, crypto};

    let ca = TestCa::new();
    let leaf = ca.leaf(Leaf::Good);
    let provider = Arc::new(crypto::ring::default_provider());
    let mut client_roots = RootCertStore::empty();
    client_roots
        .add(CertificateDer::from_pem_slice(ca.pem().as_bytes()).unwrap())
        .unwrap();
    let verifier =
        WebPkiClientVerifier::builder_with_provider(client_roots.into(), provider.clone())
            .build()
            .unwrap();
    let chain = CertificateDer::pem_slice_iter(leaf.chain_pem.as_bytes())
        .collect::<Result<Vec<_>, _>>()
        .unwrap();
    let key = PrivateKeyDer::from_pem_slice(leaf.key_pem.as_bytes()).unwrap();
    let config = ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_client_cert_verifier(verifier)
        .with_single_cert(chain, key)
        .unwrap();
    let acceptor = TlsAcceptor::new(Arc::new(config));
    smol::block_on(async {
        let listener = smol::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let server = smol::spawn(async move {
            let (stream, _) = listener.accept().await.unwrap();
            wsproto::rt::smol::accept_tls(stream, &acceptor).await.err()
        });
        let url = format!("wss://localhost:{port}/");
        let err =
            wsproto::rt::smol::connect_with_tls(&url, Config::default(), &ca.connector(), |r| r)
                .await
                .expect_err("no client certificate");
        assert_eq!(tls_kind(&err), TlsErrorKind::Handshake, "{err}");
        assert!(
            err.to_string().to_lowercase().contains("certificate"),
            "{err}"
        );
        assert!(server.await.is_some(), "the server refused too");
    });
}
