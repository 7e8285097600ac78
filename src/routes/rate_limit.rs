//! `--rate-limit`: requests per client IP address, with a burst, through a
//! keyed GCRA limiter (the governor crate). Over the limit: 429
//! `rate_limited` with `Retry-After`. The routes the table marks not
//! `rate_limited` (`/health`, `/ready`) are never limited, so monitors keep
//! seeing the truth.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::middleware::Next;
use actix_web::{HttpMessage, ResponseError};
use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};

use super::table;
use crate::error::ApiError;

/// Forget idle clients every this many checks, so the table holds only
/// addresses seen recently.
const SWEEP_EVERY: u64 = 4096;

/// A request rate, as `--rate-limit` gives it. Kept in its own unit: a
/// per-minute rate refills one request every `60 s / N`, which whole
/// requests per second cannot express (`30/min` is not `1/s`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rate {
    PerSecond(NonZeroU32),
    PerMinute(NonZeroU32),
}

impl Rate {
    fn quota(self) -> Quota {
        match self {
            Self::PerSecond(n) => Quota::per_second(n),
            Self::PerMinute(n) => Quota::per_minute(n),
        }
    }

    /// One second's worth of requests, at least one: the default burst.
    pub fn one_second(self) -> NonZeroU32 {
        match self {
            Self::PerSecond(n) => n,
            Self::PerMinute(n) => NonZeroU32::new(n.get().div_ceil(60)).unwrap_or(NonZeroU32::MIN),
        }
    }
}

/// A rate and a burst, as `--rate-limit` and `--rate-limit-burst` give them.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimitSetting {
    pub rate: Rate,
    pub burst: NonZeroU32,
}

pub struct RateLimiter {
    limiter: DefaultKeyedRateLimiter<IpAddr>,
    clock: DefaultClock,
    checks: AtomicU64,
}

impl RateLimiter {
    pub fn new(setting: RateLimitSetting) -> Arc<Self> {
        let quota = setting.rate.quota().allow_burst(setting.burst);
        Arc::new(Self {
            limiter: DefaultKeyedRateLimiter::keyed(quota),
            clock: DefaultClock::default(),
            checks: AtomicU64::new(0),
        })
    }

    /// `Ok` to go on, or the whole seconds to wait.
    fn check(&self, client: IpAddr) -> Result<(), u64> {
        if self.checks.fetch_add(1, Ordering::Relaxed) % SWEEP_EVERY == SWEEP_EVERY - 1 {
            self.limiter.retain_recent();
        }
        self.limiter.check_key(&client).map_err(|not_until| {
            let wait = not_until.wait_time_from(self.clock.now());
            wait.as_secs() + u64::from(wait.subsec_nanos() > 0)
        })
    }
}

/// The middleware: 429 for a client over its rate, else the request; with
/// no limiter configured, every request goes on.
pub async fn limit_rate(
    limiter: Option<Arc<RateLimiter>>,
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, actix_web::Error> {
    let exempt = !table::matched(&req.extensions(), req.path()).rate_limited();
    // Without a peer address (not over TCP) there is no one to limit.
    let client = req.peer_addr().map(|addr| addr.ip());
    if let (false, Some(client), Some(limiter)) = (exempt, client, limiter) {
        if let Err(retry_after) = limiter.check(client) {
            let response = ApiError::RateLimited { retry_after }.error_response();
            return Ok(req.into_response(response).map_into_right_body());
        }
    }
    next.call(req)
        .await
        .map(ServiceResponse::map_into_left_body)
}

/// Parses `N/s`, `N/min` or a bare `N` (per second).
pub fn parse_rate(raw: &str) -> Result<Rate, String> {
    let raw = raw.trim();
    let (number, per_minute) = match raw.split_once('/') {
        None => (raw, false),
        Some((n, "s" | "sec" | "second")) => (n, false),
        Some((n, "m" | "min" | "minute")) => (n, true),
        Some((_, unit)) => return Err(format!("unknown rate unit {unit:?}; use N/s or N/min")),
    };
    let number: u32 = number
        .trim()
        .parse()
        .map_err(|_| format!("{raw:?} is not a rate; expected e.g. 100/s or 600/min"))?;
    let number = NonZeroU32::new(number).ok_or_else(|| "the rate must be above 0".to_owned())?;
    Ok(match per_minute {
        true => Rate::PerMinute(number),
        false => Rate::PerSecond(number),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn n(n: u32) -> NonZeroU32 {
        NonZeroU32::new(n).unwrap()
    }

    fn limiter(rate: Rate, burst: u32) -> Arc<RateLimiter> {
        RateLimiter::new(RateLimitSetting {
            rate,
            burst: n(burst),
        })
    }

    #[test]
    fn rates_take_seconds_or_minutes() {
        assert_eq!(parse_rate("100/s"), Ok(Rate::PerSecond(n(100))));
        assert_eq!(parse_rate("100"), Ok(Rate::PerSecond(n(100))));
        assert_eq!(parse_rate(" 600/min "), Ok(Rate::PerMinute(n(600))));
        assert_eq!(parse_rate("1/minute"), Ok(Rate::PerMinute(n(1))));
        assert_eq!(Rate::PerMinute(n(600)).one_second(), n(10));
        assert_eq!(Rate::PerMinute(n(30)).one_second(), n(1));
        assert!(parse_rate("0/s").is_err());
        assert!(parse_rate("0/min").is_err());
        assert!(parse_rate("ten/s").is_err());
        assert!(parse_rate("5/fortnight").is_err());
    }

    #[test]
    fn a_client_gets_its_burst_then_must_wait_and_others_are_not_affected() {
        let limiter = limiter(Rate::PerSecond(n(1)), 3);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        let b: IpAddr = "192.0.2.2".parse().unwrap();
        for _ in 0..3 {
            assert_eq!(limiter.check(a), Ok(()));
        }
        assert_eq!(limiter.check(a), Err(1));
        assert_eq!(limiter.check(b), Ok(()));
    }

    #[test]
    fn a_per_minute_rate_refills_one_request_every_60_s_over_n() {
        // 30/min: one request every 2 s, not the 1/s a rounded rate allowed.
        let limiter = limiter(Rate::PerMinute(n(30)), 1);
        let a: IpAddr = "192.0.2.1".parse().unwrap();
        assert_eq!(limiter.check(a), Ok(()));
        assert_eq!(limiter.check(a), Err(2));
    }
}
