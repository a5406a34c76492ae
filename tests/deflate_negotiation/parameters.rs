//! The offer and response headers, and each RFC 7692 parameter from both sides.

use super::*;

// ---------------------------------------------------------------------------
// The offer and the response header.

#[test]
fn default_offer_and_plain_acceptance() {
    let mut p = negotiate(Some(deflate()), Some(deflate()));
    assert_eq!(
        p.offer.as_deref(),
        Some("permessage-deflate; client_max_window_bits")
    );
    assert_eq!(p.response.as_deref(), Some("permessage-deflate"));
    assert_eq!(p.client.extensions()[0].name(), "permessage-deflate");
    let text = sample_text();
    assert_eq!(p.c2s(&text).rsv, RSV1);
    assert_eq!(p.s2c(&text).rsv, RSV1);
    assert_eq!(takeover(|d| p.c2s(d)), Takeover::Kept);
    assert_eq!(takeover(|d| p.s2c(d)), Takeover::Kept);
}

#[test]
fn default_windows_are_15_bits_both_ways() {
    let mut p = negotiate(Some(d9()), Some(d9()));
    assert_window(|d| p.c2s(d), 15);
    assert_window(|d| p.s2c(d), 15);
}

#[test]
fn offer_lists_every_configured_parameter() {
    let p = negotiate(
        Some(
            deflate()
                .server_no_context_takeover(true)
                .client_no_context_takeover(true)
                .server_max_window_bits(Some(10))
                .client_max_window_bits(Some(12)),
        ),
        None,
    );
    assert_eq!(
        p.offer.as_deref(),
        Some(
            "permessage-deflate; server_no_context_takeover; client_no_context_takeover; \
             server_max_window_bits=10; client_max_window_bits=12"
        )
    );
    // The server has no deflate: it answers without the header.
    assert_eq!(p.response, None);
}

#[test]
fn builder_clamps_window_bits_to_8_through_15() {
    let p = negotiate(
        Some(
            deflate()
                .server_max_window_bits(Some(3))
                .client_max_window_bits(Some(200)),
        ),
        Some(deflate()),
    );
    assert_eq!(
        p.offer.as_deref(),
        Some("permessage-deflate; server_max_window_bits=8; client_max_window_bits=15")
    );
    assert_eq!(
        p.response.as_deref(),
        Some("permessage-deflate; server_max_window_bits=8")
    );
}

// ---------------------------------------------------------------------------
// server_no_context_takeover

#[test]
fn server_no_context_takeover_asked_by_the_client() {
    let mut p = negotiate(
        Some(deflate().server_no_context_takeover(true)),
        Some(deflate()),
    );
    assert_eq!(
        p.offer.as_deref(),
        Some("permessage-deflate; server_no_context_takeover; client_max_window_bits")
    );
    assert_eq!(
        p.response.as_deref(),
        Some("permessage-deflate; server_no_context_takeover")
    );
    assert_eq!(takeover(|d| p.s2c(d)), Takeover::None);
    // Only the server resets.
    assert_eq!(takeover(|d| p.c2s(d)), Takeover::Kept);
}

#[test]
fn server_no_context_takeover_imposed_by_the_server() {
    let mut p = negotiate(
        Some(deflate()),
        Some(deflate().server_no_context_takeover(true)),
    );
    assert_eq!(
        p.response.as_deref(),
        Some("permessage-deflate; server_no_context_takeover")
    );
    assert_eq!(takeover(|d| p.s2c(d)), Takeover::None);
    assert_eq!(takeover(|d| p.c2s(d)), Takeover::Kept);
}

// ---------------------------------------------------------------------------
// client_no_context_takeover

#[test]
fn client_no_context_takeover_offered_by_the_client() {
    let mut p = negotiate(
        Some(deflate().client_no_context_takeover(true)),
        Some(deflate()),
    );
    assert_eq!(
        p.offer.as_deref(),
        Some("permessage-deflate; client_no_context_takeover; client_max_window_bits")
    );
    // The hint needs no answer (RFC 7692 §7.1.1.2); the client resets anyway.
    assert_eq!(p.response.as_deref(), Some("permessage-deflate"));
    assert_eq!(takeover(|d| p.c2s(d)), Takeover::None);
    assert_eq!(takeover(|d| p.s2c(d)), Takeover::Kept);
}

