//! Start-up failures are one clear line and a non-zero exit; flags parse as
//! documented.

use std::net::TcpListener;
use std::process::Output;

use crate::server::run;

fn stderr(output: &Output) -> String {
    String::from_utf8_lossy(&output.stderr).into_owned()
}

fn assert_clean_failure(output: &Output, expected: &str) {
    let text = stderr(output);
    assert!(!output.status.success(), "should fail: {text}");
    assert!(text.contains(expected), "expected {expected:?} in: {text}");
    assert!(!text.contains("panicked"), "no panic: {text}");
    let error_lines = text.lines().filter(|l| l.contains("error")).count();
    assert_eq!(error_lines, 1, "one error line: {text}");
}

#[test]
fn a_port_in_use_is_one_clear_line() {
    let taken = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = taken.local_addr().unwrap().to_string();
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("users.db");
    let output = run(&["--bind", &addr, "--database-url", db.to_str().unwrap()]);
    assert_clean_failure(&output, &format!("cannot listen on {addr}"));
}

#[test]
fn a_file_that_is_not_sqlite_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("notes.txt");
    std::fs::write(&db, "these are my notes, not a database\n".repeat(200)).unwrap();
    let output = run(&[
        "--bind",
        "127.0.0.1:0",
        "--database-url",
        db.to_str().unwrap(),
    ]);
    assert_clean_failure(&output, "is not a SQLite database");
    assert!(std::fs::read_to_string(&db)
        .unwrap()
        .starts_with("these are my notes"));
}

#[test]
fn a_missing_or_unwritable_directory_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("a-file");
    std::fs::write(&file, "x").unwrap();
    // A path below a regular file can never be created, even by root.
    let db = file.join("users.db");
    let output = run(&[
        "--bind",
        "127.0.0.1:0",
        "--database-url",
        db.to_str().unwrap(),
    ]);
    assert_clean_failure(&output, "cannot open database");
}

#[test]
fn a_database_from_a_newer_schema_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("users.db");
    assert!(run(&["migrate", "--database-url", db.to_str().unwrap()])
        .status
        .success());
    let conn = rusqlite::Connection::open(&db).unwrap();
    conn.execute(
        "INSERT INTO refinery_schema_history (version, name, applied_on, checksum) \
         VALUES (999, 'from_the_future', '2030-01-01', '0')",
        [],
    )
    .unwrap();
    drop(conn);
    let output = run(&[
        "--bind",
        "127.0.0.1:0",
        "--database-url",
        db.to_str().unwrap(),
    ]);
    assert_clean_failure(&output, "newer than this binary");
}

#[test]
fn migrate_applies_the_schema_once_and_exits() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("users.db");
    let url = format!("sqlite://{}", db.display());
    let first = run(&["migrate", "--database-url", &url]);
    assert!(first.status.success(), "{}", stderr(&first));
    assert!(String::from_utf8_lossy(&first.stdout)
        .contains("applied migrations [1, 2, 3, 4, 5, 6, 7, 8]"));
    let second = run(&["migrate", "--database-url", &url]);
    assert!(String::from_utf8_lossy(&second.stdout).contains("up to date"));
    let conn = rusqlite::Connection::open(&db).unwrap();
    let tables: i64 = conn
        .query_row(
            "SELECT COUNT(*) FROM sqlite_schema WHERE name = 'users'",
            [],
            |r| r.get(0),
        )
        .unwrap();
    assert_eq!(tables, 1);
}

#[test]
fn an_invalid_flag_value_is_an_error_naming_it() {
    let output = run(&["--durability", "sometimes"]);
    assert_eq!(output.status.code(), Some(2));
    assert!(stderr(&output).contains("sometimes"));
    let output = run(&["serve", "--bind", "not-an-address"]);
    assert_eq!(output.status.code(), Some(2));
    let output = run(&["--cors-origin", "example.com"]);
    assert_eq!(output.status.code(), Some(2));
}

