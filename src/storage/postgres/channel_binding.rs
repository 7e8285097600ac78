//! SCRAM channel binding (`tls-server-end-point`, RFC 5929 §4.1): the hash
//! of the server's certificate, which ties the password exchange to this
//! TLS connection, so a man in the middle that terminates TLS with another
//! certificate (possible with `sslmode=require`, which verifies nothing)
//! cannot relay the authentication. PostgreSQL offers `SCRAM-SHA-256-PLUS`
//! over TLS, and tokio-postgres uses it when this returns a hash.
//!
//! The hash function is the one of the certificate's signature algorithm
//! (SHA-256 for MD5 and SHA-1); read from the DER with the few steps of
//! RFC 5280 §4.1 below, as `tls/validity.rs` does for the listener (a layer
//! this backend may not use).

use ring::digest;

/// The `tls-server-end-point` value for the certificate `der`; `None` for a
/// signature algorithm without one hash (RSASSA-PSS, Ed25519), or DER this
/// walk does not understand: SCRAM then runs without channel binding.
pub fn server_end_point(der: &[u8]) -> Option<Vec<u8>> {
    let algorithm = digest_of(signature_algorithm(der)?)?;
    Some(digest::digest(algorithm, der).as_ref().to_vec())
}

const SEQUENCE: u8 = 0x30;
const OBJECT_IDENTIFIER: u8 = 0x06;

/// `Certificate.signatureAlgorithm.algorithm`, the OID's content bytes.
fn signature_algorithm(der: &[u8]) -> Option<&[u8]> {
    let (certificate, _) = take(der, SEQUENCE)?;
    let (_tbs_certificate, rest) = take(certificate, SEQUENCE)?;
    let (algorithm_identifier, _) = take(rest, SEQUENCE)?;
    let (oid, _) = take(algorithm_identifier, OBJECT_IDENTIFIER)?;
    Some(oid)
}

/// The hash for a signature algorithm OID (content bytes).
fn digest_of(oid: &[u8]) -> Option<&'static digest::Algorithm> {
    // 1.2.840.113549.1.1.n: PKCS #1 RSA signatures.
    const PKCS1: &[u8] = &[0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
    // 1.2.840.10045.4.3.n: ECDSA with SHA-2.
    const ECDSA_SHA2: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x03];
    // 1.2.840.10045.4.1: ECDSA with SHA-1.
    const ECDSA_SHA1: &[u8] = &[0x2a, 0x86, 0x48, 0xce, 0x3d, 0x04, 0x01];
    if oid == ECDSA_SHA1 {
        return Some(&digest::SHA256);
    }
    let (&last, head) = oid.split_last()?;
    match (head, last) {
        // md5, sha1, sha256, sha384, sha512 WithRSAEncryption
        (PKCS1, 4 | 5 | 11) | (ECDSA_SHA2, 2) => Some(&digest::SHA256),
        (PKCS1, 12) | (ECDSA_SHA2, 3) => Some(&digest::SHA384),
        (PKCS1, 13) | (ECDSA_SHA2, 4) => Some(&digest::SHA512),
        _ => None,
    }
}

/// The contents of the DER element with `tag` at the start of `der`, and
/// what follows it.
fn take(der: &[u8], tag: u8) -> Option<(&[u8], &[u8])> {
    let (&first, rest) = der.split_first()?;
    let (&length_byte, mut rest) = rest.split_first().filter(|_| first == tag)?;
    let length = match length_byte {
        short @ 0..0x80 => usize::from(short),
        long => {
            let octets = usize::from(long & 0x7f);
            if octets == 0 || octets > 4 || rest.len() < octets {
                return None;
            }
            let (bytes, after) = rest.split_at(octets);
            rest = after;
            bytes
                .iter()
                .fold(0, |n, &byte| (n << 8) | usize::from(byte))
        }
    };
    (rest.len() >= length).then(|| rest.split_at(length))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn certificate(algorithm: &'static rcgen::SignatureAlgorithm) -> Vec<u8> {
        let key = rcgen::KeyPair::generate_for(algorithm).unwrap();
        let params = rcgen::CertificateParams::new(vec!["db.test".to_owned()]).unwrap();
        params.self_signed(&key).unwrap().der().to_vec()
    }

    #[test]
    fn the_hash_follows_the_signature_algorithm() {
        let p256 = certificate(&rcgen::PKCS_ECDSA_P256_SHA256);
        assert_eq!(
            server_end_point(&p256).unwrap(),
            digest::digest(&digest::SHA256, &p256).as_ref()
        );
        let p384 = certificate(&rcgen::PKCS_ECDSA_P384_SHA384);
        assert_eq!(
            server_end_point(&p384).unwrap(),
            digest::digest(&digest::SHA384, &p384).as_ref()
        );
        let ed25519 = certificate(&rcgen::PKCS_ED25519);
        assert_eq!(server_end_point(&ed25519), None);
    }

    #[test]
    fn rsa_oids_map_as_rfc_5929_says() {
        let rsa = |n: u8| {
            let mut oid = vec![0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01];
            oid.push(n);
            digest_of(&oid).map(digest::Algorithm::output_len)
        };
        // md5, sha1 -> SHA-256; sha256, sha384, sha512; PSS (10) has none.
        assert_eq!(rsa(4), Some(32));
        assert_eq!(rsa(5), Some(32));
        assert_eq!(rsa(11), Some(32));
        assert_eq!(rsa(12), Some(48));
        assert_eq!(rsa(13), Some(64));
        assert_eq!(rsa(10), None);
    }

    #[test]
    fn truncated_or_foreign_der_gives_no_binding_and_no_panic() {
        let p256 = certificate(&rcgen::PKCS_ECDSA_P256_SHA256);
        for cut in 0..p256.len() {
            assert_eq!(server_end_point(&p256[..cut]), None, "cut at {cut}");
        }
        assert_eq!(server_end_point(b"not a certificate"), None);
        assert_eq!(
            server_end_point(&[0x30, 0x84, 0xff, 0xff, 0xff, 0xff]),
            None
        );
    }
}
