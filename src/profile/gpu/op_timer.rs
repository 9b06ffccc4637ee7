//! profile layer: where a recorded GPU pass's time goes — every step of the pass in its
//! own compute pass with timestamps at its beginning and end, all in one submission,
//! the spans summed by operator kind; on adapters without TIMESTAMP_QUERY, each kind's
//! steps alone in a submission of their own, timed by the wall clock.
//!
//! Any pass that can record its steps one at a time uses it: it hands over the operator
//! kind of each step and a closure that records step `i` into a compute pass.

use crate::profile::ProfileError;
use crate::profile::gpu::timer::{Bench, Timer};
use crate::profile::gpu::{self, GpuContext, ms};
use crate::profile::workloads::transformer::op_time::median_ms;
use crate::profile::workloads::transformer::ops::{OpKind, OpMs};

/// Fewest runs of the ops profile whose per-kind median is reported (after one warm-up
/// run): a median of three already drops a run in which the OS took a core away.
pub const OPS_MIN_SAMPLES: usize = 3;
/// Most runs of the ops profile; between the two, runs go on while the row's sampling
/// time lasts.
pub const OPS_MAX_SAMPLES: usize = 15;
/// Queries one set holds (wgpu's `QUERY_SET_MAX_QUERIES`): a pass of more steps spreads
/// its timestamps over several sets.
const QUERIES_PER_SET: usize = 4096;
/// Two timestamps a step.
const STEPS_PER_SET: usize = QUERIES_PER_SET / 2;
/// Bytes of one resolved timestamp.
const TIMESTAMP_BYTES: u64 = 8;

/// Records step `index` of a pass into the compute pass given.
pub type RecordStep<'a> = &'a dyn Fn(&mut wgpu::ComputePass<'_>, usize);

/// Timestamps around every step of one pass of a known number of steps.
pub struct StepTimer {
    sets: Vec<wgpu::QuerySet>,
    resolve: wgpu::Buffer,
    steps: usize,
    period_ns: f64,
}

impl StepTimer {
    /// Query sets for `steps` steps; `None` when the device has no TIMESTAMP_QUERY.
    pub fn new(ctx: &GpuContext, steps: usize) -> Result<Option<Self>, ProfileError> {
        if !ctx.has_timestamps || steps == 0 {
            return Ok(None);
        }
        let timer = gpu::scoped(&ctx.device, "creating the ops timestamps", || {
            let sets = (0..steps.div_ceil(STEPS_PER_SET))
                .map(|j| {
                    let count = 2 * (steps - j * STEPS_PER_SET).min(STEPS_PER_SET);
                    ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
                        label: Some("ops-timestamps"),
                        ty: wgpu::QueryType::Timestamp,
                        count: count as u32,
                    })
                })
                .collect();
            // Each set resolves at a multiple of QUERIES_PER_SET · 8 bytes, which keeps
            // the 256-byte alignment resolves need.
            let resolve = ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("ops-resolve"),
                size: (steps.div_ceil(STEPS_PER_SET) * QUERIES_PER_SET) as u64 * TIMESTAMP_BYTES,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            StepTimer {
                sets,
                resolve,
                steps,
                period_ns: f64::from(ctx.queue.get_timestamp_period()),
            }
        })?;
        Ok(Some(timer))
    }

    /// One run: every step in its own timestamped compute pass, one submission; the
    /// ms of each kind summed over its steps, and the wall clock of submit + poll.
    pub fn run(
        &self,
        ctx: &GpuContext,
        timer: &Timer,
        kinds: &[OpKind],
        record: RecordStep<'_>,
    ) -> Result<(OpMs, f64), ProfileError> {
        if kinds.len() != self.steps {
            return Err(ProfileError::Invalid(format!(
                "ops profile: {} steps for a timer of {}",
                kinds.len(),
                self.steps
            )));
        }
        let cmd = gpu::scoped(&ctx.device, "recording the ops profile", || {
            let mut enc = ctx.device.create_command_encoder(&Default::default());
            for (i, kind) in kinds.iter().enumerate() {
                let first = (2 * (i % STEPS_PER_SET)) as u32;
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some(kind.name()),
                    timestamp_writes: Some(wgpu::ComputePassTimestampWrites {
                        query_set: &self.sets[i / STEPS_PER_SET],
                        beginning_of_pass_write_index: Some(first),
                        end_of_pass_write_index: Some(first + 1),
                    }),
                });
                record(&mut pass, i);
            }
            for (j, set) in self.sets.iter().enumerate() {
                let count = 2 * (self.steps - j * STEPS_PER_SET).min(STEPS_PER_SET) as u32;
                let at = (j * QUERIES_PER_SET) as u64 * TIMESTAMP_BYTES;
                enc.resolve_query_set(set, 0..count, &self.resolve, at);
            }
            enc.finish()
        })?;
        ctx.check_lost()?;
        let t0 = std::time::Instant::now();
        let sub = ctx.queue.submit([cmd]);
        let waited = gpu::wait(&ctx.device, sub, timer.timeout, "the ops profile");
        ctx.check_lost()?;
        waited?;
        let wall_ms = ms(t0.elapsed());
        let size = self.resolve.size();
        let bytes = gpu::read_buffer(&ctx.device, &ctx.queue, &self.resolve, size, timer.timeout)?;
        let tick = |q: usize| {
            bytes
                .get(q * 8..q * 8 + 8)
                .and_then(|b| <[u8; 8]>::try_from(b).ok())
                .map_or(0, u64::from_le_bytes)
        };
        let mut out = [0.0; OpKind::COUNT];
        for (i, kind) in kinds.iter().enumerate() {
            let q = (i / STEPS_PER_SET) * QUERIES_PER_SET + 2 * (i % STEPS_PER_SET);
            let ticks = tick(q + 1).saturating_sub(tick(q));
            out[kind.index()] += ticks as f64 * self.period_ns / 1e6;
        }
        Ok((out, wall_ms))
    }
}

