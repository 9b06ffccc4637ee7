//! Model layer: the plan types — the RON contract teams share (the plan format in README.md).
//!
//! Field names here are a contract: new fields are optional (`#[serde(default)]`),
//! existing ones are never renamed. Every struct rejects unknown fields so a typo in a
//! shared plan is an error, not a silently ignored setting.

use serde::{Deserialize, Serialize};

pub use super::cold_start::ColdStartParts;
pub use super::llm_types::{IterationTime, LlmService, Tokens};

/// The plan format version this build writes and reads natively.
pub const PLAN_VERSION: u32 = 1;

/// A serving plan: workload, measured service, hardware, policy and objective.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Plan {
    /// Format version (see [`PLAN_VERSION`]); older versions are migrated on load.
    pub version: u32,
    /// Human-readable name.
    pub name: String,
    /// Free text: the story behind the plan, price sources and dates.
    #[serde(default)]
    pub notes: String,
    /// Traffic offered to the service.
    pub workload: Workload,
    /// How long the model takes to serve a batch on one server.
    pub service: Service,
    /// The hardware class the servers run on, with prices.
    pub hardware: Hardware,
    /// How servers are kept: always on, on demand, hybrid, spot mix, or optimise.
    pub policy: Policy,
    /// Dynamic batching.
    #[serde(default)]
    pub batching: Batching,
    /// Result cache in front of the servers.
    #[serde(default)]
    pub cache: Cache,
    /// Lazy evaluation: only a fraction of results is ever needed.
    #[serde(default)]
    pub lazy: Lazy,
    /// What "best" means: α·cost + β·latency under an SLO.
    pub objective: Objective,
    /// Optional dynamic routing of latency-tolerant traffic to a second class.
    #[serde(default)]
    pub routing: Option<Routing>,
    /// Optional electricity cost for owned hardware (a workstation).
    #[serde(default)]
    pub energy: Option<Energy>,
    /// Optional checkpointed batch job (training, sweeps) to run on spot capacity.
    #[serde(default)]
    pub job: Option<CheckpointJob>,
    /// Optional catalog offers the optimiser may choose among (`plan --hardware`
    /// overrides it); absent, the plan runs on `hardware` only.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub hardware_candidates: Option<HardwareCandidates>,
}

/// Which catalog offers a plan's optimiser searches besides its own `hardware`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum HardwareCandidates {
    /// Every offer in the catalog (those the model does not fit are reported as such).
    All,
    /// These offers, by `provider instance_type` (case ignored) or a unique part of it.
    Offers(Vec<String>),
}

/// Offered traffic.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Workload {
    /// Request rate over the day, requests per second.
    pub rate_rps: Rate,
    /// Coefficient of variation of inter-arrival times; 1.0 = Poisson.
    pub arrival_cv: f64,
    /// Token lengths of a request: present for LLM serving (with `service.llm`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tokens: Option<Tokens>,
}

/// Request rate over a day.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Rate {
    /// The same rate all day.
    Constant(f64),
    /// A cosine day between `trough` and `peak`, highest at `peak_hour` (0–23).
    Diurnal {
        /// Highest rate, requests per second.
        peak: f64,
        /// Lowest rate, requests per second (12 hours from the peak).
        trough: f64,
        /// Hour of the day (0–23) with the peak rate.
        peak_hour: u32,
    },
    /// Twenty-four hourly rates, hour 0 first.
    Hourly(Vec<f64>),
}

