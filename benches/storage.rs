//! The SQLite store without HTTP: reads, a page, and creates at 1, 8 and 64
//! concurrent writers, where group commit shows as falling time per create.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use criterion::{criterion_group, criterion_main, BenchmarkId, Criterion};
use user_service::domain::{Email, NewUser, UserId, UserName};
use user_service::storage::sqlite::{Durability, SqliteOptions, SqliteStore};
use user_service::storage::StorageMetrics;
use user_service::storage::{ListQuery, UserStore};

static SEQ: AtomicU64 = AtomicU64::new(0);

fn new_user() -> NewUser {
    let n = SEQ.fetch_add(1, Ordering::Relaxed);
    NewUser {
        email: Email::parse(&format!("bench{n}-{}@example.com", std::process::id())).unwrap(),
        name: UserName::parse("Bench User").unwrap(),
    }
}

fn open(dir: &tempfile::TempDir, durability: Durability) -> SqliteStore {
    SqliteStore::open(&SqliteOptions {
        path: dir.path().join("bench.db"),
        durability,
        max_size: None,
        readers: 4,
        read_cache: 0,
        mmap_size: user_service::config::DEFAULT_MMAP_SIZE,
        serving: false,
        backups: None,
        metrics: StorageMetrics::new(),
        key_ttl: user_service::storage::DEFAULT_KEY_TTL,
    })
    .unwrap()
}

fn storage(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let store = open(&dir, Durability::Full);
    let ids: Vec<UserId> = rt.block_on(async {
        let mut ids = Vec::new();
        for _ in 0..2_000 {
            ids.push(store.create(new_user()).await.unwrap().id);
        }
        ids
    });

    let mut i = 0;
    c.bench_function("storage/get", |b| {
        b.to_async(&rt).iter(|| {
            i = (i + 7919) % ids.len();
            store.get(ids[i])
        })
    });
    c.bench_function("storage/list_100", |b| {
        b.to_async(&rt).iter(|| store.list(ListQuery::first(100)))
    });

    let mut group = c.benchmark_group("storage/create");
    group
        .sample_size(20)
        .measurement_time(Duration::from_secs(5));
    for writers in [1usize, 8, 64] {
        group.bench_with_input(
            BenchmarkId::from_parameter(writers),
            &writers,
            |b, &writers| {
                b.iter_custom(|iters| {
                    let per_writer = iters.div_ceil(writers as u64);
                    let store = Arc::new(store.clone());
                    rt.block_on(async {
                        let started = Instant::now();
                        let tasks: Vec<_> = (0..writers)
                            .map(|_| {
                                let store = Arc::clone(&store);
                                tokio::spawn(async move {
                                    for _ in 0..per_writer {
                                        store.create(new_user()).await.unwrap();
                                    }
                                })
                            })
                            .collect();
                        for task in tasks {
                            task.await.unwrap();
                        }
                        // Time per create, as if `iters` were run.
                        started
                            .elapsed()
                            .mul_f64(iters as f64 / (per_writer * writers as u64) as f64)
                    })
                })
            },
        );
    }
    group.finish();
    store.close();
}

criterion_group!(benches, storage);
criterion_main!(benches);
