//! Every acknowledged write survives `kill -9`.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::server::{client, count_users, create, integrity, Server};

/// Lets the clients run for 200..1200 ms, kills the server with `kill -9`,
/// then stops the clients and waits for them.
async fn kill_at_a_random_moment(
    server: &mut Server,
    stop: &AtomicBool,
    clients: Vec<tokio::task::JoinHandle<()>>,
) {
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    tokio::time::sleep(Duration::from_millis(200 + u64::from(nanos % 1000))).await;
    server.kill_9();
    stop.store(true, Ordering::Relaxed);
    for task in clients {
        task.await.unwrap();
    }
}

/// Writes from `writers` clients until killed at a moment in 200..1200 ms;
/// returns the ids the server acknowledged.
async fn write_then_kill(server: &mut Server, writers: usize, cycle: usize) -> Vec<String> {
    let acked = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (acked, stop, base) = (acked.clone(), stop.clone(), server.address.clone());
        tasks.push(tokio::spawn(async move {
            let client = client();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let email = format!("c{cycle}w{w}n{n}@example.com");
                if let Some(id) = create(&client, &base, &email).await {
                    acked.lock().unwrap().push(id);
                }
                n += 1;
            }
        }));
    }
    kill_at_a_random_moment(server, &stop, tasks).await;
    let ids = acked.lock().unwrap().clone();
    ids
}

/// Every user id in the database file, read straight from it.
fn stored_ids(db: &std::path::Path) -> HashSet<String> {
    let conn = rusqlite::Connection::open(db).unwrap();
    let mut stmt = conn.prepare("SELECT id FROM users").unwrap();
    stmt.query_map([], |row| row.get::<_, [u8; 16]>(0))
        .unwrap()
        .map(|id| uuid::Uuid::from_bytes(id.unwrap()).to_string())
        .collect()
}