#[test]
fn help_documents_every_flag_and_environment_variable() {
    let output = run(&["--help"]);
    assert!(output.status.success());
    let help = String::from_utf8_lossy(&output.stdout);
    for expected in [
        "--database-url",
        "DATABASE_URL",
        "--bind",
        "BIND",
        "--workers",
        "WORKERS",
        "--api-token",
        "USER_SERVICE_API_TOKEN",
        "--api-token-file",
        "USER_SERVICE_API_TOKEN_FILE",
        "--cors-origin",
        "CORS_ORIGINS",
        "--durability",
        "DURABILITY",
        "--max-db-size",
        "MAX_DB_SIZE",
        "--read-cache",
        "READ_CACHE",
        "--mmap-size",
        "MMAP_SIZE",
        "--idempotency-ttl",
        "IDEMPOTENCY_TTL",
        "--rate-limit",
        "RATE_LIMIT",
        "--rate-limit-burst",
        "--max-connections",
        "MAX_CONNECTIONS",
        "--db-pool-size",
        "DB_POOL_SIZE",
        "postgres://",
        "--log-format",
        "LOG_FORMAT",
        "migrate",
        "backup",
        "serve",
    ] {
        assert!(
            help.contains(expected),
            "--help mentions {expected}:\n{help}"
        );
    }
}

#[test]
fn secrets_from_the_environment_are_not_shown_by_help() {
    let output = std::process::Command::new(crate::server::BIN)
        .arg("--help")
        .env("USER_SERVICE_API_TOKEN", "hunter2-secret")
        .env("DATABASE_URL", "postgres://app:db-password@127.0.0.1/users")
        .output()
        .unwrap();
    let help = String::from_utf8_lossy(&output.stdout);
    assert!(output.status.success());
    assert!(!help.contains("hunter2-secret"));
    assert!(!help.contains("db-password"));
}

#[test]
fn version_names_the_commit() {
    let output = run(&["--version"]);
    assert!(output.status.success());
    let text = String::from_utf8_lossy(&output.stdout);
    assert!(text.starts_with("user-service 0."), "{text}");
    assert!(text.contains("(commit "), "{text}");
}

