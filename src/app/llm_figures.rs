//! App layer: the LLM panel's figures as data — TTFT and TPOT against the fleet's
//! request rate for 1..N replicas (one replica's steady state, `model::llm_replica`,
//! with the load split evenly), each curve's capacity knee, $ per million output
//! tokens against replicas (the `Evaluator` on always-on fleets over the plan's day)
//! and the KV cache at the recommendation; cached by the plan they are for.

use crate::model::llm::LlmContext;
use crate::model::llm_kv::ttft_knee_rps;
use crate::model::llm_mix::warm_replica_latency;
use crate::model::llm_replica::Replica;
use crate::model::traffic::peak_rate_rps;
use crate::model::{Candidate, Evaluation, Evaluator, LatencyStats, Metric, Plan, Policy};

/// The most replica counts drawn as curves (and costed), so the plot stays readable.
pub const MAX_REPLICAS: u32 = 8;

/// Replica counts drawn beyond the recommendation's.
const EXTRA_REPLICAS: u32 = 2;

/// The fewest replica counts drawn, so a one-replica recommendation still shows how
/// more replicas move the knee.
const MIN_REPLICAS: u32 = 3;

/// Points along a curve, from no load to [`LAST_LOAD`] of the capacity.
const POINTS: usize = 64;

/// Share of a replica's capacity at a curve's last point: at the capacity itself the
/// admission wait has no bound.
const LAST_LOAD: f64 = 0.999;

/// One replica's steady state at one rate: the fleet of N replicas at N times it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RatePoint {
    /// Requests per second one replica serves.
    pub replica_rps: f64,
    /// Its time to first token, ms (mean and percentiles of one warm replica).
    pub ttft_ms: LatencyStats,
    /// Its time per output token, ms.
    pub tpot_ms: LatencyStats,
    /// Mean KV tokens in use.
    pub kv_used_tokens: f64,
}

/// The KV cache of one replica at the recommendation.
#[derive(Debug, Clone, PartialEq)]
pub struct KvFigures {
    /// Tokens one replica's KV cache holds (the evaluation's figure).
    pub capacity_tokens: f64,
    /// Mean tokens in use on a serving replica over the day (utilisation x capacity).
    pub day_used_tokens: f64,
    /// Mean share of the cache in use over the day (the evaluation's figure).
    pub utilization: f64,
    /// Mean sequences running on a serving replica over the day.
    pub mean_running_seqs: f64,
    /// KV tokens a running sequence holds on average (length-biased context + half a
    /// block).
    pub tokens_per_seq: f64,
    /// Sequences of that mean context the cache holds.
    pub seqs_fit: u32,
    /// The scheduler's limit, `max_num_seqs`.
    pub max_num_seqs: u32,
    /// Tokens in use on one replica at the most it carries within the SLOs.
    pub at_slo_used_tokens: Option<f64>,
    /// Tokens in use on one replica just below its capacity.
    pub at_capacity_used_tokens: Option<f64>,
}

/// $ per million output tokens of an always-on fleet of some replicas over the day.
#[derive(Debug, Clone, PartialEq)]
pub struct CostPoint {
    /// Replicas always on.
    pub replicas: u32,
    /// Its $ per million output tokens; `None` when the day overloads it.
    pub usd_per_million_output_tokens: Option<f64>,
    /// Whether it meets the plan's SLOs.
    pub feasible: bool,
    /// Why it does not, in the model's words.
    pub why: Option<String>,
}

/// Everything the LLM panel draws for one LLM plan.
#[derive(Debug, Clone, PartialEq)]
pub struct LlmCurves {
    /// One replica's steady state from no load to just below its capacity.
    pub points: Vec<RatePoint>,
    /// The most requests per second one replica carries in steady state.
    pub capacity_rps: f64,
    /// One replica's capacity knee, req/s: mean TTFT twice its light-load value.
    pub knee_rps: f64,
    /// Mean TTFT at the knee, ms.
    pub knee_ttft_ms: f64,
    /// The replica counts drawn, 1..=this.
    pub replicas: u32,
    /// Always-on fleets of 1..=`replicas` costed over the plan's day.
    pub cost: Vec<CostPoint>,
    /// The KV cache at the recommendation, when there is one.
    pub kv: Option<KvFigures>,
    /// The plan's busiest hour, req/s.
    pub peak_rps: f64,
    /// The day's mean rate, req/s.
    pub mean_rps: f64,
    /// The statistic the SLOs apply to.
    pub metric: Metric,
    /// The TTFT SLO, ms.
    pub ttft_slo_ms: Option<f64>,
    /// The TPOT SLO, ms.
    pub tpot_slo_ms: Option<f64>,
}

