//! HTTP fuzzing of the built binary: random and malformed requests (methods,
//! paths, query strings, headers, bodies, huge and deeply nested JSON,
//! invalid UTF-8, NUL bytes) mixed with valid creates. Checks: never a 5xx
//! (503 aside), every JSON error has the API's shape, the process never
//! panics or dies, and afterwards the database holds exactly the users whose
//! creation was acknowledged.
//!
//! `FUZZ_CASES` sets the number of requests (default 2,000; `--long` runs
//! use e.g. 100,000); `FUZZ_SEED` replays a run.

use std::collections::HashSet;
use std::time::Duration;

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::server::Server;

/// xorshift64*: small, deterministic, good enough to pick cases.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    fn pick<'a>(&mut self, items: &[&'a str]) -> &'a str {
        items[self.below(items.len())]
    }

    fn bytes(&mut self, len: usize) -> Vec<u8> {
        (0..len).map(|_| self.next() as u8).collect()
    }
}

const METHODS: &[&str] = &[
    "GET", "POST", "PATCH", "DELETE", "PUT", "HEAD", "OPTIONS", "TRACE", "CONNECT", "BREW", "get",
];
const PATHS: &[&str] = &[
    "/users",
    "/users/",
    "/users/0193a5c4-7d1e-7cc2-9b1e-4f7e0a8b9c10",
    "/users/not-a-uuid",
    "/users/%00",
    "/users/..%2f..%2fetc%2fpasswd",
    "/users/0193a5c4-7d1e-7cc2-9b1e-4f7e0a8b9c10/x",
    "/health",
    "/ready",
    "/metrics",
    "/openapi.json",
    "/",
    "/static/app.js",
    "/static/../Cargo.toml",
    "//users",
    "/USERS",
    "*",
];
const QUERIES: &[&str] = &[
    "",
    "?limit=0",
    "?limit=-1",
    "?limit=99999999999999999999",
    "?limit=abc",
    "?cursor=AAAA",
    "?cursor=%ff%fe",
    "?email=%00@x.y",
    "?email=a@b.co&email=c@d.co",
    "?limit=5&cursor=",
    "?%zz",
];
const CONTENT_TYPES: &[&str] = &[
    "application/json",
    "application/json; charset=utf-8",
    "text/plain",
    "application/x-www-form-urlencoded",
    "application/json; charset=latin1",
    "",
];

