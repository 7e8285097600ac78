//! `export` and `import` on the built binary: round trips through NDJSON and
//! CSV, bad rows by line number, abort leaves nothing behind, and a pipe
//! from SQLite into PostgreSQL keeps ids and timestamps.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::server::{run, Server, BIN};

#[path = "../support/postgres.rs"]
mod pg_support;
#[path = "../support/skip.rs"]
mod skip;

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

/// `count` valid users as NDJSON lines, with fixed ids and timestamps.
fn users_ndjson(count: usize) -> String {
    (0..count)
        .map(|i| {
            format!(
                "{{\"id\":\"0193a5c4-7d1e-7cc2-9b1e-{i:012x}\",\"email\":\"user{i}@example.com\",\
                 \"name\":\"User {i}\",\"created_at\":\"2026-01-01T00:00:{:02}.{:06}Z\",\
                 \"updated_at\":\"2026-02-01T00:00:00.000001Z\"}}\n",
                i % 60,
                i * 7 % 1_000_000
            )
        })
        .collect()
}

/// Every exported user, as JSON values sorted by id.
fn export_sorted(from: &str) -> Vec<Value> {
    let output = run(&["export", "--from", from]);
    assert!(output.status.success(), "{}", stderr(&output));
    let mut users: Vec<Value> = String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect();
    users.sort_by(|a, b| a["id"].as_str().cmp(&b["id"].as_str()));
    users
}

fn sqlite_url(path: &Path) -> String {
    format!("sqlite://{}", path.display())
}

