//! Prometheus metrics: requests by route template, method and status,
//! latency histograms per route, requests in flight, the database's pools and
//! writer, the database's size, and build info. Each running service has a
//! registry of its own (tests run many services in one process).
//!
//! Cheap on the hot path: a request's route and method index a fixed table
//! of histogram handles (each made on first use, so the exposition lists only
//! what was seen), so timing a request is a few atomic adds; only the status
//! counter looks its labels up.

use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use prometheus::core::Collector;
use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use super::table::TABLE;
use crate::storage::{StoreStats, LATENCY_BUCKETS};

/// Route label values: the route table's templates (as the OpenAPI document
/// writes them) and `unmatched` for anything else, so a scan of random paths
/// cannot grow the label set.
const ROUTES: [&str; TABLE.len() + 1] = {
    let mut routes = ["unmatched"; TABLE.len() + 1];
    let mut i = 0;
    while i < TABLE.len() {
        routes[i] = TABLE[i].template;
        i += 1;
    }
    routes
};

const UNMATCHED: usize = TABLE.len();

const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "PATCH", "DELETE", "PUT", "OPTIONS", "other",
];

fn method_index(method: &str) -> usize {
    METHODS[..METHODS.len() - 1]
        .iter()
        .position(|m| *m == method)
        .unwrap_or(METHODS.len() - 1)
}

/// Every metric of one running service.
pub struct Metrics {
    registry: Registry,
    requests: IntCounterVec,
    latency_vec: HistogramVec,
    /// `[route][method]` handles into `latency_vec`.
    latency: Vec<Vec<OnceLock<Histogram>>>,
    in_flight: IntGauge,
    auth_rejected: IntCounter,
    pool: IntGaugeVec,
    write_queue: IntGauge,
    database_bytes: IntGauge,
}

impl Metrics {
    /// The HTTP metrics, with the other parts' figures (storage, TLS)
    /// registered beside them.
    pub fn new(others: Vec<Box<dyn Collector>>) -> Arc<Self> {
        let r = Registrar(Registry::new());
        let requests = r.add(IntCounterVec::new(
            Opts::new("user_service_http_requests_total", "HTTP requests answered"),
            &["route", "method", "status"],
        ));
        let latency_vec = r.add(HistogramVec::new(
            HistogramOpts::new(
                "user_service_http_request_duration_seconds",
                "Time from a request's arrival to its response",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["route", "method"],
        ));
        let in_flight = r.gauge(
            "user_service_http_requests_in_flight",
            "HTTP requests being handled now",
        );
        let auth_rejected = r.add(IntCounter::new(
            "user_service_auth_rejected_total",
            "Requests refused for a missing or wrong API token",
        ));
        let pool = r.add(IntGaugeVec::new(
            Opts::new(
                "user_service_db_pool_connections",
                "Database connections of the pool, by state",
            ),
            &["state"],
        ));
        let write_queue = r.gauge(
            "user_service_writer_queue_depth",
            "Writes waiting for the SQLite writer thread",
        );
        let database_bytes = r.gauge(
            "user_service_database_size_bytes",
            "Size of the database: SQLite file and WAL, or PostgreSQL's users table",
        );
        r.add(IntGaugeVec::new(
            Opts::new(
                "user_service_build_info",
                "Version and commit of this binary",
            ),
            &["version", "commit"],
        ))
        .with_label_values(&[env!("CARGO_PKG_VERSION"), env!("USER_SERVICE_COMMIT")])
        .set(1);
        for collector in others {
            r.register(collector);
        }
        Arc::new(Self {
            registry: r.0,
            requests,
            latency_vec,
            latency: ROUTES
                .iter()
                .map(|_| METHODS.iter().map(|_| OnceLock::new()).collect())
                .collect(),
            in_flight,
            auth_rejected,
            pool,
            write_queue,
            database_bytes,
        })
    }

    /// Counts a request refused for its token; returns the total so far.
    pub fn auth_rejected(&self) -> u64 {
        self.auth_rejected.inc();
        self.auth_rejected.get()
    }

    /// Counts a request in flight until the returned guard is finished or
    /// dropped.
    /// `route` is the request's index in the route table, `None` for a
    /// path it has no route for.
    pub fn start(&self, route: Option<usize>, method: &str) -> InFlight<'_> {
        self.in_flight.inc();
        InFlight {
            metrics: self,
            route: route.unwrap_or(UNMATCHED),
            method: method_index(method),
            started: Instant::now(),
        }
    }

