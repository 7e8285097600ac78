//! Reading a certificate chain and its private key from PEM files into what
//! rustls serves, with an error that names the file at fault.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, PrivateKeyDer};
use rustls::sign::CertifiedKey;
use time::OffsetDateTime;

use super::validity::Validity;

/// Why a certificate or key cannot be served; each names its file.
#[derive(Debug, thiserror::Error)]
pub enum CertificateError {
    #[error("cannot read {}: {source}", path.display())]
    Read {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{} holds no PEM certificate (`-----BEGIN CERTIFICATE-----`){reason}", path.display())]
    NoCertificate { path: PathBuf, reason: String },
    #[error("{} holds no PEM private key (PKCS#8, PKCS#1 or SEC1){reason}", path.display())]
    NoKey { path: PathBuf, reason: String },
    #[error("{}: the private key cannot be used: {reason}", path.display())]
    BadKey { path: PathBuf, reason: String },
    #[error("the private key in {} does not belong to the certificate in {}", key.display(), cert.display())]
    Mismatch { cert: PathBuf, key: PathBuf },
    #[error("{}: the certificate cannot be read as X.509", path.display())]
    Unreadable { path: PathBuf },
    #[error("{}: the certificate expired at {not_after}", path.display())]
    Expired {
        path: PathBuf,
        not_after: OffsetDateTime,
    },
}

/// A certificate chain with its key, ready to serve.
#[derive(Debug, Clone)]
pub struct Served {
    pub key: Arc<CertifiedKey>,
    pub validity: Validity,
}

/// Reads and checks the chain in `cert` (leaf first) and the key in `key`:
/// the key must parse and match the leaf, and the leaf must not have
/// expired.
pub fn load(
    cert: &Path,
    key: &Path,
    provider: &CryptoProvider,
) -> Result<Served, CertificateError> {
    let chain = read_certificates(cert)?;
    let key_pem = read(key)?;
    let private_key =
        PrivateKeyDer::from_pem_slice(&key_pem).map_err(|e| CertificateError::NoKey {
            path: key.to_owned(),
            reason: pem_reason(&e),
        })?;
    let validity = Validity::of(chain[0].as_ref()).ok_or_else(|| CertificateError::Unreadable {
        path: cert.to_owned(),
    })?;
    let signing_key = provider
        .key_provider
        .load_private_key(private_key)
        .map_err(|e| CertificateError::BadKey {
            path: key.to_owned(),
            reason: e.to_string(),
        })?;
    let certified = CertifiedKey::new(chain, signing_key);
    match certified.keys_match() {
        Ok(()) => {}
        Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::KeyMismatch)) => {
            return Err(CertificateError::Mismatch {
                cert: cert.to_owned(),
                key: key.to_owned(),
            })
        }
        Err(rustls::Error::InconsistentKeys(_)) => {
            // The provider cannot tell this key's public half: serve it.
        }
        Err(_) => {
            return Err(CertificateError::Unreadable {
                path: cert.to_owned(),
            })
        }
    }
    if validity.not_after <= OffsetDateTime::now_utc() {
        return Err(CertificateError::Expired {
            path: cert.to_owned(),
            not_after: validity.not_after,
        });
    }
    Ok(Served {
        key: Arc::new(certified),
        validity,
    })
}

/// Every certificate in a PEM file, in order; at least one.
pub fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>, CertificateError> {
    let pem = read(path)?;
    let chain = CertificateDer::pem_slice_iter(&pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(|e| CertificateError::NoCertificate {
            path: path.to_owned(),
            reason: pem_reason(&e),
        })?;
    if chain.is_empty() {
        return Err(CertificateError::NoCertificate {
            path: path.to_owned(),
            reason: String::new(),
        });
    }
    Ok(chain)
}

fn read(path: &Path) -> Result<Vec<u8>, CertificateError> {
    std::fs::read(path).map_err(|source| CertificateError::Read {
        path: path.to_owned(),
        source,
    })
}

fn pem_reason(error: &rustls::pki_types::pem::Error) -> String {
    match error {
        rustls::pki_types::pem::Error::NoItemsFound => String::new(),
        other => format!(": {other:?}"),
    }
}
