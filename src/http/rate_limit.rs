//! Per-key rate limits as HubSpot applies them: a rolling ten-second window and a daily budget,
//! each a GCRA bucket (governor) per API key, reported in `X-HubSpot-RateLimit-*` headers on
//! every authenticated response. Buckets live in this process: with several nodes each enforces
//! its own share.

use crate::db::keys::RateOverrides;
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::atomic::{AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Bucket = RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;

const WINDOW: Duration = Duration::from_secs(10);
const DAY: Duration = Duration::from_secs(24 * 3600);

/// Requests allowed per ten seconds and per day.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    pub per_10s: u32,
    pub per_day: u32,
}

/// What a key has left, for the response headers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Usage {
    pub max: u32,
    pub remaining: u32,
    pub daily: u32,
    pub daily_remaining: u32,
}

/// Which limit was hit, HubSpot's names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Limit {
    TenSecondly,
    Daily,
    /// Too many failed authentications from one address.
    BadCredentials,
}

#[derive(Debug, Clone, Copy)]
pub struct Exceeded {
    pub limit: Limit,
    pub retry_after: Duration,
    pub usage: Usage,
}

struct Buckets {
    policy: Policy,
    burst: Bucket,
    daily: Bucket,
    /// The daily bucket's remaining capacity after the last counted request: a request refused
    /// by the ten-second window is not counted against the day, so it reports this.
    daily_left: AtomicU32,
}

fn bucket(count: u32, per: Duration) -> Bucket {
    let n = NonZeroU32::new(count.max(1)).expect("at least one");
    let period = (per / n.get()).max(Duration::from_nanos(1));
    let quota = Quota::with_period(period)
        .expect("non-zero period")
        .allow_burst(n);
    RateLimiter::direct(quota).with_middleware::<StateInformationMiddleware>()
}

pub struct RateLimits {
    default: Policy,
    keys: Mutex<HashMap<i64, Arc<Buckets>>>,
    clock: DefaultClock,
}

impl RateLimits {
    pub fn new(default: Policy) -> RateLimits {
        RateLimits {
            default,
            keys: Mutex::new(HashMap::new()),
            clock: DefaultClock::default(),
        }
    }

    fn buckets(&self, key_id: i64, overrides: RateOverrides) -> Arc<Buckets> {
        let policy = Policy {
            per_10s: overrides.per_10s.unwrap_or(self.default.per_10s),
            per_day: overrides.per_day.unwrap_or(self.default.per_day),
        };
        let mut keys = self.keys.lock().unwrap_or_else(|e| e.into_inner());
        match keys.get(&key_id) {
            Some(b) if b.policy == policy => b.clone(),
            _ => {
                let b = Arc::new(Buckets {
                    policy,
                    burst: bucket(policy.per_10s, WINDOW),
                    daily: bucket(policy.per_day, DAY),
                    daily_left: AtomicU32::new(policy.per_day),
                });
                keys.insert(key_id, b.clone());
                b
            }
        }
    }

    /// Counts one request against the key: the ten-second window first, then the day.
    pub fn check(&self, key_id: i64, overrides: RateOverrides) -> Result<Usage, Exceeded> {
        let b = self.buckets(key_id, overrides);
        let mut usage = Usage {
            max: b.policy.per_10s,
            remaining: 0,
            daily: b.policy.per_day,
            daily_remaining: 0,
        };
        let now = self.clock.now();
        match b.burst.check() {
            Ok(s) => usage.remaining = s.remaining_burst_capacity(),
            Err(not_until) => {
                usage.daily_remaining = b.daily_left.load(Ordering::Relaxed);
                return Err(Exceeded {
                    limit: Limit::TenSecondly,
                    retry_after: not_until.wait_time_from(now),
                    usage,
                });
            }
        }
        match b.daily.check() {
            Ok(s) => {
                usage.daily_remaining = s.remaining_burst_capacity();
                b.daily_left.store(usage.daily_remaining, Ordering::Relaxed);
            }
            Err(not_until) => {
                b.daily_left.store(0, Ordering::Relaxed);
                return Err(Exceeded {
                    limit: Limit::Daily,
                    retry_after: not_until.wait_time_from(now),
                    usage,
                });
            }
        }
        Ok(usage)
    }
}

impl Usage {
    /// HubSpot's `X-HubSpot-RateLimit-*` headers.
    pub fn write(&self, headers: &mut HeaderMap) {
        let pairs = [
            (
                "x-hubspot-ratelimit-interval-milliseconds",
                WINDOW.as_millis() as u64,
            ),
            ("x-hubspot-ratelimit-max", u64::from(self.max)),
            ("x-hubspot-ratelimit-remaining", u64::from(self.remaining)),
            ("x-hubspot-ratelimit-daily", u64::from(self.daily)),
            (
                "x-hubspot-ratelimit-daily-remaining",
                u64::from(self.daily_remaining),
            ),
        ];
        for (name, value) in pairs {
            headers.insert(HeaderName::from_static(name), HeaderValue::from(value));
        }
    }
}

/// Failed authentications per client address in a ten-second window: past the limit the address
/// is refused before any token is looked at, so a flood of bad tokens cannot burn CPU on
/// signature checks (or the database on key lookups).
pub struct AuthFailures {
    per_10s: u32,
    seen: Mutex<HashMap<std::net::IpAddr, (u32, std::time::Instant)>>,
}

impl AuthFailures {
    pub fn new(per_10s: u32) -> AuthFailures {
        AuthFailures {
            per_10s,
            seen: Mutex::new(HashMap::new()),
        }
    }

    /// How long `ip` must wait, if it has used up its failures in the current window.
    pub fn blocked(&self, ip: std::net::IpAddr) -> Option<Duration> {
        let seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        match seen.get(&ip) {
            Some((n, start)) if *n >= self.per_10s && start.elapsed() < WINDOW => {
                Some(WINDOW - start.elapsed())
            }
            _ => None,
        }
    }

    pub fn failed(&self, ip: std::net::IpAddr) {
        let mut seen = self.seen.lock().unwrap_or_else(|e| e.into_inner());
        if seen.len() > 100_000 {
            seen.retain(|_, (_, start)| start.elapsed() < WINDOW);
        }
        let entry = seen.entry(ip).or_insert((0, std::time::Instant::now()));
        if entry.1.elapsed() >= WINDOW {
            *entry = (0, std::time::Instant::now());
        }
        entry.0 += 1;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_window_runs_out_then_refills_and_overrides_apply() {
        let limits = RateLimits::new(Policy {
            per_10s: 3,
            per_day: 100,
        });
        let none = RateOverrides::default();
        let remaining: Vec<u32> = (0..3)
            .map(|_| limits.check(1, none).unwrap().remaining)
            .collect();
        assert_eq!(remaining, [2, 1, 0]);
        let e = limits.check(1, none).unwrap_err();
        assert_eq!(e.limit, Limit::TenSecondly);
        assert_eq!(
            e.usage.daily_remaining, 97,
            "the day's budget as it was, not 0"
        );
        assert!(
            e.retry_after > Duration::ZERO && e.retry_after <= Duration::from_millis(3334),
            "{:?}",
            e.retry_after
        );
        assert!(limits.check(2, none).is_ok(), "keys are independent");
        let tight = RateOverrides {
            per_10s: Some(100),
            per_day: Some(1),
        };
        assert!(limits.check(3, tight).is_ok());
        assert_eq!(limits.check(3, tight).unwrap_err().limit, Limit::Daily);
    }
}
