//! profile layer: the versioned profile report (the shape in ARCHITECTURE.md) and its JSON/RON/CSV files.

use std::path::Path;

use serde::{Deserialize, Serialize};

pub use super::fingerprint::{fingerprint, utc_now_rfc3339};
use super::stats::Timing;
use super::workloads::Workload;
use super::{Precision, ProfileError};

/// Report format version; bump when a field changes meaning.
pub const REPORT_VERSION: u32 = 1;

/// Everything one profile run measured.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ProfileReport {
    /// Format version ([`REPORT_VERSION`]).
    pub version: u32,
    /// Where and when it was measured.
    pub fingerprint: Fingerprint,
    /// Every adapter wgpu found, plus the native CPU entry.
    pub adapters: Vec<AdapterEntry>,
    /// One row per (device, workload, precision, variant, shape) measured or refused.
    pub results: Vec<ResultRow>,
    /// Cold-start breakdown of the first GPU device measured (null when none was).
    pub cold_start_ms: Option<ColdStart>,
    /// Cold-start breakdowns of every GPU device measured, in order.
    #[serde(default)]
    pub cold_start_all_ms: Vec<ColdStart>,
    /// Roofline peaks per device and precision.
    pub peaks: Vec<Peak>,
    /// NVML telemetry, or why there is none.
    pub telemetry: Telemetry,
    /// True when the run was cancelled and the report holds only what was measured.
    #[serde(default)]
    pub cancelled: bool,
    /// Devices whose profiling failed, each `"<device>: <one-line error>"`; the rows
    /// measured before the failure are kept.
    #[serde(default)]
    pub errors: Vec<String>,
}

/// Machine and build that produced a report.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Fingerprint {
    /// costscope version.
    pub app_version: String,
    /// Operating system and architecture.
    pub os: String,
    /// CPU model name from /proc/cpuinfo (or "unknown").
    pub cpu: String,
    /// UTC date and time of the run, RFC 3339.
    pub date: String,
    /// Logical CPU cores.
    #[serde(default)]
    pub cpu_cores: usize,
    /// Devices measured in this run: adapter labels (`"<name> [<backend>]"`) and/or `cpu`.
    #[serde(default)]
    pub devices: Vec<String>,
}

/// One adapter (or the native CPU) as found at run time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdapterEntry {
    /// Adapter name, or "cpu" for the native path.
    pub name: String,
    /// Backend: vulkan, metal, dx12, gl, or native.
    pub backend: String,
    /// cpu, discrete_gpu, integrated_gpu, virtual_gpu or other.
    pub device_type: String,
    /// Driver name.
    pub driver: String,
    /// Driver version details.
    #[serde(default)]
    pub driver_info: String,
    /// Feature names relevant to profiling (e.g. SHADER_F16, TIMESTAMP_QUERY).
    pub features: Vec<String>,
    /// Key limits: name and value.
    #[serde(default)]
    pub limits: Vec<(String, u64)>,
}

/// One measured (or refused) kernel configuration.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ResultRow {
    /// Adapter name or "cpu".
    pub device: String,
    /// `gemm` or `mlp:<preset>`.
    pub workload: Workload,
    /// f32, f16 or bf16.
    #[serde(with = "crate::model::types::precision_name")]
    pub precision: Precision,
    /// Kernel variant name.
    pub variant: String,
    /// Autotune winner for this device × shape × precision.
    pub chosen: bool,
    /// Rows of the output (the batch for MLPs).
    pub m: usize,
    /// Columns of the output.
    pub n: usize,
    /// Inner dimension.
    pub k: usize,
    /// Batch size for MLP workloads.
    pub batch: Option<usize>,
    /// False when the device cannot run this precision at all.
    pub supported: bool,
    /// Why not, in words.
    pub why_unsupported: Option<String>,
    /// Passed the f64 reference check.
    pub correct: bool,
    /// Relative Frobenius error against the f64 reference.
    pub rel_error: Option<f64>,
    /// Timing statistics; absent when unsupported or incorrect.
    pub timing: Option<Timing>,
    /// Achieved GFLOP/s at the median.
    pub gflops: Option<f64>,
    /// Achieved GB/s of compulsory traffic at the median.
    pub gbytes_per_s: Option<f64>,
    /// Percent of the device's measured FMA peak for this precision.
    pub pct_of_peak: Option<f64>,
    /// "tuned", "cached" or null for rows that are not autotuned.
    #[serde(default)]
    pub autotune: Option<String>,
    /// Arithmetic intensity of the workload, FLOPs per byte of compulsory traffic (the
    /// roofline x-axis).
    #[serde(default)]
    pub flops_per_byte: Option<f64>,
    /// Inference items per second at the median (MLP rows).
    #[serde(default)]
    pub items_per_s: Option<f64>,
    /// Why a supported configuration produced no timing (e.g. its shader failed to compile).
    #[serde(default)]
    pub error: Option<String>,
    /// Tokens per sequence (encoder and prefill rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seq_len: Option<usize>,
    /// Cached tokens each decoded token attends to (decode rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub context_len: Option<usize>,
    /// FLOPs of one item: a sequence (encoder, prefill) or one decoded token (decode),
    /// counted as `profile::workloads::transformer::accounting` states.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub flops_per_item: Option<f64>,
    /// Compulsory bytes one item moves besides the shared weights (embedding rows,
    /// outputs, KV cache written and read).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes_per_item: Option<f64>,
    /// Bytes of all the model's weights at this row's precision.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights_bytes: Option<f64>,
    /// KV-cache bytes per token at this row's precision (decoders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kv_bytes_per_token: Option<f64>,
    /// Share of the f16/bf16 decoder's last-position logits whose arg-max matches the f32
    /// pass over the same tokens and weights (decoder rows at f16/bf16; 1.0 = all agree).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top1_agreement: Option<f64>,
    /// Where the weights came from: `random (seed N)` or a safetensors file's path
    /// (transformer rows).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub weights: Option<String>,
    /// Where the time of one pass goes, operator by operator (transformer rows).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub ops: Vec<OpTime>,
}

