//! Server metrics in Prometheus' text format (`GET /metrics`): HTTP requests and latency,
//! rows the worker wrote, rate-limit rejections; gauges read at scrape time (imports by state,
//! queue depth, pool use) are added by the handler.

use crate::http::rate_limit::Limit;
use std::collections::BTreeMap;
use std::fmt::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

/// Upper bounds (seconds) of the latency histogram.
const BUCKETS: [f64; 10] = [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 5.0];

#[derive(Default)]
struct Histogram {
    counts: [u64; BUCKETS.len()],
    count: u64,
    sum: f64,
}

/// A value read at scrape time (imports by state, queue depth, pool use).
pub struct Gauge {
    pub name: &'static str,
    pub help: &'static str,
    pub labels: Vec<(&'static str, String)>,
    pub value: f64,
}

#[derive(Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<(String, String, u16), u64>>,
    latency: Mutex<BTreeMap<String, Histogram>>,
    rows_created: AtomicU64,
    rows_updated: AtomicU64,
    row_errors: AtomicU64,
    rows_read: AtomicU64,
    limited_10s: AtomicU64,
    limited_daily: AtomicU64,
    limited_credentials: AtomicU64,
}

impl Metrics {
    pub fn observe_request(&self, route: &str, method: &str, status: u16, took: Duration) {
        *self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry((route.to_string(), method.to_string(), status))
            .or_default() += 1;
        let secs = took.as_secs_f64();
        let mut latency = self.latency.lock().unwrap_or_else(|e| e.into_inner());
        let h = latency.entry(route.to_string()).or_default();
        for (i, le) in BUCKETS.iter().enumerate() {
            if secs <= *le {
                h.counts[i] += 1;
            }
        }
        h.count += 1;
        h.sum += secs;
    }

    /// Rows a committed batch read and what became of them.
    pub fn rows(&self, read: i64, created: i64, updated: i64, errors: i64) {
        let add = |c: &AtomicU64, n: i64| c.fetch_add(n.max(0) as u64, Ordering::Relaxed);
        add(&self.rows_read, read);
        add(&self.rows_created, created);
        add(&self.rows_updated, updated);
        add(&self.row_errors, errors);
    }

    pub fn rate_limited(&self, limit: Limit) {
        match limit {
            Limit::TenSecondly => &self.limited_10s,
            Limit::Daily => &self.limited_daily,
            Limit::BadCredentials => &self.limited_credentials,
        }
        .fetch_add(1, Ordering::Relaxed);
    }

    /// The counters and the scrape-time `gauges` as Prometheus text.
    pub fn render(&self, gauges: &[Gauge]) -> String {
        let mut out = String::new();
        let _ = writeln!(out, "# HELP hubport_http_requests_total HTTP requests by route, method and status.\n# TYPE hubport_http_requests_total counter");
        for ((route, method, status), n) in self
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let _ = writeln!(out, "hubport_http_requests_total{{route=\"{}\",method=\"{method}\",status=\"{status}\"}} {n}", escape(route));
        }
        let _ = writeln!(out, "# HELP hubport_http_request_duration_seconds Request latency by route.\n# TYPE hubport_http_request_duration_seconds histogram");
        for (route, h) in self
            .latency
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
        {
            let r = escape(route);
            for (i, le) in BUCKETS.iter().enumerate() {
                let _ = writeln!(
                    out,
                    "hubport_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"{le}\"}} {}",
                    h.counts[i]
                );
            }
            let _ = writeln!(
                out,
                "hubport_http_request_duration_seconds_bucket{{route=\"{r}\",le=\"+Inf\"}} {}",
                h.count
            );
            let _ = writeln!(
                out,
                "hubport_http_request_duration_seconds_sum{{route=\"{r}\"}} {}",
                h.sum
            );
            let _ = writeln!(
                out,
                "hubport_http_request_duration_seconds_count{{route=\"{r}\"}} {}",
                h.count
            );
        }
        let counters = [
            (
                "hubport_import_rows_total",
                "Rows the worker committed, by outcome.",
                vec![
                    ("read", &self.rows_read),
                    ("created", &self.rows_created),
                    ("updated", &self.rows_updated),
                    ("error", &self.row_errors),
                ],
                "outcome",
            ),
            (
                "hubport_rate_limited_total",
                "Requests refused with 429, by policy.",
                vec![
                    ("TEN_SECONDLY_ROLLING", &self.limited_10s),
                    ("DAILY", &self.limited_daily),
                    ("BAD_CREDENTIALS", &self.limited_credentials),
                ],
                "policy",
            ),
        ];
        for (name, help, values, label) in counters {
            let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} counter");
            for (v, c) in values {
                let _ = writeln!(
                    out,
                    "{name}{{{label}=\"{v}\"}} {}",
                    c.load(Ordering::Relaxed)
                );
            }
        }
        let mut last = "";
        for Gauge {
            name,
            help,
            labels,
            value,
        } in gauges
        {
            if *name != last {
                let _ = writeln!(out, "# HELP {name} {help}\n# TYPE {name} gauge");
                last = name;
            }
            let l: Vec<String> = labels
                .iter()
                .map(|(k, v)| format!("{k}=\"{}\"", escape(v)))
                .collect();
            let braces = if l.is_empty() {
                String::new()
            } else {
                format!("{{{}}}", l.join(","))
            };
            let _ = writeln!(out, "{name}{braces} {value}");
        }
        out
    }
}

fn escape(s: &str) -> String {
    s.replace('\\', "\\\\")
        .replace('"', "\\\"")
        .replace('\n', "\\n")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_prometheus_text() {
        let m = Metrics::default();
        m.observe_request("/crm/v3/imports", "GET", 200, Duration::from_millis(3));
        m.rows(10, 7, 2, 1);
        m.rate_limited(Limit::Daily);
        let text = m.render(&[Gauge {
            name: "hubport_job_queue_depth",
            help: "Jobs waiting or running.",
            labels: vec![],
            value: 2.0,
        }]);
        assert!(text.contains("hubport_http_requests_total{route=\"/crm/v3/imports\",method=\"GET\",status=\"200\"} 1"));
        assert!(text.contains("hubport_http_request_duration_seconds_bucket{route=\"/crm/v3/imports\",le=\"0.005\"} 1"));
        assert!(text.contains("hubport_http_request_duration_seconds_bucket{route=\"/crm/v3/imports\",le=\"0.001\"} 0"));
        assert!(text.contains("hubport_import_rows_total{outcome=\"created\"} 7"));
        assert!(text.contains("hubport_rate_limited_total{policy=\"DAILY\"} 1"));
        assert!(text.contains("# TYPE hubport_job_queue_depth gauge\nhubport_job_queue_depth 2"));
    }
}
