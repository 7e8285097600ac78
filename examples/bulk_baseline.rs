//! The floor for `import` into SQLite: the same rows inserted with bare
//! rusqlite — one transaction, one prepared statement, same schema — with
//! parsing done before the clock starts. Prints the seconds the insert took.
//!
//! `cargo run --release --example bulk_baseline -- users.ndjson baseline.db`

use std::io::BufRead;
use std::time::Instant;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let input = args
        .next()
        .ok_or("usage: bulk_baseline INPUT.ndjson OUTPUT.db")?;
    let output = args
        .next()
        .ok_or("usage: bulk_baseline INPUT.ndjson OUTPUT.db")?;
    let rows: Vec<(Vec<u8>, String, String, i64, i64)> =
        std::io::BufReader::new(std::fs::File::open(input)?)
            .lines()
            .map(|line| -> Result<_, Box<dyn std::error::Error>> {
                let v: serde_json::Value = serde_json::from_str(&line?)?;
                let text = |k: &str| v[k].as_str().unwrap_or_default().to_owned();
                let micros = |k: &str| -> Result<i64, Box<dyn std::error::Error>> {
                    let at = time::OffsetDateTime::parse(
                        &text(k),
                        &time::format_description::well_known::Rfc3339,
                    )?;
                    Ok((at.unix_timestamp_nanos() / 1000) as i64)
                };
                Ok((
                    uuid::Uuid::parse_str(&text("id"))?.as_bytes().to_vec(),
                    text("email"),
                    text("name"),
                    micros("created_at")?,
                    micros("updated_at")?,
                ))
            })
            .collect::<Result<_, _>>()?;

    let started = Instant::now();
    let mut conn = rusqlite::Connection::open(output)?;
    conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL;")?;
    conn.execute_batch(include_str!("../migrations/sqlite/V1__create_users.sql"))?;
    let tx = conn.transaction()?;
    {
        let mut stmt = tx.prepare(
            "INSERT INTO users (id, email, name, created_at, updated_at) VALUES (?1, ?2, ?3, ?4, ?5)",
        )?;
        for row in &rows {
            stmt.execute((&row.0, &row.1, &row.2, row.3, row.4))?;
        }
    }
    tx.commit()?;
    conn.execute_batch("PRAGMA wal_checkpoint(TRUNCATE)")?;
    println!("{:.3}", started.elapsed().as_secs_f64());
    Ok(())
}
