//! HTTPS on the listener: rustls (TLS 1.2 and 1.3, the `ring` provider, no
//! OpenSSL), the certificate chain and key read from PEM files, optional
//! client certificates, and reloads without a restart ([`reload`]).
//!
//! The listener's rustls config never holds a certificate itself: it asks
//! [`CurrentCertificate`] on every handshake, and a reload swaps what that
//! answers. Connections already open keep the certificate they shook hands
//! with.

mod certificate;
mod plain_http;
pub mod reload;
mod validity;

use std::path::{Path, PathBuf};
use std::sync::{Arc, RwLock};
use std::time::Duration;

use prometheus::core::Collector;
use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts};
use rustls::crypto::CryptoProvider;
use rustls::server::{ClientHello, ResolvesServerCert, WebPkiClientVerifier};
use rustls::sign::CertifiedKey;
use rustls::{RootCertStore, ServerConfig};
use time::OffsetDateTime;
use tokio::net::TcpStream;
use tokio_rustls::server::TlsStream;
use tokio_rustls::TlsAcceptor;

pub use self::certificate::{read_certificates, CertificateError};
pub use self::validity::Validity;

/// A certificate that expires sooner than this is warned about, at start-up
/// and on every reload.
pub const EXPIRY_WARNING: Duration = Duration::from_secs(14 * 24 * 3600);

/// Time a client has to finish the TLS handshake; a client that stalls in
/// it holds a connection no longer than this.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(3);

/// The protocols offered by ALPN, preferred first.
const ALPN: [&[u8]; 2] = [b"h2", b"http/1.1"];

/// The files TLS is served from (`--tls-cert`, `--tls-key`,
/// `--tls-client-ca`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TlsFiles {
    pub cert: PathBuf,
    pub key: PathBuf,
    /// With it, only clients with a certificate signed by one of its CAs
    /// complete the handshake.
    pub client_ca: Option<PathBuf>,
}

/// Why TLS cannot be served; each names the file at fault.
#[derive(Debug, thiserror::Error)]
pub enum TlsError {
    #[error(transparent)]
    Certificate(#[from] CertificateError),
    #[error("{}: cannot verify client certificates with it: {reason}", path.display())]
    ClientCa { path: PathBuf, reason: String },
}

/// The crypto provider for every TLS connection this service makes or
/// accepts. Named explicitly: with more than one built in (the tests' HTTP
/// client brings another) rustls picks no default.
pub fn provider() -> Arc<CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// A certificate chain and its key from PEM files, checked as the
/// listener's are (the key matches, the leaf has not expired): for a client
/// that presents a certificate.
pub fn load_identity(
    cert: &Path,
    key: &Path,
    provider: &CryptoProvider,
) -> Result<Arc<CertifiedKey>, CertificateError> {
    certificate::load(cert, key, provider).map(|served| served.key)
}

/// TLS for the listener, loaded and checked, and what reloads it.
pub struct Tls {
    /// For the listener.
    pub handshake: Handshake,
    /// For [`reload::Watcher`].
    pub reloadable: Arc<reload::Reloadable>,
}

impl Tls {
    /// Reads and checks the files; the service does not start without them.
    pub fn load(files: TlsFiles) -> Result<Self, TlsError> {
        let provider = provider();
        let served = certificate::load(&files.cert, &files.key, &provider)?;
        let metrics = TlsMetrics::new();
        metrics.serving(&served.validity);
        warn_if_expiring(&files.cert, &served.validity);
        let current = Arc::new(CurrentCertificate {
            key: RwLock::new(served.key),
            hellos: metrics.handshakes_started.clone(),
        });
        let versions = ServerConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(&[&rustls::version::TLS13, &rustls::version::TLS12])
            .unwrap_or_else(|e| unreachable!("ring supports TLS 1.2 and 1.3: {e}"));
        let mut config = match &files.client_ca {
            None => versions.with_no_client_auth(),
            Some(ca) => versions.with_client_cert_verifier(client_verifier(ca, &provider)?),
        }
        .with_cert_resolver(Arc::clone(&current) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = ALPN.iter().map(|protocol| protocol.to_vec()).collect();
        let handshake = Handshake {
            acceptor: TlsAcceptor::from(Arc::new(config)),
            completed: metrics.handshakes_completed.clone(),
            failed: metrics.handshakes_failed.clone(),
        };
        Ok(Self {
            handshake,
            reloadable: Arc::new(reload::Reloadable::new(files, provider, current, metrics)),
        })
    }

    /// The TLS figures, for the service's registry.
    pub fn collectors(&self) -> Vec<Box<dyn Collector>> {
        self.reloadable.metrics().collectors()
    }
}

/// The server's side of the handshake, within [`HANDSHAKE_TIMEOUT`],
/// counted by outcome.
#[derive(Clone)]
pub struct Handshake {
    acceptor: TlsAcceptor,
    completed: IntCounter,
    failed: IntCounter,
}

impl Handshake {
    /// The TLS stream, or `None` when the client did not complete a
    /// handshake in time (plain HTTP, garbage, an old protocol version, no
    /// acceptable client certificate, silence). Failures are counted, not
    /// logged: a scan of the port would flood the log.
    ///
    /// A client that sends a plain HTTP request instead gets a plain 400
    /// telling it to use HTTPS ([`plain_http`]), counted as failed.
    pub async fn accept(&self, stream: TcpStream) -> Option<TlsStream<TcpStream>> {
        let shaken = tokio::time::timeout(HANDSHAKE_TIMEOUT, async {
            let mut first = [0u8; 1];
            if matches!(stream.peek(&mut first).await, Ok(1) if plain_http::is_plain_http(first[0]))
            {
                plain_http::refuse(stream).await;
                return None;
            }
            self.acceptor.accept(stream).await.ok()
        })
        .await;
        match shaken {
            Ok(Some(stream)) => {
                self.completed.inc();
                Some(stream)
            }
            Ok(None) | Err(_) => {
                self.failed.inc();
                None
            }
        }
    }
}

/// The certificate new handshakes get; a reload replaces it.
pub struct CurrentCertificate {
    key: RwLock<Arc<CertifiedKey>>,
    /// ClientHellos that reached certificate selection.
    hellos: IntCounter,
}

impl CurrentCertificate {
    fn replace(&self, key: Arc<CertifiedKey>) {
        *self.key.write().unwrap_or_else(|e| e.into_inner()) = key;
    }
}

impl std::fmt::Debug for CurrentCertificate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CurrentCertificate")
    }
}