/// One operator kind's share of a transformer pass (summed over its calls in all
/// blocks); `profile::workloads::transformer::ops` defines the work, docs/profiler.md
/// how each device measures the time.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct OpTime {
    /// Operator kind, in pass order: `embedding`, `norm`, `qkv`, `rope` (Llama family),
    /// `kv_append` (decoders), `attention`, `o_proj`, `residual`, `mlp_up`, `mlp_act`,
    /// `mlp_down`, `lm_head` (decoders).
    pub name: String,
    /// Milliseconds of one pass spent in this operator: its median over the row's
    /// samples (CPU: lapped inside them; GPU: a per-step timed run after each).
    pub ms: f64,
    /// FLOPs of this operator in one pass (the ops' FLOPs sum to the row's).
    pub flops: f64,
    /// Bytes this operator moves in one pass as a kernel of its own: weights, the
    /// activations it reads and writes, KV cache.
    pub bytes: f64,
    /// Percent of its roofline bound, min(FMA peak, bandwidth × FLOPs/byte), that the
    /// operator reached; absent where the device's peaks were not measured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pct_of_roofline: Option<f64>,
    /// The GEMM variant a projection ran on (`reg8x8`; several joined by `/` where its
    /// steps differ in shape, e.g. GQA's Q and K/V); absent for the other operators and
    /// where the pass does not tune its projections (CPU, GPU decoders).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub variant: Option<String>,
}

impl ResultRow {
    /// A supported, not yet verified row for `shape` = (m, n, k).
    pub fn new(
        device: &str,
        workload: Workload,
        precision: Precision,
        variant: &str,
        (m, n, k): (usize, usize, usize),
    ) -> Self {
        ResultRow {
            device: device.to_string(),
            workload,
            precision,
            variant: variant.to_string(),
            chosen: false,
            m,
            n,
            k,
            batch: None,
            supported: true,
            why_unsupported: None,
            correct: false,
            rel_error: None,
            timing: None,
            gflops: None,
            gbytes_per_s: None,
            pct_of_peak: None,
            autotune: None,
            flops_per_byte: None,
            items_per_s: None,
            error: None,
            seq_len: None,
            context_len: None,
            flops_per_item: None,
            bytes_per_item: None,
            weights_bytes: None,
            kv_bytes_per_token: None,
            top1_agreement: None,
            weights: None,
            ops: Vec::new(),
        }
    }

    /// Marks the row unsupported, with the reason in words.
    pub fn unsupported(mut self, why: impl Into<String>) -> Self {
        self.supported = false;
        self.why_unsupported = Some(why.into());
        self
    }

    /// Stores the timing and derives GFLOP/s and GB/s for a GEMM of this row's shape.
    pub fn set_timing(&mut self, timing: Timing) {
        let precision = self.precision;
        let (m, n, k) = (self.m as f64, self.n as f64, self.k as f64);
        let flops = 2.0 * m * n * k;
        let bytes = (m * k + k * n + m * n) * precision.bytes_per_element() as f64;
        self.set_timing_with(timing, flops, bytes);
    }

