//! A server whose stderr nobody reads keeps serving: log lines wait in a
//! bounded buffer (and are dropped past it), never blocking a request.

use std::io::{BufRead, BufReader, Read};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::server::{client, BIN};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_answered_while_nobody_reads_stderr() {
    let dir = tempfile::tempdir().unwrap();
    let mut child = Command::new(BIN)
        .args(["serve", "--bind", "127.0.0.1:0", "--workers", "2"])
        .arg("--database-url")
        .arg(dir.path().join("users.db"))
        .env("RUST_LOG", "info")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap();
    let mut child = KillOnDrop(Some(child));
    // Read up to the line with the port, then stop reading: the pipe
    // (64 KiB) fills after a few hundred request lines.
    let mut stderr = BufReader::new(stderr);
    let mut port = String::new();
    let mut line = String::new();
    while port.is_empty() && stderr.read_line(&mut line).unwrap() > 0 {
        if let Some(rest) = line.split("serving on http://127.0.0.1:").nth(1) {
            port = rest.chars().take_while(char::is_ascii_digit).collect();
        }
        line.clear();
    }
    let base = format!("http://127.0.0.1:{port}");
    let client = client();
    // ~170 bytes of log each: 3,000 make ~500 KB, far past the pipe and the
    // size at which a batch used to be written by the request's own thread.
    let started = Instant::now();
    let answered = futures::stream::iter(0..3_000)
        .map(|n| {
            let client = client.clone();
            let url = format!("{base}/users/00000000-0000-7000-8000-{n:012}");
            async move { client.get(url).send().await.map(|r| r.status()) }
        })
        .buffer_unordered(16)
        .filter(|status| std::future::ready(matches!(status, Ok(s) if s.as_u16() == 404)))
        .count()
        .await;
    assert_eq!(answered, 3_000, "in {:?}", started.elapsed());

    // SIGTERM still ends it promptly: the last lines get a bounded wait.
    let stopped = Instant::now();
    let mut child = child.0.take().unwrap();
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || child.wait().unwrap())
        .await
        .unwrap();
    assert!(exit.success(), "{exit}");
    assert!(stopped.elapsed() < Duration::from_secs(10));
    // What the pipe held is intact, whole lines.
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(rest.lines().any(|l| l.contains("route=/users/{id} 404")));
}

/// Stops the server if the test fails before it does.
struct KillOnDrop(Option<Child>);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}
