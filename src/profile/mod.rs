//! profile layer: measures inference kernels on every wgpu adapter and on the CPU.
//!
//! The entry point is [`run_profile`]; it returns a [`report::ProfileReport`] in the
//! shape documented in ARCHITECTURE.md. GPU work takes `&Device, &Queue` so tests can inject
//! a device; every failure is a typed [`ProfileError`].

#![warn(missing_docs)]

pub mod autotune;
pub mod cpu;
pub mod fingerprint;
pub mod gpu;
pub mod limits;
pub mod peaks;
pub mod progress;
pub mod projection_input;
pub mod reference;
pub mod report;
pub mod runner;
pub mod stats;
pub mod telemetry;
pub mod workloads;

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::time::Duration;

pub use crate::model::Precision;
pub use report::ProfileReport;
pub use runner::run_profile;

/// Everything that can go wrong while profiling, each with a one-line message.
#[derive(Debug, thiserror::Error)]
pub enum ProfileError {
    /// No wgpu adapter matched the request.
    #[error("no GPU adapter found{0}")]
    NoAdapter(String),
    /// The adapter lacks a feature the requested work needs.
    #[error("adapter `{adapter}` lacks feature {feature}")]
    MissingFeature {
        /// Adapter name.
        adapter: String,
        /// Name of the missing wgpu feature.
        feature: String,
    },
    /// Requesting a logical device from the adapter failed.
    #[error("could not open a device on `{adapter}`: {reason}")]
    DeviceRequest {
        /// Adapter name.
        adapter: String,
        /// The driver's message.
        reason: String,
    },
    /// A WGSL shader failed to compile or a pipeline failed validation.
    #[error("shader `{shader}` failed to compile: {reason}")]
    ShaderCompile {
        /// Shader label.
        shader: String,
        /// First line of the validation message.
        reason: String,
    },
    /// The device was lost (driver reset, GPU removed).
    #[error("device lost: {0}")]
    DeviceLost(String),
    /// The device ran out of memory.
    #[error("out of GPU memory while {0}")]
    OutOfMemory(String),
    /// A dispatch did not finish within the timeout.
    #[error("dispatch `{what}` did not finish within {timeout_s:.1} s (hung or far too slow)")]
    Hung {
        /// What was running.
        what: String,
        /// The timeout in seconds.
        timeout_s: f64,
    },
    /// Any other wgpu validation or internal error.
    #[error("wgpu error while {context}: {reason}")]
    Gpu {
        /// What was being done.
        context: String,
        /// The first line of wgpu's message.
        reason: String,
    },
    /// Reading or writing a report or cache file failed.
    #[error("{path}: {reason}")]
    Io {
        /// The file concerned.
        path: String,
        /// What went wrong.
        reason: String,
    },
    /// A weights file could not be used: not safetensors, truncated, or a tensor
    /// missing, of the wrong shape or of an unreadable dtype.
    #[error("{path}: {reason}")]
    Checkpoint {
        /// The file.
        path: String,
        /// What is wrong with it, naming the tensor where one is at fault.
        reason: String,
    },
    /// A request made no sense (unknown model, precision, extension, empty sizes).
    #[error("invalid request: {0}")]
    Invalid(String),
}

impl ProfileError {
    /// An I/O error on `path`.
    pub fn io(path: &std::path::Path, err: impl std::fmt::Display) -> Self {
        ProfileError::Io {
            path: path.display().to_string(),
            reason: first_line(&err.to_string()),
        }
    }
}

/// First non-empty line of a (possibly multi-line) driver or validation message.
pub fn first_line(s: &str) -> String {
    s.lines()
        .map(str::trim)
        .find(|l| !l.is_empty())
        .unwrap_or("(no message)")
        .to_string()
}

/// Which device(s) a profile run measures.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum DeviceChoice {
    /// Every wgpu adapter plus the native CPU path.
    All,
    /// Adapters whose name contains this text (case-insensitive).
    Adapter(String),
    /// Only the native CPU path.
    Cpu,
}

/// Default tokens per sequence of transformer encoder and prefill rows.
pub const DEFAULT_SEQ_LEN: usize = 128;
/// Default cached tokens of transformer decode rows.
pub const DEFAULT_CONTEXT_LEN: usize = 512;

