//! Overload and slow clients against the built binary: a flood of 2,000
//! concurrent connections each creating a user, bounded in time, while
//! `/health` keeps answering; then `kill -9` and every acknowledged user must
//! be in the file. And slow-loris connections that never finish their
//! request head are closed while normal requests keep being served.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::server::{integrity, Server};

const FLOOD: usize = 2_000;

/// One request on a fresh connection; the status, or `None` if the
/// connection failed or the answer was not HTTP.
async fn post_on_own_connection(port: u16, email: &str) -> Option<u16> {
    let body = format!("{{\"email\":\"{email}\",\"name\":\"Flood\"}}");
    let request = format!(
        "POST /users HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n\
         Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.ok()?;
    stream.write_all(request.as_bytes()).await.ok()?;
    let mut answer = Vec::new();
    stream.read_to_end(&mut answer).await.ok()?;
    let head = std::str::from_utf8(answer.get(..12)?).ok()?;
    head.split_whitespace().nth(1)?.parse().ok()
}

fn port_of(server: &Server) -> u16 {
    server.address.rsplit(':').next().unwrap().parse().unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_flood_of_2000_connections_loses_no_acknowledged_write_and_health_keeps_answering() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("users.db");
    let mut server = Server::start(&db, &[]);
    let port = port_of(&server);

    // /health every 20 ms on its own client, for as long as the flood lasts.
    let health_url = server.url("/health");
    let (stop_tx, mut stop_rx) = tokio::sync::oneshot::channel::<()>();
    let health = tokio::spawn(async move {
        let client = crate::server::client();
        let (mut answered, mut failed, mut slowest) = (0, 0, Duration::ZERO);
        loop {
            let started = Instant::now();
            match client.get(&health_url).send().await {
                Ok(r) if r.status() == 200 => answered += 1,
                _ => failed += 1,
            }
            slowest = slowest.max(started.elapsed());
            tokio::select! {
                _ = &mut stop_rx => break,
                _ = tokio::time::sleep(Duration::from_millis(20)) => {}
            }
        }
        (answered, failed, slowest)
    });

    let started = Instant::now();
    let tasks: Vec<_> = (0..FLOOD)
        .map(|i| {
            tokio::spawn(async move {
                let email = format!("flood{i}@example.com");
                let status = tokio::time::timeout(
                    Duration::from_secs(60),
                    post_on_own_connection(port, &email),
                )
                .await
                .ok()
                .flatten();
                (email, status)
            })
        })
        .collect();
    let mut acknowledged = HashSet::new();
    let mut others = Vec::new();
    for task in tasks {
        let (email, status) = task.await.unwrap();
        match status {
            Some(201) => {
                acknowledged.insert(email);
            }
            other => others.push(other),
        }
    }
    let took = started.elapsed();
    let _ = stop_tx.send(());
    let (answered, failed, slowest) = health.await.unwrap();

    // Overload may slow requests down or answer 503; never another 5xx.
    assert!(
        others.iter().all(|s| *s == Some(503) || s.is_none()),
        "only 201 or 503 (or a refused connection): {others:?}"
    );
    assert!(
        acknowledged.len() >= FLOOD * 9 / 10,
        "{} of {FLOOD} acknowledged",
        acknowledged.len()
    );
    assert_eq!(failed, 0, "/health failed during the flood");
    assert!(answered > 0);
    assert!(
        slowest < Duration::from_secs(5),
        "/health took {slowest:?} at worst"
    );
    eprintln!(
        "flood: {FLOOD} connections in {took:?}, {} acknowledged, {} not; /health answered {answered} \
         times, slowest {slowest:?}",
        acknowledged.len(),
        others.len()
    );

    server.kill_9();
    assert_eq!(integrity(&db), "ok");
    let conn = rusqlite::Connection::open(&db).unwrap();
    let mut stmt = conn.prepare("SELECT email FROM users").unwrap();
    let stored: HashSet<String> = stmt
        .query_map([], |row| row.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect();
    let lost: Vec<&String> = acknowledged.difference(&stored).collect();
    assert!(
        lost.is_empty(),
        "acknowledged but lost after kill -9: {lost:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn slow_loris_connections_are_closed_and_do_not_block_others() {
    let dir = tempfile::tempdir().unwrap();
    let server = Server::start(&dir.path().join("users.db"), &[]);
    let port = port_of(&server);

    // 200 connections that start a request and never finish its head.
    let mut slow = Vec::new();
    for _ in 0..200 {
        let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
        stream
            .write_all(b"GET /users HTTP/1.1\r\nHost: 127.0.0.1\r\nX-Slow: ")
            .await
            .unwrap();
        slow.push(stream);
    }
    let client = crate::server::client();
    let started = Instant::now();
    for _ in 0..20 {
        let response = client.get(server.url("/health")).send().await.unwrap();
        assert_eq!(response.status(), 200);
    }
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "others are served meanwhile"
    );

    // Within the request-head timeout (5 s) plus slack, each is answered 408
    // or closed.
    let deadline = Duration::from_secs(12);
    let started = Instant::now();
    for mut stream in slow {
        let mut answer = Vec::new();
        let left = deadline.saturating_sub(started.elapsed());
        let read = tokio::time::timeout(left, stream.read_to_end(&mut answer)).await;
        assert!(
            read.is_ok(),
            "a slow connection was still open after {deadline:?}"
        );
        let text = String::from_utf8_lossy(&answer);
        assert!(
            text.is_empty() || text.starts_with("HTTP/1.1 408"),
            "{text}"
        );
    }
}
