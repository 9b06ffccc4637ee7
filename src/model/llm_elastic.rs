//! Model layer: an elastic LLM fleet (scale to zero, keep k warm) as its dispatcher
//! runs it — a request goes to an idle replica, else to a held replica with a free
//! slot and KV room, and a replica starts only when every held one is full; an idle
//! one above the warm floor stops after the idle timeout. The sequences in flight N
//! are an M/G/∞ occupancy (mean λ·E2E at the per-replica load), and the ℓ-th replica
//! lives a two-state life: born when an arrival finds the ℓ − 1 below full (slots, or
//! a KV cache overflowed by the spread of the contexts: [`super::llm_birth`]), dead once N
//! has stayed below ℓ for the idle timeout. The hours are walked in order (the day
//! after a day of warm-up), because a replica born at the peak may outlive the
//! evening. docs/llm.md, "Over the fleet and the day", has the formulas.

use std::sync::{Arc, Mutex};

use super::day::{Day, GroupHour};
use super::evaluate::Evaluator;
use super::llm::serve_hour;
use super::llm_birth::{Fullness, birth_climb_s};
use super::llm_mix::{LlmDay, add_state};
use super::llm_replica::Replica;
use super::passage::{Hyperexp, Passages};
use super::traffic::{HOURS_PER_DAY, HourGroup, SECONDS_PER_HOUR, resolved_hourly_rates_rps};
use super::types::{Plan, Policy};

/// Days walked before the measured one: the fleet starts with its warm floor a day
/// earlier, as a simulation with a day of warm-up does.
const WARMUP_DAYS: usize = 1;

/// A level whose births are fewer than this per day in every hour is never born.
const NEGLIGIBLE_BIRTHS_PER_DAY: f64 = 1e-6;

/// Past this many rate-hours a level's two-state chain has forgotten its start.
const SETTLED_EXPONENT: f64 = 50.0;

/// One hour group of an elastic LLM fleet, averaged over its hours.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub(crate) struct ElasticLlmHour {
    /// Replicas held on average (serving, idle but kept, and booting): the bill.
    pub held: f64,
    /// Replicas booting on average.
    pub booting: f64,
    /// Share of the group's requests that start a replica (they wait its whole boot).
    pub starter_fraction: f64,
    /// Share that wait on a booting replica, the starters included.
    pub cold_fraction: f64,
}

/// The policy's rules for [`elastic_day`].
#[derive(Debug, Clone, Copy)]
pub(crate) struct ElasticRules {
    /// Replicas never stopped.
    pub warm: u32,
    /// Most replicas held at once.
    pub cap: u32,
    /// Seconds an idle replica above the floor is kept.
    pub idle_timeout_s: f64,
    /// A replica's boot, s.
    pub boot_s: f64,
}

/// One level's rates in one hour group: births per second while dead (infinite: the
/// replicas below cannot carry the load) and deaths per second while held.
#[derive(Debug, Clone, Copy)]
struct LevelRates {
    birth_per_s: f64,
    death_per_s: f64,
}

/// Mean E2E of a request, s, on a replica offered `rate_rps`; `None` past capacity.
fn e2e_s(r: &Replica, rate_rps: f64) -> Option<f64> {
    let s = r.steady(rate_rps).ok()?;
    let ms = s.ttft_mean_ms() + (r.output_tokens - 1.0) * s.tpot_ms;
    (ms.is_finite() && ms > 0.0).then_some(ms / 1000.0)
}

/// Poisson(m) at `j`.
fn poisson(m: f64, j: usize) -> f64 {
    let log = -m + j as f64 * m.ln() - (1..=j).map(|k| (k as f64).ln()).sum::<f64>();
    log.exp()
}