    /// Stores the timing and derives rates from the work done per run.
    pub fn set_timing_with(&mut self, timing: Timing, flops: f64, bytes: f64) {
        if bytes > 0.0 {
            self.flops_per_byte = Some(flops / bytes);
        }
        let s = timing.median_ms / 1e3;
        if s > 0.0 {
            self.gflops = Some(flops / s / 1e9);
            self.gbytes_per_s = Some(bytes / s / 1e9);
        }
        self.timing = Some(timing);
    }
}

/// Cold start of one GPU device, broken down (all milliseconds).
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct ColdStart {
    /// Adapter name.
    pub device: String,
    /// Creating the wgpu instance.
    pub instance: f64,
    /// Enumerating and picking the adapter.
    pub adapter: f64,
    /// Requesting the logical device.
    pub device_create: f64,
    /// Creating the shader module (WGSL parse + validation).
    pub shader_module: f64,
    /// Creating the compute pipeline.
    pub pipeline: f64,
    /// First dispatch, submit to completion (includes any driver compile).
    pub first_dispatch: f64,
    /// Uploading the weights.
    pub weight_upload: f64,
    /// Reading the first result back to the host.
    pub first_result: f64,
    /// warm, cold or unknown (inferred from first vs steady dispatch, or the Mesa env).
    pub shader_cache: String,
    /// Weight upload rate, GB/s (10^9 bytes per second): the bytes of `weight_upload`
    /// (the first MLP's weights, else 16 MiB) over its time, a host → device figure.
    #[serde(default)]
    pub weight_upload_gbytes_per_s: Option<f64>,
}

/// Roofline peaks of one device at one precision.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Peak {
    /// Adapter name or "cpu".
    pub device: String,
    /// Precision of the FMA chains.
    #[serde(with = "crate::model::types::precision_name")]
    pub precision: Precision,
    /// Best measured FMA throughput (scalar or vec4 chains).
    pub fma_gflops: f64,
    /// Measured memory bandwidth (read + write).
    pub bandwidth_gbytes_per_s: Option<f64>,
    /// Scalar-chain throughput.
    #[serde(default)]
    pub scalar_gflops: Option<f64>,
    /// vec4-chain throughput.
    #[serde(default)]
    pub vec4_gflops: Option<f64>,
    /// CPU: the instruction set of `fma_gflops` (`avx512`, `avx2` or `scalar`), the
    /// highest of those measured; absent on GPUs and in older reports.
    #[serde(default)]
    pub isa: Option<String>,
    /// CPU: each instruction set's measured FMA throughput, GFLOP/s.
    #[serde(default)]
    pub isa_gflops: Vec<IsaPeak>,
}

/// One instruction set's measured FMA throughput on a CPU.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct IsaPeak {
    /// `avx512`, `avx2` or `scalar`.
    pub isa: String,
    /// Best measured throughput of its FMA chains on all cores.
    pub gflops: f64,
}

/// One NVML sample.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TelemetrySample {
    /// Seconds since sampling started.
    pub t_s: f64,
    /// Board power draw.
    pub power_w: Option<f64>,
    /// Total energy counter since driver load.
    pub energy_mj: Option<u64>,
    /// GPU utilisation percent.
    pub util_pct: Option<u32>,
    /// Used device memory.
    pub memory_used_mib: Option<u64>,
    /// SM clock.
    pub sm_clock_mhz: Option<u32>,
    /// Temperature.
    pub temperature_c: Option<u32>,
    /// Active throttle reasons, as text.
    pub throttle_reasons: Option<String>,
}

/// NVML telemetry for a run.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Telemetry {
    /// NVML could be loaded and queried.
    pub available: bool,
    /// The loader's own message when not available.
    pub why_unavailable: Option<String>,
    /// Samples taken while kernels ran.
    pub samples: Vec<TelemetrySample>,
    /// Energy per inference item, when measurable.
    pub energy_j_per_item: Option<f64>,
}

/// File format of a report, chosen by extension.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ReportFormat {
    /// `.json`
    Json,
    /// `.ron`
    Ron,
    /// `.csv` (results table only)
    Csv,
}

impl ReportFormat {
    /// Picks the format from `path`'s extension.
    pub fn from_path(path: &Path) -> Result<Self, ProfileError> {
        match path
            .extension()
            .and_then(|e| e.to_str())
            .map(str::to_ascii_lowercase)
        {
            Some(e) if e == "json" => Ok(ReportFormat::Json),
            Some(e) if e == "ron" => Ok(ReportFormat::Ron),
            Some(e) if e == "csv" => Ok(ReportFormat::Csv),
            _ => Err(ProfileError::Invalid(format!(
                "{}: a report file must end in .json, .ron or .csv",
                path.display()
            ))),
        }
    }
}

