//! Plan layer: strict validation of every number in a plan, with errors that name the
//! field path, the value, the allowed range and (from the source text) `line:col`.

use super::{Location, PlanError};
use crate::model::{Hardware, Plan, Policy, Rate, Service};

/// Largest fleet, cap or server count a plan may name (Erlang C is exact up to here).
pub const MAX_SERVERS: u32 = 10_000;

/// Seconds in a day: the longest checkpoint, restart or cold start a plan may state.
const SECONDS_PER_DAY: f64 = 86_400.0;

/// Largest service-time coefficient of variation a plan may state.
pub const MAX_SERVICE_CV: f64 = 10.0;

/// Longest cold start a plan may state (and calibration may set), seconds.
pub const MAX_COLD_START_S: f64 = SECONDS_PER_DAY;

/// A value out of range, before it is tied to a file.
#[derive(Debug, Clone, PartialEq)]
pub struct Violation {
    /// Field path, e.g. `hardware.spot_usd_per_hour` or `service.batch_latency_ms[2]`.
    pub path: String,
    /// The value found, as text.
    pub value: String,
    /// The allowed range in words.
    pub allowed: String,
}

impl Violation {
    /// Ties the violation to a file, finding the field's `line:col` in `text`.
    pub fn at(self, file: &str, text: &str) -> PlanError {
        PlanError::Invalid {
            at: Location {
                file: file.to_owned(),
                line_col: locate(text, &self.path),
            },
            path: self.path,
            value: self.value,
            allowed: self.allowed,
        }
    }
}

/// Finds where a field path is written: each segment (without `[i]`) is searched as
/// `name:` after the previous one. `None` when it is not spelled out (a default).
pub fn locate(text: &str, path: &str) -> Option<(usize, usize)> {
    let mut from = 0;
    let mut found = None;
    for seg in path.split('.') {
        let name = seg.split('[').next().unwrap_or(seg);
        let mut search = from;
        loop {
            let idx = search + text.get(search..)?.find(name)?;
            let before_ok = idx == 0 || !is_ident(text.as_bytes()[idx - 1]);
            let rest = &text[idx + name.len()..];
            let after_ok = rest.trim_start().starts_with(':')
                || rest.trim_start().starts_with('(')
                    && name.chars().next().is_some_and(char::is_uppercase);
            if before_ok && after_ok && !rest.starts_with(|c: char| c == '_' || c.is_alphanumeric())
            {
                found = Some(idx);
                from = idx + name.len();
                break;
            }
            search = idx + name.len();
        }
    }
    let idx = found?;
    let line = text[..idx].matches('\n').count() + 1;
    let col = idx - text[..idx].rfind('\n').map_or(0, |p| p + 1) + 1;
    Some((line, col))
}

fn is_ident(b: u8) -> bool {
    b == b'_' || b.is_ascii_alphanumeric()
}

struct Check {
    first: Option<Violation>,
}

impl Check {
    fn fail(&mut self, path: impl Into<String>, value: impl ToString, allowed: impl Into<String>) {
        self.first.get_or_insert_with(|| Violation {
            path: path.into(),
            value: value.to_string(),
            allowed: allowed.into(),
        });
    }

    /// lo ≤ x ≤ hi and finite (NaN fails every comparison, so it is caught here).
    fn range(&mut self, path: &str, x: f64, lo: f64, hi: f64) {
        if !(x >= lo && x <= hi) {
            self.fail(path, x, format!("{lo} to {hi}"));
        }
    }

    /// lo < x ≤ hi.
    fn positive(&mut self, path: &str, x: f64, hi: f64) {
        if !(x > 0.0 && x <= hi) {
            self.fail(path, x, format!("greater than 0, at most {hi}"));
        }
    }

    fn count(&mut self, path: &str, n: u32, lo: u32, hi: u32) {
        if !(lo..=hi).contains(&n) {
            self.fail(path, n, format!("{lo} to {hi}"));
        }
    }
}

