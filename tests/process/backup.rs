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

/// The backups of `users.db` in `dir`, oldest first.
fn scheduled_backups(dir: &std::path::Path) -> Vec<std::path::PathBuf> {
    let mut found: Vec<_> = std::fs::read_dir(dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| {
            let name = path.file_name().unwrap().to_string_lossy().into_owned();
            name.starts_with("users-") && name.ends_with("Z.db")
        })
        .collect();
    found.sort();
    found
}

/// A metric's value from `/metrics`.
async fn metric(server: &Server, client: &reqwest::Client, line_start: &str) -> f64 {
    let text = client
        .get(server.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(line_start))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or_else(|| panic!("{line_start} in {text}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn scheduled_backups_keep_the_newest_n_verified_copies_while_writes_go_on() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("users.db");
    let backups = dir.path().join("backups");
    std::fs::create_dir(&backups).unwrap();
    let server = Server::start(
        &db,
        &[
            "--backup-dir",
            backups.to_str().unwrap(),
            "--backup-every",
            "1s",
            "--backup-keep",
            "3",
        ],
    );
    let client = client();
    let started = std::time::Instant::now();
    let mut created = 0;
    while started.elapsed() < std::time::Duration::from_millis(5_500) {
        let id = create(&client, &server.address, &format!("u{created}@example.com")).await;
        assert!(id.is_some(), "writes go on during backups");
        created += 1;
    }
    let ok = metric(
        &server,
        &client,
        "user_service_backups_total{result=\"ok\"} ",
    )
    .await;
    assert!(ok >= 4.0, "{ok} backups in 5.5 s");
    let kept = scheduled_backups(&backups);
    assert_eq!(kept.len(), 3, "{kept:?}");
    let mut counts = Vec::new();
    for backup in &kept {
        assert_eq!(integrity(backup), "ok");
        counts.push(count_users(backup));
    }
    assert!(counts.windows(2).all(|w| w[0] <= w[1]), "{counts:?}");
    assert!(counts[2] > 0 && counts[2] <= created);
    let newest_size = std::fs::metadata(&kept[2]).unwrap().len() as f64;
    let reported = metric(&server, &client, "user_service_backup_last_size_bytes ").await;
    // The newest file, or one taken after it was listed.
    assert!(reported >= newest_size, "{reported} vs {newest_size}");
    let at = metric(
        &server,
        &client,
        "user_service_backup_last_success_timestamp_seconds ",
    )
    .await;
    let now = time::OffsetDateTime::now_utc().unix_timestamp() as f64;
    assert!((now - at).abs() < 10.0, "{at} vs {now}");
    assert!(!std::fs::read_dir(&backups).unwrap().any(|e| e
        .unwrap()
        .file_name()
        .to_string_lossy()
        .ends_with(".partial")));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_failed_backup_is_counted_and_serving_goes_on() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("users.db");
    let backups = dir.path().join("backups");
    std::fs::create_dir(&backups).unwrap();
    let server = Server::start(
        &db,
        &[
            "--backup-dir",
            backups.to_str().unwrap(),
            "--backup-every",
            "1s",
        ],
    );
    let client = client();
    std::fs::remove_dir_all(&backups).unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while metric(
        &server,
        &client,
        "user_service_backups_total{result=\"error\"} ",
    )
    .await
        < 1.0
    {
        assert!(
            std::time::Instant::now() < deadline,
            "no failed backup counted"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(create(&client, &server.address, "after@example.com")
        .await
        .is_some());
    assert!(server
        .log()
        .iter()
        .any(|line| line.contains("scheduled backup failed, older backups kept")));
}

#[test]
fn backup_flags_are_checked_at_start() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("users.db");
    let db = db.to_str().unwrap();
    let missing = dir.path().join("nowhere");
    let cases: [(&[&str], &str); 4] = [
        (
            &[
                "--database-url",
                db,
                "--backup-dir",
                missing.to_str().unwrap(),
                "--backup-every",
                "1h",
            ],
            "does not exist",
        ),
        (
            &[
                "--database-url",
                db,
                "--backup-dir",
                ".",
                "--backup-every",
                "soon",
            ],
            "is not a period",
        ),
        (
            &["--database-url", db, "--backup-dir", "."],
            "--backup-every",
        ),
        (
            &[
                "--database-url",
                "postgres://u:p@127.0.0.1:1/db",
                "--backup-dir",
                ".",
                "--backup-every",
                "1d",
            ],
            "use pg_dump",
        ),
    ];
    for (args, expected) in cases {
        let output = run(args);
        let text = String::from_utf8_lossy(&output.stderr);
        assert!(!output.status.success(), "{args:?}: {text}");
        assert!(text.contains(expected), "{args:?}: {text}");
        assert!(!text.contains("panicked"), "{text}");
    }
    assert!(!std::path::Path::new(db).exists(), "nothing opened");
}

fn restore(from: &std::path::Path, to: &std::path::Path) -> std::process::Output {
    run(&[
        "restore",
        "--from",
        from.to_str().unwrap(),
        "--to",
        &format!("sqlite://{}", to.display()),
    ])
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn restore_replaces_a_crashed_database_with_the_backup_and_nothing_else() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("users.db");
    let copy = dir.path().join("copy.db");
    let mut server = Server::start(&db, &[]);
    let client = client();
    for i in 0..20 {
        create(&client, &server.address, &format!("kept{i}@example.com"))
            .await
            .unwrap();
    }
    let output = run(&[
        "backup",
        "--database-url",
        db.to_str().unwrap(),
        "--to",
        copy.to_str().unwrap(),
    ]);
    assert!(output.status.success());
    for i in 0..5 {
        create(&client, &server.address, &format!("later{i}@example.com"))
            .await
            .unwrap();
    }
    // Still held: refused, and the database keeps everything.
    let refused = restore(&copy, &db);
    assert_eq!(refused.status.code(), Some(1));
    let text = String::from_utf8_lossy(&refused.stderr);
    assert!(
        text.contains("in use by another user-service process"),
        "{text}"
    );
    assert!(text.contains("nothing was changed"), "{text}");
    server.kill_9();
    assert_eq!(count_users(&db), 25);

    // The crash left a WAL; the restore must not replay it onto the copy.
    let output = restore(&copy, &db);
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    assert!(text.starts_with("restored 20 users"), "{text}");
    assert_eq!(integrity(&db), "ok");
    assert_eq!(count_users(&db), 20);
    let server = Server::start(&db, &[]);
    assert_eq!(server.list_all(&client).await.len(), 20);
}

#[test]
fn restore_refuses_a_backup_it_cannot_trust_and_changes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("users.db");
    assert!(run(&["migrate", "--database-url", db.to_str().unwrap()])
        .status
        .success());
    let newer = dir.path().join("newer.db");
    assert!(run(&["migrate", "--database-url", newer.to_str().unwrap()])
        .status
        .success());
    let conn = rusqlite::Connection::open(&newer).unwrap();
    conn.execute(
        "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) \
         VALUES (999, 'future', '2030-01-01', '0')",
        [],
    )
    .unwrap();
    drop(conn);
    let garbage = dir.path().join("garbage.db");
    std::fs::write(&garbage, vec![7u8; 8192]).unwrap();
    let before = std::fs::read(&db).unwrap();
    for (from, expected) in [
        (newer.as_path(), "newer than this binary knows"),
        (garbage.as_path(), "cannot be used"),
        (dir.path().join("missing.db").as_path(), "no such file"),
    ] {
        let output = restore(from, &db);
        let text = String::from_utf8_lossy(&output.stderr);
        assert_eq!(output.status.code(), Some(1), "{text}");
        assert!(text.contains(expected), "{text}");
        assert!(text.contains("nothing was changed"), "{text}");
    }
    assert_eq!(std::fs::read(&db).unwrap(), before);
    let postgres = run(&[
        "restore",
        "--from",
        "x.db",
        "--to",
        "postgres://u@127.0.0.1:1/db",
    ]);
    assert!(String::from_utf8_lossy(&postgres.stderr).contains("pg_restore"));
}
