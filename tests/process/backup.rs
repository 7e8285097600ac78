//! `backup --to FILE` copies a live database while it is being written.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use crate::server::{client, count_users, create, integrity, run, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_backup_taken_while_writing_has_every_user_acknowledged_before_it() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("users.db");
    let copy = dir.path().join("copy.db");
    let server = Server::start(&db, &[]);
    let client = client();
    let mut before = Vec::new();
    for i in 0..50 {
        before.push(
            create(&client, &server.address, &format!("b{i}@example.com"))
                .await
                .unwrap(),
        );
    }

    let stop = Arc::new(AtomicBool::new(false));
    let writer = {
        let (stop, base) = (stop.clone(), server.address.clone());
        tokio::spawn(async move {
            let client = crate::server::client();
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                create(&client, &base, &format!("during{n}@example.com")).await;
                n += 1;
            }
            n
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let output = tokio::task::spawn_blocking({
        let (db, copy) = (db.clone(), copy.clone());
        move || {
            run(&[
                "backup",
                "--database-url",
                db.to_str().unwrap(),
                "--to",
                copy.to_str().unwrap(),
            ])
        }
    })
    .await
    .unwrap();
    stop.store(true, Ordering::Relaxed);
    let written_during = writer.await.unwrap();
    assert!(written_during > 0, "the server kept writing");
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );

    assert_eq!(integrity(&copy), "ok");
    let conn = rusqlite::Connection::open(&copy).unwrap();
    for id in &before {
        let uuid = uuid::Uuid::parse_str(id).unwrap();
        let found: bool = conn
            .query_row(
                "SELECT EXISTS (SELECT 1 FROM users WHERE id = ?1)",
                [uuid.as_bytes().as_slice()],
                |row| row.get(0),
            )
            .unwrap();
        assert!(found, "user {id} is in the backup");
    }
    assert!(count_users(&copy) >= 50);
    // The server still serves after the backup.
    assert!(create(&client, &server.address, "after@example.com")
        .await
        .is_some());
}

#[test]
fn a_backup_never_overwrites_an_existing_file() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("users.db");
    let copy = dir.path().join("copy.db");
    assert!(run(&["migrate", "--database-url", db.to_str().unwrap()])
        .status
        .success());
    std::fs::write(&copy, b"precious").unwrap();
    let output = run(&[
        "backup",
        "--database-url",
        db.to_str().unwrap(),
        "--to",
        copy.to_str().unwrap(),
    ]);
    assert!(!output.status.success());
    assert!(String::from_utf8_lossy(&output.stderr).contains("already exists"));
    assert_eq!(std::fs::read(&copy).unwrap(), b"precious");
}