/// Checks every number in the plan; the first problem found is returned.
pub fn validate(plan: &Plan) -> Result<(), Violation> {
    let mut c = Check { first: None };
    if plan.name.trim().is_empty() {
        c.fail("name", "\"\"", "a non-empty name");
    }
    rate(&mut c, &plan.workload.rate_rps);
    c.range("workload.arrival_cv", plan.workload.arrival_cv, 0.0, 10.0);
    service(&mut c, "service", &plan.service);
    hardware(&mut c, "hardware", &plan.hardware);
    policy(&mut c, &plan.policy);
    c.count("batching.max_batch", plan.batching.max_batch, 1, 4096);
    c.range("batching.window_ms", plan.batching.window_ms, 0.0, 60_000.0);
    let cache = &plan.cache;
    c.range("cache.hit_rate", cache.hit_rate, 0.0, 1.0);
    c.range("cache.hit_latency_ms", cache.hit_latency_ms, 0.0, 1e6);
    c.range("cache.reuse", cache.reuse, 1.0, 1e9);
    c.range(
        "cache.storage_usd_per_hour",
        cache.storage_usd_per_hour,
        0.0,
        1e6,
    );
    if let Some(z) = &cache.zipf {
        c.range("cache.zipf.s", z.s, 0.0, 10.0);
        if !(1..=1_000_000_000_000).contains(&z.items) {
            c.fail("cache.zipf.items", z.items, "1 to 10^12");
        }
        if z.cache_items > z.items {
            c.fail(
                "cache.zipf.cache_items",
                z.cache_items,
                format!("0 to items ({})", z.items),
            );
        }
    }
    if let Some(t) = &cache.l2 {
        c.range("cache.l2.hit_rate", t.hit_rate, 0.0, 1.0);
        c.range("cache.l2.hit_latency_ms", t.hit_latency_ms, 0.0, 1e6);
    }
    c.positive("lazy.fraction_needed", plan.lazy.fraction_needed, 1.0);
    let o = &plan.objective;
    c.range("objective.alpha", o.alpha, 0.0, 1e9);
    c.range("objective.beta", o.beta, 0.0, 1e9);
    if o.alpha == 0.0 && o.beta == 0.0 {
        c.fail("objective.beta", o.beta, "alpha and beta not both 0");
    }
    if let Some(slo) = o.slo_ms {
        c.positive("objective.slo_ms", slo, 1e9);
    }
    if let Some(r) = &plan.routing {
        c.range("routing.fraction", r.fraction, 0.0, 1.0);
        if r.name.trim().is_empty() {
            c.fail("routing.name", "\"\"", "a non-empty name");
        }
        hardware(&mut c, "routing.hardware", &r.hardware);
        if let Some(s) = &r.service {
            service(&mut c, "routing.service", s);
        }
        c.count("routing.servers", r.servers, 0, MAX_SERVERS);
    }
    if let Some(e) = &plan.energy {
        c.range("energy.usd_per_kwh", e.usd_per_kwh, 0.0, 100.0);
        c.range(
            "energy.idle_power_w",
            e.idle_power_w,
            0.0,
            plan.hardware.power_w,
        );
    }
    if let Some(j) = &plan.job {
        c.positive("job.work_hours", j.work_hours, 1e6);
        c.range("job.checkpoint_s", j.checkpoint_s, 0.0, SECONDS_PER_DAY);
        c.range("job.restart_s", j.restart_s, 0.0, SECONDS_PER_DAY);
        if let Some(t) = j.checkpoint_interval_s {
            c.positive("job.checkpoint_interval_s", t, 1e7);
        }
    }
    c.first.map_or(Ok(()), Err)
}

fn rate(c: &mut Check, rate: &Rate) {
    const MAX_RPS: f64 = 1e6;
    match rate {
        Rate::Constant(r) => c.positive("workload.rate_rps", *r, MAX_RPS),
        Rate::Diurnal {
            peak,
            trough,
            peak_hour,
        } => {
            c.positive("workload.rate_rps.peak", *peak, MAX_RPS);
            c.range("workload.rate_rps.trough", *trough, 0.0, peak.max(0.0));
            c.count("workload.rate_rps.peak_hour", *peak_hour, 0, 23);
        }
        Rate::Hourly(v) => {
            if v.len() != 24 {
                c.fail(
                    "workload.rate_rps",
                    format!("{} values", v.len()),
                    "exactly 24 hourly values",
                );
            }
            for (i, x) in v.iter().enumerate() {
                c.range(&format!("workload.rate_rps[{i}]"), *x, 0.0, MAX_RPS);
            }
            if v.iter().all(|x| *x <= 0.0) {
                c.fail(
                    "workload.rate_rps",
                    "all zero",
                    "at least one hour with traffic",
                );
            }
        }
    }
}