/// Level `level`'s rates at fleet rate `lambda`: `e2e[h]` is the mean E2E with h
/// replicas serving (index 0 unused).
fn level_rates(
    lambda: f64,
    level: usize,
    e2e: &[Option<f64>],
    full: &Fullness,
    rules: &ElasticRules,
) -> LevelRates {
    if lambda <= 0.0 {
        // No arrivals: nothing starts; what is held idles out.
        return LevelRates {
            birth_per_s: 0.0,
            death_per_s: 1.0 / (rules.idle_timeout_s + rules.boot_s).max(f64::MIN_POSITIVE),
        };
    }
    let j = level - 1;
    // Born by the first arrival after death (level 1), or by the first arrival the
    // j replicas below turn away (slots or KV cache full), N climbing from j (where
    // it died) at their occupancy.
    let birth_per_s = if level == 1 {
        lambda
    } else {
        match e2e[j] {
            None => f64::INFINITY,
            Some(t) => 1.0 / birth_climb_s(lambda * t, lambda, j as u64, full),
        }
    };
    // Dies when a sojourn of N below `level` outlasts the idle timeout: the mean life
    // is (1/(λπ_j) − E[(τ_j − T)⁺])/P(τ_j > T) from its birth, plus the boot.
    let death_per_s = match e2e.get(level).copied().flatten() {
        None => 0.0,
        Some(t) => {
            let m = lambda * t;
            let moments = Passages::new(lambda, 1.0 / t).nth(j);
            let pi = poisson(m, j);
            match moments {
                Some(mo) if pi > 0.0 => {
                    let (survival, excess_s) = Hyperexp::fit(mo).at(rules.idle_timeout_s.max(0.0));
                    let rate = lambda * pi * survival;
                    if rate > 0.0 {
                        let life_s = (1.0 - lambda * pi * excess_s).max(0.0) / rate;
                        1.0 / (life_s + rules.boot_s)
                    } else {
                        0.0
                    }
                }
                _ => 0.0,
            }
        }
    };
    LevelRates {
        birth_per_s,
        death_per_s,
    }
}

/// One level over one hour from `p0` held: (hour's mean held, held at the end, births).
fn level_hour(p0: f64, rates: LevelRates) -> (f64, f64, f64) {
    let (b, d) = (rates.birth_per_s, rates.death_per_s);
    if b.is_infinite() {
        return (1.0, 1.0, 1.0 - p0);
    }
    let k = b + d;
    if k.is_nan() || k <= 0.0 {
        return (p0, p0, 0.0);
    }
    let settled = b / k;
    let x = k * SECONDS_PER_HOUR;
    let (mean, end) = if x > SETTLED_EXPONENT {
        (settled, settled)
    } else {
        // 1 − e^{−x} without cancellation: x is tiny when births are rare.
        let gone = -(-x).exp_m1();
        (
            settled + (p0 - settled) * gone / x,
            settled + (p0 - settled) * (1.0 - gone),
        )
    };
    (mean, end, b * (1.0 - mean) * SECONDS_PER_HOUR)
}

/// The levels' rates in every hour group of one evaluator at one idle timeout and
/// boot: what every candidate of a sweep shares (the warm floor and the cap only
/// decide which levels are forced or absent).
#[derive(Debug)]
struct DayLevels {
    idle_timeout_s: f64,
    boot_s: f64,
    /// Fleet rate of each group, req/s.
    rates: Vec<f64>,
    /// Each group's levels 1, 2, … up to the last one born anywhere.
    per_group: Vec<Vec<LevelRates>>,
}

/// The last [`DayLevels`] an evaluator computed (a sweep asks for one idle timeout).
#[derive(Debug, Default)]
pub struct LevelCache(Mutex<Option<Arc<DayLevels>>>);

impl Clone for LevelCache {
    fn clone(&self) -> Self {
        Self::default()
    }
}

/// Levels past this many are never computed (a fleet of more replicas than any cap).
const MAX_LEVELS: usize = 4096;