/// What one profile run measures, and how long it may take.
#[derive(Clone, Debug)]
pub struct ProfileOptions {
    /// Devices to measure.
    pub device: DeviceChoice,
    /// Model names: MLP presets (see [`workloads::mlp::MlpPreset`]), shipped transformer
    /// configs (see [`workloads::transformer::config::SHIPPED`]) or `config.json` paths;
    /// empty = GEMM only.
    pub models: Vec<String>,
    /// Precisions to measure.
    pub precisions: Vec<Precision>,
    /// Batch sizes for the MLP sweep.
    pub batches: Vec<usize>,
    /// Square GEMM sizes that are autotuned.
    pub gemm_sizes: Vec<usize>,
    /// Tokens per sequence of transformer encoder and prefill rows.
    pub seq_lens: Vec<usize>,
    /// Cached tokens of transformer decode rows.
    pub context_lens: Vec<usize>,
    /// Time budget for one timed measurement (one row).
    pub budget_per_row: Duration,
    /// Target coefficient of variation; sampling stops early once reached.
    pub target_cv: f64,
    /// Measure roofline peaks (FMA throughput, bandwidth).
    pub peaks: bool,
    /// Timeout for a single dispatch before it is called hung.
    pub dispatch_timeout: Duration,
    /// Set to true (e.g. from a Ctrl-C handler) to stop early and keep what was measured.
    pub cancel: Arc<AtomicBool>,
    /// Progress and live telemetry, for a bar drawn by the caller while the run goes on.
    pub meter: Arc<progress::ProgressMeter>,
    /// A safetensors checkpoint holding the weights of the one transformer in `models`;
    /// `None` = seeded random weights.
    pub weights: Option<PathBuf>,
}

impl ProfileOptions {
    /// A run that finishes in well under a minute on lavapipe.
    pub fn quick() -> Self {
        ProfileOptions {
            device: DeviceChoice::All,
            models: vec!["small".to_string()],
            precisions: Precision::ALL.to_vec(),
            batches: vec![1, 8],
            gemm_sizes: vec![128],
            seq_lens: vec![DEFAULT_SEQ_LEN],
            context_lens: vec![DEFAULT_CONTEXT_LEN],
            budget_per_row: Duration::from_millis(250),
            target_cv: 0.02,
            peaks: true,
            dispatch_timeout: Duration::from_secs(30),
            cancel: Arc::new(AtomicBool::new(false)),
            meter: Arc::default(),
            weights: None,
        }
    }

    /// The full default run: bert-base sweep over batches 1..256.
    pub fn full() -> Self {
        ProfileOptions {
            models: vec!["bert-base".to_string()],
            batches: (0..9).map(|i| 1usize << i).collect(),
            gemm_sizes: vec![256],
            budget_per_row: Duration::from_secs(2),
            dispatch_timeout: Duration::from_secs(120),
            ..ProfileOptions::quick()
        }
    }

    /// True once cancellation was requested.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Work units of one device: cold start and peaks (GPU), then per precision one per
    /// GEMM size and one per MLP batch — the unit [`progress::ProgressMeter`] counts in.
    pub fn units_per_device(&self, gpu: bool) -> u64 {
        let fixed = if gpu { 1 + u64::from(self.peaks) } else { 1 };
        fixed + self.precisions.len() as u64 * self.units_per_precision()
    }

    /// Work units of one precision on one device: one per GEMM size, per MLP batch and
    /// per transformer row (pass × length × batch). Names that do not resolve count
    /// nothing: the run refuses them before it starts.
    pub fn units_per_precision(&self) -> u64 {
        let models = workloads::Models::resolve(&self.models).unwrap_or_default();
        let plan = self.sweep_plan();
        let transformer_rows: u64 = models.transformers.iter().map(|c| plan.rows(c)).sum();
        (self.gemm_sizes.len() + models.mlps.len() * self.batches.len()) as u64 + transformer_rows
    }

    /// The lengths and batches every transformer is swept over.
    pub fn sweep_plan(&self) -> cpu::transformer_rows::SweepPlan<'_> {
        cpu::transformer_rows::SweepPlan {
            seq_lens: &self.seq_lens,
            context_lens: &self.context_lens,
            batches: &self.batches,
            weights: self.weights.as_deref(),
        }
    }
}
