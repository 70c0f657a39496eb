//! Per-key rate limits as HubSpot applies them: a rolling ten-second window per node (a GCRA
//! bucket, governor) and a daily budget per UTC day shared by every node through the database
//! (`key_usage`), reported in `X-HubSpot-RateLimit-*` headers on every authenticated response.
//!
//! The daily count never costs a request a database round trip: each node counts locally and a
//! background thread (`DailySync`) adds its counts to the database and reads every node's totals
//! back about once a second. A key can therefore exceed its budget by what the other nodes let
//! through before their counts arrive (about two sync intervals of their traffic).

use crate::db::keys::RateOverrides;
use crate::db::{Db, DbError};
use actix_web::http::header::{HeaderMap, HeaderName, HeaderValue};
use governor::clock::{Clock, DefaultClock};
use governor::middleware::StateInformationMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex};
use std::time::Duration;

type Bucket = RateLimiter<NotKeyed, InMemoryState, DefaultClock, StateInformationMiddleware>;

const WINDOW: Duration = Duration::from_secs(10);
const DAY_SECS: i64 = 24 * 3600;
/// Days of `key_usage` kept (only today's count is enforced; the rest is history for operators).
const USAGE_KEPT_DAYS: i64 = 7;

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

/// This node's view of one key's requests today.
#[derive(Debug, Default)]
struct Daily {
    /// Days since 1970-01-01, UTC.
    day: i64,
    /// Every node's total as last read from the database (this node's synced counts included).
    global: u64,
    /// Counted here and being added to the database by the sync in progress.
    syncing: u64,
    /// Counted here since the last sync began.
    pending: u64,
    /// `global` has been read from the database today (a key new to this node starts unread).
    read: bool,
}

impl Daily {
    fn used(&self) -> u64 {
        self.global + self.syncing + self.pending
    }

    /// A new UTC day starts every key from zero. Counts of the day before that were not synced
    /// yet (at most one interval's) are dropped: they no longer limit anything.
    fn roll(&mut self, today: i64) {
        if self.day != today {
            *self = Daily {
                day: today,
                ..Daily::default()
            };
        }
    }
}

struct Buckets {
    policy: Policy,
    burst: Bucket,
    /// Shared with the key's previous `Buckets` if its limits changed: the day's count stays.
    daily: Arc<Mutex<Daily>>,
}

fn bucket(count: u32, per: Duration) -> Bucket {
    let n = NonZeroU32::new(count.max(1)).expect("at least one");
    let period = (per / n.get()).max(Duration::from_nanos(1));
    let quota = Quota::with_period(period)
        .expect("non-zero period")
        .allow_burst(n);
    RateLimiter::direct(quota).with_middleware::<StateInformationMiddleware>()
}