impl DayLevels {
    fn new(ctx: &Evaluator<'_>, r: &Replica, rules: &ElasticRules) -> Self {
        let full = Fullness::of(r);
        let rates: Vec<f64> = ctx.groups.iter().map(|g| ctx.server_rate_rps(g)).collect();
        let mut per_group: Vec<Vec<LevelRates>> = vec![Vec::new(); rates.len()];
        // Mean E2E with h replicas serving, s, for h = 1, 2, … (index 0 unused).
        let mut e2e: Vec<Vec<Option<f64>>> = rates.iter().map(|_| vec![None]).collect();
        for level in 1..=MAX_LEVELS {
            let mut born = false;
            for (gi, &lambda) in rates.iter().enumerate() {
                // e2e[h] for h up to `level` (its death needs `level` serving).
                while e2e[gi].len() <= level {
                    let h = e2e[gi].len() as f64;
                    e2e[gi].push(e2e_s(r, lambda / h));
                }
                let lr = level_rates(lambda, level, &e2e[gi], &full, rules);
                born |= lr.birth_per_s * SECONDS_PER_HOUR * HOURS_PER_DAY as f64
                    > NEGLIGIBLE_BIRTHS_PER_DAY;
                per_group[gi].push(lr);
            }
            if !born {
                break;
            }
        }
        Self {
            idle_timeout_s: rules.idle_timeout_s,
            boot_s: rules.boot_s,
            rates,
            per_group,
        }
    }
}

impl LevelCache {
    /// The levels at `rules`' idle timeout and boot, computed once.
    fn get(&self, ctx: &Evaluator<'_>, r: &Replica, rules: &ElasticRules) -> Arc<DayLevels> {
        let same = |d: &DayLevels| {
            d.idle_timeout_s.to_bits() == rules.idle_timeout_s.to_bits()
                && d.boot_s.to_bits() == rules.boot_s.to_bits()
        };
        let mut slot = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        match slot.as_ref() {
            Some(d) if same(d) => Arc::clone(d),
            _ => {
                let d = Arc::new(DayLevels::new(ctx, r, rules));
                *slot = Some(Arc::clone(&d));
                d
            }
        }
    }
}

/// Replicas started before the first boot ends, from `warm` idle replicas at fleet
/// rate `lambda`: the arrivals of one boot less what the warm replicas hold and, after
/// a full replica's residence (`seq_cap` at capacity, by Little's law), complete
/// meanwhile; each booting replica takes a full replica's sequences.
fn start_up_burst(lambda: f64, warm: usize, seq_cap: f64, capacity_rps: f64, boot_s: f64) -> usize {
    let warm_f = warm as f64;
    let completing_s = (boot_s - seq_cap / capacity_rps).max(0.0);
    let completed = completing_s * lambda.min(capacity_rps * warm_f);
    let left = lambda * boot_s - warm_f * seq_cap - completed;
    if left <= 0.0 {
        0
    } else {
        (left / seq_cap).ceil().min(MAX_LEVELS as f64) as usize
    }
}

/// The elastic fleet of each of `ctx`'s hour groups, in their order, or why the cap
/// cannot carry an hour. `cache` keeps the levels' rates between candidates.
pub(crate) fn elastic_day(
    ctx: &Evaluator<'_>,
    r: &Replica,
    capacity_rps: f64,
    rules: &ElasticRules,
    cache: &LevelCache,
) -> Result<Vec<ElasticLlmHour>, String> {
    let cap = rules.cap as usize;
    let warm = (rules.warm as usize).min(cap);
    let seq_cap = f64::from(r.seq_cap().max(1));
    let levels = cache.get(ctx, r, rules);
    let rates = &levels.rates;
    if let Some((i, &rate)) = rates
        .iter()
        .enumerate()
        .find(|&(_, &x)| x >= capacity_rps * cap as f64)
    {
        return Err(format!(
            "overloaded at hour {}: {rate:.2} req/s needs more than the cap of {cap} replicas",
            ctx.groups[i].first_hour
        ));
    }
    let hours = resolved_hourly_rates_rps(&ctx.plan.workload.rate_rps);
    let group_of = |rate: f64| {
        ctx.groups
            .iter()
            .enumerate()
            .min_by(|a, b| {
                (a.1.rate_rps - rate)
                    .abs()
                    .total_cmp(&(b.1.rate_rps - rate).abs())
            })
            .map_or(0, |(i, _)| i)
    };
    // The start-up fleet: the warm floor, and what the first boot's arrivals start.
    let first = group_of(hours[0]);
    let burst = start_up_burst(rates[first], warm, seq_cap, capacity_rps, rules.boot_s);
    let started = (warm + burst).min(cap);
    let born_levels = levels.per_group.first().map_or(0, Vec::len);
    let n_levels = born_levels.max(started).min(cap);
    let mut p: Vec<f64> = (1..=n_levels)
        .map(|l| if l <= started { 1.0 } else { 0.0 })
        .collect();
    let mut out = vec![ElasticLlmHour::default(); rates.len()];
    let absent = LevelRates {
        birth_per_s: 0.0,
        death_per_s: 0.0,
    };
    for day in 0..=WARMUP_DAYS {
        for &hour_rate in &hours {
            let gi = group_of(hour_rate);
            let lambda = rates[gi];
            let (mut held, mut births, mut upper) = (0.0, 0.0, 1.0_f64);
            let mut upper_end = 1.0_f64;
            for (li, p_level) in p.iter_mut().enumerate() {
                let (mean, end, born) = if li < warm {
                    (1.0, 1.0, 0.0)
                } else {
                    let rates = levels.per_group[gi].get(li).copied().unwrap_or(absent);
                    level_hour(*p_level, rates)
                };
                // Levels nest: the ℓ-th replica is held only while the ones below are.
                let mean = mean.min(upper);
                let end = end.min(upper_end);
                upper = mean;
                upper_end = end;
                *p_level = end;
                held += mean;
                births += born;
            }
            if day < WARMUP_DAYS {
                continue;
            }
            let per_boot = (1.0 + lambda * rules.boot_s).min(seq_cap);
            let requests = lambda * SECONDS_PER_HOUR;
            let o = &mut out[gi];
            let share = 1.0 / f64::from(ctx.groups[gi].hours);
            o.held += held * share;
            o.booting += (births * rules.boot_s / SECONDS_PER_HOUR).min(held) * share;
            if requests > 0.0 {
                o.starter_fraction += (births / requests).min(1.0) * share;
                o.cold_fraction += (births * per_boot / requests).min(1.0) * share;
            }
        }
    }
    Ok(out)
}

