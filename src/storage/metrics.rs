//! What the storage backends record as they work: writer batches and
//! commits, queue and pool waits, read-cache lookups. The backends own these
//! figures; the entry point registers them with the service's Prometheus
//! registry ([`StorageMetrics::collectors`]), so storage never knows HTTP.

use prometheus::core::Collector;
use prometheus::{Histogram, HistogramOpts, IntCounter, IntCounterVec, IntGauge, Opts};

/// Seconds: from a cached read (~0.1 ms) to the 10 s storage timeout. The
/// HTTP latency histograms use the same buckets.
pub const LATENCY_BUCKETS: [f64; 14] = [
    0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0, 2.5, 10.0,
];

/// The figures; cheap to clone (every handle shares its metric).
#[derive(Clone)]
pub struct StorageMetrics {
    /// Writes per committed SQLite transaction.
    pub batch_size: Histogram,
    /// Time from `BEGIN` to the end of `COMMIT` (fsync included).
    pub commit_seconds: Histogram,
    /// Time a write waited in the queue (and for room in it) before its
    /// batch started.
    pub queue_wait_seconds: Histogram,
    /// Time a read waited for a pooled connection.
    pub pool_wait_seconds: Histogram,
    /// SQLite reads by id answered from the read cache, and not.
    pub read_cache_hits: IntCounter,
    pub read_cache_misses: IntCounter,
    read_cache: IntCounterVec,
    backups: IntCounterVec,
    backup_last_success: IntGauge,
    backup_last_bytes: IntGauge,
}

impl std::fmt::Debug for StorageMetrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StorageMetrics")
    }
}

impl Default for StorageMetrics {
    fn default() -> Self {
        Self::new()
    }
}

impl StorageMetrics {
    /// Fresh figures. Registered nowhere until the caller registers
    /// [`StorageMetrics::collectors`]; tools and benches that open a store
    /// without serving it simply never do.
    pub fn new() -> Self {
        let read_cache = IntCounterVec::new(
            Opts::new(
                "user_service_read_cache_lookups_total",
                "SQLite reads by id, by whether the read cache answered them",
            ),
            &["result"],
        )
        .unwrap_or_else(|e| unreachable!("static counter options are valid: {e}"));
        let backups = IntCounterVec::new(
            Opts::new(
                "user_service_backups_total",
                "Scheduled backups (--backup-dir), by result; a failed one keeps the older ones",
            ),
            &["result"],
        )
        .unwrap_or_else(|e| unreachable!("static counter options are valid: {e}"));
        for result in ["ok", "error"] {
            backups.with_label_values(&[result]);
        }
        Self {
            batch_size: histogram(
                "user_service_writer_batch_size",
                "Writes committed together in one SQLite transaction",
                vec![1.0, 2.0, 4.0, 8.0, 16.0, 32.0, 64.0, 128.0, 256.0],
            ),
            commit_seconds: histogram(
                "user_service_writer_commit_seconds",
                "Time to apply and commit one batch of writes, fsync included",
                LATENCY_BUCKETS.to_vec(),
            ),
            queue_wait_seconds: histogram(
                "user_service_writer_queue_wait_seconds",
                "Time a write waited for the writer before its batch started",
                LATENCY_BUCKETS.to_vec(),
            ),
            pool_wait_seconds: histogram(
                "user_service_db_pool_wait_seconds",
                "Time a database operation waited for a pooled connection",
                LATENCY_BUCKETS.to_vec(),
            ),
            read_cache_hits: read_cache.with_label_values(&["hit"]),
            read_cache_misses: read_cache.with_label_values(&["miss"]),
            read_cache,
            backups,
            backup_last_success: gauge(
                "user_service_backup_last_success_timestamp_seconds",
                "When the last scheduled backup that succeeded was taken (Unix time; 0: none)",
            ),
            backup_last_bytes: gauge(
                "user_service_backup_last_size_bytes",
                "Size of the last scheduled backup that succeeded",
            ),
        }
    }

    /// Every metric, for a registry.
    pub fn collectors(&self) -> Vec<Box<dyn Collector>> {
        vec![
            Box::new(self.batch_size.clone()),
            Box::new(self.commit_seconds.clone()),
            Box::new(self.queue_wait_seconds.clone()),
            Box::new(self.pool_wait_seconds.clone()),
            Box::new(self.read_cache.clone()),
            Box::new(self.backups.clone()),
            Box::new(self.backup_last_success.clone()),
            Box::new(self.backup_last_bytes.clone()),
        ]
    }
}

fn histogram(name: &str, help: &str, buckets: Vec<f64>) -> Histogram {
    Histogram::with_opts(HistogramOpts::new(name, help).buckets(buckets))
        .unwrap_or_else(|e| unreachable!("static histogram options are valid: {e}"))
}

impl StorageMetrics {
    /// A scheduled backup written and verified at `at` (Unix seconds).
    pub fn backup_succeeded(&self, at: i64, bytes: u64) {
        self.backups.with_label_values(&["ok"]).inc();
        self.backup_last_success.set(at);
        self.backup_last_bytes
            .set(i64::try_from(bytes).unwrap_or(i64::MAX));
    }

    pub fn backup_failed(&self) {
        self.backups.with_label_values(&["error"]).inc();
    }
}

fn gauge(name: &str, help: &str) -> IntGauge {
    IntGauge::new(name, help)
        .unwrap_or_else(|e| unreachable!("static gauge options are valid: {e}"))
}