impl ResolvesServerCert for CurrentCertificate {
    fn resolve(&self, _hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        self.hellos.inc();
        Some(Arc::clone(
            &self.key.read().unwrap_or_else(|e| e.into_inner()),
        ))
    }
}

/// Accepts client certificates signed by a CA in `path`, and no client
/// without one.
fn client_verifier(
    path: &Path,
    provider: &Arc<CryptoProvider>,
) -> Result<Arc<dyn rustls::server::danger::ClientCertVerifier>, TlsError> {
    let mut roots = RootCertStore::empty();
    for certificate in read_certificates(path)? {
        roots.add(certificate).map_err(|e| TlsError::ClientCa {
            path: path.to_owned(),
            reason: e.to_string(),
        })?;
    }
    WebPkiClientVerifier::builder_with_provider(Arc::new(roots), Arc::clone(provider))
        .build()
        .map_err(|e| TlsError::ClientCa {
            path: path.to_owned(),
            reason: e.to_string(),
        })
}

fn warn_if_expiring(path: &Path, validity: &Validity) {
    let left = validity.not_after - OffsetDateTime::now_utc();
    if left < EXPIRY_WARNING {
        log::warn!(
            "the TLS certificate in {} expires in {} days ({}): renew it; the service \
             reloads it when the file changes",
            path.display(),
            left.whole_days(),
            validity.not_after
        );
    }
    if validity.not_before > OffsetDateTime::now_utc() {
        log::warn!(
            "the TLS certificate in {} is not valid before {}: clients will refuse it until then",
            path.display(),
            validity.not_before
        );
    }
}

/// Reloads by result, when the serving certificate expires, and
/// handshakes: started (a ClientHello was read), completed, failed (for any
/// reason, garbage and plain HTTP included).
#[derive(Clone)]
pub struct TlsMetrics {
    reloads: IntCounterVec,
    expiry: IntGauge,
    handshakes_started: IntCounter,
    handshakes_completed: IntCounter,
    handshakes_failed: IntCounter,
}

impl TlsMetrics {
    fn new() -> Self {
        let reloads = IntCounterVec::new(
            Opts::new(
                "user_service_tls_reloads_total",
                "Reloads of the TLS certificate and key, by result (a failed one keeps the \
                 previous certificate serving)",
            ),
            &["result"],
        )
        .unwrap_or_else(|e| unreachable!("static metric options are valid: {e}"));
        for result in ["ok", "error"] {
            reloads.with_label_values(&[result]);
        }
        let expiry = IntGauge::new(
            "user_service_tls_certificate_expiry_timestamp_seconds",
            "When the certificate being served expires (Unix time)",
        )
        .unwrap_or_else(|e| unreachable!("static metric options are valid: {e}"));
        Self {
            reloads,
            expiry,
            handshakes_started: counter(
                "user_service_tls_handshakes_started_total",
                "TLS handshakes whose ClientHello was accepted",
            ),
            handshakes_completed: counter(
                "user_service_tls_handshakes_completed_total",
                "TLS handshakes completed: connections served over TLS",
            ),
            handshakes_failed: counter(
                "user_service_tls_handshakes_failed_total",
                "TLS connections closed before their handshake completed: not TLS, refused \
                 protocol version or client certificate, or no handshake in time",
            ),
        }
    }

    fn serving(&self, validity: &Validity) {
        self.expiry.set(validity.not_after.unix_timestamp());
    }

    fn reloaded(&self, ok: bool) {
        self.reloads
            .with_label_values(&[if ok { "ok" } else { "error" }])
            .inc();
    }

    fn collectors(&self) -> Vec<Box<dyn Collector>> {
        vec![
            Box::new(self.reloads.clone()),
            Box::new(self.expiry.clone()),
            Box::new(self.handshakes_started.clone()),
            Box::new(self.handshakes_completed.clone()),
            Box::new(self.handshakes_failed.clone()),
        ]
    }
}

fn counter(name: &str, help: &str) -> IntCounter {
    IntCounter::new(name, help)
        .unwrap_or_else(|e| unreachable!("static metric options are valid: {e}"))
}