/// The rules of an elastic policy (on demand: none warm); `None` for a fixed fleet.
pub(crate) fn elastic_rules(plan: &Plan, policy: &Policy) -> Option<ElasticRules> {
    let (warm, idle_timeout_s, max_servers) = match *policy {
        Policy::OnDemand {
            idle_timeout_s,
            max_servers,
        } => (0, idle_timeout_s, max_servers),
        Policy::Hybrid {
            warm,
            idle_timeout_s,
            max_servers,
        } => (warm, idle_timeout_s, max_servers),
        _ => return None,
    };
    Some(ElasticRules {
        warm,
        cap: max_servers,
        idle_timeout_s,
        boot_s: plan.service.cold_start_s.max(0.0),
    })
}

/// One hour group of an elastic fleet `e` into the day: replicas held and booting,
/// cold starts, and each serving replica's steady state at its share of the load;
/// those who wait on a boot see it in their TTFT (a starter the whole boot, the
/// others who join it the rest, uniform over it).
#[allow(clippy::too_many_arguments)]
pub(crate) fn add_elastic_group(
    r: &Replica,
    g: &HourGroup,
    h: &GroupHour<'_>,
    e: &ElasticLlmHour,
    day: &mut Day,
    ld: &mut LlmDay,
    cold_ms: f64,
) {
    let rate = h.server_rate_rps;
    day.batch_weighted += h.weight;
    day.held_server_hours += e.held * h.hours;
    day.cold_weighted += e.cold_fraction * h.weight;
    if rate <= 0.0 {
        return;
    }
    let serving = (e.held - e.booting).max(1.0);
    let Some(s) = serve_hour(r, day, ld, g, rate, serving) else {
        return;
    };
    let warm_share = 1.0 - e.cold_fraction;
    let joined = (e.cold_fraction - e.starter_fraction).max(0.0) / 2.0;
    add_state(ld, r, &s, h.weight * warm_share, h.shift_ms);
    // Hours without boots add no cold parts (fewer parts, quicker quantiles).
    if e.cold_fraction > 0.0 {
        add_state(
            ld,
            r,
            &s,
            h.weight * e.starter_fraction,
            h.shift_ms + cold_ms,
        );
        for rest in [0.25, 0.75] {
            add_state(ld, r, &s, h.weight * joined, h.shift_ms + rest * cold_ms);
        }
    }
    ld.wait_weighted += s.admission_p_wait * h.weight * warm_share;
}
