//! Test certificates made at test time with rcgen: a private CA, and leaf
//! certificates it signs (good, expired, for another name) or that sign
//! themselves.

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, IsCa, KeyPair, KeyUsagePurpose,
    date_time_ymd,
};
use wsproto::rt::tls::rustls::RootCertStore;
use wsproto::rt::tls::{TlsAcceptor, TlsConnector};

/// A CA that signs test server certificates.
pub struct TestCa {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A server certificate chain and its key, in PEM.
pub struct ServerCert {
    pub chain_pem: String,
    pub key_pem: String,
}

impl ServerCert {
    pub fn acceptor(&self) -> TlsAcceptor {
        TlsAcceptor::from_pem(self.chain_pem.as_bytes(), self.key_pem.as_bytes())
            .expect("test certificate loads")
    }
}

/// Which flaw a leaf certificate has.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leaf {
    /// Valid now for `localhost` and 127.0.0.1.
    Good,
    /// Valid for `localhost`, but it expired in 2020.
    Expired,
    /// Valid now, but only for `other.example`.
    OtherName,
}

impl TestCa {
    pub fn new() -> TestCa {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params
            .distinguished_name
            .push(DnType::CommonName, "wsproto test CA");
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let issuer = CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap();
        TestCa { issuer }
    }

    pub fn pem(&self) -> String {
        self.issuer.pem()
    }

    /// A connector trusting only this CA.
    pub fn connector(&self) -> TlsConnector {
        let mut roots = RootCertStore::empty();
        roots.add(self.issuer.der().clone()).unwrap();
        TlsConnector::with_roots(roots)
    }

    pub fn leaf(&self, kind: Leaf) -> ServerCert {
        let names = match kind {
            Leaf::Good | Leaf::Expired => vec!["localhost".to_owned(), "127.0.0.1".to_owned()],
            Leaf::OtherName => vec!["other.example".to_owned()],
        };
        let mut params = CertificateParams::new(names).unwrap();
        params
            .distinguished_name
            .push(DnType::CommonName, "wsproto test server");
        if kind == Leaf::Expired {
            params.not_before = date_time_ymd(2019, 1, 1);
            params.not_after = date_time_ymd(2020, 1, 1);
        }
        let key = KeyPair::generate().unwrap();
        let cert = params.signed_by(&key, &self.issuer).unwrap();
        ServerCert {
            chain_pem: cert.pem() + &self.issuer.pem(),
            key_pem: key.serialize_pem(),
        }
    }
}

/// A certificate for `localhost` that signs itself (no CA anyone trusts).
pub fn self_signed() -> ServerCert {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_owned()])
        .unwrap()
        .self_signed(&key)
        .unwrap();
    ServerCert {
        chain_pem: cert.pem(),
        key_pem: key.serialize_pem(),
    }
}