/// The figures for one plan, or why there are none (a request-level plan, a replica
/// that cannot serve).
#[derive(Debug, Clone, PartialEq)]
pub struct LlmFigures {
    /// The plan these figures are for; a different plan recomputes them.
    pub plan: Plan,
    /// The figures, or why there are none.
    pub curves: Result<LlmCurves, String>,
}

/// Why a request-level plan has no LLM figures.
pub const NOT_LLM: &str = "This plan has no workload.tokens and service.llm: the LLM view \
     is for token workloads (open the llm-chatbot preset for an example).";

impl LlmFigures {
    /// The figures of `plan`, whose recommendation is `best`.
    pub fn compute(plan: &Plan, best: Option<&Evaluation>) -> Self {
        Self {
            plan: plan.clone(),
            curves: curves(plan, best),
        }
    }

    /// `cached` when it is for `plan`, else fresh figures: they are computed once per
    /// plan revision, not every frame. Returns whether it recomputed.
    pub fn refresh(cached: &mut Option<Self>, plan: &Plan, best: Option<&Evaluation>) -> bool {
        if cached.as_ref().is_some_and(|c| &c.plan == plan) {
            return false;
        }
        *cached = Some(Self::compute(plan, best));
        true
    }
}

/// The replica of an LLM plan, as the evaluation builds it.
pub fn replica_of(plan: &Plan) -> Result<Replica, String> {
    match LlmContext::new(plan) {
        Ok(Some(ctx)) => ctx.replica,
        Ok(None) => Err(NOT_LLM.into()),
        Err(e) => Err(e.to_string()),
    }
}

/// Replicas a recommendation holds: its fleet's size on average (a spot mix's
/// on-demand and spot replicas, an elastic fleet's mean).
pub fn replicas_held(best: &Evaluation) -> f64 {
    best.servers_held
}

fn curves(plan: &Plan, best: Option<&Evaluation>) -> Result<LlmCurves, String> {
    let r = replica_of(plan)?;
    let capacity_rps = r.capacity_rps();
    if capacity_rps <= 0.0 {
        return Err("a replica carries no load in steady state".into());
    }
    let points = steady_points(&r, capacity_rps);
    let knee_rps = ttft_knee_rps(&r);
    let knee_ttft_ms = r.steady(knee_rps).map_err(|o| o.describe())?.ttft_mean_ms();
    let held = best.map_or(1, |b| replicas_held(b).ceil() as u32);
    let replicas = (held + EXTRA_REPLICAS).clamp(MIN_REPLICAS, MAX_REPLICAS);
    let o = &plan.objective;
    Ok(LlmCurves {
        points,
        capacity_rps,
        knee_rps,
        knee_ttft_ms,
        replicas,
        cost: cost_points(plan, replicas),
        kv: best.and_then(|b| kv_figures(&r, b, capacity_rps)),
        peak_rps: peak_rate_rps(&plan.workload.rate_rps),
        mean_rps: crate::model::traffic::mean_rate_rps(&plan.workload.rate_rps),
        metric: o.metric,
        ttft_slo_ms: o.ttft_slo_ms,
        tpot_slo_ms: o.tpot_slo_ms,
    })
}

/// One replica's steady state at loads from 0 to [`LAST_LOAD`] of `capacity_rps`,
/// denser towards the capacity where TTFT turns up.
pub fn steady_points(r: &Replica, capacity_rps: f64) -> Vec<RatePoint> {
    (0..=POINTS)
        .filter_map(|i| {
            let u = i as f64 / POINTS as f64;
            let rate = capacity_rps * LAST_LOAD * (1.0 - (1.0 - u) * (1.0 - u));
            let s = r.steady(rate).ok()?;
            let (ttft_ms, tpot_ms) = warm_replica_latency(r, &s)?;
            Some(RatePoint {
                replica_rps: rate,
                ttft_ms,
                tpot_ms,
                kv_used_tokens: s.kv_used_tokens,
            })
        })
        .collect()
}

