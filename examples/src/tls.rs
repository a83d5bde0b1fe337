//! TLS with rustls (its default provider, aws-lc-rs) for the HTTPS examples and tests:
//! certificates from PEM files or made on the spot, a server config
//! offering HTTP/2 and HTTP/1.1 by ALPN, and hyper-util's pooled client
//! over hyper-rustls's `HttpsConnector` over weft's `WeftConnector`.

use std::io;
use std::path::Path;
use std::sync::Arc;

use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::Client;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer};
use rustls::{ClientConfig, RootCertStore, ServerConfig};
use weft::hyper_rt::WeftConnector;

/// A certificate chain and its private key.
pub struct Identity {
    /// The chain, leaf first.
    pub certs: Vec<CertificateDer<'static>>,
    /// The leaf's private key.
    pub key: PrivateKeyDer<'static>,
    /// The chain as PEM (what a client trusts with `http_get --ca`).
    pub cert_pem: String,
}

impl Clone for Identity {
    fn clone(&self) -> Identity {
        Identity {
            certs: self.certs.clone(),
            key: self.key.clone_key(),
            cert_pem: self.cert_pem.clone(),
        }
    }
}

impl Identity {
    /// A self-signed certificate for `names` (DNS names or IP literals),
    /// with a fresh key.
    pub fn self_signed(names: &[&str]) -> Result<Identity, rcgen::Error> {
        let names: Vec<String> = names.iter().map(|name| name.to_string()).collect();
        let rcgen::CertifiedKey { cert, signing_key } = rcgen::generate_simple_self_signed(names)?;
        Ok(Identity {
            certs: vec![cert.der().clone()],
            key: PrivatePkcs8KeyDer::from(signing_key.serialize_der()).into(),
            cert_pem: cert.pem(),
        })
    }

    /// The chain in `cert` and the key in `key`, both PEM.
    ///
    /// # Errors
    ///
    /// A file that cannot be read, holds no certificate or no key, or is
    /// not PEM; the message names the file.
    pub fn from_pem_files(cert: &Path, key: &Path) -> io::Result<Identity> {
        let bad = |path: &Path, e: rustls::pki_types::pem::Error| {
            io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: {e}", path.display()),
            )
        };
        let cert_pem = std::fs::read_to_string(cert)
            .map_err(|e| io::Error::new(e.kind(), format!("{}: {e}", cert.display())))?;
        let certs = CertificateDer::pem_slice_iter(cert_pem.as_bytes())
            .collect::<Result<Vec<_>, _>>()
            .map_err(|e| bad(cert, e))?;
        if certs.is_empty() {
            return Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{}: no certificate in it", cert.display()),
            ));
        }
        let key = PrivateKeyDer::from_pem_file(key).map_err(|e| bad(key, e))?;
        Ok(Identity {
            certs,
            key,
            cert_pem,
        })
    }
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::aws_lc_rs::default_provider())
}

/// A server config for `identity` that offers HTTP/2 and HTTP/1.1 (ALPN
/// `h2`, `http/1.1`, in that order of preference).
pub fn server_config(identity: Identity) -> Result<Arc<ServerConfig>, rustls::Error> {
    let mut config = ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_no_client_auth()
        .with_single_cert(identity.certs, identity.key)?;
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(Arc::new(config))
}

/// A client config that trusts exactly `roots`.
pub fn client_config(roots: RootCertStore) -> Result<ClientConfig, rustls::Error> {
    Ok(ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()?
        .with_root_certificates(roots)
        .with_no_client_auth())
}

/// The roots this system trusts (`rustls-native-certs`: what curl and
/// openssl read). Certificates that fail to parse are skipped.
pub fn system_roots() -> RootCertStore {
    let mut roots = RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    roots.add_parsable_certificates(found.certs);
    roots
}

/// hyper-util's pooled client, on weft, for `http` and `https` URIs, HTTP/1.1
/// or HTTP/2 as ALPN picks (`http` URIs: HTTP/1.1, or HTTP/2 with prior
/// knowledge when `http2_only`).
pub fn client<B>(tls: ClientConfig, http2_only: bool) -> Client<HttpsConnector<WeftConnector>, B>
where
    B: hyper::body::Body + Send + 'static + Unpin,
    B::Data: Send,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut tcp = WeftConnector::new();
    tcp.enforce_http(false);
    let https = hyper_rustls::HttpsConnectorBuilder::new()
        .with_tls_config(tls)
        .https_or_http()
        .enable_http1()
        .enable_http2()
        .wrap_connector(tcp);
    weft::hyper_rt::client_builder()
        .http2_only(http2_only)
        .build(https)
}