/// The measured (or stated) service of one server.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Service {
    /// (batch size, ms to serve one batch on one server) points of L(b), sorted by batch.
    pub batch_latency_ms: Vec<(u32, f64)>,
    /// Coefficient of variation of the service time.
    pub service_cv: f64,
    /// Seconds for a new server to boot, load, compile and warm up. With
    /// `cold_start_parts` it states their sum (checked when the plan is read).
    pub cold_start_s: f64,
    /// Optional: the cold start's named parts (instance boot, weight load from storage,
    /// device set-up), whose sum `cold_start_s` states; calibration replaces the
    /// measured part. Absent in a plan that states only the whole.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cold_start_parts: Option<ColdStartParts>,
    /// Tokens per request: the sequence length L(b) is for. Calibration reads a
    /// transformer's rows at this length; an MLP's rows have none and ignore it.
    /// [`DEFAULT_SEQ_LEN`] when a plan does not say.
    #[serde(default = "default_seq_len")]
    pub seq_len: u32,
    /// Where the numbers came from.
    #[serde(default)]
    pub source: Source,
    /// An LLM replica (continuous batching, KV cache): present with `workload.tokens`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub llm: Option<LlmService>,
}

/// Tokens per request of a plan that does not state `service.seq_len`: the sequence
/// length `costscope profile` measures transformers at unless told otherwise.
pub const DEFAULT_SEQ_LEN: u32 = 128;

fn default_seq_len() -> u32 {
    DEFAULT_SEQ_LEN
}

/// Provenance of a plan's service numbers.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Source {
    /// Typed in by a person.
    #[default]
    Manual,
    /// Calibrated from a `costscope profile` report.
    Profile {
        /// Report file the numbers came from.
        report: String,
        /// Adapter (or "cpu") that was measured.
        adapter: String,
        /// Precision of the measured kernels.
        precision: Precision,
        /// Workload/model name in the report.
        model: String,
    },
}

/// Storage precision of measured kernels (arithmetic is always f32 or wider). The one
/// precision type of costscope: plans write it as `F32`/`F16`/`Bf16` (serde's default),
/// reports and the command line as `f32`/`f16`/`bf16` ([`Precision::name`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Precision {
    /// 32-bit float storage and math.
    F32,
    /// IEEE half storage, f32 accumulate (`SHADER_F16` on a GPU).
    F16,
    /// bfloat16 storage (packed two per u32 on a GPU), f32 math; works on any adapter.
    Bf16,
}

impl Precision {
    /// All precisions, in report order.
    pub const ALL: [Precision; 3] = [Precision::F32, Precision::F16, Precision::Bf16];

    /// Lower-case name used in reports and on the command line.
    pub fn name(self) -> &'static str {
        match self {
            Precision::F32 => "f32",
            Precision::F16 => "f16",
            Precision::Bf16 => "bf16",
        }
    }

    /// Bytes per stored element.
    pub fn bytes_per_element(self) -> usize {
        match self {
            Precision::F32 => 4,
            Precision::F16 | Precision::Bf16 => 2,
        }
    }

    /// Largest acceptable relative Frobenius error of a kernel against the f64
    /// reference: storage rounding of 2⁻²⁴ (f32) or 2⁻⁸…2⁻¹¹ (f16/bf16) over a dot
    /// product, with headroom.
    pub fn tolerance(self) -> f64 {
        match self {
            Precision::F32 => 1e-5,
            Precision::F16 | Precision::Bf16 => 1e-2,
        }
    }
}

/// A precision name that is not `f32`, `f16` or `bf16`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown precision `{0}` (expected f32, f16 or bf16)")]
pub struct UnknownPrecision(pub String);

impl std::str::FromStr for Precision {
    type Err = UnknownPrecision;

    /// Parses `f32`, `f16` or `bf16` (also `fp32`, `fp16`; any case).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s.trim().to_ascii_lowercase().as_str() {
            "f32" | "fp32" => Ok(Precision::F32),
            "f16" | "fp16" => Ok(Precision::F16),
            "bf16" => Ok(Precision::Bf16),
            other => Err(UnknownPrecision(other.to_owned())),
        }
    }
}

impl std::fmt::Display for Precision {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.pad(self.name())
    }
}

/// Serde for a [`Precision`] written by its lower-case [`Precision::name`] (reports),
/// for `#[serde(with = "precision_name")]`.
pub mod precision_name {
    use super::Precision;

