//! `export` and `import` on the built binary: round trips through NDJSON and
//! CSV, bad rows by line number, abort leaves nothing behind, and a pipe
//! from SQLite into PostgreSQL keeps ids and timestamps.

use std::path::Path;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

use crate::server::{run, BIN};

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
