//! The binary on HTTPS: its own readiness probe over TLS, and SIGHUP.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::server::{run, Server};

/// `wait-ready` against `address` for at most `timeout` seconds, over TLS
/// trusting `cert` when given.
fn wait_ready(address: &str, timeout: &str, cert: Option<&Path>) -> std::process::Output {
    let mut args = vec!["wait-ready", "--address", address, "--timeout", timeout];
    if let Some(cert) = cert {
        args.extend(["--tls-cert", cert.to_str().unwrap()]);
    }
    run(&args)
}

/// A self-signed certificate for `localhost` and 127.0.0.1 valid for a
/// year, and its key, written to `{name}.pem` and `{name}.key` in `dir`.
fn self_signed(dir: &Path, name: &str) {
    self_signed_for(dir, name, time::Duration::days(365));
}

fn self_signed_for(dir: &Path, name: &str, valid_for: time::Duration) {
    let key = rcgen::KeyPair::generate().unwrap();
    let mut params =
        rcgen::CertificateParams::new(vec!["localhost".to_owned(), "127.0.0.1".to_owned()])
            .unwrap();
    params.not_after = time::OffsetDateTime::now_utc() + valid_for;
    let certificate = params.self_signed(&key).unwrap();
    std::fs::write(dir.join(format!("{name}.pem")), certificate.pem()).unwrap();
    std::fs::write(dir.join(format!("{name}.key")), key.serialize_pem()).unwrap();
}

#[test]
fn wait_ready_speaks_https_with_the_service_certificate_and_sighup_reloads() {
    let dir = tempfile::tempdir().unwrap();
    self_signed(dir.path(), "cert");
    self_signed(dir.path(), "other");
    let cert = dir.path().join("cert.pem");
    let key = dir.path().join("cert.key");
    let mut server = Server::start(
        &dir.path().join("users.db"),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    assert!(server.address.starts_with("https://"), "{}", server.address);
    let address = server.address.trim_start_matches("https://").to_owned();

    let ready = wait_ready(&address, "10", Some(&cert));
    assert!(
        ready.status.success(),
        "{}",
        String::from_utf8_lossy(&ready.stderr)
    );

    // Another certificate than the one served: not trusted.
    let other = dir.path().join("other.pem");
    let wrong = wait_ready(&address, "1", Some(&other));
    let said = String::from_utf8_lossy(&wrong.stderr);
    assert!(
        !wrong.status.success() && said.contains("another certificate"),
        "{said}"
    );

    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = wait_ready(&address, "1", None);
    assert!(!plain.status.success());

    let status = Command::new("kill")
        .args(["-HUP", &server.child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let deadline = Instant::now() + Duration::from_secs(10);
    while !server
        .log()
        .iter()
        .any(|line| line.contains("reloaded the TLS certificate") && line.contains("(SIGHUP)"))
    {
        assert!(
            Instant::now() < deadline,
            "no reload on SIGHUP: {:#?}",
            server.log()
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    assert!(
        server.child.try_wait().unwrap().is_none(),
        "SIGHUP ended the server"
    );
    let again = wait_ready(&address, "10", Some(&cert));
    assert!(
        again.status.success(),
        "{}",
        String::from_utf8_lossy(&again.stderr)
    );
    assert!(server.terminate().success());
}

/// A CA (`ca.pem`) and a client certificate it signed (`client.pem`,
/// `client.key`) in `dir`.
fn client_ca_and_certificate(dir: &Path) {
    let ca_key = rcgen::KeyPair::generate().unwrap();
    let mut ca = rcgen::CertificateParams::new(Vec::<String>::new()).unwrap();
    ca.is_ca = rcgen::IsCa::Ca(rcgen::BasicConstraints::Unconstrained);
    ca.key_usages = vec![rcgen::KeyUsagePurpose::KeyCertSign];
    let ca = rcgen::CertifiedIssuer::self_signed(ca, ca_key).unwrap();
    let key = rcgen::KeyPair::generate().unwrap();
    let mut client = rcgen::CertificateParams::new(vec!["probe.test".to_owned()]).unwrap();
    client.extended_key_usages = vec![rcgen::ExtendedKeyUsagePurpose::ClientAuth];
    let client = client.signed_by(&key, &ca).unwrap();
    std::fs::write(dir.join("ca.pem"), ca.pem()).unwrap();
    std::fs::write(dir.join("client.pem"), client.pem()).unwrap();
    std::fs::write(dir.join("client.key"), key.serialize_pem()).unwrap();
}

#[test]
fn wait_ready_presents_a_client_certificate_to_a_service_that_asks_for_one() {
    let dir = tempfile::tempdir().unwrap();
    self_signed(dir.path(), "cert");
    client_ca_and_certificate(dir.path());
    let path = |name: &str| dir.path().join(name).to_str().unwrap().to_owned();
    let server = Server::start(
        &dir.path().join("users.db"),
        &[
            "--tls-cert",
            &path("cert.pem"),
            "--tls-key",
            &path("cert.key"),
            "--tls-client-ca",
            &path("ca.pem"),
        ],
    );
    let address = server.address.trim_start_matches("https://").to_owned();

    let anonymous = wait_ready(&address, "1", Some(&dir.path().join("cert.pem")));
    assert!(!anonymous.status.success());

    let mut args = vec!["wait-ready", "--address", &address, "--timeout", "10"];
    let files = [path("cert.pem"), path("client.pem"), path("client.key")];
    args.extend(["--tls-cert", &files[0]]);
    args.extend([
        "--tls-client-cert",
        &files[1],
        "--tls-client-key",
        &files[2],
    ]);
    let ready = run(&args);
    assert!(
        ready.status.success(),
        "{}",
        String::from_utf8_lossy(&ready.stderr)
    );

    // A key that is not the certificate's: refused at once, naming it.
    let last = args.len() - 1;
    args[last] = &files[0];
    let started = Instant::now();
    let bad = run(&args);
    let said = String::from_utf8_lossy(&bad.stderr);
    assert!(!bad.status.success());
    assert!(
        said.contains("client certificate") && said.contains("cert.pem"),
        "{said}"
    );
    assert!(started.elapsed() < Duration::from_secs(5), "{said}");
}

#[test]
fn a_certificate_that_expires_within_14_days_starts_with_a_warning() {
    let dir = tempfile::tempdir().unwrap();
    self_signed_for(dir.path(), "soon", time::Duration::days(3));
    let cert = dir.path().join("soon.pem");
    let key = dir.path().join("soon.key");
    let server = Server::start(
        &dir.path().join("users.db"),
        &[
            "--tls-cert",
            cert.to_str().unwrap(),
            "--tls-key",
            key.to_str().unwrap(),
        ],
    );
    let warned = |log: &[String]| {
        log.iter().any(|line| {
            line.contains("WARN") && line.contains("soon.pem") && line.contains("expires in 2 days")
        })
    };
    let deadline = Instant::now() + Duration::from_secs(5);
    while !warned(&server.log()) {
        assert!(Instant::now() < deadline, "no warning: {:#?}", server.log());
        std::thread::sleep(Duration::from_millis(50));
    }
}