    /// Writes the lower-case name.
    pub fn serialize<S: serde::Serializer>(p: &Precision, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(p.name())
    }

    /// Reads a lower-case name.
    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Precision, D::Error> {
        let text: std::borrow::Cow<'de, str> = serde::Deserialize::deserialize(d)?;
        text.parse().map_err(serde::de::Error::custom)
    }
}

/// A hardware class with its prices.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Hardware {
    /// Name, e.g. "L4" or "RTX 4090 workstation".
    pub name: String,
    /// Price of one on-demand server, dollars per hour.
    pub on_demand_usd_per_hour: f64,
    /// Price of one spot/preemptible server, dollars per hour.
    pub spot_usd_per_hour: f64,
    /// Expected spot interruptions per server per hour.
    pub spot_interruptions_per_hour: f64,
    /// Speed relative to the device the service was profiled on (>1 = faster).
    pub speed_vs_profiled: f64,
    /// Power draw of one busy server, watts.
    pub power_w: f64,
}

/// How servers are provisioned.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub enum Policy {
    /// A fixed fleet that is always on, sized for the peak.
    AlwaysOn {
        /// Number of servers.
        servers: u32,
    },
    /// Scale to zero: servers start on demand (cold start) and stop after an idle timeout.
    OnDemand {
        /// Seconds an idle server is kept before it stops.
        idle_timeout_s: f64,
        /// Most servers that may run at once.
        max_servers: u32,
    },
    /// Keep `warm` servers always on, burst on demand above them.
    Hybrid {
        /// Servers that are always on.
        warm: u32,
        /// Seconds an idle burst server is kept before it stops.
        idle_timeout_s: f64,
        /// Most servers that may run at once, warm ones included.
        max_servers: u32,
    },
    /// Some on-demand servers plus spot servers that can be interrupted.
    SpotMix {
        /// On-demand servers.
        on_demand: u32,
        /// Spot servers.
        spot: u32,
        /// Seconds between checkpoints of a spot server's state.
        checkpoint_interval_s: f64,
        /// Seconds a checkpoint takes (δ); 0 for stateless serving.
        #[serde(default)]
        checkpoint_s: f64,
    },
    /// Search every policy, server count and batch size for the best objective.
    Optimize {
        /// Largest fleet to consider.
        max_servers: u32,
    },
}

impl Policy {
    /// The (on-demand, spot) servers that are up from the start and never stop on
    /// idleness: always-on servers, the hybrid's warm ones, the spot mix's two kinds.
    pub fn standing_servers(&self) -> (u32, u32) {
        match *self {
            Policy::AlwaysOn { servers } => (servers, 0),
            Policy::Hybrid { warm, .. } => (warm, 0),
            Policy::SpotMix {
                on_demand, spot, ..
            } => (on_demand, spot),
            Policy::OnDemand { .. } | Policy::Optimize { .. } => (0, 0),
        }
    }
}

/// Dynamic batching settings.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Batching {
    /// Largest batch a server takes.
    pub max_batch: u32,
    /// Longest a batch waits to fill, ms.
    pub window_ms: f64,
}

impl Default for Batching {
    fn default() -> Self {
        Self {
            max_batch: 1,
            window_ms: 0.0,
        }
    }
}

/// A result cache in front of the servers (L1, optionally an L2 tier).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Cache {
    /// Fraction of requests answered by the cache (ignored when `zipf` is set).
    pub hit_rate: f64,
    /// Latency of a cache hit, ms.
    pub hit_latency_ms: f64,
    /// Times each computed result is used (r): savings are (r − 1)·C_E.
    pub reuse: f64,
    /// Cost of the cache's storage, dollars per hour.
    pub storage_usd_per_hour: f64,
    /// Derive the hit rate from a Zipf popularity instead of stating it.
    #[serde(default)]
    pub zipf: Option<Zipf>,
    /// A second, slower and larger tier consulted on L1 misses.
    #[serde(default)]
    pub l2: Option<CacheTier>,
}