/// Always-on fleets of 1..=`replicas` evaluated over the plan's day.
fn cost_points(plan: &Plan, replicas: u32) -> Vec<CostPoint> {
    let Ok(ctx) = Evaluator::new(plan) else {
        return Vec::new();
    };
    (1..=replicas)
        .map(|n| {
            let e = ctx.evaluate(&Candidate {
                policy: Policy::AlwaysOn { servers: n },
                batch: 1,
                max_num_seqs: None,
            });
            CostPoint {
                replicas: n,
                usd_per_million_output_tokens: e
                    .llm
                    .as_ref()
                    .map(|l| l.cost_usd_per_million_output_tokens),
                feasible: e.feasible,
                why: e.why_infeasible,
            }
        })
        .collect()
}

fn kv_figures(r: &Replica, best: &Evaluation, capacity_rps: f64) -> Option<KvFigures> {
    let l = best.llm.as_ref()?;
    let used_at = |rate: f64| r.steady(rate).ok().map(|s| s.kv_used_tokens);
    Some(KvFigures {
        capacity_tokens: l.kv_capacity_tokens,
        day_used_tokens: l.kv_utilization * l.kv_capacity_tokens,
        utilization: l.kv_utilization,
        mean_running_seqs: l.mean_running_seqs,
        tokens_per_seq: r.kv_tokens_per_seq(),
        seqs_fit: r.seqs_fit(),
        max_num_seqs: r.max_num_seqs,
        at_slo_used_tokens: used_at(l.max_requests_per_s_at_slo.min(capacity_rps * LAST_LOAD)),
        at_capacity_used_tokens: used_at(capacity_rps * LAST_LOAD),
    })
}

impl LlmCurves {
    /// The curve of `n` replicas with the load split evenly: (fleet req/s, point).
    pub fn fleet_curve(&self, n: u32) -> impl Iterator<Item = (f64, &RatePoint)> {
        let n = f64::from(n);
        self.points.iter().map(move |p| (n * p.replica_rps, p))
    }

    /// The knee of `n` replicas, fleet req/s.
    pub fn fleet_knee_rps(&self, n: u32) -> f64 {
        f64::from(n) * self.knee_rps
    }