/// Without timestamps: per kind, the wall clock of a submission that runs only that
/// kind's steps (in pass order, on the buffers the last full pass left), so each kind's
/// ms includes one submit + poll.
pub fn wall_by_kind(
    ctx: &GpuContext,
    timer: &Timer,
    kinds: &[OpKind],
    record: RecordStep<'_>,
) -> Result<OpMs, ProfileError> {
    let mut out = [0.0; OpKind::COUNT];
    for kind in OpKind::ALL {
        if !kinds.contains(&kind) {
            continue;
        }
        let r = timer.run_pass(ctx, kind.name(), &|pass| {
            for (i, _) in kinds.iter().enumerate().filter(|(_, k)| **k == kind) {
                record(pass, i);
            }
        })?;
        out[kind.index()] = r.wall_ms;
    }
    Ok(out)
}

/// One sample of where a pass's time goes: timestamps around each step where the
/// device has them, else [`wall_by_kind`].
pub struct OpProfiler {
    kinds: Vec<OpKind>,
    steps: Option<StepTimer>,
}

impl OpProfiler {
    /// A profiler for a pass whose steps are of `kinds`, in recording order.
    pub fn new(ctx: &GpuContext, kinds: Vec<OpKind>) -> Result<Self, ProfileError> {
        let steps = StepTimer::new(ctx, kinds.len())?;
        Ok(OpProfiler { kinds, steps })
    }

    /// Per kind, the ms of one run of the pass's steps.
    pub fn sample(
        &self,
        ctx: &GpuContext,
        timer: &Timer,
        record: RecordStep<'_>,
    ) -> Result<OpMs, ProfileError> {
        match &self.steps {
            Some(s) => s.run(ctx, timer, &self.kinds, record).map(|(ms, _)| ms),
            None => wall_by_kind(ctx, timer, &self.kinds, record),
        }
    }
}

/// A standalone ops profile of a pass whose steps are of `kinds`: one warm-up run,
/// then the per-kind median of [`OPS_MIN_SAMPLES`] runs, or more (up to
/// [`OPS_MAX_SAMPLES`]) while the bench's sampling time lasts.
pub fn profile_ops(
    bench: Bench<'_>,
    kinds: &[OpKind],
    record: RecordStep<'_>,
) -> Result<OpMs, ProfileError> {
    let (ctx, timer) = (bench.ctx, bench.timer);
    let profiler = OpProfiler::new(ctx, kinds.to_vec())?;
    profiler.sample(ctx, timer, record)?;
    let start = std::time::Instant::now();
    let mut samples = Vec::new();
    while samples.len() < OPS_MIN_SAMPLES
        || (samples.len() < OPS_MAX_SAMPLES && start.elapsed() < bench.budget.time)
    {
        samples.push(profiler.sample(ctx, timer, record)?);
    }
    Ok(median_ms(&samples))
}