#[test]
fn client_no_context_takeover_imposed_by_the_server() {
    let mut p = negotiate(
        Some(deflate()),
        Some(deflate().client_no_context_takeover(true)),
    );
    assert_eq!(
        p.response.as_deref(),
        Some("permessage-deflate; client_no_context_takeover")
    );
    assert_eq!(takeover(|d| p.c2s(d)), Takeover::None);
    assert_eq!(takeover(|d| p.s2c(d)), Takeover::Kept);
}

#[test]
fn no_context_takeover_both_ways() {
    let mut p = negotiate(
        Some(deflate().server_no_context_takeover(true)),
        Some(deflate().client_no_context_takeover(true)),
    );
    assert_eq!(
        p.response.as_deref(),
        Some("permessage-deflate; server_no_context_takeover; client_no_context_takeover")
    );
    assert_eq!(takeover(|d| p.c2s(d)), Takeover::None);
    assert_eq!(takeover(|d| p.s2c(d)), Takeover::None);
    // Many messages in a row still decode (each side resets its inflater).
    for i in 0..20 {
        let mut m = sample_text();
        m.extend(format!("#{i}").bytes());
        assert_eq!(p.c2s(&m).rsv, RSV1);
        assert_eq!(p.s2c(&m).rsv, RSV1);
    }
}

// ---------------------------------------------------------------------------
// server_max_window_bits

#[test]
fn server_max_window_bits_asked_by_the_client() {
    let mut p = negotiate(Some(d9().server_max_window_bits(Some(10))), Some(d9()));
    assert_eq!(
        p.offer.as_deref(),
        Some("permessage-deflate; server_max_window_bits=10; client_max_window_bits")
    );
    assert_eq!(
        p.response.as_deref(),
        Some("permessage-deflate; server_max_window_bits=10")
    );
    assert_window(|d| p.s2c(d), 10);
    assert_window(|d| p.c2s(d), 15);
}

#[test]
fn server_max_window_bits_the_server_goes_lower_than_asked() {
    let mut p = negotiate(
        Some(d9().server_max_window_bits(Some(12))),
        Some(d9().server_max_window_bits(Some(10))),
    );
    assert_eq!(
        p.response.as_deref(),
        Some("permessage-deflate; server_max_window_bits=10")
    );
    assert_window(|d| p.s2c(d), 10);
}

#[test]
fn server_max_window_bits_the_server_honours_a_lower_request() {
    let mut p = negotiate(
        Some(d9().server_max_window_bits(Some(11))),
        Some(d9().server_max_window_bits(Some(13))),
    );
    assert_eq!(
        p.response.as_deref(),
        Some("permessage-deflate; server_max_window_bits=11")
    );
    assert_window(|d| p.s2c(d), 11);
}

#[test]
fn server_max_window_bits_configured_on_the_server_only() {
    // Not asked: the server may use a smaller window without saying so (the
    // client's inflater copes with any window).
    let mut p = negotiate(Some(d9()), Some(d9().server_max_window_bits(Some(11))));
    assert_eq!(p.response.as_deref(), Some("permessage-deflate"));
    assert_window(|d| p.s2c(d), 11);
    assert_window(|d| p.c2s(d), 15);
}

#[test]
fn server_max_window_bits_8_makes_the_server_send_uncompressed() {
    // zlib cannot compress with an 8-bit window; the server sends plain
    // messages (RSV1 clear) and still inflates the client's.
    let mut p = negotiate(
        Some(deflate().server_max_window_bits(Some(8))),
        Some(deflate()),
    );
    assert_eq!(
        p.response.as_deref(),
        Some("permessage-deflate; server_max_window_bits=8")
    );
    let text = sample_text();
    let f = p.s2c(&text);
    assert_eq!(f.rsv, 0);
    assert_eq!(f.payload, text);
    assert_eq!(p.c2s(&text).rsv, RSV1);
}

#[test]
fn server_max_window_bits_9_still_compresses() {
    let mut p = negotiate(Some(d9().server_max_window_bits(Some(9))), Some(d9()));
    assert_eq!(
        p.response.as_deref(),
        Some("permessage-deflate; server_max_window_bits=9")
    );
    let text = sample_text();
    let f = p.s2c(&text);
    assert_eq!(f.rsv, RSV1);
    assert!(f.payload.len() < text.len() / 2);
    let mut send = |d: &[u8]| p.s2c(d);
    assert!(!repeat_found(&mut send, 512 + 64, 99));
}

// ---------------------------------------------------------------------------
// client_max_window_bits