    /// Where `n` replicas overload, fleet req/s.
    pub fn fleet_capacity_rps(&self, n: u32) -> f64 {
        f64::from(n) * self.capacity_rps
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::state::Results;
    use crate::model::llm_kv::{KNEE_LIGHT_LOAD, KNEE_TTFT_FACTOR};
    use crate::plan::presets;

    fn chatbot() -> (Plan, Results, LlmCurves) {
        let plan = presets::load("llm-chatbot").unwrap();
        let results = Results::compute(&plan);
        let c = LlmFigures::compute(&plan, results.best()).curves.unwrap();
        (plan, results, c)
    }

    #[test]
    fn each_curve_is_one_replicas_steady_state_at_its_share_of_the_rate() {
        let (plan, _, c) = chatbot();
        let r = replica_of(&plan).unwrap();
        assert_eq!(c.capacity_rps, r.capacity_rps());
        assert!(c.points.len() > POINTS / 2);
        for n in 1..=c.replicas {
            for (fleet_rps, p) in c.fleet_curve(n) {
                let share = fleet_rps / f64::from(n);
                assert!((share - p.replica_rps).abs() <= 1e-12 * p.replica_rps);
                let s = r.steady(p.replica_rps).unwrap();
                let (ttft, tpot) = warm_replica_latency(&r, &s).unwrap();
                assert_eq!((p.ttft_ms, p.tpot_ms), (ttft, tpot));
                assert!((p.tpot_ms.mean / s.tpot_ms - 1.0).abs() < 1e-12);
                assert!((p.ttft_ms.mean / s.ttft_mean_ms() - 1.0).abs() < 1e-9);
            }
        }
        // The last point is just below the capacity, where a replica overloads.
        let last = c.points.last().unwrap().replica_rps;
        assert!(last < c.capacity_rps && last > 0.99 * c.capacity_rps);
        assert!(r.steady(c.capacity_rps * 1.001).is_err());
        // TTFT and TPOT grow with the load.
        for w in c.points.windows(2) {
            assert!(w[1].ttft_ms.mean >= w[0].ttft_ms.mean);
            assert!(w[1].tpot_ms.mean >= w[0].tpot_ms.mean);
        }
    }

    #[test]
    fn the_knee_is_where_mean_ttft_doubles_its_light_load_value() {
        let (plan, _, c) = chatbot();
        let r = replica_of(&plan).unwrap();
        let light = r
            .steady(KNEE_LIGHT_LOAD * c.capacity_rps)
            .unwrap()
            .ttft_mean_ms();
        assert!((c.knee_ttft_ms / (KNEE_TTFT_FACTOR * light) - 1.0).abs() < 1e-3);
        assert!(c.knee_rps > KNEE_LIGHT_LOAD * c.capacity_rps && c.knee_rps < c.capacity_rps);
        // docs/llm.md: the chat replica's knee at 0.857 of its 1.706 req/s.
        assert!(
            (c.knee_rps / c.capacity_rps - 0.857).abs() < 0.005,
            "{}",
            c.knee_rps
        );
        assert!((c.capacity_rps - 1.706).abs() < 0.001);
        for n in 1..=c.replicas {
            assert_eq!(c.fleet_knee_rps(n), f64::from(n) * c.knee_rps);
            assert_eq!(c.fleet_capacity_rps(n), f64::from(n) * c.capacity_rps);
        }
    }

    #[test]
    fn the_curves_cross_the_slo_at_the_models_most_requests_within_it() {
        let (plan, results, _) = chatbot();
        let r = replica_of(&plan).unwrap();
        let l = results.best().unwrap().llm.clone().unwrap();
        let o = &plan.objective;
        let at = |rate: f64| warm_replica_latency(&r, &r.steady(rate).unwrap()).unwrap();
        let within = |(ttft, tpot): (LatencyStats, LatencyStats)| {
            ttft.get(o.metric) <= o.ttft_slo_ms.unwrap()
                && tpot.get(o.metric) <= o.tpot_slo_ms.unwrap()
        };
        assert!(within(at(l.max_requests_per_s_at_slo)));
        assert!(!within(at(l.max_requests_per_s_at_slo * 1.001)));
    }

    #[test]
    fn replicas_drawn_follow_the_recommendation_and_their_cost_is_the_fleets_price() {
        let (plan, results, c) = chatbot();
        let best = results.best().unwrap();
        assert_eq!(
            c.replicas,
            (best.servers_held.ceil() as u32 + EXTRA_REPLICAS).min(MAX_REPLICAS)
        );
        assert_eq!(c.cost.len() as u32, c.replicas);
        let tokens = plan.workload.tokens.as_ref().unwrap();
        let output_per_s = c.mean_rps * tokens.output_mean;
        for p in &c.cost {
            let n = f64::from(p.replicas);
            // The peak hour (3 req/s) overloads one replica (1.7 req/s at most).
            if n * c.capacity_rps < c.peak_rps {
                assert_eq!(p.usd_per_million_output_tokens, None, "{p:?}");
                assert!(p.why.as_deref().unwrap().contains("overloaded"), "{p:?}");
                continue;
            }
            let usd_per_hour = n * plan.hardware.on_demand_usd_per_hour;
            let expect = usd_per_hour / (output_per_s * 3600.0) * 1e6;
            let got = p.usd_per_million_output_tokens.unwrap();
            assert!((got / expect - 1.0).abs() < 1e-9, "{p:?}: {expect}");
        }
    }

    #[test]
    fn the_kv_figures_are_the_evaluations_and_the_replicas() {
        let (plan, results, c) = chatbot();
        let r = replica_of(&plan).unwrap();
        let l = results.best().unwrap().llm.clone().unwrap();
        let kv = c.kv.unwrap();
        assert_eq!(kv.capacity_tokens, l.kv_capacity_tokens);
        assert_eq!(kv.day_used_tokens / kv.capacity_tokens, l.kv_utilization);
        assert_eq!(kv.mean_running_seqs, l.mean_running_seqs);
        let at_slo = r
            .steady(l.max_requests_per_s_at_slo)
            .unwrap()
            .kv_used_tokens;
        assert_eq!(kv.at_slo_used_tokens, Some(at_slo));
        assert!(kv.day_used_tokens < at_slo && at_slo < kv.at_capacity_used_tokens.unwrap());
        assert!(kv.at_capacity_used_tokens.unwrap() <= kv.capacity_tokens);
        assert_eq!((kv.seqs_fit, kv.max_num_seqs), (r.seqs_fit(), 64));
    }

    #[test]
    fn a_request_level_plan_has_no_figures_and_says_why() {
        let plan = presets::load("healthcare-triage").unwrap();
        let f = LlmFigures::compute(&plan, None);
        assert_eq!(f.curves, Err(NOT_LLM.to_owned()));
        let mut cached = Some(f);
        assert!(!LlmFigures::refresh(&mut cached, &plan, None));
        let other = presets::load("llm-chatbot").unwrap();
        assert!(LlmFigures::refresh(&mut cached, &other, None));
        assert!(cached.unwrap().curves.is_ok());
    }
}