/// A request body: valid, near-valid or garbage.
fn body(rng: &mut Rng, case: usize) -> Vec<u8> {
    match rng.below(12) {
        0 => format!(r#"{{"email":"fuzz{case}@example.com","name":"Fuzz {case}"}}"#).into_bytes(),
        1 => "[".repeat(rng.below(20_000) + 1).into_bytes(),
        2 => format!(
            r#"{{"email":"{}","name":"x"}}"#,
            "a".repeat(rng.below(70_000))
        )
        .into_bytes(),
        3 => {
            let len = rng.below(512);
            rng.bytes(len)
        }
        4 => b"{\"email\":\"a\x00b@example.com\",\"name\":\"nul\"}".to_vec(),
        5 => b"{\"email\":\"\xff\xfe@example.com\",\"name\":\"bad utf8\"}".to_vec(),
        6 => br#"{"email":null,"name":null}"#.to_vec(),
        7 => br#"{"email":"a@b.co","name":"x""#.to_vec(),
        8 => br#"["email","name"]"#.to_vec(),
        9 => format!(r#"{{"name":"{}"}}"#, "\u{202e}\u{0}".repeat(rng.below(100))).into_bytes(),
        10 => br#"{"email":"  MiXeD@Example.COM ","name":"  spaced  ","id":"x","created_at":1}"#
            .to_vec(),
        _ => Vec::new(),
    }
}

/// One raw request on its own connection; the status and body, or `None`
/// when the server closed without an HTTP answer.
async fn send(port: u16, request: &[u8]) -> Option<(u16, Vec<u8>)> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    let _ = stream.write_all(request).await;
    let mut answer = Vec::new();
    tokio::time::timeout(Duration::from_secs(15), stream.read_to_end(&mut answer))
        .await
        .ok()?
        .ok()?;
    let split = answer.windows(4).position(|w| w == b"\r\n\r\n")?;
    let head = std::str::from_utf8(&answer[..split]).ok()?;
    let status = head.split_whitespace().nth(1)?.parse().ok()?;
    let mut body = answer[split + 4..].to_vec();
    if head
        .to_ascii_lowercase()
        .contains("transfer-encoding: chunked")
    {
        body = dechunk(&body);
    }
    Some((status, body))
}

fn dechunk(mut data: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    while let Some(end) = data.windows(2).position(|w| w == b"\r\n") {
        let size = std::str::from_utf8(&data[..end])
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
            .unwrap_or(0);
        if size == 0 || data.len() < end + 2 + size {
            break;
        }
        out.extend_from_slice(&data[end + 2..end + 2 + size]);
        data = &data[(end + 4 + size).min(data.len())..];
    }
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn random_and_malformed_requests_never_break_the_service_or_its_data() {
    let cases: usize = std::env::var("FUZZ_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(2_000);
    let seed: u64 = std::env::var("FUZZ_SEED")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
                | 1
        });
    eprintln!("fuzz: {cases} cases, FUZZ_SEED={seed}");
    let mut rng = Rng(seed);
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("users.db"), &[]);
    let port: u16 = server.address.rsplit(':').next().unwrap().parse().unwrap();

    let mut acknowledged = HashSet::new();
    let mut no_answer = 0;
    for case in 0..cases {
        // One in five is a valid create, so there is data to keep safe.
        let valid = rng.below(5) == 0;
        let method = if valid { "POST" } else { rng.pick(METHODS) };
        let path = if rng.below(10) == 0 {
            format!(
                "/users/{}",
                String::from_utf8_lossy(&{
                    let len = rng.below(40);
                    rng.bytes(len)
                })
                .replace(['\r', '\n', ' '], "%20")
            )
        } else {
            rng.pick(PATHS).to_owned()
        };
        let path = if valid { "/users".to_owned() } else { path };
        let query = if valid { "" } else { rng.pick(QUERIES) };
        let content_type = if valid {
            "application/json"
        } else {
            rng.pick(CONTENT_TYPES)
        };
        let body = if valid {
            format!(r#"{{"email":"valid{case}@example.com","name":"Valid {case}"}}"#).into_bytes()
        } else {
            body(&mut rng, case)
        };
        let mut request =
            format!("{method} {path}{query} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n")
                .into_bytes();
        if !content_type.is_empty() {
            request.extend_from_slice(format!("Content-Type: {content_type}\r\n").as_bytes());
        }
        match if valid { 7 } else { rng.below(8) } {
            0 => request.extend_from_slice(
                format!("X-Huge: {}\r\n", "h".repeat(rng.below(40_000))).as_bytes(),
            ),
            1 => request.extend_from_slice(b"X-Bytes: \xff\xfe\x00\r\n"),
            2 => request.extend_from_slice(b"Authorization: Bearer \x00\r\n"),
            3 => request.extend_from_slice(b"Content-Length: 99999999999999999999\r\n"),
            _ => {}
        }
        request.extend_from_slice(format!("Content-Length: {}\r\n\r\n", body.len()).as_bytes());
        request.extend_from_slice(&body);

        let Some((status, response)) = send(port, &request).await else {
            no_answer += 1;
            continue;
        };
        let case_text = format!("case {case}: {method} {path}{query} -> {status}");
        assert!(
            status < 500 || status == 503,
            "{case_text}: {}",
            String::from_utf8_lossy(&response)
        );
        if status >= 400 && response.first() == Some(&b'{') {
            let error: serde_json::Value = serde_json::from_slice(&response)
                .unwrap_or_else(|e| panic!("{case_text}: not JSON ({e})"));
            assert!(
                error["error"].is_string() && error["code"].is_string(),
                "{case_text}: {error}"
            );
        }
        if status == 201 {
            let user: serde_json::Value = serde_json::from_slice(&response).unwrap();
            acknowledged.insert(user["email"].as_str().unwrap().to_owned());
        }
    }
    eprintln!(
        "fuzz: {} users acknowledged, {no_answer} requests closed without an answer",
        acknowledged.len()
    );
    assert!(no_answer < cases / 4, "most requests get an HTTP answer");

    let client = crate::server::client();
    let health = client.get(server.url("/health")).send().await.unwrap();
    assert_eq!(health.status(), 200, "the process is alive and serving");
    let stored: HashSet<String> = server
        .list_all(&client)
        .await
        .iter()
        .map(|u| u["email"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        stored, acknowledged,
        "the database holds exactly the acknowledged users"
    );
    assert!(
        !server.log().iter().any(|l| l.contains("panicked")),
        "the server panicked"
    );
}
