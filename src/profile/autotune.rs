//! profile layer: autotuning — the fastest correct GEMM variant per adapter × shape ×
//! precision, cached on disk keyed by adapter, driver and shader hash.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::gpu::GpuContext;
use super::gpu::buffers::{Operands, Timer, verify_gemm};
use super::gpu::kernels::{GemmKernel, GemmLayout, Variant};
use super::reference::{Epilogue, Rng};
use super::report::ResultRow;
use super::stats::{SamplingBudget, Timing, measure};
use super::workloads::Workload;
use super::{Precision, ProfileError};

/// File name of the cache inside the cache directory.
pub const CACHE_FILE: &str = "autotune.json";

/// Directory of the autotune cache: `$COSTSCOPE_CACHE_DIR`, else
/// `$XDG_CACHE_HOME/costscope`, else `$HOME/.cache/costscope`.
pub fn cache_dir() -> Option<PathBuf> {
    let env = |k| {
        std::env::var_os(k)
            .filter(|v| !v.is_empty())
            .map(PathBuf::from)
    };
    env("COSTSCOPE_CACHE_DIR")
        .or_else(|| env("XDG_CACHE_HOME").map(|d| d.join("costscope")))
        .or_else(|| env("HOME").map(|d| d.join(".cache").join("costscope")))
}

/// One cached winner.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct CacheEntry {
    /// Winning variant name.
    pub variant: String,
    /// FNV-1a hash of the winner's WGSL when it won (hex).
    pub shader_hash: String,
    /// Its median time then.
    pub median_ms: f64,
    /// When it was tuned.
    pub date: String,
}

/// The on-disk autotune cache.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct TuneCache {
    /// Entries by [`key`].
    pub entries: BTreeMap<String, CacheEntry>,
}

/// Cache key for an adapter, driver, precision and shape.
pub fn key(ctx: &GpuContext, precision: Precision, (m, n, k): (usize, usize, usize)) -> String {
    format!(
        "{}|{}|{}|{m}x{n}x{k}",
        ctx.name,
        ctx.driver,
        precision.name()
    )
}

impl TuneCache {
    /// Loads the cache from `dir`; a missing or unreadable file is an empty cache.
    pub fn load(dir: &Path) -> Self {
        std::fs::read_to_string(dir.join(CACHE_FILE))
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok())
            .unwrap_or_default()
    }

    /// Writes the cache to `dir` (created if missing), atomically: a profile run killed
    /// mid-write leaves the previous cache, never half a file.
    pub fn save(&self, dir: &Path) -> Result<(), ProfileError> {
        std::fs::create_dir_all(dir).map_err(|e| ProfileError::io(dir, e))?;
        let path = dir.join(CACHE_FILE);
        let text = serde_json::to_string_pretty(self).map_err(|e| ProfileError::io(&path, e))?;
        crate::files::write_atomic(&path, text.as_bytes()).map_err(|e| ProfileError::io(&path, e))
    }

    /// The cached winner for `key` if its shader is unchanged.
    pub fn winner(&self, key: &str, precision: Precision) -> Option<Variant> {
        let e = self.entries.get(key)?;
        let v = Variant::parse(&e.variant)?;
        let hash = super::gpu::kernels::fnv1a(&super::gpu::kernels::source(v, precision));
        (format!("{hash:016x}") == e.shader_hash).then_some(v)
    }
}

/// Times one bound GEMM: timestamps when available, else wall clock.
pub fn time_gemm(
    ctx: &GpuContext,
    timer: &Timer,
    budget: &SamplingBudget,
    work: &[(&GemmKernel, &Operands)],
) -> Result<Timing, ProfileError> {
    let method = timer.method();
    measure(method, budget, || {
        let t = timer.run(ctx, work, "timing a kernel")?;
        Ok(t.gpu_ms.unwrap_or(t.wall_ms))
    })
}

/// Result of tuning one shape × precision on one device.
pub struct Tuned {
    /// One row per variant tried (chosen marks the winner).
    pub rows: Vec<ResultRow>,
    /// The winning kernel, if any variant was correct.
    pub winner: Option<GemmKernel>,
}

/// Verifies every candidate variant (only the cached winner on a cache hit), times the
/// correct ones, marks and caches the fastest. `cache` is updated in memory.
pub fn tune_gemm(
    ctx: &GpuContext,
    layout: &GemmLayout,
    timer: &Timer,
    budget: &SamplingBudget,
    precision: Precision,
    shape: (usize, usize, usize),
    cache: &mut TuneCache,
) -> Result<Tuned, ProfileError> {
    let key = key(ctx, precision, shape);
    let cached = cache.winner(&key, precision);
    let (candidates, how) = match cached {
        Some(v) => (vec![v], "cached"),
        None => (Variant::for_precision(precision), "tuned"),
    };
    let (m, n, k) = shape;
    let mut rng = Rng::from_time();
    let a = rng.vec(m * k, 1.0);
    let b = rng.vec(k * n, 1.0);
    let ops = Operands::upload(
        ctx,
        layout,
        precision,
        shape,
        Epilogue::None,
        [&a, &b, &[0.0; 1]],
    )?;
    let mut rows = Vec::new();
    let mut kernels = Vec::new();
    for variant in candidates {
        let mut row = ResultRow::new(&ctx.name, Workload::Gemm, precision, &variant.name(), shape);
        row.autotune = Some(how.into());
        let kernel = match GemmKernel::new(ctx, layout, variant, precision) {
            Ok(kern) => kern,
            Err(e @ ProfileError::ShaderCompile { .. }) => {
                row.error = Some(e.to_string());
                rows.push(row);
                continue;
            }
            Err(e) => return Err(e),
        };
        let err = verify_gemm(ctx, layout, &kernel, shape, Epilogue::None, timer.timeout)?;
        row.rel_error = Some(err);
        row.correct = err <= precision.tolerance();
        if row.correct {
            let t = time_gemm(ctx, timer, budget, &[(&kernel, &ops)])?;
            row.set_timing(t);
            kernels.push((rows.len(), kernel));
        }
        rows.push(row);
    }
    let best = kernels
        .into_iter()
        .min_by(|(i, _), (j, _)| median(&rows[*i]).total_cmp(&median(&rows[*j])));
    let winner = best.map(|(i, kern)| {
        rows[i].chosen = true;
        cache.entries.insert(
            key,
            CacheEntry {
                variant: kern.variant.name(),
                shader_hash: format!("{:016x}", kern.shader_hash),
                median_ms: median(&rows[i]),
                date: super::report::utc_now_rfc3339(),
            },
        );
        kern
    });
    Ok(Tuned { rows, winner })
}

fn median(row: &ResultRow) -> f64 {
    row.timing.as_ref().map_or(f64::INFINITY, |t| t.median_ms)
}