#[test]
fn json_logs_are_one_object_per_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("users.db");
    let output = std::process::Command::new(crate::server::BIN)
        .args([
            "migrate",
            "--log-format",
            "json",
            "--database-url",
            db.to_str().unwrap(),
        ])
        .env("RUST_LOG", "info")
        .output()
        .unwrap();
    assert!(output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert!(!lines.is_empty(), "migrate logs at info");
    for line in lines {
        let value: serde_json::Value =
            serde_json::from_str(line).unwrap_or_else(|e| panic!("{e}: {line}"));
        assert!(
            value["level"].is_string() && value["msg"].is_string() && value["ts"].is_string(),
            "{line}"
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tokens_from_a_file_are_all_accepted_for_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("users.db");
    let file = dir.path().join("tokens");
    std::fs::write(
        &file,
        "# old and new while rotating\nold-secret\nnew-secret\n",
    )
    .unwrap();
    let server = crate::server::Server::start(&db, &["--api-token-file", file.to_str().unwrap()]);
    let client = crate::server::client();
    let status = |token: Option<&'static str>| {
        let mut request = client.get(server.url("/users"));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        async move { request.send().await.unwrap().status() }
    };
    assert_eq!(status(Some("old-secret")).await, 200);
    assert_eq!(status(Some("new-secret")).await, 200);
    assert_eq!(status(Some("other")).await, 401);
    assert_eq!(status(None).await, 401);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_per_minute_rate_limit_is_kept_per_minute() {
    let dir = tempfile::tempdir().unwrap();
    let server = crate::server::Server::start(
        &dir.path().join("users.db"),
        &["--rate-limit", "30/min", "--rate-limit-burst", "1"],
    );
    let client = crate::server::client();
    let get = || client.get(server.url("/users")).send();
    assert_eq!(get().await.unwrap().status(), 200);
    let over = get().await.unwrap();
    assert_eq!(over.status(), 429);
    // One request every 2 s: 30/min is not rounded up to 1/s.
    assert_eq!(over.headers()["retry-after"], "2");
}

#[test]
fn a_missing_token_file_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("users.db");
    let missing = dir.path().join("no-such-file");
    let output = run(&[
        "--bind",
        "127.0.0.1:0",
        "--database-url",
        db.to_str().unwrap(),
        "--api-token-file",
        missing.to_str().unwrap(),
    ]);
    assert_clean_failure(&output, "cannot read the API token file");
}

#[test]
fn an_unreachable_postgres_is_one_clear_line_without_the_password() {
    // Port 1 on loopback: nothing listens, the connection is refused at once.
    let output = run(&[
        "--bind",
        "127.0.0.1:0",
        "--database-url",
        "postgres://app:hunter2@127.0.0.1:1/users",
    ]);
    assert_clean_failure(
        &output,
        "cannot connect to PostgreSQL at postgres://app@127.0.0.1:1/users",
    );
    assert!(!String::from_utf8_lossy(&output.stderr).contains("hunter2"));
}

#[test]
fn sqlite_only_settings_are_refused_for_postgres() {
    let output = run(&[
        "--database-url",
        "postgres://app@127.0.0.1:1/users",
        "--max-db-size",
        "1GB",
    ]);
    assert_clean_failure(&output, "--max-db-size caps a SQLite file");
    let output = run(&[
        "--database-url",
        "postgres://app@127.0.0.1:1/users",
        "--read-cache",
        "1000",
    ]);
    assert_clean_failure(&output, "--read-cache is SQLite only");
    let output = run(&[
        "backup",
        "--database-url",
        "postgres://app@127.0.0.1:1/users",
        "--to",
        "copy.db",
    ]);
    assert_clean_failure(&output, "for PostgreSQL use pg_dump");
}

#[test]
fn wait_ready_returns_once_the_service_is_ready_and_fails_when_it_never_is() {
    let dir = tempfile::tempdir().unwrap();
    let server = crate::server::Server::start(&dir.path().join("users.db"), &[]);
    let address = server.address.trim_start_matches("http://").to_owned();
    let output = run(&["wait-ready", "--address", &address, "--timeout", "10"]);
    assert!(output.status.success(), "{}", stderr(&output));

    let started = std::time::Instant::now();
    let output = run(&["wait-ready", "--address", "127.0.0.1:1", "--timeout", "1"]);
    assert_clean_failure(&output, "127.0.0.1:1 was not ready within 1 s");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn each_request_is_one_log_line_with_method_route_status_time_and_request_id() {
    let dir = tempfile::tempdir().unwrap();
    let server = crate::server::Server::start(&dir.path().join("users.db"), &[]);
    let client = reqwest::Client::builder().no_proxy().build().unwrap();
    let path = "/users/0193a5c4-7d1e-7cc2-9b1e-4f7e0a8b9c10?email=secret@example.com";
    let response = client
        .get(server.url(path))
        .header("x-request-id", "trace-42")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 404);
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    let line = loop {
        if let Some(line) = server
            .log()
            .into_iter()
            .find(|l| l.contains("request_id=trace-42"))
        {
            break line;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no log line for the request"
        );
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    };
    assert!(
        line.contains("GET /users/0193a5c4-7d1e-7cc2-9b1e-4f7e0a8b9c10 route=/users/{id} 404 "),
        "{line}"
    );
    assert!(line.contains("ms request_id=trace-42"), "{line}");
    assert!(
        !line.contains("secret@example.com"),
        "no query string in logs: {line}"
    );
}

/// The read cache is exact only with one server per SQLite file, so a second
/// one (a deploy that starts the new process before the old one stops) is
/// refused with one line; once the first is gone — even killed — it starts.
#[test]
fn a_second_server_on_the_same_database_is_one_clear_line() {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("users.db");
    let mut first = crate::server::Server::start(&db, &[]);
    let path = db.to_str().unwrap();
    let output = run(&["--bind", "127.0.0.1:0", "--database-url", path]);
    assert_clean_failure(&output, "is in use by another user-service process");

    let uncached = run(&[
        "--bind",
        "127.0.0.1:0",
        "--read-cache",
        "0",
        "--database-url",
        path,
    ]);
    assert_clean_failure(&uncached, "is in use by another user-service process");

    first.kill_9();
    // Servers without the cache may share a file, as before the cache.
    let uncached = crate::server::Server::start(&db, &["--read-cache", "0"]);
    let also_uncached = crate::server::Server::start(&db, &["--read-cache", "0"]);
    let caching = run(&["--bind", "127.0.0.1:0", "--database-url", path]);
    assert_clean_failure(&caching, "is in use by another user-service process");
    drop((uncached, also_uncached));
    let second = crate::server::Server::start(&db, &[]);
    drop(second);
}
