//! SIGTERM: finish, checkpoint, close, exit 0.

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
    let status = tokio::task::spawn_blocking(move || server.terminate())
        .await
        .unwrap();
    assert!(status.success(), "exit status {status}");
    let wal = dir.path().join("users.db-wal");
    let wal_len = std::fs::metadata(&wal).map(|m| m.len()).unwrap_or(0);
    assert_eq!(wal_len, 0, "the WAL was checkpointed and truncated");
    assert_eq!(count_users(&db), 20);
    assert_eq!(integrity(&db), "ok");
}
