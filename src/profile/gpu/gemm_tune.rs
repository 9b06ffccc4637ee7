//! profile layer: the GEMM variant of each projection of a forward pass, tuned per
//! shape — every candidate verified against the f64 reference, the verified ones timed
//! on the pass's own bound operands (GPU timestamps, else the wall clock), the fastest
//! kept under a typed key (adapter, driver, precision, shape, bias) for the session and
//! written to the autotune cache on disk.

use std::collections::HashMap;
use std::sync::{Mutex, OnceLock, PoisonError};

use crate::profile::autotune::{CacheEntry, TuneCache};
use crate::profile::cpu::transformer_rows::{VERIFY_BATCH, VERIFY_LEN, tolerance};
use crate::profile::gpu::buffers::{Operands, verify_gemm};
use crate::profile::gpu::kernels::{GemmKernel, Variant};
use crate::profile::gpu::timer::Bench;
use crate::profile::reference::Epilogue;
use crate::profile::{Precision, ProfileError};

/// Timed runs of each candidate after its warm-up run; their median is its time.
pub const TUNE_SAMPLES: usize = 3;
/// A candidate whose warm-up run takes this many times the best median so far is
/// recorded at that one run and not sampled further (it cannot win; on lavapipe a
/// slow variant's run at a bert-base shape takes seconds).
pub const PRUNE_FACTOR: f64 = 2.0;
/// Rows of the GEMM check of a candidate (at most the projection's own): the encoder
/// check's tokens, so a tile taller than the check exercises its ragged edge.
pub const CHECK_ROWS: usize = VERIFY_BATCH * VERIFY_LEN;
/// Key prefix of projection winners in the on-disk autotune cache (the standalone GEMM
/// winners there have no epilogue and may be the texture variant).
const DISK_PREFIX: &str = "projection";

/// What a projection's choice is tuned for.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ProjectionKey {
    /// Adapter label (`"<name> [<backend>]"`).
    pub adapter: String,
    /// Driver name and version.
    pub driver: String,
    /// Storage precision.
    pub precision: Precision,
    /// (M, N, K): M = batch · seq_len rows, N output and K input columns.
    pub shape: (usize, usize, usize),
    /// The bias epilogue is fused.
    pub bias: bool,
}

impl ProjectionKey {
    /// The key of `shape` at `precision` on `bench`'s device.
    pub fn new(
        bench: Bench<'_>,
        precision: Precision,
        shape: (usize, usize, usize),
        bias: bool,
    ) -> Self {
        ProjectionKey {
            adapter: bench.ctx.name.clone(),
            driver: bench.ctx.driver.clone(),
            precision,
            shape,
            bias,
        }
    }

    /// Its key in the on-disk autotune cache.
    pub fn disk_key(&self) -> String {
        let (m, n, k) = self.shape;
        let epi = if self.bias { "bias" } else { "none" };
        format!(
            "{DISK_PREFIX}|{}|{}|{}|{m}x{n}x{k}|{epi}",
            self.adapter,
            self.driver,
            self.precision.name()
        )
    }
}

/// One candidate as the tuning saw it.
#[derive(Clone, Debug, PartialEq)]
pub struct CandidateTiming {
    /// The variant.
    pub variant: Variant,
    /// Relative Frobenius error of its GEMM check.
    pub rel_error: f64,
    /// The check passed (only then is it timed).
    pub verified: bool,
    /// Its median ms over `runs` runs at the projection's shape (`None` when not timed).
    pub ms: Option<f64>,
    /// Timed runs behind `ms` (1 when pruned; 0 for a winner read from disk).
    pub runs: usize,
}

/// Where a choice came from.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ChoiceSource {
    /// Timed in this session.
    Tuned,
    /// Read from the on-disk cache (its shader unchanged), verified again here.
    Disk,
}

/// The variant one projection shape runs on, with what the tuning recorded.
#[derive(Clone, Debug, PartialEq)]
pub struct ProjectionChoice {
    /// The fastest verified variant.
    pub variant: Variant,
    /// Every candidate, in candidate order (from disk: the cached winner alone).
    pub candidates: Vec<CandidateTiming>,
    /// Tuned now or read from disk.
    pub source: ChoiceSource,
    /// FNV-1a hash of the winner's WGSL (the disk cache drops a winner whose shader
    /// changed).
    pub shader_hash: u64,
}

