//! Plan layer: strict validation of every number in a plan, with errors that name the
//! field path, the value, the allowed range and (from the source text) `line:col`.

mod cold_start;

pub use cold_start::{MAX_MODEL_BYTES, MAX_STORAGE_GBYTES_PER_S};

use super::{Location, PlanError};
use crate::model::{
    Cache, Hardware, HardwareCandidates, Objective, PLAN_VERSION, Plan, Policy, Rate, Service,
    Source,
};

/// Largest fleet, cap or server count a plan may name (Erlang C is exact up to here).
pub const MAX_SERVERS: u32 = 10_000;

/// Largest batch the batcher may form.
pub const MAX_BATCH: u32 = 4096;

/// Largest batch size a service curve point may name.
pub const MAX_CURVE_BATCH: u32 = 65_536;

/// Longest request a plan may state, tokens (`service.seq_len`): 2^20, beyond the
/// context of any model costscope profiles.
pub const MAX_SEQ_LEN: u32 = 1_048_576;

/// Most distinct items a Zipf cache model may name.
pub const MAX_ZIPF_ITEMS: u64 = 1_000_000_000_000;

/// Last hour of the day (hours are 0 to 23).
const LAST_HOUR: u32 = 23;

/// Seconds in a day: the longest checkpoint, restart or cold start a plan may state.
const SECONDS_PER_DAY: f64 = 86_400.0;

/// Largest service-time coefficient of variation a plan may state.
pub const MAX_SERVICE_CV: f64 = 10.0;

/// Longest cold start a plan may state (and calibration may set), seconds.
pub const MAX_COLD_START_S: f64 = SECONDS_PER_DAY;

/// Longest time one batch may take on one server, ms (a service curve point, and
/// what calibration may measure).
pub const MAX_BATCH_LATENCY_MS: f64 = 1e7;

/// Most characters in a name (the plan's, a hardware class's, a routed class's, an
/// adapter's or a model's): enough for any label, and short enough that the app's
/// title bar and tables stay usable.
pub const MAX_NAME_CHARS: usize = 200;

/// Most characters in a plan's notes: pages of story and price sources, but not a
/// pasted file that would make the app's text box crawl.
pub const MAX_NOTES_CHARS: usize = 20_000;

/// Most characters in a file path recorded in a plan (the report it was calibrated
/// from): PATH_MAX on Linux.
pub const MAX_PATH_CHARS: usize = 4096;

/// Most power one server may draw, watts (a plan's hardware, and what calibration
/// may measure).
pub const MAX_POWER_W: f64 = 100_000.0;

/// Longest idle timeout an elastic policy may state: a week, seconds.
const MAX_IDLE_TIMEOUT_S: f64 = 7.0 * SECONDS_PER_DAY;

/// Magnitudes from which (and below which) a number is written in exponent form, so
/// `1e308` is not printed as 309 digits.
const EXPONENT_FORM_ABOVE: f64 = 1e16;
const EXPONENT_FORM_BELOW: f64 = 1e-5;

/// `x` as the shortest text that reads back as the same f64, in exponent form when
/// it is very large or very small (`1e308`, `-1.5e-300`, but `0.25` and `86400`).
pub fn format_number(x: f64) -> String {
    let magnitude = x.abs();
    if x.is_finite() && x != 0.0 && !(EXPONENT_FORM_BELOW..EXPONENT_FORM_ABOVE).contains(&magnitude)
    {
        format!("{x:e}")
    } else {
        x.to_string()
    }
}

