//! HTTPS on the listener, with real handshakes: certificates made here by
//! a test CA (rcgen), a verifying client (reqwest on rustls), and raw
//! sockets for what a client library will not send.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::num::NonZeroUsize;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose,
};
use reqwest::StatusCode;
use serde_json::json;
use tempfile::TempDir;
use time::OffsetDateTime;
use user_service::config::{DatabaseUrl, Settings};
use user_service::startup::{Application, MAX_STREAMS_IN_FLIGHT, MAX_STREAMS_WAITING};
use user_service::tls::TlsFiles;

/// A test CA that issues server and client certificates.
struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

/// A certificate (PEM, chain with the CA) and its key (PEM), and the
/// leaf's DER to compare with what a connection saw.
struct Issued {
    chain_pem: String,
    key_pem: String,
    der: Vec<u8>,
}

impl Ca {
    fn new(name: &str) -> Self {
        let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.distinguished_name.push(DnType::CommonName, name);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        Self {
            issuer: CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap(),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }

    fn server(&self, not_after: OffsetDateTime) -> Issued {
        self.issue(
            vec!["localhost".into()],
            not_after,
            ExtendedKeyUsagePurpose::ServerAuth,
        )
    }

    fn client(&self) -> Issued {
        let in_a_year = OffsetDateTime::now_utc() + time::Duration::days(365);
        self.issue(
            vec!["client.test".into()],
            in_a_year,
            ExtendedKeyUsagePurpose::ClientAuth,
        )
    }

    fn issue(
        &self,
        names: Vec<String>,
        not_after: OffsetDateTime,
        usage: ExtendedKeyUsagePurpose,
    ) -> Issued {
        let mut params = CertificateParams::new(names).unwrap();
        params.not_before = OffsetDateTime::now_utc() - time::Duration::days(30);
        params.not_after = not_after;
        params.extended_key_usages = vec![usage];
        let key = KeyPair::generate().unwrap();
        let certificate = params.signed_by(&key, &self.issuer).unwrap();
        Issued {
            chain_pem: format!("{}{}", certificate.pem(), self.pem()),
            key_pem: key.serialize_pem(),
            der: certificate.der().to_vec(),
        }
    }
}

impl Issued {
    /// This certificate and key as a client's identity.
    fn identity(&self) -> reqwest::Identity {
        reqwest::Identity::from_pem(format!("{}{}", self.chain_pem, self.key_pem).as_bytes())
            .unwrap()
    }
}

fn in_a_year() -> OffsetDateTime {
    OffsetDateTime::now_utc() + time::Duration::days(365)
}

/// Writes `issued` where the server reads it; `files` names the pair.
fn install(issued: &Issued, files: &TlsFiles) {
    write_replacing(&files.cert, issued.chain_pem.as_bytes());
    write_replacing(&files.key, issued.key_pem.as_bytes());
}

/// Replaces a file the way deploy tools do: a new file renamed over it.
fn write_replacing(path: &Path, bytes: &[u8]) {
    let fresh = path.with_extension("new");
    std::fs::write(&fresh, bytes).unwrap();
    std::fs::rename(&fresh, path).unwrap();
}

struct TlsApp {
    port: u16,
    files: TlsFiles,
    dir: TempDir,
}

impl TlsApp {
    fn url(&self, path: &str) -> String {
        format!("https://localhost:{}{path}", self.port)
    }

    fn addr(&self) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], self.port))
    }

    /// A client that trusts `ca` only and speaks to this server.
    fn client(&self, ca: &Ca) -> reqwest::ClientBuilder {
        reqwest::Client::builder()
            .use_rustls_tls()
            .tls_built_in_root_certs(false)
            .add_root_certificate(reqwest::Certificate::from_pem(ca.pem().as_bytes()).unwrap())
            .tls_info(true)
            .no_proxy()
            .resolve("localhost", self.addr())
    }
}

fn tls_files(dir: &Path) -> TlsFiles {
    TlsFiles {
        cert: dir.join("cert.pem"),
        key: dir.join("key.pem"),
        client_ca: None,
    }
}

fn settings(dir: &Path, files: TlsFiles) -> Settings {
    Settings {
        bind: "127.0.0.1:0".parse().unwrap(),
        workers: NonZeroUsize::new(1).unwrap(),
        tls: Some(files),
        ..Settings::new(DatabaseUrl::Sqlite(dir.join("users.db")))
    }
}