#[test]
fn client_max_window_bits_without_a_value_and_no_server_limit() {
    let mut p = negotiate(Some(d9()), Some(d9()));
    assert!(
        p.offer
            .as_deref()
            .unwrap()
            .ends_with("; client_max_window_bits")
    );
    assert_eq!(p.response.as_deref(), Some("permessage-deflate"));
    assert_window(|d| p.c2s(d), 15);
}

#[test]
fn client_max_window_bits_without_a_value_limited_by_the_server() {
    let mut p = negotiate(Some(d9()), Some(d9().client_max_window_bits(Some(10))));
    assert_eq!(
        p.response.as_deref(),
        Some("permessage-deflate; client_max_window_bits=10")
    );
    assert_window(|d| p.c2s(d), 10);
    assert_window(|d| p.s2c(d), 15);
}

#[test]
fn client_max_window_bits_with_a_value_the_client_keeps_its_limit() {
    // The server does not answer the parameter; the client still uses the
    // window it offered (RFC 7692 §7.1.2.2: it may use any up to the value).
    let mut p = negotiate(Some(d9().client_max_window_bits(Some(11))), Some(d9()));
    assert_eq!(
        p.offer.as_deref(),
        Some("permessage-deflate; client_max_window_bits=11")
    );
    assert_eq!(p.response.as_deref(), Some("permessage-deflate"));
    assert_window(|d| p.c2s(d), 11);
}

#[test]
fn client_max_window_bits_the_smaller_of_offer_and_server_wish() {
    let mut p = negotiate(
        Some(d9().client_max_window_bits(Some(12))),
        Some(d9().client_max_window_bits(Some(10))),
    );
    assert_eq!(
        p.response.as_deref(),
        Some("permessage-deflate; client_max_window_bits=10")
    );
    assert_window(|d| p.c2s(d), 10);

    let mut p = negotiate(
        Some(d9().client_max_window_bits(Some(11))),
        Some(d9().client_max_window_bits(Some(13))),
    );
    assert_eq!(
        p.response.as_deref(),
        Some("permessage-deflate; client_max_window_bits=11")
    );
    assert_window(|d| p.c2s(d), 11);
}

#[test]
fn client_max_window_bits_8_makes_the_client_send_uncompressed() {
    let mut p = negotiate(
        Some(deflate()),
        Some(deflate().client_max_window_bits(Some(8))),
    );
    assert_eq!(
        p.response.as_deref(),
        Some("permessage-deflate; client_max_window_bits=8")
    );
    let text = sample_text();
    let f = p.c2s(&text);
    assert_eq!(f.rsv, 0);
    assert_eq!(f.payload, text);
    assert_eq!(p.s2c(&text).rsv, RSV1);
}

#[test]
fn every_parameter_at_once() {
    let mut p = negotiate(
        Some(
            d9().server_no_context_takeover(true)
                .client_no_context_takeover(true)
                .server_max_window_bits(Some(11))
                .client_max_window_bits(Some(12)),
        ),
        Some(d9().client_max_window_bits(Some(10))),
    );
    assert_eq!(
        p.response.as_deref(),
        Some(
            "permessage-deflate; server_no_context_takeover; server_max_window_bits=11; \
             client_max_window_bits=10"
        )
    );
    assert_eq!(takeover(|d| p.c2s(d)), Takeover::None);
    assert_eq!(takeover(|d| p.s2c(d)), Takeover::None);
    assert_window(|d| p.c2s(d), 10);
    assert_window(|d| p.s2c(d), 11);
}

// ---------------------------------------------------------------------------
// Only one side configured.

#[test]
fn server_without_deflate_ignores_the_offer() {
    let mut p = negotiate(Some(deflate()), None);
    assert!(p.offer.is_some());
    assert_eq!(p.response, None);
    assert!(p.client.extensions().is_empty());
    let text = sample_text();
    assert_eq!(p.c2s(&text).rsv, 0);
    assert_eq!(p.s2c(&text).rsv, 0);
}

#[test]
fn client_without_deflate_offers_nothing() {
    let mut p = negotiate(None, Some(deflate()));
    assert_eq!(p.offer, None);
    assert_eq!(p.response, None);
    assert!(p.server.extensions().is_empty());
    let text = sample_text();
    assert_eq!(p.c2s(&text).rsv, 0);
    assert_eq!(p.s2c(&text).rsv, 0);
}