#[test]
fn ndjson_and_csv_round_trip_every_field() {
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.ndjson");
    std::fs::write(&input, users_ndjson(250)).unwrap();
    let first = sqlite_url(&dir.path().join("first.db"));
    let output = run(&["import", "--to", &first, "--input", input.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(
        stderr(&output).starts_with("imported 250 users into"),
        "{}",
        stderr(&output)
    );

    let original: Vec<Value> = users_ndjson(250)
        .lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect();
    assert_eq!(
        export_sorted(&first),
        original,
        "ids, emails, names and timestamps kept"
    );

    let csv = dir.path().join("users.csv");
    let output = run(&[
        "export",
        "--from",
        &first,
        "--output",
        csv.to_str().unwrap(),
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let text = std::fs::read_to_string(&csv).unwrap();
    assert!(
        text.starts_with("id,email,name,created_at,updated_at\n"),
        "CSV by extension"
    );
    let second = sqlite_url(&dir.path().join("second.db"));
    let output = run(&["import", "--to", &second, "--input", csv.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert_eq!(export_sorted(&second), original);
}

#[test]
fn abort_reports_the_first_bad_line_and_imports_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = users_ndjson(5);
    text.push_str("{\"id\":\"not-a-uuid\"}\n");
    text.push_str(&users_ndjson(1)); // line 7 repeats user 0: a conflict
    let input = dir.path().join("in.ndjson");
    std::fs::write(&input, text).unwrap();
    let db = sqlite_url(&dir.path().join("users.db"));
    let output = run(&["import", "--to", &db, "--input", input.to_str().unwrap()]);
    assert_eq!(output.status.code(), Some(1));
    let message = stderr(&output);
    assert!(message.contains("line 6: not a user object"), "{message}");
    assert!(message.contains("nothing was imported"), "{message}");
    assert_eq!(
        export_sorted(&db).len(),
        0,
        "the first 5 good rows were rolled back"
    );
}

#[test]
fn skip_reports_each_bad_line_and_imports_the_rest() {
    let dir = tempfile::tempdir().unwrap();
    let mut text = users_ndjson(5);
    text.push_str("this is not json\n");
    text.push_str(&users_ndjson(1)); // line 7 repeats user 0
    text.push_str(&users_ndjson(1).replace("user0@example.com", "no at sign"));
    let input = dir.path().join("in.ndjson");
    std::fs::write(&input, text).unwrap();
    let db = sqlite_url(&dir.path().join("users.db"));
    let output = run(&[
        "import",
        "--to",
        &db,
        "--input",
        input.to_str().unwrap(),
        "--on-error",
        "skip",
        "--batch-size",
        "2",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(message.contains("line 6: not a user object"), "{message}");
    assert!(
        message.contains("line 7: its id or email already exists"),
        "{message}"
    );
    assert!(message.contains("line 8: email: "), "{message}");
    assert!(message.contains("imported 5 users into"), "{message}");
    assert!(message.contains("skipped 3 bad rows"), "{message}");
    assert_eq!(export_sorted(&db).len(), 5);
}

#[test]
fn exporting_a_missing_database_is_one_clear_line_and_creates_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("missing.db");
    let output = run(&["export", "--from", &sqlite_url(&missing)]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("no SQLite database at"),
        "{}",
        stderr(&output)
    );
    assert!(!missing.exists());
}

#[tokio::test]
async fn export_piped_into_import_moves_sqlite_to_postgres() {
    if pg_support::skipped("the PostgreSQL export/import test") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let input = dir.path().join("in.ndjson");
    std::fs::write(&input, users_ndjson(1_500)).unwrap();
    let sqlite = sqlite_url(&dir.path().join("users.db"));
    assert!(run(&[
        "import",
        "--to",
        &sqlite,
        "--input",
        input.to_str().unwrap()
    ])
    .status
    .success());

    let (postgres, _) = pg_support::fresh_schema_named().await;
    let postgres = postgres.as_str().to_owned();
    let mut export = Command::new(BIN)
        .args(["export", "--from", &sqlite])
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let import = Command::new(BIN)
        .args(["import", "--to", &postgres])
        .stdin(export.stdout.take().unwrap())
        .output()
        .unwrap();
    assert!(export.wait().unwrap().success());
    assert!(import.status.success(), "{}", stderr(&import));
    assert!(stderr(&import).starts_with("imported 1500 users into postgres://"));
    assert!(!stderr(&import).contains("password"));
    assert_eq!(export_sorted(&postgres), export_sorted(&sqlite));
}

/// Imports `text` (written to a file named `name`) with `extra` flags.
fn import_file(to: &str, dir: &Path, name: &str, text: &str, extra: &[&str]) -> Output {
    let input = dir.join(name);
    std::fs::write(&input, text).unwrap();
    let mut args = vec!["import", "--to", to, "--input", input.to_str().unwrap()];
    args.extend_from_slice(extra);
    run(&args)
}

/// Every exported user, newest first, as JSON values.
fn export_newest_first(from: &str) -> Vec<Value> {
    let output = run(&["export", "--from", from]);
    assert!(output.status.success(), "{}", stderr(&output));
    String::from_utf8(output.stdout)
        .unwrap()
        .lines()
        .map(|line| serde_json::from_str(line).unwrap())
        .collect()
}

#[test]
fn a_csv_from_another_system_needs_only_email_and_name() {
    let dir = tempfile::tempdir().unwrap();
    let db = sqlite_url(&dir.path().join("users.db"));
    // Another system's export: its own column order, letter case and
    // columns, a byte-order mark, and a .txt name.
    let csv = "\u{feff}Department,NAME,Email,Phone\n\
               R&D,Ada Lovelace,Ada@Example.com,555\n\
               Ops,Bob,bob@example.com,\n\
               Ops,Cy,cy@example.com,556\n";
    let output = import_file(&db, dir.path(), "hr-export.txt", csv, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let message = stderr(&output);
    assert_eq!(message.matches("ignoring columns").count(), 1, "{message}");
    assert!(message.contains("Department, Phone"), "{message}");
    assert!(message.contains("imported 3 users into"), "{message}");

    let users = export_newest_first(&db);
    let emails: Vec<_> = users.iter().map(|u| u["email"].as_str().unwrap()).collect();
    // Newest first: the file's last row was created last.
    assert_eq!(
        emails,
        ["cy@example.com", "bob@example.com", "ada@example.com"]
    );
    for user in &users {
        let id = uuid::Uuid::parse_str(user["id"].as_str().unwrap()).unwrap();
        assert_eq!(id.get_version_num(), 7);
        assert_eq!(user["created_at"], user["updated_at"]);
    }
    assert_eq!(users[2]["name"], "Ada Lovelace");
}

#[test]
fn a_file_that_is_neither_format_is_one_error_and_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("users.db");
    let db = sqlite_url(&path);
    for (name, text, expected) in [
        ("data.bin", "PK\u{3}\u{4}\u{0}garbage", "no email column"),
        (
            "people.csv",
            "mail,name\nada@example.com,Ada\n",
            "no email column",
        ),
        ("people.csv", "email\nada@example.com\n", "no name column"),
    ] {
        let output = import_file(&db, dir.path(), name, text, &[]);
        assert_eq!(output.status.code(), Some(1), "{name}");
        let message = stderr(&output);
        assert!(message.contains(expected), "{message}");
        assert!(message.contains("nothing was imported"), "{message}");
        assert_eq!(message.lines().count(), 1, "{message}");
    }
    assert!(
        !path.exists(),
        "no database is made for a file that cannot be read"
    );
}

/// The nightly HR file imported twice, the second time with changes:
/// renamed, unchanged, new, an email changed by id, and an email that
/// belongs to someone else. Checked against `db` (SQLite or PostgreSQL).
fn update_existing_round(db: &str, dir: &Path) {
    let first = "email,name\nada@example.com,Ada\nbob@example.com,Bob\ncy@example.com,Cy\n";
    let output = import_file(db, dir, "monday.csv", first, &[]);
    assert!(output.status.success(), "{}", stderr(&output));
    let before = export_newest_first(db);
    let by_email = |users: &[Value], email: &str| {
        users
            .iter()
            .find(|u| u["email"] == email)
            .cloned()
            .unwrap_or_else(|| panic!("{email} in {users:?}"))
    };
    let cy = by_email(&before, "cy@example.com");

    // Without the flag, the same file is a conflict on its first row.
    let again = import_file(db, dir, "monday.csv", first, &[]);
    assert_eq!(again.status.code(), Some(1));
    assert!(stderr(&again).contains("line 2: its id or email already exists"));

    let second = format!(
        "id,email,name\n\
         ,ada@example.com,Ada King\n\
         ,bob@example.com,Bob\n\
         ,dee@example.com,Dee\n\
         {},cyril@example.com,Cy\n\
         ,dee@example.com,Dee Two\n",
        cy["id"].as_str().unwrap()
    );
    let output = import_file(db, dir, "tuesday.csv", &second, &["--update-existing"]);
    assert!(output.status.success(), "{}", stderr(&output));
    let message = stderr(&output);
    assert!(
        message.contains("imported 5 users into")
            && message.contains("created 1, updated 3, unchanged 1"),
        "{message}"
    );

    let after = export_newest_first(db);
    assert_eq!(after.len(), 4);
    let ada = by_email(&after, "ada@example.com");
    assert_eq!(ada["name"], "Ada King");
    assert_eq!(
        ada["created_at"],
        by_email(&before, "ada@example.com")["created_at"]
    );
    assert!(ada["updated_at"].as_str() > ada["created_at"].as_str());
    // Unchanged means unchanged: not even updated_at moves.
    assert_eq!(
        by_email(&after, "bob@example.com"),
        by_email(&before, "bob@example.com")
    );
    let cyril = by_email(&after, "cyril@example.com");
    assert_eq!((&cyril["id"], &cyril["name"]), (&cy["id"], &cy["name"]));
    assert_eq!(by_email(&after, "dee@example.com")["name"], "Dee Two");

    // By id to an email someone else has: a bad row, and with abort the
    // whole file changes nothing.
    let clash = format!(
        "id,email,name\n{},ada@example.com,Cy\n",
        cy["id"].as_str().unwrap()
    );
    let output = import_file(db, dir, "clash.csv", &clash, &["--update-existing"]);
    assert_eq!(output.status.code(), Some(1));
    assert!(
        stderr(&output).contains("line 2: its email belongs to another user"),
        "{}",
        stderr(&output)
    );
    assert_eq!(export_newest_first(db), after);
}

#[test]
fn update_existing_updates_renamed_users_and_leaves_the_rest_alone() {
    let dir = tempfile::tempdir().unwrap();
    update_existing_round(&sqlite_url(&dir.path().join("users.db")), dir.path());
}

#[tokio::test]
async fn update_existing_on_postgres() {
    if pg_support::skipped("the PostgreSQL --update-existing test") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (postgres, _) = pg_support::fresh_schema_named().await;
    let postgres = postgres.as_str().to_owned();
    tokio::task::spawn_blocking(move || update_existing_round(&postgres, dir.path()))
        .await
        .unwrap();
}

/// Exports `db` (SQLite path or PostgreSQL URL) while a client served by
/// the same database alternates strictly between creating a user and
/// deleting a seeded one. A point-in-time export sees every create and
/// every delete made before its moment and none after: the new users it
/// holds and the deleted users it lacks differ by at most one. (The old
/// page-by-page walk saw no new user and missed most deleted ones.)
async fn export_while_writing(db: &str, dir: &Path) {
    let seeded = 30_000;
    let input = dir.join("seed.ndjson");
    std::fs::write(&input, users_ndjson(seeded)).unwrap();
    let output = run(&["import", "--to", db, "--input", input.to_str().unwrap()]);
    assert!(output.status.success(), "{}", stderr(&output));
    let seeded_ids: Vec<String> = (0..seeded)
        .map(|i| format!("0193a5c4-7d1e-7cc2-9b1e-{i:012x}"))
        .collect();

    let server = Server::start(Path::new(db), &[]);
    let base = server.address.clone();
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = std::sync::Arc::clone(&stop);
        let ids = seeded_ids.clone();
        tokio::spawn(async move {
            let client = crate::server::client();
            let (mut created, mut deleted) = (Vec::new(), Vec::new());
            for (n, id) in ids.iter().enumerate() {
                if stop.load(std::sync::atomic::Ordering::SeqCst) {
                    break;
                }
                let email = format!("writer{n}@example.com");
                let new = crate::server::create(&client, &base, &email).await;
                created.push(new.expect("201 for the writer's create"));
                let response = client
                    .delete(format!("{base}/users/{id}"))
                    .send()
                    .await
                    .unwrap();
                assert_eq!(response.status(), 204);
                deleted.push(id.clone());
            }
            (created, deleted)
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    let out = dir.join("export.ndjson");
    let export = {
        let (db, out) = (db.to_owned(), out.clone());
        tokio::task::spawn_blocking(move || {
            run(&["export", "--from", &db, "--output", out.to_str().unwrap()])
        })
        .await
        .unwrap()
    };
    tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    let (created, deleted) = writer.await.unwrap();
    assert!(export.status.success(), "{}", stderr(&export));
    assert!(stderr(&export).contains(" as of 20"), "{}", stderr(&export));

    let exported: std::collections::HashSet<String> = std::fs::read_to_string(&out)
        .unwrap()
        .lines()
        .map(|line| {
            serde_json::from_str::<Value>(line).unwrap()["id"]
                .as_str()
                .unwrap()
                .to_owned()
        })
        .collect();
    let new_seen = created.iter().filter(|id| exported.contains(*id)).count();
    let deleted_missing = deleted.iter().filter(|id| !exported.contains(*id)).count();
    let kept = seeded_ids[deleted.len()..]
        .iter()
        .filter(|id| exported.contains(*id))
        .count();
    eprintln!(
        "writer: {} creates, {} deletes; export: {new_seen} new seen, {deleted_missing} deleted missing",
        created.len(),
        deleted.len()
    );
    assert!(
        deleted.len() >= 4 && new_seen < created.len(),
        "the writes must straddle the export"
    );
    assert!(new_seen.abs_diff(deleted_missing) <= 1);
    assert_eq!(
        kept,
        seeded - deleted.len(),
        "a user untouched throughout is exported"
    );
    assert_eq!(exported.len(), seeded - deleted_missing + new_seen);
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_of_a_served_sqlite_file_is_one_moment() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("users.db");
    export_while_writing(db.to_str().unwrap(), dir.path()).await;
}

#[tokio::test(flavor = "multi_thread")]
async fn an_export_of_a_served_postgres_database_is_one_moment() {
    if pg_support::skipped("the PostgreSQL point-in-time export test") {
        return;
    }
    let dir = tempfile::tempdir().unwrap();
    let (postgres, _) = pg_support::fresh_schema_named().await;
    export_while_writing(postgres.as_str(), dir.path()).await;
}

/// `count` users as NDJSON lines with only an email and a name.
fn foreign_ndjson(count: usize, prefix: &str) -> String {
    (0..count)
        .map(|i| format!("{{\"email\":\"{prefix}{i}@example.com\",\"name\":\"{prefix} {i}\"}}\n"))
        .collect()
}

/// Runs `import` on another thread while a client creates users through
/// the server; returns the import's output and the client's ids, every
/// one of them answered 201.
async fn import_while_posting(server: &Server, args: Vec<String>) -> (Output, Vec<String>) {
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let writer = {
        let stop = std::sync::Arc::clone(&stop);
        let base = server.address.clone();
        tokio::spawn(async move {
            let client = crate::server::client();
            let mut created = Vec::new();
            while !stop.load(std::sync::atomic::Ordering::SeqCst) {
                let email = format!("live{}@example.com", created.len());
                let id = crate::server::create(&client, &base, &email).await;
                created.push(id.expect("every POST during the import is a 201"));
            }
            created
        })
    };
    tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    let import = tokio::task::spawn_blocking(move || {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run(&args)
    })
    .await
    .unwrap();
    stop.store(true, std::sync::atomic::Ordering::SeqCst);
    (import, writer.await.unwrap())
}

#[tokio::test(flavor = "multi_thread")]
async fn an_import_into_a_served_file_commits_as_it_goes_and_the_server_keeps_writing() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("users.db");
    let server = Server::start(&db, &[]);
    let input = dir.path().join("people.ndjson");
    std::fs::write(&input, foreign_ndjson(100_000, "imported")).unwrap();

    // A reader of the file watches the import's users arrive in steps
    // (100,000 rows, as issue 20 asks; the POST latency goal is measured
    // in BENCHMARKS.md, "Live import", not here).
    let watching = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
    let watcher = {
        let (db, watching) = (db.clone(), std::sync::Arc::clone(&watching));
        std::thread::spawn(move || {
            let conn = rusqlite::Connection::open(&db).unwrap();
            let mut seen = std::collections::BTreeSet::new();
            while watching.load(std::sync::atomic::Ordering::SeqCst) {
                let n: i64 = conn
                    .query_row(
                        "SELECT count(*) FROM users WHERE email LIKE 'imported%'",
                        [],
                        |row| row.get(0),
                    )
                    .unwrap();
                seen.insert(n);
                std::thread::sleep(std::time::Duration::from_millis(2));
            }
            seen
        })
    };
    let args = [
        "import",
        "--to",
        db.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
    ];
    let (import, created) =
        import_while_posting(&server, args.iter().map(|a| a.to_string()).collect()).await;
    watching.store(false, std::sync::atomic::Ordering::SeqCst);
    let seen = watcher.join().unwrap();
    assert!(import.status.success(), "{}", stderr(&import));
    assert!(
        stderr(&import).contains("imported 100000 users"),
        "{}",
        stderr(&import)
    );
    assert!(!created.is_empty());
    let partial = seen.iter().filter(|&&n| 0 < n && n < 100_000).count();
    assert!(partial > 0, "readers saw only {seen:?}");
    let users = server.list_all(&crate::server::client()).await;
    assert_eq!(users.len(), 100_000 + created.len());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_live_import_with_abort_checks_every_row_before_writing_any() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("users.db");
    let server = Server::start(&db, &[]);
    let client = crate::server::client();
    crate::server::create(&client, &server.address, "taken@example.com")
        .await
        .unwrap();
    let run_on = |name: &str, text: String| {
        let input = dir.path().join(name);
        std::fs::write(&input, text).unwrap();
        run(&[
            "import",
            "--to",
            db.to_str().unwrap(),
            "--input",
            input.to_str().unwrap(),
        ])
    };
    // A bad row, a row repeating an earlier email, and one whose email the
    // server already stores, each as the file's last row.
    let mut bad = foreign_ndjson(5_000, "a");
    bad.push_str("{\"email\":\"not an email\",\"name\":\"X\"}\n");
    let mut repeated = foreign_ndjson(5_000, "b");
    repeated.push_str("{\"email\":\"b7@example.com\",\"name\":\"Again\"}\n");
    let mut stored = foreign_ndjson(5_000, "c");
    stored.push_str("{\"email\":\"taken@example.com\",\"name\":\"Taken\"}\n");
    for (name, text, reason) in [
        ("bad.ndjson", bad, "line 5001: email"),
        (
            "repeated.ndjson",
            repeated,
            "line 5001: its id or email already exists",
        ),
        (
            "stored.ndjson",
            stored,
            "line 5001: its id or email already exists",
        ),
    ] {
        let output = run_on(name, text);
        assert_eq!(output.status.code(), Some(1), "{name}");
        let message = stderr(&output);
        assert!(message.contains(reason), "{message}");
        assert!(message.contains("nothing was imported"), "{message}");
    }
    assert_eq!(server.list_all(&client).await.len(), 1);

    // With skip, the same live import writes the good rows.
    let input = dir.path().join("stored.ndjson");
    let output = run(&[
        "import",
        "--to",
        db.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--on-error",
        "skip",
    ]);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("imported 5000 users"));
    assert_eq!(server.list_all(&client).await.len(), 5_001);
}

#[tokio::test(flavor = "multi_thread")]
async fn update_existing_beside_a_caching_server_is_refused_and_beside_another_works() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("users.db");
    let client = crate::server::client();
    let csv = "email,name\nada@example.com,Ada King\n";
    let input = dir.path().join("renames.csv");
    std::fs::write(&input, csv).unwrap();
    let args = [
        "import",
        "--to",
        db.to_str().unwrap(),
        "--input",
        input.to_str().unwrap(),
        "--update-existing",
    ];

    let mut caching = Server::start(&db, &[]);
    let id = crate::server::create(&client, &caching.address, "ada@example.com")
        .await
        .unwrap();
    let refused = run(&args);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        stderr(&refused).contains("a server with the read cache serves it"),
        "{}",
        stderr(&refused)
    );
    assert!(caching.terminate().success());

    let plain = Server::start(&db, &["--read-cache", "0"]);
    let output = run(&args);
    assert!(output.status.success(), "{}", stderr(&output));
    assert!(stderr(&output).contains("updated 1"), "{}", stderr(&output));
    let user: Value = client
        .get(plain.url(&format!("/users/{id}")))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(user["name"], "Ada King");
}