impl ProjectionChoice {
    /// The winner's recorded ms.
    pub fn ms(&self) -> Option<f64> {
        self.candidates
            .iter()
            .find(|c| c.variant == self.variant)
            .and_then(|c| c.ms)
    }

    /// The first candidate that verified (what the pass ran on before tuning).
    pub fn first_verified(&self) -> Option<&CandidateTiming> {
        self.candidates.iter().find(|c| c.verified)
    }
}

/// A GEMM check: adapter, variant, precision, check shape, bias.
type CheckId = (String, Variant, Precision, (usize, usize, usize), bool);

#[derive(Default)]
struct State {
    choices: HashMap<ProjectionKey, ProjectionChoice>,
    /// GEMM check errors by (adapter, variant, precision, check shape, bias).
    checks: HashMap<CheckId, f64>,
    /// Projection winners read from disk, by [`ProjectionKey::disk_key`].
    disk: HashMap<String, CacheEntry>,
    tunings: usize,
}

/// Projection choices for a session: each key tuned once, then reused.
#[derive(Default)]
pub struct ProjectionTuner {
    state: Mutex<State>,
}

/// The process's tuner (the profile runs of one `costscope` or app session share it).
pub fn session() -> &'static ProjectionTuner {
    static SESSION: OnceLock<ProjectionTuner> = OnceLock::new();
    SESSION.get_or_init(ProjectionTuner::default)
}

impl ProjectionTuner {
    /// An empty tuner (tests; a profile run uses [`session`]).
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        // A panic elsewhere never leaves a half-written entry: each is inserted whole.
        self.state.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// How many keys were tuned by timing (reuses and disk hits do not count).
    pub fn tunings(&self) -> usize {
        self.lock().tunings
    }

    /// The choice held for `key`, if any.
    pub fn get(&self, key: &ProjectionKey) -> Option<ProjectionChoice> {
        self.lock().choices.get(key).cloned()
    }

    /// Takes the projection winners of the on-disk `cache` as hints (each verified
    /// again before use).
    pub fn seed(&self, cache: &TuneCache) {
        let mut s = self.lock();
        for (k, e) in &cache.entries {
            if k.starts_with(DISK_PREFIX) {
                s.disk.entry(k.clone()).or_insert_with(|| e.clone());
            }
        }
    }

    /// Writes every choice tuned in this session into `cache` (saved by the caller).
    pub fn persist(&self, cache: &mut TuneCache) {
        let s = self.lock();
        for (key, c) in &s.choices {
            if let (ChoiceSource::Tuned, Some(ms)) = (c.source, c.ms()) {
                cache.entries.insert(
                    key.disk_key(),
                    CacheEntry {
                        variant: c.variant.name(),
                        shader_hash: format!("{:016x}", c.shader_hash),
                        median_ms: ms,
                        date: crate::profile::report::utc_now_rfc3339(),
                    },
                );
            }
        }
    }

    /// The variant for `key` among `kernels` (candidate order): the session's choice,
    /// else a verified disk winner, else every kernel checked at [`CHECK_ROWS`] rows and
    /// the verified ones timed on `ops` (bound at the key's shape).
    pub fn choose(
        &self,
        bench: Bench<'_>,
        kernels: &[GemmKernel],
        key: &ProjectionKey,
        ops: &Operands,
    ) -> Result<ProjectionChoice, ProfileError> {
        if let Some(c) = self.get(key) {
            return Ok(c);
        }
        let hint = self.lock().disk.get(&key.disk_key()).cloned();
        if let Some(c) = self.disk_choice(bench, kernels, key, hint)? {
            self.lock().choices.insert(key.clone(), c.clone());
            return Ok(c);
        }
        let c = self.tune(bench, kernels, key, ops)?;
        let mut s = self.lock();
        s.tunings += 1;
        s.choices.insert(key.clone(), c.clone());
        Ok(c)
    }