/// A server on HTTPS with `issued`; `configure` may add to its files.
async fn spawn_tls(issued: &Issued, configure: impl FnOnce(&mut TlsFiles)) -> TlsApp {
    let dir = tempfile::tempdir().unwrap();
    let mut files = tls_files(dir.path());
    configure(&mut files);
    install(issued, &files);
    let app = Application::build(settings(dir.path(), files.clone()))
        .await
        .expect("the TLS app builds");
    let port = app.port();
    tokio::spawn(app.run_until_stopped());
    TlsApp { port, files, dir }
}

/// The leaf certificate the server presented on a new connection.
async fn served_certificate(app: &TlsApp, ca: &Ca) -> Vec<u8> {
    let client = app.client(ca).build().unwrap();
    peer_certificate(&client.get(app.url("/health")).send().await.unwrap())
}

/// The leaf certificate of the connection `response` came over.
fn peer_certificate(response: &reqwest::Response) -> Vec<u8> {
    response
        .extensions()
        .get::<reqwest::tls::TlsInfo>()
        .and_then(|info| info.peer_certificate())
        .expect("TLS info")
        .to_vec()
}

/// The gauge of the serving certificate's expiry.
const EXPIRY: &str = "user_service_tls_certificate_expiry_timestamp_seconds";

/// Waits (at most 10 s) until new connections see `expected`.
async fn wait_for_certificate(app: &TlsApp, ca: &Ca, expected: &[u8], what: &str) {
    let deadline = Instant::now() + Duration::from_secs(10);
    while served_certificate(app, ca).await != expected {
        assert!(
            Instant::now() < deadline,
            "{what}: still the old certificate"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn metric(app: &TlsApp, ca: &Ca, name: &str) -> f64 {
    metric_over(app, &app.client(ca).build().unwrap(), name).await
}

async fn metric_over(app: &TlsApp, client: &reqwest::Client, name: &str) -> f64 {
    let response = client.get(app.url("/metrics")).send().await.unwrap();
    let text = response.text().await.unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(name)?.trim().parse().ok())
        .unwrap_or_else(|| panic!("{name} in:\n{text}"))
}

#[tokio::test]
async fn a_user_round_trip_over_https_with_hsts() {
    let ca = Ca::new("round trip CA");
    let app = spawn_tls(&ca.server(in_a_year()), |_| {}).await;
    let client = app.client(&ca).build().unwrap();

    let created = client
        .post(app.url("/users"))
        .json(&json!({"email": "tls@example.com", "name": "Tee Ell"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    // The client offers h2 and http/1.1 by ALPN; the server picks h2.
    assert_eq!(created.version(), reqwest::Version::HTTP_2);
    assert_eq!(
        created.headers()["strict-transport-security"],
        "max-age=31536000"
    );
    let user: serde_json::Value = created.json().await.unwrap();
    let read = client
        .get(app.url(&format!("/users/{}", user["id"].as_str().unwrap())))
        .send()
        .await
        .unwrap();
    assert_eq!(read.status(), StatusCode::OK);
    assert_eq!(read.json::<serde_json::Value>().await.unwrap(), user);

    let page = client.get(app.url("/")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    assert!(page.text().await.unwrap().contains("<html"));
}

/// A client that offers only `http/1.1` by ALPN is served HTTP/1.1 on the
/// same port.
#[tokio::test]
async fn a_client_without_http2_is_served_http_1_1() {
    let ca = Ca::new("HTTP/1.1 CA");
    let app = spawn_tls(&ca.server(in_a_year()), |_| {}).await;
    let client = app.client(&ca).http1_only().build().unwrap();

    let created = client
        .post(app.url("/users"))
        .json(&json!({"email": "h1@example.com", "name": "Aitch One"}))
        .send()
        .await
        .unwrap();
    assert_eq!(created.status(), StatusCode::CREATED);
    assert_eq!(created.version(), reqwest::Version::HTTP_11);
    assert_eq!(
        created.headers()["strict-transport-security"],
        "max-age=31536000"
    );
}

/// Requests on one HTTP/2 connection run side by side, each answered on
/// its own stream.
#[tokio::test]
async fn many_requests_share_one_http2_connection() {
    let ca = Ca::new("HTTP/2 streams CA");
    let app = spawn_tls(&ca.server(in_a_year()), |_| {}).await;
    let client = app.client(&ca).http2_prior_knowledge().build().unwrap();

    let creates = (0..20).map(|i| {
        client
            .post(app.url("/users"))
            .json(&json!({"email": format!("stream{i}@example.com"), "name": "Stream"}))
            .send()
    });
    for created in futures::future::join_all(creates).await {
        let created = created.unwrap();
        assert_eq!(created.version(), reqwest::Version::HTTP_2);
        assert_eq!(created.status(), StatusCode::CREATED);
    }
    let listed = client
        .get(app.url("/users?limit=100"))
        .send()
        .await
        .unwrap();
    let listed: serde_json::Value = listed.json().await.unwrap();
    assert_eq!(listed.as_array().unwrap().len(), 20, "{listed}");
    assert_eq!(
        metric(&app, &ca, "user_service_tls_handshakes_completed_total").await,
        // This client's one connection, and `metric`'s own.
        2.0
    );
}

/// An HTTP/2 client whose flow-control windows are the protocol's minimum
/// (64 KiB): two unread ~30 KB bodies fill its connection, so the server
/// holds the rest of the responses unsent until the client reads.
fn slow_reading_http2_client(app: &TlsApp, ca: &Ca) -> reqwest::Client {
    app.client(ca)
        .http2_prior_knowledge()
        .http2_initial_stream_window_size(65_535)
        .http2_initial_connection_window_size(65_535)
        .build()
        .unwrap()
}

/// One HTTP/2 connection has at most 100 requests in flight: with the
/// client's flow-control window nearly full, the responses' bodies wait
/// unsent, each holding its place, and the requests beyond wait for one
/// instead of being answered. Once the bodies are read, every waiting
/// request is served; none is refused.
#[tokio::test]
async fn an_http2_connection_has_at_most_100_requests_in_flight() {
    let ca = Ca::new("HTTP/2 limit CA");
    let app = spawn_tls(&ca.server(in_a_year()), |_| {}).await;
    let client = slow_reading_http2_client(&app, &ca);

    // The OpenAPI document is ~30 KB: two fill the connection's window.
    let sent: Vec<_> = (0..150)
        .map(|_| tokio::spawn(client.get(app.url("/openapi.json")).send()))
        .collect();
    let deadline = Instant::now() + Duration::from_secs(20);
    while sent.iter().filter(|s| s.is_finished()).count() < MAX_STREAMS_IN_FLIGHT {
        assert!(Instant::now() < deadline, "100 requests were not answered");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    // Give the server the chance to answer more than it should.
    tokio::time::sleep(Duration::from_millis(500)).await;
    let answered = sent.iter().filter(|s| s.is_finished()).count();
    // 100 held, and perhaps a few that were sent whole before the window
    // filled and so made room.
    assert!((100..=105).contains(&answered), "{answered} answered");

    // Read all at once: read one by one, a body could wait for window
    // that the unread others hold.
    let bodies = futures::future::join_all(sent.into_iter().map(|send| async {
        let response = send.await.unwrap().unwrap();
        (response.status(), response.bytes().await.unwrap())
    }))
    .await;
    for (status, body) in bodies {
        assert_eq!(status, StatusCode::OK);
        let doc: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert!(doc["openapi"].is_string());
    }
    let again = client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(again.status(), StatusCode::OK);
    assert_eq!(again.version(), reqwest::Version::HTTP_2);
}

/// A flood of streams is bounded too: with 100 requests held and 1,000
/// waiting on one connection, the ones beyond are refused at once with 429
/// and `Retry-After` (and HSTS, as every TLS answer); the held and waiting
/// ones are all served.
#[tokio::test]
async fn a_flood_of_http2_streams_beyond_those_waiting_is_refused() {
    let ca = Ca::new("HTTP/2 flood CA");
    let app = spawn_tls(&ca.server(in_a_year()), |_| {}).await;
    let client = slow_reading_http2_client(&app, &ca);
    let flood = MAX_STREAMS_IN_FLIGHT + MAX_STREAMS_WAITING + 50;

    let sent: Vec<_> = (0..flood)
        .map(|_| tokio::spawn(client.get(app.url("/openapi.json")).send()))
        .collect();
    let bodies = futures::future::join_all(sent.into_iter().map(|send| async {
        let response = send.await.unwrap().unwrap();
        let headers = response.headers().clone();
        (response.status(), headers, response.bytes().await.unwrap())
    }))
    .await;
    let refused: Vec<_> = bodies
        .iter()
        .filter(|(status, ..)| *status == StatusCode::TOO_MANY_REQUESTS)
        .collect();
    let served = bodies
        .iter()
        .filter(|(status, ..)| *status == StatusCode::OK)
        .count();
    assert_eq!(refused.len() + served, flood);
    // A few may have been sent whole before the window filled.
    assert!(
        (45..=50).contains(&refused.len()),
        "{} refused",
        refused.len()
    );
    for (_, headers, body) in refused {
        assert_eq!(headers["retry-after"], "1");
        assert_eq!(headers["strict-transport-security"], "max-age=31536000");
        assert!(std::str::from_utf8(body).unwrap().contains("rate_limited"));
    }
}

/// A plain-HTTP server sends no HSTS: it would be a promise it cannot keep.
#[tokio::test]
async fn plain_http_sends_no_hsts() {
    let app = crate::helpers::spawn_app().await;
    let response = app.get("/health").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response
        .headers()
        .get("strict-transport-security")
        .is_none());
}

/// What the server sends back to `bytes` on a raw connection, until it
/// closes or 5 s pass.
fn raw_exchange(addr: SocketAddr, bytes: &[u8]) -> Vec<u8> {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    stream.write_all(bytes).unwrap();
    let mut answer = Vec::new();
    let _ = stream.read_to_end(&mut answer);
    answer
}

/// A TLS 1.1 ClientHello: no `supported_versions` extension, so it offers
/// nothing newer.
fn tls11_client_hello() -> Vec<u8> {
    let mut hello = vec![0x03, 0x02];
    hello.extend([0x42; 32]); // random
    hello.push(0); // no session id
    hello.extend([0x00, 0x04, 0xc0, 0x13, 0x00, 0x2f]); // two CBC suites
    hello.extend([0x01, 0x00]); // null compression
    let mut handshake = vec![0x01, 0x00, 0x00, hello.len() as u8];
    handshake.extend(hello);
    let mut record = vec![0x16, 0x03, 0x01, 0x00, handshake.len() as u8];
    record.extend(handshake);
    record
}

#[tokio::test]
async fn tls_1_1_garbage_and_stalled_handshakes_are_closed_plain_http_is_told_to_use_https_and_serving_goes_on(
) {
    let ca = Ca::new("bad input CA");
    let app = spawn_tls(&ca.server(in_a_year()), |_| {}).await;
    let addr = app.addr();
    let answers = tokio::task::spawn_blocking(move || {
        let tls11 = raw_exchange(addr, &tls11_client_hello());
        let plain = raw_exchange(addr, b"GET /health HTTP/1.1\r\nHost: localhost\r\n\r\n");
        let garbage = raw_exchange(addr, &[0x16, 0x03, 0x01, 0xff, 0xff, 0, 1, 2, 3]);
        // Connects and says nothing: closed at the handshake timeout.
        let started = Instant::now();
        let stalled = raw_exchange(addr, &[]);
        (tls11, plain, garbage, stalled, started.elapsed())
    })
    .await
    .unwrap();
    let (tls11, plain, garbage, stalled, stalled_for) = answers;
    // An alert (content type 21) and the end, never a ServerHello (22).
    assert!(tls11.is_empty() || tls11[0] == 0x15, "TLS 1.1: {tls11:?}");
    assert!(!tls11.contains(&0x16), "TLS 1.1 got a handshake: {tls11:?}");
    // Plain HTTP is told, in plain HTTP, to use HTTPS; nothing is served.
    let plain = String::from_utf8_lossy(&plain);
    let (head, body) = plain.split_once("\r\n\r\n").expect("a whole answer");
    assert!(head.starts_with("HTTP/1.1 400 Bad Request\r\n"), "{plain}");
    let error: serde_json::Value = serde_json::from_str(body).unwrap();
    assert_eq!(error["code"], "bad_request", "{plain}");
    assert!(
        error["error"].as_str().unwrap().contains("https://"),
        "{plain}"
    );
    assert!(
        garbage.is_empty() || garbage[0] == 0x15,
        "garbage: {garbage:?}"
    );
    assert!(stalled.is_empty(), "stalled: {stalled:?}");
    assert!(
        stalled_for < Duration::from_secs(5),
        "stalled for {stalled_for:?}"
    );

    let client = app.client(&ca).build().unwrap();
    let response = client.get(app.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    // All four counted, though only TLS 1.1 sent a ClientHello.
    let failed = metric_over(&app, &client, "user_service_tls_handshakes_failed_total").await;
    assert_eq!(failed, 4.0);
}

/// Start-up with `cert` (none: no file) and `key` in the files fails, before
/// the database is touched; returns the message, which must hold `says`.
async fn assert_startup_error(cert: Option<&str>, key: &str, says: &[&str]) {
    let dir = tempfile::tempdir().unwrap();
    let files = tls_files(dir.path());
    if let Some(cert) = cert {
        write_replacing(&files.cert, cert.as_bytes());
    }
    write_replacing(&files.key, key.as_bytes());
    let result = Application::build(settings(dir.path(), files)).await;
    let error = result.err().expect("start-up fails").to_string();
    assert!(
        !dir.path().join("users.db").exists(),
        "the database was touched before TLS was checked: {error}"
    );
    for words in says {
        assert!(error.contains(words), "{words:?} not in: {error}");
    }
}

#[tokio::test]
async fn every_bad_certificate_or_key_is_a_startup_error_naming_the_file() {
    let ca = Ca::new("start-up CA");
    let good = ca.server(in_a_year());
    let other = ca.server(in_a_year());
    let expired = ca.server(OffsetDateTime::now_utc() - time::Duration::days(1));
    let (cert, key) = (Some(good.chain_pem.as_str()), good.key_pem.as_str());

    assert_startup_error(None, key, &["cert.pem", "cannot read"]).await;
    let garbage = Some("this is not PEM\n");
    assert_startup_error(garbage, key, &["cert.pem", "no PEM certificate"]).await;
    assert_startup_error(cert, &good.chain_pem, &["key.pem", "no PEM private key"]).await;
    assert_startup_error(cert, &other.key_pem, &["key.pem", "does not belong"]).await;
    let expired_cert = Some(expired.chain_pem.as_str());
    assert_startup_error(expired_cert, &expired.key_pem, &["cert.pem", "expired"]).await;
}

/// SEC1 (`EC PRIVATE KEY`) keys work as PKCS#8 ones do: the SEC1 key is
/// the octet string inside the PKCS#8 structure.
#[tokio::test]
async fn a_sec1_key_is_served_like_a_pkcs8_one() {
    let ca = Ca::new("SEC1 CA");
    let mut issued = ca.server(in_a_year());
    let pkcs8 = pem_body(&issued.key_pem);
    issued.key_pem = pem("EC PRIVATE KEY", &sec1_from_pkcs8(&pkcs8));
    let app = spawn_tls(&issued, |_| {}).await;
    assert_eq!(served_certificate(&app, &ca).await, issued.der);
}

fn pem_body(pem: &str) -> Vec<u8> {
    use base64::Engine as _;
    let body: String = pem.lines().filter(|l| !l.starts_with("-----")).collect();
    base64::engine::general_purpose::STANDARD
        .decode(body)
        .unwrap()
}

fn pem(label: &str, der: &[u8]) -> String {
    use base64::Engine as _;
    let body = base64::engine::general_purpose::STANDARD.encode(der);
    let lines: Vec<&str> = body
        .as_bytes()
        .chunks(64)
        .map(|c| std::str::from_utf8(c).unwrap())
        .collect();
    format!(
        "-----BEGIN {label}-----\n{}\n-----END {label}-----\n",
        lines.join("\n")
    )
}

/// PrivateKeyInfo ::= SEQUENCE { version, algorithm, privateKey OCTET STRING }
fn sec1_from_pkcs8(der: &[u8]) -> Vec<u8> {
    fn split(der: &[u8]) -> (u8, &[u8], &[u8]) {
        let tag = der[0];
        let (length, header) = match der[1] {
            n if n < 0x80 => (usize::from(n), 2),
            0x81 => (usize::from(der[2]), 3),
            _ => (usize::from(der[2]) << 8 | usize::from(der[3]), 4),
        };
        (tag, &der[header..header + length], &der[header + length..])
    }
    let (_, info, _) = split(der);
    let (_, _, rest) = split(info); // version
    let (_, _, rest) = split(rest); // algorithm
    let (tag, key, _) = split(rest);
    assert_eq!(tag, 0x04, "privateKey is an OCTET STRING");
    key.to_vec()
}

#[tokio::test]
async fn a_changed_file_is_served_to_new_connections_and_a_bad_one_keeps_the_old() {
    let ca = Ca::new("reload CA");
    let first = ca.server(in_a_year());
    let app = spawn_tls(&first, |_| {}).await;
    assert_eq!(served_certificate(&app, &ca).await, first.der);
    let expiry = metric(&app, &ca, EXPIRY).await;
    assert!(
        (expiry - in_a_year().unix_timestamp() as f64).abs() < 120.0,
        "{expiry}"
    );

    // An open connection keeps the certificate it shook hands with.
    let kept = app.client(&ca).build().unwrap();
    assert_eq!(
        kept.get(app.url("/health")).send().await.unwrap().status(),
        200
    );

    let second = ca.server(in_a_year() + time::Duration::days(30));
    install(&second, &app.files);
    wait_for_certificate(&app, &ca, &second.der, "after the files changed").await;
    let expiry = metric(&app, &ca, EXPIRY).await;
    assert!(
        expiry > in_a_year().unix_timestamp() as f64 + 86_400.0 * 29.0,
        "{expiry}"
    );
    let reused = kept.get(app.url("/health")).send().await.unwrap();
    assert_eq!(
        peer_certificate(&reused),
        first.der,
        "the open connection was not kept"
    );

    // Garbage, then a key of another certificate: both refused, the
    // second certificate serves on, and each counts as a failed reload.
    write_replacing(&app.files.cert, b"-----BEGIN CERTIFICATE-----\nhalf writ");
    tokio::time::sleep(Duration::from_millis(2500)).await;
    let other = ca.server(in_a_year());
    write_replacing(&app.files.cert, second.chain_pem.as_bytes());
    write_replacing(&app.files.key, other.key_pem.as_bytes());
    tokio::time::sleep(Duration::from_millis(2500)).await;
    assert_eq!(served_certificate(&app, &ca).await, second.der);
    let failed = metric(
        &app,
        &ca,
        "user_service_tls_reloads_total{result=\"error\"}",
    )
    .await;
    assert!(failed >= 2.0, "{failed} failed reloads counted");
    let ok = metric(&app, &ca, "user_service_tls_reloads_total{result=\"ok\"}").await;
    assert!(ok >= 1.0, "{ok} reloads counted");

    // Fixed: served at once.
    let third = ca.server(in_a_year());
    install(&third, &app.files);
    wait_for_certificate(&app, &ca, &third.der, "after the fix").await;
    drop(app.dir);
}

#[tokio::test]
async fn with_a_client_ca_only_clients_with_its_certificates_get_in() {
    let ca = Ca::new("server CA");
    let clients = Ca::new("client CA");
    let ca_file = PathBuf::from("client-ca.pem");
    let app = spawn_tls(&ca.server(in_a_year()), |files| {
        files.client_ca = Some(files.cert.with_file_name(&ca_file));
        std::fs::write(files.client_ca.as_ref().unwrap(), clients.pem()).unwrap();
    })
    .await;

    let anonymous = app.client(&ca).build().unwrap();
    assert!(anonymous.get(app.url("/health")).send().await.is_err());

    let stranger = Ca::new("another CA").client();
    let wrong = app
        .client(&ca)
        .identity(stranger.identity())
        .build()
        .unwrap();
    assert!(wrong.get(app.url("/health")).send().await.is_err());

    let member = clients.client();
    let known = app.client(&ca).identity(member.identity()).build().unwrap();
    let response = known.get(app.url("/health")).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);

    // The two refused handshakes were counted, not logged.
    let started = metric_over(&app, &known, "user_service_tls_handshakes_started_total").await;
    let completed = metric_over(&app, &known, "user_service_tls_handshakes_completed_total").await;
    let failed = metric_over(&app, &known, "user_service_tls_handshakes_failed_total").await;
    assert!(completed >= 1.0, "{completed} completed");
    assert!(
        started - completed >= 2.0,
        "{started} started, {completed} completed"
    );
    assert_eq!(failed, 2.0);
}
