//! Every acknowledged write survives `kill -9`.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use crate::server::{client, count_users, create, integrity, Server};

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
    let nanos = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .subsec_nanos();
    tokio::time::sleep(Duration::from_millis(200 + u64::from(nanos % 1000))).await;
    server.kill_9();
    stop.store(true, Ordering::Relaxed);
    for task in tasks {
        task.await.unwrap();
    }
    let ids = acked.lock().unwrap().clone();
    ids
}

async fn assert_all_present(server: &Server, ids: &[String]) {
    let client = client();
    for id in ids {
        let response = client
            .get(server.url(&format!("/users/{id}")))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "acknowledged user {id} was lost");
    }
}

async fn crash_cycles(durability: &str, cycles: usize) {
    let dir = tempfile::tempdir().unwrap();
    let db = dir.path().join("users.db");
    let mut all_acked: Vec<String> = Vec::new();
    for cycle in 0..cycles {
        let mut server = Server::start(&db, &["--durability", durability]);
        assert_all_present(&server, &all_acked).await;
        let acked = write_then_kill(&mut server, 8, cycle).await;
        assert!(!acked.is_empty(), "cycle {cycle} acknowledged some writes");
        all_acked.extend(acked);
        assert_eq!(integrity(&db), "ok", "cycle {cycle}");
    }
    let server = Server::start(&db, &[]);
    assert_all_present(&server, &all_acked).await;
    drop(server);
    assert!(count_users(&db) >= all_acked.len() as i64);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_kill_9_with_full_durability() {
    crash_cycles("full", 3).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_writes_survive_kill_9_with_normal_durability() {
    crash_cycles("normal", 2).await;
}