/// The integer fields of a plan and their allowed ranges, by lookup key
/// ([`super::syntax::key`]), so an integer ron cannot read (`4294967296`, `2.5`, `1e3`)
/// is reported like any other value out of range. The checks in [`validate`] use the
/// same constants.
const INTEGER_FIELDS: &[(&str, u64, u64)] = &[
    ("version", 1, PLAN_VERSION as u64),
    ("workload.rate_rps.peak_hour", 0, LAST_HOUR as u64),
    ("service.batch_latency_ms[].0", 1, MAX_CURVE_BATCH as u64),
    (
        "routing.service.batch_latency_ms[].0",
        1,
        MAX_CURVE_BATCH as u64,
    ),
    ("service.seq_len", 1, MAX_SEQ_LEN as u64),
    ("routing.service.seq_len", 1, MAX_SEQ_LEN as u64),
    ("policy.servers", 1, MAX_SERVERS as u64),
    ("policy.max_servers", 1, MAX_SERVERS as u64),
    ("policy.warm", 0, MAX_SERVERS as u64),
    ("policy.on_demand", 0, MAX_SERVERS as u64),
    ("policy.spot", 0, MAX_SERVERS as u64),
    ("batching.max_batch", 1, MAX_BATCH as u64),
    ("cache.zipf.items", 1, MAX_ZIPF_ITEMS),
    ("cache.zipf.cache_items", 0, MAX_ZIPF_ITEMS),
    ("routing.servers", 0, MAX_SERVERS as u64),
    (
        "service.llm.max_num_seqs",
        1,
        super::validate_llm::MAX_NUM_SEQS as u64,
    ),
    (
        "service.llm.kv_block_tokens",
        1,
        super::validate_llm::MAX_BLOCK_TOKENS as u64,
    ),
    ("service.llm.chunked_prefill_tokens", 2, MAX_SEQ_LEN as u64),
];

/// The allowed range of the integer field at `key`; `None` when the field is not an
/// integer.
pub fn integer_range(key: &str) -> Option<std::ops::RangeInclusive<u64>> {
    INTEGER_FIELDS
        .iter()
        .find(|f| f.0 == key)
        .map(|&(_, lo, hi)| lo..=hi)
}

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

pub(super) struct Check {
    pub(super) first: Option<Violation>,
}

impl Check {
    pub(super) fn fail(
        &mut self,
        path: impl Into<String>,
        value: impl ToString,
        allowed: impl Into<String>,
    ) {
        self.first.get_or_insert_with(|| Violation {
            path: path.into(),
            value: value.to_string(),
            allowed: allowed.into(),
        });
    }

    /// lo ≤ x ≤ hi and finite (NaN fails every comparison, so it is caught here).
    pub(super) fn range(&mut self, path: &str, x: f64, lo: f64, hi: f64) {
        if !(x >= lo && x <= hi) {
            let (lo, hi) = (format_number(lo), format_number(hi));
            self.fail(path, format_number(x), format!("{lo} to {hi}"));
        }
    }

    /// lo < x ≤ hi.
    pub(super) fn positive(&mut self, path: &str, x: f64, hi: f64) {
        if !(x > 0.0 && x <= hi) {
            let hi = format_number(hi);
            self.fail(
                path,
                format_number(x),
                format!("greater than 0, at most {hi}"),
            );
        }
    }

    /// Free text of at most `max_chars` characters; the value is given as its length,
    /// never repeated (it may be a megabyte).
    pub(super) fn text(&mut self, path: &str, s: &str, max_chars: usize) {
        let chars = s.chars().count();
        if chars > max_chars {
            self.fail(
                path,
                format!("{chars} characters"),
                format!("at most {max_chars} characters"),
            );
        }
    }

    /// A name: not blank, at most [`MAX_NAME_CHARS`] characters.
    pub(super) fn name(&mut self, path: &str, s: &str) {
        if s.trim().is_empty() {
            self.fail(path, "\"\"", "a non-empty name");
        }
        self.text(path, s, MAX_NAME_CHARS);
    }

    pub(super) fn count(&mut self, path: &str, n: u32, lo: u32, hi: u32) {
        if !(lo..=hi).contains(&n) {
            self.fail(path, n, format!("{lo} to {hi}"));
        }
    }
}

