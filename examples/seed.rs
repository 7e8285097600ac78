//! Seeds a running server with users through its HTTP API, concurrently,
//! and writes their ids (one a line) for the load harness.
//!
//! `cargo run --release --example seed -- http://127.0.0.1:3000 10000 ids.txt`

use std::io::Write;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;

const CONCURRENCY: usize = 64;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let base = args
        .next()
        .unwrap_or_else(|| "http://127.0.0.1:3000".into());
    let count: usize = args
        .next()
        .map(|n| n.parse())
        .transpose()?
        .unwrap_or(10_000);
    let out = args.next().unwrap_or_else(|| "ids.txt".into());
    let client = reqwest::Client::builder().no_proxy().build()?;
    let next = Arc::new(AtomicUsize::new(0));
    let run = std::process::id();
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (client, base, next) = (client.clone(), base.clone(), next.clone());
        tasks.push(tokio::spawn(async move {
            let mut ids = Vec::new();
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                if i >= count {
                    break;
                }
                let body = serde_json::json!({
                    "email": format!("seed{run}-{i}@example.com"),
                    "name": format!("Seed User {i}"),
                });
                let response = client
                    .post(format!("{base}/users"))
                    .json(&body)
                    .send()
                    .await;
                match response {
                    Ok(r) if r.status() == 201 => {
                        let user: serde_json::Value = r.json().await.unwrap_or_default();
                        if let Some(id) = user["id"].as_str() {
                            ids.push(id.to_owned());
                        }
                    }
                    Ok(r) => eprintln!("seed {i}: {}", r.status()),
                    Err(e) => eprintln!("seed {i}: {e}"),
                }
            }
            ids
        }));
    }
    let mut file = std::io::BufWriter::new(std::fs::File::create(&out)?);
    let mut total = 0;
    for task in tasks {
        for id in task.await? {
            writeln!(file, "{id}")?;
            total += 1;
        }
    }
    file.flush()?;
    eprintln!("seeded {total} users into {base}; ids in {out}");
    Ok(())
}
