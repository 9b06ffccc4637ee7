//! Model layer: what an evaluation is — candidates, policy families, and the
//! `Evaluation` record with its latency, cache and routing figures.

use serde::Serialize;

use super::types::{Metric, Plan, Policy};

/// Policy family of a candidate, as written in JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum PolicyKind {
    /// A fixed always-on fleet.
    AlwaysOn,
    /// Scale to zero.
    OnDemand,
    /// k warm plus on-demand burst.
    Hybrid,
    /// On-demand plus spot.
    SpotMix,
}

impl PolicyKind {
    /// All four, in display order.
    pub const ALL: [PolicyKind; 4] = [Self::AlwaysOn, Self::OnDemand, Self::Hybrid, Self::SpotMix];

    /// The JSON / CLI name.
    pub fn name(self) -> &'static str {
        match self {
            Self::AlwaysOn => "always_on",
            Self::OnDemand => "on_demand",
            Self::Hybrid => "hybrid",
            Self::SpotMix => "spot_mix",
        }
    }
}

/// One concrete way to run the plan: a policy (never `Optimize`), a batch size and,
/// for an LLM plan, the most sequences a replica runs at once.
#[derive(Debug, Clone, PartialEq)]
pub struct Candidate {
    /// The provisioning policy.
    pub policy: Policy,
    /// Largest batch a server takes.
    pub batch: u32,
    /// `service.llm.max_num_seqs` of an LLM replica; `None` keeps the plan's own.
    pub max_num_seqs: Option<u32>,
}

impl Candidate {
    /// The plan's own policy and batch; `None` when the plan asks to `Optimize`.
    pub fn from_plan(plan: &Plan) -> Option<Self> {
        (!matches!(plan.policy, Policy::Optimize { .. })).then(|| Self {
            policy: plan.policy.clone(),
            batch: plan.batching.max_batch.max(1),
            max_num_seqs: None,
        })
    }

    /// `plan` run as this candidate: its policy, max batch and (for an LLM plan)
    /// `max_num_seqs` replaced, so a simulator or an evaluator of the result runs
    /// exactly what the candidate names.
    pub fn apply_to(&self, plan: &Plan) -> Plan {
        let mut p = plan.clone();
        p.policy = self.policy.clone();
        p.batching.max_batch = self.batch;
        if let (Some(n), Some(llm)) = (self.max_num_seqs, p.service.llm.as_mut()) {
            llm.max_num_seqs = n;
        }
        p
    }
}

/// Latency statistics, ms.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct LatencyStats {
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 95th percentile.
    pub p95: f64,
    /// 99th percentile.
    pub p99: f64,
}

impl LatencyStats {
    /// The statistic an objective uses.
    pub fn get(&self, metric: Metric) -> f64 {
        match metric {
            Metric::Mean => self.mean,
            Metric::P50 => self.p50,
            Metric::P95 => self.p95,
            Metric::P99 => self.p99,
        }
    }
}

/// Cache figures of an evaluation. What the cache saves in dollars per hour is a
/// comparison of two evaluations, in [`super::compare::CacheComparison`].
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct CacheReport {
    /// Fraction of requests answered by a cache tier.
    pub hit_rate: f64,
    /// (r − 1)·C_E: what reusing each computed result r times saves, dollars per
    /// million computed results.
    pub reuse_savings_usd_per_million: f64,
}

/// One server class of a routed plan.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct ClassReport {
    /// Its name.
    pub name: String,
    /// Share of the server-bound traffic it takes.
    pub fraction: f64,
    /// Its servers (as in the evaluation for the primary class).
    pub servers: u32,
    /// Its cost, dollars per hour (included in the total).
    pub cost_usd_per_hour: f64,
    /// Its own latency.
    pub latency_ms: Option<LatencyStats>,
    /// Its utilisation.
    pub utilization: f64,
}