    /// The relative error of `kernel`'s GEMM check for `key` (memoised per check shape).
    fn check(
        &self,
        bench: Bench<'_>,
        kernel: &GemmKernel,
        key: &ProjectionKey,
    ) -> Result<f64, ProfileError> {
        let (m, n, k) = key.shape;
        let shape = (m.min(CHECK_ROWS), n, k);
        let id = (
            key.adapter.clone(),
            kernel.variant,
            key.precision,
            shape,
            key.bias,
        );
        if let Some(e) = self.lock().checks.get(&id) {
            return Ok(*e);
        }
        let epi = if key.bias {
            Epilogue::Bias
        } else {
            Epilogue::None
        };
        let err = verify_gemm(
            bench.ctx,
            bench.layout,
            kernel,
            shape,
            epi,
            bench.timer.timeout,
        )?;
        self.lock().checks.insert(id, err);
        Ok(err)
    }

    fn disk_choice(
        &self,
        bench: Bench<'_>,
        kernels: &[GemmKernel],
        key: &ProjectionKey,
        hint: Option<CacheEntry>,
    ) -> Result<Option<ProjectionChoice>, ProfileError> {
        let Some(e) = hint else { return Ok(None) };
        let Some(kernel) = kernels.iter().find(|k| {
            k.variant.name() == e.variant && format!("{:016x}", k.shader_hash) == e.shader_hash
        }) else {
            return Ok(None);
        };
        let err = self.check(bench, kernel, key)?;
        if err > tolerance(key.precision) {
            return Ok(None);
        }
        Ok(Some(ProjectionChoice {
            variant: kernel.variant,
            candidates: vec![CandidateTiming {
                variant: kernel.variant,
                rel_error: err,
                verified: true,
                ms: Some(e.median_ms),
                runs: 0,
            }],
            source: ChoiceSource::Disk,
            shader_hash: kernel.shader_hash,
        }))
    }

    fn tune(
        &self,
        bench: Bench<'_>,
        kernels: &[GemmKernel],
        key: &ProjectionKey,
        ops: &Operands,
    ) -> Result<ProjectionChoice, ProfileError> {
        let mut candidates = Vec::with_capacity(kernels.len());
        let mut best: Option<(&GemmKernel, f64)> = None;
        for kernel in kernels {
            let err = self.check(bench, kernel, key)?;
            let verified = err <= tolerance(key.precision);
            let (ms, runs) = if verified {
                let (ms, runs) = time_candidate(bench, kernel, ops, best.map(|b| b.1))?;
                if best.is_none_or(|b| ms < b.1) {
                    best = Some((kernel, ms));
                }
                (Some(ms), runs)
            } else {
                (None, 0)
            };
            candidates.push(CandidateTiming {
                variant: kernel.variant,
                rel_error: err,
                verified,
                ms,
                runs,
            });
        }
        let (m, n, k) = key.shape;
        let (winner, _) = best.ok_or_else(|| {
            ProfileError::Invalid(format!(
                "no GEMM variant verified for a {m}x{n}x{k} {} projection on {}",
                key.precision.name(),
                key.adapter
            ))
        })?;
        Ok(ProjectionChoice {
            variant: winner.variant,
            candidates,
            source: ChoiceSource::Tuned,
            shader_hash: winner.shader_hash,
        })
    }
}

/// One warm-up run of `kernel` on `ops`, then the median of [`TUNE_SAMPLES`] runs — or
/// the warm-up alone when it already takes [`PRUNE_FACTOR`] × `best_ms`.
fn time_candidate(
    bench: Bench<'_>,
    kernel: &GemmKernel,
    ops: &Operands,
    best_ms: Option<f64>,
) -> Result<(f64, usize), ProfileError> {
    let run = || -> Result<f64, ProfileError> {
        let t = bench
            .timer
            .run(bench.ctx, &[(kernel, ops)], "tuning a projection")?;
        Ok(t.gpu_ms.unwrap_or(t.wall_ms))
    };
    let warm = run()?;
    if best_ms.is_some_and(|b| warm > PRUNE_FACTOR * b) {
        return Ok((warm, 1));
    }
    let mut xs = (0..TUNE_SAMPLES)
        .map(|_| run())
        .collect::<Result<Vec<_>, _>>()?;
    xs.sort_by(f64::total_cmp);
    Ok((crate::profile::stats::percentile(&xs, 50.0), TUNE_SAMPLES))
}

#[cfg(test)]
#[path = "gemm_tune_tests.rs"]
mod tests;