fn service(c: &mut Check, at: &str, s: &Service) {
    let curve = format!("{at}.batch_latency_ms");
    if s.batch_latency_ms.is_empty() || s.batch_latency_ms.len() > 1024 {
        c.fail(
            &curve,
            format!("{} points", s.batch_latency_ms.len()),
            "1 to 1024 (batch, ms) points",
        );
    }
    let mut last = 0;
    for (i, &(b, ms)) in s.batch_latency_ms.iter().enumerate() {
        if b <= last || b > 65_536 {
            c.fail(
                format!("{curve}[{i}]"),
                format!("batch {b}"),
                "batch sizes increasing, 1 to 65536",
            );
        }
        last = b;
        c.positive(&format!("{curve}[{i}]"), ms, 1e7);
    }
    c.range(
        &format!("{at}.service_cv"),
        s.service_cv,
        0.0,
        MAX_SERVICE_CV,
    );
    c.range(
        &format!("{at}.cold_start_s"),
        s.cold_start_s,
        0.0,
        MAX_COLD_START_S,
    );
}

fn hardware(c: &mut Check, at: &str, h: &Hardware) {
    if h.name.trim().is_empty() {
        c.fail(format!("{at}.name"), "\"\"", "a non-empty name");
    }
    c.range(
        &format!("{at}.on_demand_usd_per_hour"),
        h.on_demand_usd_per_hour,
        0.0,
        10_000.0,
    );
    c.range(
        &format!("{at}.spot_usd_per_hour"),
        h.spot_usd_per_hour,
        0.0,
        10_000.0,
    );
    c.range(
        &format!("{at}.spot_interruptions_per_hour"),
        h.spot_interruptions_per_hour,
        0.0,
        100.0,
    );
    c.range(
        &format!("{at}.speed_vs_profiled"),
        h.speed_vs_profiled,
        0.001,
        1000.0,
    );
    c.range(&format!("{at}.power_w"), h.power_w, 0.0, 100_000.0);
}

fn policy(c: &mut Check, p: &Policy) {
    match *p {
        Policy::AlwaysOn { servers } => c.count("policy.servers", servers, 1, MAX_SERVERS),
        Policy::OnDemand {
            idle_timeout_s,
            max_servers,
        } => {
            c.range("policy.idle_timeout_s", idle_timeout_s, 0.0, 604_800.0);
            c.count("policy.max_servers", max_servers, 1, MAX_SERVERS);
        }
        Policy::Hybrid {
            warm,
            idle_timeout_s,
            max_servers,
        } => {
            c.count("policy.max_servers", max_servers, 1, MAX_SERVERS);
            c.count("policy.warm", warm, 0, max_servers);
            c.range("policy.idle_timeout_s", idle_timeout_s, 0.0, 604_800.0);
        }
        Policy::SpotMix {
            on_demand,
            spot,
            checkpoint_interval_s,
            checkpoint_s,
        } => {
            c.count("policy.on_demand", on_demand, 0, MAX_SERVERS);
            c.count(
                "policy.spot",
                spot,
                0,
                MAX_SERVERS - on_demand.min(MAX_SERVERS),
            );
            if on_demand.saturating_add(spot) == 0 {
                c.fail("policy.spot", spot, "on_demand + spot at least 1");
            }
            c.positive("policy.checkpoint_interval_s", checkpoint_interval_s, 1e7);
            c.range(
                "policy.checkpoint_s",
                checkpoint_s,
                0.0,
                checkpoint_interval_s.max(0.0),
            );
        }
        Policy::Optimize { max_servers } => {
            c.count("policy.max_servers", max_servers, 1, MAX_SERVERS)
        }
    }
}
