//! profile layer: one timed run of recorded dispatches — GPU timestamps at the ends of
//! the compute pass and the wall clock around submit + poll; readback is never inside it.

use std::time::{Duration, Instant};

use crate::profile::ProfileError;
use crate::profile::gpu::buffers::Operands;
use crate::profile::gpu::kernels::{GemmKernel, Variant};
use crate::profile::gpu::{self, GpuContext, ms};

/// What every measurement on one device needs, bundled.
#[derive(Clone, Copy)]
pub struct Bench<'a> {
    /// The device.
    pub ctx: &'a GpuContext,
    /// The shared GEMM layouts.
    pub layout: &'a crate::profile::gpu::kernels::GemmLayout,
    /// The timer (timestamps or wall clock).
    pub timer: &'a Timer,
    /// How long and how often to sample.
    pub budget: &'a crate::profile::stats::SamplingBudget,
}

/// Runs batches of dispatches and times them.
pub struct Timer {
    queries: Option<(wgpu::QuerySet, wgpu::Buffer, wgpu::Buffer, f64)>,
    /// Timeout for one submission.
    pub timeout: Duration,
}

/// One timed run.
#[derive(Clone, Copy, Debug)]
pub struct RunTimes {
    /// Host wall clock from submit until poll returned, ms.
    pub wall_ms: f64,
    /// GPU timestamp difference across the pass, ms (when supported).
    pub gpu_ms: Option<f64>,
}

impl Timer {
    /// A timer using timestamp queries when the device has them.
    pub fn new(ctx: &GpuContext, timeout: Duration) -> Self {
        let queries = ctx.has_timestamps.then(|| {
            let set = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
                label: Some("timestamps"),
                ty: wgpu::QueryType::Timestamp,
                count: 2,
            });
            let resolve = ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("ts-resolve"),
                size: 16,
                usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                mapped_at_creation: false,
            });
            let read = ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some("ts-read"),
                size: 16,
                usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                mapped_at_creation: false,
            });
            let period_ns = f64::from(ctx.queue.get_timestamp_period());
            (set, resolve, read, period_ns)
        });
        Timer { queries, timeout }
    }

    /// True when GPU timestamps are used.
    pub fn has_timestamps(&self) -> bool {
        self.queries.is_some()
    }

    /// The method its samples are reported under.
    pub fn method(&self) -> crate::profile::stats::TimingMethod {
        if self.has_timestamps() {
            crate::profile::stats::TimingMethod::Timestamp
        } else {
            crate::profile::stats::TimingMethod::Wall
        }
    }

    /// Records every (kernel, operands) dispatch in one compute pass, submits, waits.
    pub fn run(
        &self,
        ctx: &GpuContext,
        work: &[(&GemmKernel, &Operands)],
        what: &str,
    ) -> Result<RunTimes, ProfileError> {
        let mut bound = Vec::with_capacity(work.len());
        for (kernel, ops) in work {
            let group = match kernel.variant {
                Variant::Texture => ops.texture_bind_group.as_ref().ok_or_else(|| {
                    ProfileError::Invalid(
                        "texture variant needs f32 operands uploaded as textures".into(),
                    )
                })?,
                _ => &ops.bind_group,
            };
            bound.push((kernel, *ops, group));
        }
        self.run_pass(ctx, what, &|pass| {
            for (kernel, ops, group) in &bound {
                let (x, y) = kernel.variant.workgroups(ops.m as u32, ops.n as u32);
                pass.set_pipeline(&kernel.pipeline);
                pass.set_bind_group(0, *group, &[]);
                pass.dispatch_workgroups(x, y, 1);
            }
        })
    }

    /// Records `record` in one compute pass (with timestamps at its ends), submits and
    /// waits; the wall clock covers submit until the poll returns.
    pub fn run_pass(
        &self,
        ctx: &GpuContext,
        what: &str,
        record: &dyn Fn(&mut wgpu::ComputePass<'_>),
    ) -> Result<RunTimes, ProfileError> {
        // Recording errors (bad bindings, limits) are captured here as typed errors
        // instead of reaching wgpu's default handler, which would panic.
        let cmd = gpu::scoped(&ctx.device, &format!("recording {what}"), || {
            let mut enc = ctx.device.create_command_encoder(&Default::default());
            {
                let timestamp_writes =
                    self.queries
                        .as_ref()
                        .map(|(set, ..)| wgpu::ComputePassTimestampWrites {
                            query_set: set,
                            beginning_of_pass_write_index: Some(0),
                            end_of_pass_write_index: Some(1),
                        });
                let mut pass = enc.begin_compute_pass(&wgpu::ComputePassDescriptor {
                    label: Some(what),
                    timestamp_writes,
                });
                record(&mut pass);
            }
            if let Some((set, resolve, read, _)) = &self.queries {
                enc.resolve_query_set(set, 0..2, resolve, 0);
                enc.copy_buffer_to_buffer(resolve, 0, read, 0, 16);
            }
            enc.finish()
        })?;
        ctx.check_lost()?;
        let t0 = Instant::now();
        let sub = ctx.queue.submit([cmd]);
        let waited = gpu::wait(&ctx.device, sub, self.timeout, what);
        ctx.check_lost()?;
        waited?;
        let wall_ms = ms(t0.elapsed());
        let gpu_ms = match &self.queries {
            None => None,
            Some((_, _, read, period_ns)) => Some(self.read_timestamps(ctx, read, *period_ns)?),
        };
        Ok(RunTimes { wall_ms, gpu_ms })
    }

    fn read_timestamps(
        &self,
        ctx: &GpuContext,
        read: &wgpu::Buffer,
        period_ns: f64,
    ) -> Result<f64, ProfileError> {
        let (tx, rx) = std::sync::mpsc::channel();
        read.map_async(wgpu::MapMode::Read, .., move |r| {
            let _ = tx.send(r);
        });
        gpu::wait_all(&ctx.device, self.timeout, "mapping timestamps")?;
        match rx.recv_timeout(self.timeout) {
            Ok(Ok(())) => {}
            _ => return Err(ProfileError::DeviceLost("timestamp map failed".into())),
        }
        let ticks: [u64; 2] = {
            let view = read.get_mapped_range(..).map_err(|e| ProfileError::Gpu {
                context: "reading timestamps".into(),
                reason: e.to_string(),
            })?;
            let word = |i: usize| {
                view.get(i * 8..i * 8 + 8)
                    .and_then(|b| <[u8; 8]>::try_from(b).ok())
                    .map_or(0, u64::from_le_bytes)
            };
            [word(0), word(1)]
        };
        read.unmap();
        Ok(ticks[1].saturating_sub(ticks[0]) as f64 * period_ns / 1e6)
    }
}