fn lock<T>(m: &Mutex<T>) -> std::sync::MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// Today (days since 1970-01-01, UTC) and the time left until it ends.
fn utc_today() -> (i64, Duration) {
    let secs = chrono::Utc::now().timestamp();
    let left = DAY_SECS - secs.rem_euclid(DAY_SECS);
    (secs.div_euclid(DAY_SECS), Duration::from_secs(left as u64))
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
        let mut keys = lock(&self.keys);
        match keys.get(&key_id) {
            Some(b) if b.policy == policy => b.clone(),
            old => {
                let b = Arc::new(Buckets {
                    policy,
                    burst: bucket(policy.per_10s, WINDOW),
                    daily: old.map(|o| o.daily.clone()).unwrap_or_default(),
                });
                keys.insert(key_id, b.clone());
                b
            }
        }
    }

    /// Reads the key's total for today from the database unless this node already has: the
    /// first request of a key on a node (after a start, or a new day) must not ignore what the
    /// other nodes counted. One short read per key, node and day; later ones come from `sync`.
    pub fn prime(&self, db: &Db, key_id: i64, overrides: RateOverrides) -> Result<(), DbError> {
        let (today, _) = utc_today();
        let daily = self.buckets(key_id, overrides).daily.clone();
        {
            let mut d = lock(&daily);
            d.roll(today);
            if d.read {
                return Ok(());
            }
        }
        let total = crate::db::usage::totals(&mut *db.conn()?, today, &[key_id])?
            .first()
            .map_or(0, |(_, n)| u64::try_from(*n).unwrap_or(0));
        let mut d = lock(&daily);
        if d.day == today {
            // The database only grows within a day; `global` may already hold newer syncs.
            d.global = d.global.max(total);
            d.read = true;
        }
        Ok(())
    }

    /// Counts one request against the key: the ten-second window first, then the day.
    pub fn check(&self, key_id: i64, overrides: RateOverrides) -> Result<Usage, Exceeded> {
        let b = self.buckets(key_id, overrides);
        let (today, day_left) = utc_today();
        let per_day = u64::from(b.policy.per_day);
        let left = |used: u64| u32::try_from(per_day.saturating_sub(used)).unwrap_or(u32::MAX);
        let mut usage = Usage {
            max: b.policy.per_10s,
            remaining: 0,
            daily: b.policy.per_day,
            daily_remaining: 0,
        };
        let now = self.clock.now();
        let mut daily = lock(&b.daily);
        daily.roll(today);
        match b.burst.check() {
            Ok(s) => usage.remaining = s.remaining_burst_capacity(),
            Err(not_until) => {
                // Refused by the window: not counted against the day.
                usage.daily_remaining = left(daily.used());
                return Err(Exceeded {
                    limit: Limit::TenSecondly,
                    retry_after: not_until.wait_time_from(now),
                    usage,
                });
            }
        }
        if daily.used() >= per_day {
            return Err(Exceeded {
                limit: Limit::Daily,
                retry_after: day_left,
                usage,
            });
        }
        daily.pending += 1;
        usage.daily_remaining = left(daily.used());
        Ok(usage)
    }

    /// Adds this node's daily counts to the database and reads every node's totals back. On
    /// failure (the database is down) the counts stay pending here and go with the next sync.
    pub fn sync(&self, db: &Db) -> Result<(), DbError> {
        let (today, _) = utc_today();
        let keys: Vec<(i64, Arc<Mutex<Daily>>)> = lock(&self.keys)
            .iter()
            .map(|(id, b)| (*id, b.daily.clone()))
            .collect();
        let mut adds = Vec::new();
        for (id, daily) in &keys {
            let mut d = lock(daily);
            d.roll(today);
            if d.pending > 0 {
                d.syncing = std::mem::take(&mut d.pending);
                adds.push((*id, i64::try_from(d.syncing).unwrap_or(i64::MAX)));
            }
        }
        let added = if adds.is_empty() {
            Ok(())
        } else {
            db.write(|c| {
                adds.iter()
                    .try_for_each(|&(id, n)| crate::db::usage::add(c, id, today, n))
            })
        };
        for (_, daily) in &keys {
            let mut d = lock(daily);
            let syncing = std::mem::take(&mut d.syncing);
            if d.day != today {
                continue;
            }
            if added.is_ok() {
                // Now part of the database's total; counted there until it is read back.
                d.global += syncing;
            } else {
                d.pending += syncing;
            }
        }
        added?;
        let ids: Vec<i64> = keys.iter().map(|(id, _)| *id).collect();
        let totals: HashMap<i64, i64> = crate::db::usage::totals(&mut *db.conn()?, today, &ids)?
            .into_iter()
            .collect();
        for (id, daily) in &keys {
            let mut d = lock(daily);
            if d.day == today {
                let total = totals.get(id).map_or(0, |n| u64::try_from(*n).unwrap_or(0));
                d.global = d.global.max(total);
                d.read = true;
            }
        }
        Ok(())
    }
}

