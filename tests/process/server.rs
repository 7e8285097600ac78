//! Starting the real binary and talking to it.

use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, ChildStderr, Command, Output, Stdio};
use std::sync::{mpsc, Arc, Mutex};
use std::time::Duration;

use serde_json::{json, Value};

pub const BIN: &str = env!("CARGO_BIN_EXE_user-service");

/// A running `user-service serve` on a random loopback port.
pub struct Server {
    pub child: Child,
    pub address: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts the binary on `db` and waits until it listens.
    pub fn start(db: &Path, extra: &[&str]) -> Server {
        let (mut server, stderr) = Self::spawn(db, extra);
        let (port_tx, port_rx) = mpsc::channel();
        let lines = Arc::clone(&server.log);
        std::thread::spawn(move || {
            // Keep draining stderr so the server never blocks on a full pipe.
            for line in stderr.lines().map_while(Result::ok) {
                if let Some(port) = port_in(&line) {
                    let _ = port_tx.send(port);
                }
                if let Ok(mut lines) = lines.lock() {
                    lines.push(line);
                }
            }
        });
        server.address = port_rx
            .recv_timeout(Duration::from_secs(20))
            .expect("the server reports its port");
        server
    }

    /// Like [`Server::start`], but stderr is read only up to the line with
    /// the port and then left unread (the pipe fills); returns it.
    pub fn start_with_stderr_unread(db: &Path, extra: &[&str]) -> (Server, BufReader<ChildStderr>) {
        let (mut server, mut stderr) = Self::spawn(db, extra);
        let mut line = String::new();
        while stderr.read_line(&mut line).expect("stderr") > 0 {
            if let Some(address) = port_in(&line) {
                server.address = address;
                return (server, stderr);
            }
            line.clear();
        }
        panic!("the server exited without reporting its port");
    }

    fn spawn(db: &Path, extra: &[&str]) -> (Server, BufReader<ChildStderr>) {
        let mut child = Command::new(BIN)
            .args([
                "serve",
                "--bind",
                "127.0.0.1:0",
                "--workers",
                "2",
                "--database-url",
            ])
            .arg(db)
            .args(extra)
            .env("RUST_LOG", "info")
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("the binary starts");
        let stderr = BufReader::new(child.stderr.take().expect("stderr is piped"));
        let server = Server {
            child,
            address: String::new(),
            log: Arc::new(Mutex::new(Vec::new())),
        };
        (server, stderr)
    }

    /// The server's stderr lines so far.
    pub fn log(&self) -> Vec<String> {
        self.log
            .lock()
            .map(|lines| lines.clone())
            .unwrap_or_default()
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.address, path)
    }

    /// SIGKILL: no chance to flush or clean up.
    pub fn kill_9(&mut self) {
        self.child.kill().expect("kill -9");
        self.child.wait().expect("reaped");
    }

    /// SIGTERM, then waits for the exit status.
    pub fn terminate(&mut self) -> std::process::ExitStatus {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill -TERM");
        assert!(status.success());
        self.child.wait().expect("the server exits")
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .expect("http client")
}

/// The address in the server's "serving on http://127.0.0.1:PORT" line
/// (or `https://`).
fn port_in(line: &str) -> Option<String> {
    let rest = line.split("serving on ").nth(1)?;
    let (scheme, rest) = rest.split_once("://127.0.0.1:")?;
    let port: String = rest.chars().take_while(char::is_ascii_digit).collect();
    Some(format!("{scheme}://127.0.0.1:{port}"))
}

/// Creates a user; returns its id when the server acknowledged it (201).
pub async fn create(client: &reqwest::Client, base: &str, email: &str) -> Option<String> {
    let response = client
        .post(format!("{base}/users"))
        .json(&json!({"email": email, "name": "Writer"}))
        .send()
        .await
        .ok()?;
    if response.status() != reqwest::StatusCode::CREATED {
        return None;
    }
    let user: Value = response.json().await.ok()?;
    user["id"].as_str().map(str::to_owned)
}

/// Runs the binary to completion with `args`.
pub fn run(args: &[&str]) -> Output {
    Command::new(BIN)
        .args(args)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::null())
        .output()
        .expect("the binary runs")
}

/// `PRAGMA integrity_check` of the file at `db`.
pub fn integrity(db: &Path) -> String {
    let conn = rusqlite::Connection::open(db).expect("open for check");
    conn.query_row("PRAGMA integrity_check", [], |row| row.get(0))
        .expect("integrity_check")
}

pub fn count_users(db: &Path) -> i64 {
    let conn = rusqlite::Connection::open(db).expect("open for count");
    conn.query_row("SELECT COUNT(*) FROM users", [], |row| row.get(0))
        .expect("count")
}

impl Server {
    /// Every user, following `Link: rel="next"` from the first page; each
    /// page must answer 200 (reads re-validate every stored row).
    pub async fn list_all(&self, client: &reqwest::Client) -> Vec<Value> {
        let mut users = Vec::new();
        let mut next = Some("/users?limit=1000".to_owned());
        while let Some(path) = next {
            let response = client
                .get(self.url(&path))
                .send()
                .await
                .expect("GET a page");
            assert_eq!(response.status(), 200, "page {path}");
            next = response
                .headers()
                .get("link")
                .and_then(|l| l.to_str().ok())
                .and_then(|l| l.split(['<', '>']).nth(1).map(str::to_owned));
            users.extend(response.json::<Vec<Value>>().await.expect("page JSON"));
        }
        users
    }
}
