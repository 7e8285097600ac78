//! A server whose stderr nobody reads keeps serving: log lines wait in a
//! bounded buffer (and are dropped past it), never blocking a request.

use std::io::Read;
use std::time::{Duration, Instant};

use futures::StreamExt;

use crate::server::{client, Server};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn requests_are_answered_while_nobody_reads_stderr() {
    let dir = tempfile::tempdir().unwrap();
    // The pipe (64 KiB) fills after a few hundred request lines.
    let (mut server, mut stderr) =
        Server::start_with_stderr_unread(&dir.path().join("users.db"), &[]);
    let client = client();
    // ~170 bytes of log each: 3,000 make ~500 KB, far past the pipe and the
    // size at which a batch used to be written by the request's own thread.
    let started = Instant::now();
    let answered = futures::stream::iter(0..3_000)
        .map(|n| {
            let client = client.clone();
            let url = server.url(&format!("/users/00000000-0000-7000-8000-{n:012}"));
            async move { client.get(url).send().await.map(|r| r.status()) }
        })
        .buffer_unordered(16)
        .filter(|status| std::future::ready(matches!(status, Ok(s) if s.as_u16() == 404)))
        .count()
        .await;
    assert_eq!(answered, 3_000, "in {:?}", started.elapsed());

    // SIGTERM still ends it promptly: the last lines get a bounded wait.
    let stopped = Instant::now();
    let (exit, _server) = tokio::task::spawn_blocking(move || (server.terminate(), server))
        .await
        .unwrap();
    assert!(exit.success(), "{exit}");
    assert!(stopped.elapsed() < Duration::from_secs(10));
    // What the pipe held is intact, whole lines.
    let mut rest = String::new();
    stderr.read_to_string(&mut rest).unwrap();
    assert!(rest.lines().any(|l| l.contains("route=/users/{id} 404")));
}