impl ProfileReport {
    /// Serialises to pretty JSON.
    pub fn to_json(&self) -> Result<String, ProfileError> {
        serde_json::to_string_pretty(self).map_err(|e| ProfileError::Invalid(e.to_string()))
    }

    /// Serialises to pretty RON.
    pub fn to_ron(&self) -> Result<String, ProfileError> {
        ron::ser::to_string_pretty(self, ron::ser::PrettyConfig::default())
            .map_err(|e| ProfileError::Invalid(e.to_string()))
    }

    /// The results as CSV, one row per result, header first.
    pub fn to_csv(&self) -> String {
        let mut out = String::from(
            "device,workload,precision,variant,chosen,m,n,k,batch,supported,correct,rel_error,\
             method,median_ms,p5_ms,p95_ms,p99_ms,min_ms,max_ms,cv,stable,samples,gflops,\
             gbytes_per_s,pct_of_peak,why_unsupported,seq_len,context_len,flops_per_item,\
             bytes_per_item,weights_bytes,kv_bytes_per_token\n",
        );
        let opt = |v: Option<f64>| v.map(|x| format!("{x:.6}")).unwrap_or_default();
        let whole = |v: Option<f64>| v.map(|x| format!("{x:.0}")).unwrap_or_default();
        for r in &self.results {
            let t = r.timing.as_ref();
            let cells = [
                csv_cell(&r.device),
                csv_cell(&r.workload.label()),
                r.precision.name().to_owned(),
                csv_cell(&r.variant),
                r.chosen.to_string(),
                r.m.to_string(),
                r.n.to_string(),
                r.k.to_string(),
                r.batch.map(|b| b.to_string()).unwrap_or_default(),
                r.supported.to_string(),
                r.correct.to_string(),
                r.rel_error.map(|e| format!("{e:.3e}")).unwrap_or_default(),
                t.map(|t| t.method.name().to_owned()).unwrap_or_default(),
                opt(t.map(|t| t.median_ms)),
                opt(t.map(|t| t.p5_ms)),
                opt(t.map(|t| t.p95_ms)),
                opt(t.map(|t| t.p99_ms)),
                opt(t.map(|t| t.min_ms)),
                opt(t.map(|t| t.max_ms)),
                opt(t.map(|t| t.cv)),
                t.map(|t| t.stable.to_string()).unwrap_or_default(),
                t.map(|t| t.samples.to_string()).unwrap_or_default(),
                opt(r.gflops),
                opt(r.gbytes_per_s),
                opt(r.pct_of_peak),
                csv_cell(r.why_unsupported.as_deref().unwrap_or("")),
                // Transformer rows' shape and work, appended so the columns before
                // them keep their places.
                r.seq_len.map(|v| v.to_string()).unwrap_or_default(),
                r.context_len.map(|v| v.to_string()).unwrap_or_default(),
                whole(r.flops_per_item),
                whole(r.bytes_per_item),
                whole(r.weights_bytes),
                whole(r.kv_bytes_per_token),
            ];
            out.push_str(&cells.join(","));
            out.push('\n');
        }
        out
    }

    /// Writes the report to `path` in the format its extension names.
    pub fn write(&self, path: &Path) -> Result<(), ProfileError> {
        let text = match ReportFormat::from_path(path)? {
            ReportFormat::Json => self.to_json()?,
            ReportFormat::Ron => self.to_ron()?,
            ReportFormat::Csv => self.to_csv(),
        };
        crate::files::write_atomic(path, text.as_bytes()).map_err(|e| ProfileError::io(path, e))
    }

    /// Reads a JSON or RON report (CSV holds only the results and cannot be read back).
    pub fn read(path: &Path) -> Result<Self, ProfileError> {
        let text = std::fs::read_to_string(path).map_err(|e| ProfileError::io(path, e))?;
        match ReportFormat::from_path(path)? {
            ReportFormat::Json => {
                serde_json::from_str(&text).map_err(|e| ProfileError::io(path, e))
            }
            ReportFormat::Ron => ron::from_str(&text).map_err(|e| ProfileError::io(path, e)),
            ReportFormat::Csv => Err(ProfileError::Invalid(
                "a CSV report holds only the results table and cannot be read back".into(),
            )),
        }
    }
}

fn csv_cell(s: &str) -> String {
    if s.contains([',', '"', '\n']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s.to_string()
    }
}