/// Everything the model says about one candidate. No field is ever NaN or infinite.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Evaluation {
    /// Policy family.
    pub policy: PolicyKind,
    /// Servers: the fleet (always-on), the cap (on-demand, hybrid), on-demand + spot.
    pub servers: u32,
    /// Servers kept warm all day (always-on: all; hybrid: k; spot mix: the on-demand ones).
    pub warm: u32,
    /// Spot servers.
    pub spot: u32,
    /// Largest batch.
    pub batch: u32,
    /// The most sequences an LLM replica runs at once (`service.llm.max_num_seqs`,
    /// the optimiser's choice); absent for a request-level plan.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_num_seqs: Option<u32>,
    /// Total cost, dollars per hour (servers, cache storage, second class, energy).
    pub cost_usd_per_hour: f64,
    /// Cost per million requests offered; null without traffic.
    pub cost_usd_per_million: Option<f64>,
    /// Response time of needed requests; null when infeasible by overload.
    pub latency_ms: Option<LatencyStats>,
    /// Mean busy share of held servers.
    pub utilization: f64,
    /// Probability a request that reaches a server waits in queue.
    pub p_wait: f64,
    /// Share of requests reaching servers that pay a cold start.
    pub cold_start_fraction: f64,
    /// Mean servers held (billed).
    pub servers_held: f64,
    /// Mean batch size formed.
    pub mean_batch: f64,
    /// Electricity, kWh per hour.
    pub energy_kwh_per_hour: f64,
    /// Cache figures.
    pub cache: CacheReport,
    /// The primary class's own figures when the plan routes traffic (its latency
    /// includes the cache hits, which never reach either class).
    pub primary: Option<ClassReport>,
    /// The second class when the plan routes traffic.
    pub routing: Option<ClassReport>,
    /// α·C + β·L; null when infeasible by overload.
    pub objective: Option<f64>,
    /// Stable and within the SLO.
    pub feasible: bool,
    /// Why not, in words.
    pub why_infeasible: Option<String>,
    /// LLM serving figures (TTFT, TPOT, tokens, KV cache) of a plan with
    /// `workload.tokens`; absent otherwise, and when the candidate has no latency.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub llm: Option<super::llm::LlmReport>,
}

impl Evaluation {
    /// The candidate in words, the one name every table and panel gives it:
    /// `on_demand servers=8 batch=4`, with `warm=` and `spot=` when set.
    pub fn candidate_name(&self) -> String {
        let mut s = format!("{} servers={}", self.policy.name(), self.servers);
        if self.warm > 0 && self.warm != self.servers {
            s += &format!(" warm={}", self.warm);
        }
        if self.spot > 0 {
            s += &format!(" spot={}", self.spot);
        }
        s += &format!(" batch={}", self.batch);
        if let Some(n) = self.max_num_seqs {
            s += &format!(" seqs={n}");
        }
        s
    }
}

/// Why a plan cannot be evaluated at all (validation normally catches these first).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ModelError {
    /// The service curve has no usable points.
    #[error("service.batch_latency_ms needs at least one (batch ≥ 1, ms > 0) point")]
    NoServiceCurve,
    /// The routed class's service curve is unusable.
    #[error("routing.service.batch_latency_ms needs at least one (batch ≥ 1, ms > 0) point")]
    NoRoutedCurve,
    /// An LLM plan whose model's weights and KV bytes were never read.
    #[error(
        "service.llm.model `{0}`: its footprint is not resolved (load the plan through plan::load_str or plan::load_file)"
    )]
    UnresolvedModel(String),
    /// Only one of `workload.tokens` and `service.llm` is present.
    #[error("workload.tokens and service.llm go together: give both or neither")]
    HalfLlm,
}

/// (servers, warm, spot) as reported for a policy.
pub(crate) fn describe(policy: &Policy) -> (PolicyKind, u32, u32, u32) {
    match *policy {
        Policy::AlwaysOn { servers } => (PolicyKind::AlwaysOn, servers, servers, 0),
        Policy::OnDemand { max_servers, .. } => (PolicyKind::OnDemand, max_servers, 0, 0),
        Policy::Hybrid {
            warm, max_servers, ..
        } => (PolicyKind::Hybrid, max_servers, warm, 0),
        Policy::SpotMix {
            on_demand, spot, ..
        } => (
            PolicyKind::SpotMix,
            on_demand.saturating_add(spot),
            on_demand,
            spot,
        ),
        Policy::Optimize { max_servers } => (PolicyKind::AlwaysOn, max_servers, 0, 0),
    }
}

/// The policy family of a concrete policy (`Optimize` counts as always-on).
pub fn kind_of(policy: &Policy) -> PolicyKind {
    describe(policy).0
}

/// The size a sweep varies for this policy: the fleet (always-on), the cap
/// (on-demand), the warm count (hybrid), on-demand + spot (spot mix); `None` for
/// `Optimize`.
pub fn servers_of(policy: &Policy) -> Option<u32> {
    match *policy {
        Policy::Hybrid { warm, .. } => Some(warm),
        Policy::Optimize { .. } => None,
        _ => Some(describe(policy).1),
    }
}