/// The thread that runs `RateLimits::sync` every `every`, and once more when stopped.
pub struct DailySync {
    stop: Arc<(Mutex<bool>, std::sync::Condvar)>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl DailySync {
    pub fn spawn(limits: Arc<RateLimits>, db: Db, every: Duration) -> DailySync {
        let stop = Arc::new((Mutex::new(false), std::sync::Condvar::new()));
        let signal = stop.clone();
        let thread = std::thread::Builder::new()
            .name("hubport-rate-sync".into())
            .spawn(move || {
                let mut failing = false;
                let mut pruned_day = None;
                loop {
                    let stopped = {
                        let (m, cv) = &*signal;
                        let g = lock(m);
                        let (g, _) = cv
                            .wait_timeout_while(g, every, |s| !*s)
                            .unwrap_or_else(|e| e.into_inner());
                        *g
                    };
                    match limits.sync(&db) {
                        Ok(()) => {
                            if std::mem::replace(&mut failing, false) {
                                tracing::info!("daily rate-limit counts are synced again");
                            }
                        }
                        Err(e) => {
                            if !std::mem::replace(&mut failing, true) {
                                tracing::warn!(error = %e, "could not sync the daily rate-limit counts; each node counts alone until it can");
                            }
                        }
                    }
                    let (today, _) = utc_today();
                    if pruned_day != Some(today) {
                        let old = today - USAGE_KEPT_DAYS;
                        if db.write(|c| crate::db::usage::prune(c, old)).is_ok() {
                            pruned_day = Some(today);
                        }
                    }
                    if stopped {
                        return;
                    }
                }
            })
            .expect("spawn the rate-limit sync thread");
        DailySync {
            stop,
            thread: Some(thread),
        }
    }

    /// Syncs one last time (so this node's counts are not lost) and ends the thread.
    pub fn stop(mut self) {
        self.shutdown();
    }

    fn shutdown(&mut self) {
        let (m, cv) = &*self.stop;
        *lock(m) = true;
        cv.notify_all();
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

impl Drop for DailySync {
    fn drop(&mut self) {
        self.shutdown();
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

    #[test]
    fn nodes_share_the_daily_budget_through_the_database() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("usage.db").display());
        let db = Db::connect(&url, 2, Duration::from_secs(5)).unwrap();
        db.migrate().unwrap();
        let policy = Policy {
            per_10s: 1000,
            per_day: 10,
        };
        let (a, b) = (RateLimits::new(policy), RateLimits::new(policy));
        let none = RateOverrides::default();
        for _ in 0..4 {
            a.check(7, none).unwrap();
        }
        a.sync(&db).unwrap();
        // Until it syncs, b knows only its own requests: the documented slack.
        assert_eq!(b.check(7, none).unwrap().daily_remaining, 9);
        b.sync(&db).unwrap();
        assert_eq!(
            b.check(7, none).unwrap().daily_remaining,
            4,
            "4 from a, 2 from b"
        );
        for left in (0..4).rev() {
            assert_eq!(b.check(7, none).unwrap().daily_remaining, left);
        }
        let e = b.check(7, none).unwrap_err();
        assert_eq!(e.limit, Limit::Daily);
        assert!(e.retry_after <= Duration::from_secs(24 * 3600));
        b.sync(&db).unwrap();
        a.sync(&db).unwrap();
        assert_eq!(a.check(7, none).unwrap_err().limit, Limit::Daily);
        assert!(a.check(8, none).is_ok(), "other keys are untouched");
        // A node that has never seen the key reads its total before the first check.
        let c = RateLimits::new(policy);
        c.prime(&db, 7, none).unwrap();
        assert_eq!(c.check(7, none).unwrap_err().limit, Limit::Daily);
        // A database that cannot be written keeps the counts pending, not lost.
        let broken = Db::connect(
            &format!("sqlite://{}", dir.path().join("gone/x.db").display()),
            1,
            Duration::from_millis(200),
        )
        .unwrap();
        assert!(a.sync(&broken).is_err());
        a.sync(&db).unwrap();
        let total: i64 =
            crate::db::usage::totals(&mut db.conn().unwrap(), utc_today().0, &[8]).unwrap()[0].1;
        assert_eq!(total, 1);
    }
}
