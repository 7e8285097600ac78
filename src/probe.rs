//! `user-service wait-ready`: polls a running service's `/ready` until it
//! answers 200, for systemd's `ExecStartPost` and scripts on machines with no
//! HTTP client installed. HTTP/1.0 over a TCP socket, or over TLS when given
//! the service's certificate file (and a client certificate for a service
//! that asks for one).

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::client::ResolvesClientCert;
use rustls::crypto::CryptoProvider;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::sign::CertifiedKey;
use rustls::{ClientConfig, ClientConnection, DigitallySignedStruct, SignatureScheme, StreamOwned};

/// How the probe speaks TLS.
#[derive(Debug, Clone)]
pub struct ProbeTls {
    /// The service's `--tls-cert`: the one certificate trusted.
    pub server_cert: PathBuf,
    /// A certificate (chain) and key to present, for a service started
    /// with `--tls-client-ca`.
    pub client: Option<(PathBuf, PathBuf)>,
}

/// Polls `http://{address}/ready` (`https://` with `tls`) until 200 or
/// `timeout`; `Err` says what was seen last. Files that cannot be used are
/// an error at once, not after the timeout.
pub fn wait_ready(address: &str, timeout: Duration, tls: Option<&ProbeTls>) -> Result<(), String> {
    let tls = tls.map(client_config).transpose()?;
    let deadline = Instant::now() + timeout;
    let mut last = String::from("no answer yet");
    while Instant::now() < deadline {
        match probe(address, tls.as_ref()) {
            Ok(200) => return Ok(()),
            Ok(status) => last = format!("/ready answered {status}"),
            Err(e) => last = e,
        }
        std::thread::sleep(Duration::from_millis(200));
    }
    Err(format!(
        "{address} was not ready within {} s: {last}",
        timeout.as_secs()
    ))
}

fn probe(address: &str, tls: Option<&Arc<ClientConfig>>) -> Result<u16, String> {
    let target: SocketAddr = address
        .to_socket_addrs()
        .map_err(|e| format!("cannot resolve {address}: {e}"))?
        .next()
        .ok_or_else(|| format!("{address} resolves to nothing"))?;
    let stream = TcpStream::connect_timeout(&target, Duration::from_secs(2))
        .map_err(|e| format!("cannot connect to {address}: {e}"))?;
    stream
        .set_read_timeout(Some(Duration::from_secs(15)))
        .map_err(|e| e.to_string())?;
    let mut stream: Box<dyn ReadWrite> = match tls {
        None => Box::new(stream),
        Some(config) => Box::new(tls_stream(stream, address, config)?),
    };
    stream
        .write_all(format!("GET /ready HTTP/1.0\r\nHost: {address}\r\n\r\n").as_bytes())
        .map_err(|e| format!("cannot send to {address}: {e}"))?;
    let mut head = [0u8; 64];
    let read = stream
        .read(&mut head)
        .map_err(|e| format!("no answer from {address}: {e}"))?;
    // "HTTP/1.1 200 OK": the status is the second word.
    std::str::from_utf8(&head[..read])
        .ok()
        .and_then(|line| line.split_whitespace().nth(1))
        .and_then(|code| code.parse().ok())
        .ok_or_else(|| format!("{address} did not answer HTTP"))
}

trait ReadWrite: Read + Write {}
impl<T: Read + Write> ReadWrite for T {}

/// A TLS client that trusts exactly the leaf certificate in
/// `server_cert`: the probe runs beside the service and reads the same
/// file, so no CA is needed, and a self-signed certificate works as well as
/// any.
fn client_config(tls: &ProbeTls) -> Result<Arc<ClientConfig>, String> {
    let leaf = crate::tls::read_certificates(&tls.server_cert)
        .map_err(|e| e.to_string())?
        .swap_remove(0);
    let provider = crate::tls::provider();
    let config = ClientConfig::builder_with_provider(Arc::clone(&provider))
        .with_safe_default_protocol_versions()
        .map_err(|e| e.to_string())?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(Pinned {
            leaf,
            provider: Arc::clone(&provider),
        }));
    let config = match &tls.client {
        None => config.with_no_client_auth(),
        Some((cert, key)) => {
            let identity = crate::tls::load_identity(cert, key, &provider)
                .map_err(|e| format!("client certificate: {e}"))?;
            config.with_client_cert_resolver(Arc::new(Presenting(identity)))
        }
    };
    Ok(Arc::new(config))
}

fn tls_stream(
    tcp: TcpStream,
    address: &str,
    config: &Arc<ClientConfig>,
) -> Result<StreamOwned<ClientConnection, TcpStream>, String> {
    let host = address.rsplit_once(':').map_or(address, |(host, _)| host);
    let name = ServerName::try_from(host.trim_matches(['[', ']']).to_owned())
        .map_err(|e| format!("{address}: {e}"))?;
    let connection = ClientConnection::new(Arc::clone(config), name).map_err(|e| e.to_string())?;
    Ok(StreamOwned::new(connection, tcp))
}

/// Presents one client certificate to whichever server asks.
#[derive(Debug)]
struct Presenting(Arc<CertifiedKey>);

impl ResolvesClientCert for Presenting {
    fn resolve(
        &self,
        _root_hint_subjects: &[&[u8]],
        _sigschemes: &[SignatureScheme],
    ) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0))
    }

    fn has_certs(&self) -> bool {
        true
    }
}

/// Accepts the one certificate the service is configured with, and checks
/// the handshake's signatures against it.
#[derive(Debug)]
struct Pinned {
    leaf: CertificateDer<'static>,
    provider: Arc<CryptoProvider>,
}

impl ServerCertVerifier for Pinned {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if end_entity.as_ref() == self.leaf.as_ref() {
            Ok(ServerCertVerified::assertion())
        } else {
            Err(rustls::Error::General(
                "the service presented another certificate than --tls-cert".into(),
            ))
        }
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.provider.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.provider
            .signature_verification_algorithms
            .supported_schemes()
    }
}
