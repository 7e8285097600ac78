//! SIGTERM: finish, checkpoint, close, write the last log lines, exit 0.

use crate::server::{client, count_users, create, integrity, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_stops_cleanly_and_folds_the_wal_into_the_database() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("users.db");
    let mut server = Server::start(&db, &[]);
    let client = client();
    for i in 0..20 {
        create(&client, &server.address, &format!("s{i}@example.com"))
            .await
            .unwrap();
    }
    let (status, server) = tokio::task::spawn_blocking(move || (server.terminate(), server))
        .await
        .unwrap();
    assert!(status.success(), "exit status {status}");
    // Off a terminal `info` lines are written in batches; a clean exit
    // writes what is still waiting, down to the last line.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let log = server.log();
        let requests = log
            .iter()
            .filter(|l| l.contains("POST /users route=/users 201 "))
            .count();
        if requests == 20 && log.iter().any(|l| l.contains("stopped; database closed")) {
            break;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "{requests} of 20 request lines, or no final line:\n{}",
            log.join("\n")
        );
        tokio::time::sleep(std::time::Duration::from_millis(20)).await;
    }
    let wal = dir.path().join("users.db-wal");
    let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(wal_len, 0, "the WAL was checkpointed and truncated");
    assert_eq!(count_users(&db), 20);
    assert_eq!(integrity(&db), "ok");
}
