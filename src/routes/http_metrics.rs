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

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts,
    Registry, TextEncoder,
};

use super::paths::PATHS;
use crate::storage::{StorageMetrics, StoreStats, LATENCY_BUCKETS};

/// Route label values: the router's own templates (`routes::PATHS`, as the
/// OpenAPI document writes them) and `unmatched` for anything else, so a scan
/// of random paths cannot grow the label set.
const ROUTES: [&str; PATHS.len() + 1] = {
    let mut routes = ["unmatched"; PATHS.len() + 1];
    let mut i = 0;
    while i < PATHS.len() {
        routes[i] = PATHS[i];
        i += 1;
    }
    routes
};

/// The index of `template` in [`ROUTES`]; a template the router does not
/// have fails the build.
const fn route(template: &str) -> usize {
    let mut i = 0;
    while i < ROUTES.len() {
        if str_eq(ROUTES[i], template) {
            return i;
        }
        i += 1;
    }
    panic!("not a route template of routes::PATHS")
}

const fn str_eq(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

const INDEX: usize = route("/");
const STATIC: usize = route("/static/{file}");
const OPENAPI: usize = route("/openapi.json");
const METRICS: usize = route("/metrics");
const HEALTH: usize = route("/health");
const READY: usize = route("/ready");
const USERS: usize = route("/users");
const USER: usize = route("/users/{id}");
const UNMATCHED: usize = route("unmatched");

const METHODS: [&str; 8] = [
    "GET", "HEAD", "POST", "PATCH", "DELETE", "PUT", "OPTIONS", "other",
];

/// The route template of `path` (requests get theirs from [`InFlight::route`]).
#[cfg(test)]
fn route_of(path: &str) -> &'static str {
    ROUTES[route_index(path)]
}

fn route_index(path: &str) -> usize {
    let one_segment = |rest: &str| !rest.is_empty() && !rest.contains('/');
    match path {
        "/" => INDEX,
        "/openapi.json" => OPENAPI,
        "/metrics" => METRICS,
        "/health" => HEALTH,
        "/ready" => READY,
        "/users" => USERS,
        _ if path.strip_prefix("/static/").is_some_and(one_segment) => STATIC,
        _ if path.strip_prefix("/users/").is_some_and(one_segment) => USER,
        _ => UNMATCHED,
    }
}

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
    /// The HTTP metrics, with `storage`'s figures registered beside them.
    pub fn new(storage: &StorageMetrics) -> Arc<Self> {
        let registry = Registry::new();
        let requests = valid(IntCounterVec::new(
            Opts::new("user_service_http_requests_total", "HTTP requests answered"),
            &["route", "method", "status"],
        ));
        let latency_vec = valid(HistogramVec::new(
            HistogramOpts::new(
                "user_service_http_request_duration_seconds",
                "Time from a request's arrival to its response",
            )
            .buckets(LATENCY_BUCKETS.to_vec()),
            &["route", "method"],
        ));
        let latency = ROUTES
            .iter()
            .map(|_| METHODS.iter().map(|_| OnceLock::new()).collect())
            .collect();
        let in_flight = valid(IntGauge::new(
            "user_service_http_requests_in_flight",
            "HTTP requests being handled now",
        ));
        let auth_rejected = valid(IntCounter::new(
            "user_service_auth_rejected_total",
            "Requests refused for a missing or wrong API token",
        ));
        let pool = valid(IntGaugeVec::new(
            Opts::new(
                "user_service_db_pool_connections",
                "Database connections of the pool, by state",
            ),
            &["state"],
        ));
        let write_queue = valid(IntGauge::new(
            "user_service_writer_queue_depth",
            "Writes waiting for the SQLite writer thread",
        ));
        let database_bytes = valid(IntGauge::new(
            "user_service_database_size_bytes",
            "Size of the database: SQLite file and WAL, or PostgreSQL's users table",
        ));
        let build_info = valid(IntGaugeVec::new(
            Opts::new(
                "user_service_build_info",
                "Version and commit of this binary",
            ),
            &["version", "commit"],
        ));
        build_info
            .with_label_values(&[env!("CARGO_PKG_VERSION"), env!("USER_SERVICE_COMMIT")])
            .set(1);
        let collectors: Vec<Box<dyn prometheus::core::Collector>> = vec![
            Box::new(requests.clone()),
            Box::new(latency_vec.clone()),
            Box::new(in_flight.clone()),
            Box::new(auth_rejected.clone()),
            Box::new(pool.clone()),
            Box::new(write_queue.clone()),
            Box::new(database_bytes.clone()),
            Box::new(build_info),
        ];
        for collector in collectors.into_iter().chain(storage.collectors()) {
            registry
                .register(collector)
                .unwrap_or_else(|e| unreachable!("metric names are distinct: {e}"));
        }
        Arc::new(Self {
            registry,
            requests,
            latency_vec,
            latency,
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
    pub fn start(&self, path: &str, method: &str) -> InFlight<'_> {
        self.in_flight.inc();
        InFlight {
            metrics: self,
            route: route_index(path),
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

/// Options written in this file are valid; prometheus only refuses bad names.
fn valid<T>(built: prometheus::Result<T>) -> T {
    built.unwrap_or_else(|e| unreachable!("static metric options are valid: {e}"))
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
    fn the_route_labels_are_the_registered_paths_and_unmatched() {
        let mut labels: Vec<&str> = ROUTES.to_vec();
        let mut paths: Vec<&str> = PATHS.to_vec();
        paths.push("unmatched");
        labels.sort_unstable();
        paths.sort_unstable();
        assert_eq!(labels, paths);
        for path in PATHS {
            let concrete = path.replace("{id}", "x").replace("{file}", "app.js");
            assert_eq!(route_of(&concrete), path, "{concrete}");
        }
    }

    #[test]
    fn paths_map_to_a_bounded_set_of_templates() {
        assert_eq!(
            route_of("/users/0193a5c4-7d1e-7cc2-9b1e-4f7e0a8b9c10"),
            "/users/{id}"
        );
        assert_eq!(route_of("/users"), "/users");
        assert_eq!(route_of("/static/app.js"), "/static/{file}");
        assert_eq!(route_of("/users/a/b"), "unmatched");
        assert_eq!(route_of("/wp-admin.php"), "unmatched");
        assert_eq!(METHODS[method_index("BREW")], "other");
        assert_eq!(&status_digits(404), b"404");
    }
}