impl Default for Cache {
    fn default() -> Self {
        Self {
            hit_rate: 0.0,
            hit_latency_ms: 0.5,
            reuse: 1.0,
            storage_usd_per_hour: 0.0,
            zipf: None,
            l2: None,
        }
    }
}

/// Zipf(s) popularity over `items` distinct requests with a cache of `cache_items`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Zipf {
    /// Skew exponent s (0 = uniform).
    pub s: f64,
    /// Distinct request keys.
    pub items: u64,
    /// Keys the cache holds (the most popular ones).
    pub cache_items: u64,
}

/// A second cache tier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CacheTier {
    /// Fraction of L1 misses this tier answers.
    pub hit_rate: f64,
    /// Extra latency of a lookup in this tier, ms.
    pub hit_latency_ms: f64,
}

/// Lazy evaluation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lazy {
    /// Fraction p of results actually needed; only those are computed.
    pub fraction_needed: f64,
}

impl Default for Lazy {
    fn default() -> Self {
        Self {
            fraction_needed: 1.0,
        }
    }
}

/// Latency statistic the objective and SLO use.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum Metric {
    /// Mean response time.
    Mean,
    /// Median.
    P50,
    /// 95th percentile.
    P95,
    /// 99th percentile.
    P99,
}

impl Metric {
    /// Every metric, in display order.
    pub const ALL: [Metric; 4] = [Metric::Mean, Metric::P50, Metric::P95, Metric::P99];

    /// The metric's name in tables, plots and messages: `mean`, `p50`, `p95`, `p99`.
    pub fn name(self) -> &'static str {
        match self {
            Metric::Mean => "mean",
            Metric::P50 => "p50",
            Metric::P95 => "p95",
            Metric::P99 => "p99",
        }
    }
}

/// The objective J = α·C + β·L under an SLO.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Objective {
    /// Weight of cost (per $/hour).
    pub alpha: f64,
    /// Weight of latency (per ms).
    pub beta: f64,
    /// Which latency statistic L is.
    pub metric: Metric,
    /// Candidates whose metric exceeds this are infeasible.
    #[serde(default)]
    pub slo_ms: Option<f64>,
    /// LLM plans: time to first token at the metric must not exceed this, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttft_slo_ms: Option<f64>,
    /// LLM plans: time per output token at the metric must not exceed this, ms.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tpot_slo_ms: Option<f64>,
}

/// Dynamic routing: a fraction of latency-tolerant traffic goes to a second class.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Routing {
    /// Fraction of the traffic that reaches servers which is routed to the second class.
    pub fraction: f64,
    /// Name of the second class, e.g. "distilled on T4".
    pub name: String,
    /// Its hardware and prices.
    pub hardware: Hardware,
    /// Its own service curve (a distilled model); `None` reuses the main service.
    #[serde(default)]
    pub service: Option<Service>,
    /// Always-on servers of the second class; 0 sizes it automatically.
    #[serde(default)]
    pub servers: u32,
}

/// Electricity for owned hardware.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Energy {
    /// Electricity price, dollars per kWh.
    pub usd_per_kwh: f64,
    /// Power of a held but idle server, watts.
    pub idle_power_w: f64,
}

/// A checkpointed batch job (training, a sweep) that could run on spot capacity.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointJob {
    /// Useful work, hours on one server without interruptions.
    pub work_hours: f64,
    /// Seconds one checkpoint takes (δ).
    pub checkpoint_s: f64,
    /// Seconds to restart from a checkpoint after an interruption (R).
    pub restart_s: f64,
    /// Checkpoint interval τ, seconds; `None` uses Young's optimum √(2δ/h).
    #[serde(default)]
    pub checkpoint_interval_s: Option<f64>,
}