    /// The text exposition, with the storage gauges read from `stats` now.
    pub fn render(&self, stats: &StoreStats) -> String {
        self.pool
            .with_label_values(&["open"])
            .set(to_i64(stats.pool_open));
        self.pool
            .with_label_values(&["idle"])
            .set(to_i64(stats.pool_idle));
        self.pool
            .with_label_values(&["waiting"])
            .set(to_i64(stats.pool_waiting));
        self.write_queue.set(to_i64(stats.write_queue));
        self.database_bytes.set(to_i64(stats.database_bytes));
        let mut text = String::new();
        if let Err(e) = TextEncoder::new().encode_utf8(&self.registry.gather(), &mut text) {
            log::error!("cannot encode metrics: {e}");
        }
        text
    }
}

fn to_i64(value: u64) -> i64 {
    i64::try_from(value).unwrap_or(i64::MAX)
}

/// Registers each metric as it is made. The options written in this file
/// are valid and their names distinct: prometheus refuses only bad names
/// and duplicates, so a refusal is a bug, not a condition to handle.
struct Registrar(Registry);

impl Registrar {
    fn add<C: Collector + Clone + 'static>(&self, built: prometheus::Result<C>) -> C {
        let metric = built.unwrap_or_else(|e| unreachable!("static metric options are valid: {e}"));
        self.register(Box::new(metric.clone()));
        metric
    }

    fn gauge(&self, name: &str, help: &str) -> IntGauge {
        self.add(IntGauge::new(name, help))
    }

    fn register(&self, collector: Box<dyn Collector>) {
        self.0
            .register(collector)
            .unwrap_or_else(|e| unreachable!("metric names are distinct: {e}"));
    }
}

/// A request being handled; [`InFlight::finish`] records it.
pub struct InFlight<'a> {
    metrics: &'a Metrics,
    route: usize,
    method: usize,
    started: Instant,
}

impl InFlight<'_> {
    /// The request's route template.
    pub fn route(&self) -> &'static str {
        ROUTES[self.route]
    }

    /// Counts the request with its status; returns how long it took.
    pub fn finish(self, status: u16) -> Duration {
        let (route, method) = (self.route, self.method);
        let elapsed = self.started.elapsed();
        self.metrics.latency[route][method]
            .get_or_init(|| {
                self.metrics
                    .latency_vec
                    .with_label_values(&[ROUTES[route], METHODS[method]])
            })
            .observe(elapsed.as_secs_f64());
        let digits = status_digits(status);
        let code = std::str::from_utf8(&digits).unwrap_or("000");
        self.metrics
            .requests
            .with_label_values(&[ROUTES[route], METHODS[method], code])
            .inc();
        elapsed
    }
}

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.metrics.in_flight.dec();
    }
}

/// A status code's three digits, without the formatter or an allocation.
fn status_digits(status: u16) -> [u8; 3] {
    [
        b'0' + (status / 100 % 10) as u8,
        b'0' + (status / 10 % 10) as u8,
        b'0' + (status % 10) as u8,
    ]
}

/// The media type of the text exposition.
pub const CONTENT_TYPE: &str = "text/plain; version=0.0.4; charset=utf-8";

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_route_labels_are_the_table_s_templates_and_unmatched() {
        let templates: Vec<&str> = TABLE.iter().map(|spec| spec.template).collect();
        assert_eq!(ROUTES[..TABLE.len()], templates[..]);
        assert_eq!(ROUTES[UNMATCHED], "unmatched");
    }

    #[test]
    fn unknown_methods_and_statuses_stay_in_bounded_labels() {
        assert_eq!(METHODS[method_index("BREW")], "other");
        assert_eq!(METHODS[method_index("PATCH")], "PATCH");
        assert_eq!(&status_digits(404), b"404");
        assert_eq!(&status_digits(200), b"200");
    }
}
