//! The `frame_header` target.

use wsproto::proto::frame::{FrameHeader, MAX_CONTROL_PAYLOAD, MAX_HEADER_LEN};

/// `FrameHeader::decode` against an independent reading of RFC 6455 §5.2,
/// against its own encoder, and against every prefix of its input.
pub fn frame_header(data: &[u8]) {
    let decoded = FrameHeader::decode(data);
    match decoded {
        Ok(Some((h, len))) => {
            assert!(
                len <= data.len() && len <= MAX_HEADER_LEN,
                "header length {len}"
            );
            let expect_len =
                2 + match data[1] & 0x7f {
                    126 => 2,
                    127 => 8,
                    _ => 0,
                } + if data[1] & 0x80 != 0 { 4 } else { 0 };
            assert_eq!(len, expect_len, "header length");
            assert_eq!(h.fin, data[0] & 0x80 != 0);
            assert_eq!(h.rsv.bits(), data[0] & 0x70);
            assert_eq!(h.opcode as u8, data[0] & 0x0f);
            let want_len = match data[1] & 0x7f {
                126 => u64::from(u16::from_be_bytes([data[2], data[3]])),
                127 => u64::from_be_bytes(data[2..10].try_into().unwrap()),
                n => u64::from(n),
            };
            assert_eq!(h.payload_len, want_len);
            assert!(
                want_len >> 63 == 0,
                "accepted a length with the top bit set"
            );
            match h.mask {
                Some(k) => assert_eq!(&k[..], &data[len - 4..len]),
                None => assert_eq!(data[1] & 0x80, 0),
            }
            if h.opcode.is_control() {
                assert!(h.fin, "accepted a fragmented control frame");
                assert!(h.payload_len <= MAX_CONTROL_PAYLOAD as u64);
            }
            assert!(
                matches!(data[0] & 0x0f, 0 | 1 | 2 | 8 | 9 | 10),
                "accepted a reserved opcode"
            );
            // Its own encoding (always the shortest) decodes to the same.
            let mut buf = [0u8; MAX_HEADER_LEN];
            let n = h.encode(&mut buf);
            assert_eq!(FrameHeader::decode(&buf[..n]), Ok(Some((h, n))));
            assert!(n <= len);
            // Every strict prefix asks for more; more bytes change nothing.
            for cut in 0..len {
                assert_eq!(FrameHeader::decode(&data[..cut]), Ok(None), "prefix {cut}");
            }
        }
        Ok(None) => {
            // Only a prefix of a valid header may ask for more.
            assert!(
                data.len() < MAX_HEADER_LEN,
                "{} bytes were not enough",
                data.len()
            );
            for cut in 0..data.len() {
                assert_eq!(FrameHeader::decode(&data[..cut]), Ok(None), "prefix {cut}");
            }
        }
        Err(e) => {
            // The error is reported at the first offending byte: a shorter
            // prefix asks for more, and the first failing prefix fails alike.
            let first_bad = (0..=data.len())
                .find(|&cut| FrameHeader::decode(&data[..cut]).is_err())
                .expect("the whole input fails");
            assert_eq!(FrameHeader::decode(&data[..first_bad]), Err(e));
            assert!(first_bad <= 3, "error found only at byte {first_bad}");
        }
    }
}