/// Checks every number and text in the plan; the first problem found is returned.
pub fn validate(plan: &Plan) -> Result<(), Violation> {
    let mut c = Check { first: None };
    c.name("name", &plan.name);
    c.text("notes", &plan.notes, MAX_NOTES_CHARS);
    rate(&mut c, &plan.workload.rate_rps);
    c.range("workload.arrival_cv", plan.workload.arrival_cv, 0.0, 10.0);
    service(&mut c, "service", &plan.service);
    hardware(&mut c, "hardware", &plan.hardware);
    policy(&mut c, &plan.policy);
    c.count("batching.max_batch", plan.batching.max_batch, 1, MAX_BATCH);
    c.range("batching.window_ms", plan.batching.window_ms, 0.0, 60_000.0);
    cache(&mut c, &plan.cache);
    c.positive("lazy.fraction_needed", plan.lazy.fraction_needed, 1.0);
    objective(&mut c, &plan.objective);
    super::validate_llm::llm(&mut c, plan);
    if let Some(r) = &plan.routing {
        c.range("routing.fraction", r.fraction, 0.0, 1.0);
        c.name("routing.name", &r.name);
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
    if let Some(HardwareCandidates::Offers(names)) = &plan.hardware_candidates {
        candidates(&mut c, names);
    }
    c.first.map_or(Ok(()), Err)
}

/// `hardware_candidates: Some(Offers([...]))`: 1 to 1000 names, each a name, none twice.
fn candidates(c: &mut Check, names: &[String]) {
    const MAX_CANDIDATES: usize = 1000;
    if names.is_empty() || names.len() > MAX_CANDIDATES {
        c.fail(
            "hardware_candidates",
            format!("{} offers", names.len()),
            format!("1 to {MAX_CANDIDATES} offer names (or All)"),
        );
    }
    for (i, n) in names.iter().enumerate() {
        c.name(&format!("hardware_candidates[{i}]"), n);
        if names[..i]
            .iter()
            .any(|m| m.trim().eq_ignore_ascii_case(n.trim()))
        {
            c.fail(
                format!("hardware_candidates[{i}]"),
                format!("{n:?}"),
                "an offer not already listed",
            );
        }
    }
}

fn cache(c: &mut Check, cache: &Cache) {
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
        if !(1..=MAX_ZIPF_ITEMS).contains(&z.items) {
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
}

fn objective(c: &mut Check, o: &Objective) {
    c.range("objective.alpha", o.alpha, 0.0, 1e9);
    c.range("objective.beta", o.beta, 0.0, 1e9);
    if o.alpha == 0.0 && o.beta == 0.0 {
        c.fail("objective.beta", o.beta, "alpha and beta not both 0");
    }
    if let Some(slo) = o.slo_ms {
        c.positive("objective.slo_ms", slo, 1e9);
    }
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
            c.count("workload.rate_rps.peak_hour", *peak_hour, 0, LAST_HOUR);
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
        if b <= last || b > MAX_CURVE_BATCH {
            c.fail(
                format!("{curve}[{i}]"),
                format!("batch {b}"),
                format!("batch sizes increasing, 1 to {MAX_CURVE_BATCH}"),
            );
        }
        last = b;
        c.positive(&format!("{curve}[{i}]"), ms, MAX_BATCH_LATENCY_MS);
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
    if let Some(p) = &s.cold_start_parts {
        cold_start::parts(c, at, s.cold_start_s, p);
    }
    c.count(&format!("{at}.seq_len"), s.seq_len, 1, MAX_SEQ_LEN);
    if let Source::Profile {
        report,
        adapter,
        model,
        ..
    } = &s.source
    {
        c.text(&format!("{at}.source.report"), report, MAX_PATH_CHARS);
        c.text(&format!("{at}.source.adapter"), adapter, MAX_NAME_CHARS);
        c.text(&format!("{at}.source.model"), model, MAX_NAME_CHARS);
    }
}

fn hardware(c: &mut Check, at: &str, h: &Hardware) {
    c.name(&format!("{at}.name"), &h.name);
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
    c.range(&format!("{at}.power_w"), h.power_w, 0.0, MAX_POWER_W);
}

fn policy(c: &mut Check, p: &Policy) {
    match *p {
        Policy::AlwaysOn { servers } => c.count("policy.servers", servers, 1, MAX_SERVERS),
        Policy::OnDemand {
            idle_timeout_s,
            max_servers,
        } => {
            idle_timeout(c, idle_timeout_s);
            c.count("policy.max_servers", max_servers, 1, MAX_SERVERS);
        }
        Policy::Hybrid {
            warm,
            idle_timeout_s,
            max_servers,
        } => {
            c.count("policy.max_servers", max_servers, 1, MAX_SERVERS);
            c.count("policy.warm", warm, 0, max_servers);
            idle_timeout(c, idle_timeout_s);
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

/// An elastic fleet's idle timeout. Zero is refused: a server stopped the instant it
/// idles makes every request beyond the warm floor boot its own server, and the model
/// would then report the boots as an overload of the serving load.
fn idle_timeout(c: &mut Check, idle_timeout_s: f64) {
    c.positive("policy.idle_timeout_s", idle_timeout_s, MAX_IDLE_TIMEOUT_S);
}