/// Cycles per durability: `CRASH_CYCLES` (default 20; e.g. 200 for a long
/// run by hand).
fn cycles() -> usize {
    std::env::var("CRASH_CYCLES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(20)
}

async fn crash_cycles(durability: &str, cycles: usize) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("users.db");
    let mut all_acked: Vec<String> = Vec::new();
    for cycle in 0..cycles {
        let mut server = Server::start(&db, &["--durability", durability]);
        let acked = write_then_kill(&mut server, 8, cycle).await;
        assert!(!acked.is_empty(), "cycle {cycle} acknowledged some writes");
        all_acked.extend(acked);
        // Before anything reopens the file: WAL recovery happens on open.
        assert_eq!(integrity(&db), "ok", "cycle {cycle}");
        let stored = stored_ids(&db);
        let lost: Vec<&String> = all_acked
            .iter()
            .filter(|id| !stored.contains(*id))
            .collect();
        assert!(
            lost.is_empty(),
            "cycle {cycle} ({durability}): acknowledged writes lost: {lost:?}"
        );
    }
    // And through the API of a restarted server, for a sample.
    let server = Server::start(&db, &[]);
    let client = client();
    for id in all_acked.iter().step_by(97) {
        let response = client
            .get(server.url(&format!("/users/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "acknowledged user {id} was lost");
    }
    drop(server);
    assert!(count_users(&db) >= all_acked.len() as i64);
    eprintln!(
        "crash loop ({durability}): {cycles} kill -9 cycles, {} acknowledged writes, 0 lost, \
         integrity_check ok every cycle",
        all_acked.len()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_kill_9_with_full_durability() {
    crash_cycles("full", cycles()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_kill_9_with_normal_durability() {
    crash_cycles("normal", cycles()).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_lost_wal_after_a_crash_is_reported_and_the_database_stays_consistent() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("users.db");
    let mut server = Server::start(&db, &[]);
    let acked = write_then_kill(&mut server, 8, 0).await;
    assert!(!acked.is_empty());
    let wal = dir.path().join("users.db-wal");
    assert!(wal.exists(), "a crash leaves the WAL behind");
    std::fs::remove_file(&wal).unwrap();

    let server = Server::start(&db, &[]);
    let client = client();
    // Reads validate every row, so a walk of the whole table would fail on
    // a half-written one.
    let listed = server.list_all(&client).await.len();
    assert!(
        server
            .log()
            .iter()
            .any(|l| l.contains("has a -shm file but no -wal file")),
        "the missing WAL is reported: {:?}",
        server.log()
    );
    assert!(
        listed <= acked.len() + 8,
        "no user appears that was never written"
    );
    drop(server);
    assert_eq!(integrity(&db), "ok");
}

#[test]
fn a_truncated_database_is_one_clear_line_and_is_left_alone() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("users.db");
    let input = dir.path().join("users.ndjson");
    let rows: String = (0..3000)
        .map(|i| {
            format!(
                "{{\"id\":\"0193a5c4-7d1e-7cc2-9b1e-{i:012x}\",\"email\":\"u{i}@example.com\",\
                 \"name\":\"U\",\"created_at\":\"2026-01-01T00:00:00Z\",\
                 \"updated_at\":\"2026-01-01T00:00:00Z\"}}\n"
            )
        })
        .collect();
    std::fs::write(&input, rows).unwrap();
    let url = format!("sqlite://{}", db.display());
    let imported =
        crate::server::run(&["import", "--to", &url, "--input", input.to_str().unwrap()]);
    assert!(imported.status.success());
    let size = std::fs::metadata(&db).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&db).unwrap();
    file.set_len(size / 2).unwrap();
    drop(file);

    let output = crate::server::run(&[
        "--database-url",
        db.to_str().unwrap(),
        "--bind",
        "127.0.0.1:0",
    ]);
    assert_eq!(output.status.code(), Some(1));
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("is damaged (corrupt or truncated)"),
        "{stderr}"
    );
    assert_eq!(
        stderr.lines().filter(|l| l.contains("error")).count(),
        1,
        "{stderr}"
    );
    assert_eq!(
        std::fs::metadata(&db).unwrap().len(),
        size / 2,
        "the file is not touched"
    );
}

/// A keyed create as a client sent it: its key, its email, and the id the
/// server answered (`None`: no answer before the kill).
struct KeyedCreate {
    key: String,
    email: String,
    id: Option<String>,
}

async fn post_keyed(
    client: &reqwest::Client,
    base: &str,
    key: &str,
    email: &str,
) -> Option<reqwest::Response> {
    client
        .post(format!("{base}/users"))
        .header("idempotency-key", key)
        .json(&serde_json::json!({"email": email, "name": "Keyed"}))
        .send()
        .await
        .ok()
}

/// Keyed creates from `writers` clients until killed at a moment in
/// 200..1200 ms.
async fn keyed_creates_then_kill(
    server: &mut Server,
    writers: usize,
    cycle: usize,
) -> Vec<KeyedCreate> {
    let sent = Arc::new(Mutex::new(Vec::new()));
    let stop = Arc::new(AtomicBool::new(false));
    let mut tasks = Vec::new();
    for w in 0..writers {
        let (sent, stop, base) = (sent.clone(), stop.clone(), server.address.clone());
        tasks.push(tokio::spawn(async move {
            let client = client();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                let (key, email) = (
                    format!("c{cycle}w{w}n{n}"),
                    format!("k{cycle}w{w}n{n}@example.com"),
                );
                let mut id = None;
                if let Some(response) = post_keyed(&client, &base, &key, &email).await {
                    if response.status() == 201 {
                        let user: serde_json::Value = response.json().await.unwrap_or_default();
                        id = user["id"].as_str().map(str::to_owned);
                    }
                }
                sent.lock().unwrap().push(KeyedCreate { key, email, id });
                n += 1;
            }
        }));
    }
    kill_at_a_random_moment(server, &stop, tasks).await;
    let sent = std::mem::take(&mut *sent.lock().unwrap());
    sent
}

/// Users without their key and keys without their user, read from the file.
fn orphans(db: &std::path::Path) -> (i64, i64) {
    let conn = rusqlite::Connection::open(db).unwrap();
    let count = |sql: &str| conn.query_row(sql, [], |row| row.get::<_, i64>(0)).unwrap();
    (
        count("SELECT count(*) FROM users WHERE NOT EXISTS \
               (SELECT 1 FROM idempotency_keys k WHERE k.user_id = users.id AND k.email = users.email)"),
        count("SELECT count(*) FROM idempotency_keys k WHERE NOT EXISTS \
               (SELECT 1 FROM users WHERE users.id = k.user_id)"),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn every_acknowledged_idempotency_key_replays_its_user_after_kill_9() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("users.db");
    let mut all: Vec<KeyedCreate> = Vec::new();
    for cycle in 0..5 {
        let mut server = Server::start(&db, &[]);
        let sent = keyed_creates_then_kill(&mut server, 6, cycle).await;
        assert!(
            sent.iter().any(|c| c.id.is_some()),
            "cycle {cycle} acknowledged some creates"
        );
        assert_eq!(integrity(&db), "ok", "cycle {cycle}");
        assert_eq!(
            orphans(&db),
            (0, 0),
            "cycle {cycle}: users without keys, keys without users"
        );
        all.extend(sent);
    }
    let server = Server::start(&db, &[]);
    let client = client();
    let (mut replayed, mut retried) = (0, 0);
    for create in &all {
        let response = post_keyed(&client, &server.address, &create.key, &create.email)
            .await
            .unwrap();
        assert_eq!(response.status(), 201, "retry of {}", create.key);
        let was_replayed = response.headers().get("idempotent-replayed").is_some();
        let user: serde_json::Value = response.json().await.unwrap();
        match &create.id {
            // Acknowledged: its key replays the same user.
            Some(id) => {
                assert!(was_replayed, "acknowledged key {} was not kept", create.key);
                assert_eq!(user["id"].as_str(), Some(id.as_str()), "key {}", create.key);
                replayed += 1;
            }
            // Cut off by the kill: committed (replayed) or not (created now).
            None => retried += 1,
        }
    }
    drop(server);
    // Each email exactly once: no retry created a second user.
    assert_eq!(count_users(&db), all.len() as i64);
    assert_eq!(orphans(&db), (0, 0));
    eprintln!(
        "idempotent crash loop: 5 kill -9 cycles, {replayed} acknowledged keys replayed, \
         {retried} cut-off creates retried, no orphans"
    );
}
