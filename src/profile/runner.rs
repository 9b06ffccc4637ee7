//! profile layer: orchestration — adapters, cold start, peaks, autotuned GEMMs, MLP
//! sweeps, the CPU path and telemetry, assembled into one [`ProfileReport`].

use std::time::{Duration, Instant};

use super::autotune::{TuneCache, cache_dir, tune_gemm};
use super::gpu::buffers::{Operands, Timer};
use super::gpu::kernels::{GemmKernel, GemmLayout, Variant};
use super::gpu::timer::Bench;
use super::gpu::{self, GpuContext, ms};
use super::limits;
use super::reference::{Epilogue, Rng};
use super::report::{
    ColdStart, IsaPeak, Peak, ProfileReport, REPORT_VERSION, ResultRow, fingerprint,
};
use super::stats::SamplingBudget;
use super::workloads::Models;
use super::workloads::Workload;
use super::workloads::mlp::{MlpModel, MlpPreset};
use super::workloads::sweep::sweep;
use super::workloads::transformer::op_time::fill_pct_of_roofline;
use super::workloads::transformer::run as transformer_run;
use super::{DeviceChoice, Precision, ProfileError, ProfileOptions, cpu, telemetry};

/// Runs the profile described by `opts`, reporting progress lines to `progress`.
/// Cancellation (`opts.cancel`) stops between rows and returns what was measured.
pub fn run_profile(
    opts: &ProfileOptions,
    progress: &mut dyn FnMut(&str),
) -> Result<ProfileReport, ProfileError> {
    if opts.precisions.is_empty() {
        return Err(ProfileError::Invalid("no precision requested".into()));
    }
    if opts.batches.contains(&0) {
        return Err(ProfileError::Invalid(
            "batch sizes must be at least 1".into(),
        ));
    }
    let models = Models::resolve(&opts.models)?;
    transformer_run::check_lengths(&models.transformers, opts)?;
    transformer_run::check_weights(&models, opts)?;
    let meter = &opts.meter;
    // Whatever way the run ends, the bar says so.
    let _finish = FinishOnDrop(meter);
    let sampler = telemetry::Sampler::start(Duration::from_millis(100), meter.clone());
    let t_inst = Instant::now();
    let instance = gpu::instance();
    let instance_ms = ms(t_inst.elapsed());
    let t_adapt = Instant::now();
    let all = gpu::adapters(&instance);
    let adapter_ms = ms(t_adapt.elapsed());
    let mut report = ProfileReport {
        version: REPORT_VERSION,
        fingerprint: fingerprint(),
        adapters: all.iter().map(gpu::adapter_entry).collect(),
        results: Vec::new(),
        cold_start_ms: None,
        cold_start_all_ms: Vec::new(),
        peaks: Vec::new(),
        telemetry: telemetry::unavailable("not sampled".into()),
        cancelled: false,
        errors: Vec::new(),
    };
    report.adapters.push(gpu::cpu_entry());
    let chosen = match &opts.device {
        DeviceChoice::Cpu => Vec::new(),
        DeviceChoice::All => gpu::dedupe(all),
        DeviceChoice::Adapter(n) => gpu::select(all, Some(n))?,
    };
    let want_cpu = matches!(opts.device, DeviceChoice::All | DeviceChoice::Cpu);
    meter.start(
        chosen.len() as u64 * opts.units_per_device(true)
            + u64::from(want_cpu) * opts.units_per_device(false),
    );
    // Checked before anything is allocated (the bar, started, says "stopped" at 0 %).
    check_limits(&chosen, &models, opts)?;
    let budget = SamplingBudget::new(opts.budget_per_row, opts.target_cv);
    let cache_path = cache_dir();
    let mut cache = cache_path
        .as_deref()
        .map(TuneCache::load)
        .unwrap_or_default();
    // Encoder projections tuned on an earlier run start from their cached winners.
    let tuner = gpu::gemm_tune::session();
    tuner.seed(&cache);
    let mut items = 0u64;
    let timings = (instance_ms, adapter_ms);
    for adapter in chosen {
        if opts.cancelled() {
            break;
        }
        // A failure on one device is recorded and the run goes on with the next one, so
        // what was measured is never lost.
        let label = gpu::adapter_label(&adapter);
        report.fingerprint.devices.push(label.clone());
        let env = (opts, &budget, &models);
        let device_end = meter.done_units() + opts.units_per_device(true);
        let outcome = profile_adapter(adapter, env, timings, &mut cache, &mut report, progress);
        meter.reach(device_end);
        match outcome {
            Ok(n) => items += n,
            Err(e) => {
                progress(&format!("{label}: {e}"));
                report.errors.push(format!("{label}: {e}"));
            }
        }
    }
    tuner.persist(&mut cache);
    if let Some(dir) = &cache_path {
        cache.save(dir)?;
    }
    if want_cpu && !opts.cancelled() {
        report.fingerprint.devices.push("cpu".into());
    }
    if want_cpu
        && !opts.cancelled()
        && let Err(e) = profile_cpu(opts, &budget, &models, &mut report, progress)
    {
        progress(&format!("cpu: {e}"));
        report.errors.push(format!("cpu: {e}"));
    }
    fill_pct_of_peak(&mut report.results, &report.peaks);
    fill_pct_of_roofline(&mut report.results, &report.peaks);
    report.telemetry = sampler.stop(items);
    report.cancelled = opts.cancelled();
    Ok(report)
}

/// Every batch against each chosen adapter's buffer limits and the host memory.
fn check_limits(
    chosen: &[wgpu::Adapter],
    models: &Models,
    opts: &ProfileOptions,
) -> Result<(), ProfileError> {
    let presets = &models.mlps;
    for adapter in chosen {
        let name = gpu::adapter_label(adapter);
        let limits = adapter.limits();
        limits::check_adapter(&name, &limits, presets, &opts.precisions, &opts.batches)?;
    }
    if let Some(available) = limits::available_memory_bytes() {
        limits::check_host(available, presets, &opts.precisions, &opts.batches)?;
        if !models.transformers.is_empty()
            && matches!(opts.device, DeviceChoice::All | DeviceChoice::Cpu)
        {
            let plan = opts.sweep_plan();
            limits::check_host_transformers(
                available,
                &models.transformers,
                &opts.precisions,
                &plan,
            )?;
        }
    }
    Ok(())
}

/// Marks the meter finished when dropped, so an early return still ends the bar.
struct FinishOnDrop<'a>(&'a super::progress::ProgressMeter);

impl Drop for FinishOnDrop<'_> {
    fn drop(&mut self) {
        self.0.finish();
    }
}

/// Names a step on the meter and in the progress lines.
fn begin(opts: &ProfileOptions, progress: &mut dyn FnMut(&str), step: &str) {
    opts.meter.begin(step);
    progress(step);
}

/// Opens `adapter` and measures cold start, peaks, GEMMs and MLPs on it; returns the
/// inference items run.
fn profile_adapter(
    adapter: wgpu::Adapter,
    (opts, budget, models): (&ProfileOptions, &SamplingBudget, &Models),
    (instance_ms, adapter_ms): (f64, f64),
    cache: &mut TuneCache,
    report: &mut ProfileReport,
    progress: &mut dyn FnMut(&str),
) -> Result<u64, ProfileError> {
    let ctx = gpu::open(adapter)?;
    begin(opts, progress, &format!("{}: cold start", ctx.name));
    let cold = cold_start(&ctx, opts, instance_ms, adapter_ms, models.mlps.first())?;
    opts.meter.advance(1);
    report.cold_start_ms.get_or_insert_with(|| cold.clone());
    report.cold_start_all_ms.push(cold);
    let timer = Timer::new(&ctx, opts.dispatch_timeout);
    if opts.peaks {
        begin(
            opts,
            progress,
            &format!("{}: FMA and bandwidth peaks", ctx.name),
        );
        let peaks = super::peaks::measure_peaks(&ctx, &timer, budget, &opts.precisions)?;
        report.peaks.extend(peaks);
        opts.meter.advance(1);
    }
    let layout = GemmLayout::new(&ctx.device);
    let bench = Bench {
        ctx: &ctx,
        layout: &layout,
        timer: &timer,
        budget,
    };
    profile_device(bench, opts, models, cache, report, progress)
}

/// GEMM autotuning and MLP sweeps on one device; returns inference items run.
fn profile_device(
    bench: Bench<'_>,
    opts: &ProfileOptions,
    models: &Models,
    cache: &mut TuneCache,
    report: &mut ProfileReport,
    progress: &mut dyn FnMut(&str),
) -> Result<u64, ProfileError> {
    let Bench {
        ctx,
        layout,
        timer,
        budget,
    } = bench;
    let mut items = 0u64;
    let presets = &models.mlps;
    let per_precision = opts.units_per_precision();
    for &p in &opts.precisions {
        if p == Precision::F16 && !ctx.has_f16 {
            opts.meter.advance(per_precision);
            no_f16_rows(&ctx.name, opts, models, report);
            continue;
        }
        for &s in &opts.gemm_sizes {
            if opts.cancelled() {
                return Ok(items);
            }
            begin(
                opts,
                progress,
                &format!("{}: tuning {} GEMM {s}³", ctx.name, p.name()),
            );
            let tuned = tune_gemm(ctx, layout, timer, budget, p, (s, s, s), cache)?;
            report.results.extend(tuned.rows);
            opts.meter.advance(1);
        }
        // Fused MLP chains run on buffer kernels (the texture variant reads textures); the
        // sweep verifies each on the whole model and picks the fastest per batch.
        let mut kernels = Vec::new();
        for v in Variant::for_precision(p) {
            if v == Variant::Texture {
                continue;
            }
            match GemmKernel::new(ctx, layout, v, p) {
                Ok(k) => kernels.push(k),
                Err(ProfileError::ShaderCompile { .. }) => {}
                Err(e) => return Err(e),
            }
        }
        for &pre in presets {
            if opts.cancelled() {
                return Ok(items);
            }
            begin(
                opts,
                progress,
                &format!(
                    "{}: {} {} over batches {:?}",
                    ctx.name,
                    pre.workload(),
                    p.name(),
                    opts.batches
                ),
            );
            let sweep_end = opts.meter.done_units() + opts.batches.len() as u64;
            let model = MlpModel::upload(ctx, pre, p)?;
            // The sweep reports one line per batch measured: one unit each.
            let rows = sweep(
                bench,
                &model,
                &kernels,
                &opts.batches,
                &|| opts.cancelled(),
                &mut |line| {
                    opts.meter.advance(1);
                    progress(line);
                },
            )?;
            opts.meter.reach(sweep_end);
            items += rows
                .iter()
                .filter_map(|r| Some(r.timing.as_ref()?.samples as u64 * r.batch? as u64))
                .sum::<u64>();
            report.results.extend(rows);
        }
        transformer_run::gpu(bench, &models.transformers, p, opts, report, progress)?;
    }
    Ok(items)
}

/// The rows of a precision the adapter cannot run at all (f16 without SHADER_F16): one
/// per GEMM size, MLP preset and transformer pass.
fn no_f16_rows(name: &str, opts: &ProfileOptions, models: &Models, report: &mut ProfileReport) {
    let why = format!("adapter `{name}` does not offer SHADER_F16");
    let first_batch = opts.batches.first().copied().unwrap_or(1);
    let p = Precision::F16;
    for &s in &opts.gemm_sizes {
        report
            .results
            .push(ResultRow::new(name, Workload::Gemm, p, "-", (s, s, s)).unsupported(&why));
    }
    for pre in &models.mlps {
        let shape = (first_batch, pre.d_model, pre.d_model);
        report
            .results
            .push(ResultRow::new(name, pre.workload(), p, "-", shape).unsupported(&why));
    }
    transformer_run::refuse_all(name, &models.transformers, p, opts, &why, report);
}

/// Bytes the cold start uploads when no MLP is profiled: 16 MiB.
const COLD_UPLOAD_BYTES: usize = 16 << 20;

/// Bytes of one f32 weight.
const F32_BYTES: usize = 4;

/// Cold start on an opened device: module, pipeline, weight upload, first dispatch and
/// first result, with the shader-cache state inferred from first vs steady dispatch.
fn cold_start(
    ctx: &GpuContext,
    opts: &ProfileOptions,
    instance_ms: f64,
    adapter_ms: f64,
    model: Option<&MlpPreset>,
) -> Result<ColdStart, ProfileError> {
    let layout = GemmLayout::new(&ctx.device);
    let kernel = GemmKernel::new(ctx, &layout, Variant::Reg { tm: 4, tn: 4 }, Precision::F32)?;
    let n = 256;
    // The upload rate is measured on the first MLP's weights, else on a buffer big
    // enough to take milliseconds, like a model's weights going into fresh memory: the
    // calibration divides a transformer's weights by it, and on a 512 KiB copy one-off
    // costs decide the figure (lavapipe, 2026-12-01, three runs each: 512 KiB
    // 0.06–0.87 GB/s, 16 MiB 0.39–0.65 GB/s).
    let elems = model.map_or(COLD_UPLOAD_BYTES / F32_BYTES, |m| m.weight_elements());
    let t_up = Instant::now();
    let weights = super::gpu::buffers::storage_buffer(
        &ctx.device,
        "cold-weights",
        &vec![0u8; elems * F32_BYTES],
    );
    gpu::wait_all(&ctx.device, opts.dispatch_timeout, "uploading weights")?;
    let upload_ms = ms(t_up.elapsed());
    drop(weights);
    let mut rng = Rng::from_time();
    let (a, b) = (rng.vec(n * n, 1.0), rng.vec(n * n, 1.0));
    let ops = Operands::upload(
        ctx,
        &layout,
        Precision::F32,
        (n, n, n),
        Epilogue::None,
        [&a, &b, &[0.0]],
    )?;
    let timer = Timer::new(ctx, opts.dispatch_timeout);
    let first = timer
        .run(ctx, &[(&kernel, &ops)], "first dispatch")?
        .wall_ms;
    let t_read = Instant::now();
    ops.read_c(ctx, opts.dispatch_timeout)?;
    let first_result = ms(t_read.elapsed());
    let steady = timer
        .run(ctx, &[(&kernel, &ops)], "second dispatch")?
        .wall_ms;
    // Mesa's cache disabled means every compile is cold; otherwise a first dispatch far
    // slower than the second means the driver compiled the shader (cache miss).
    let cache_disabled =
        std::env::var_os("MESA_SHADER_CACHE_DISABLE").is_some_and(|v| v == "true" || v == "1");
    let shader_cache = if cache_disabled || first > 2.0 * steady + 20.0 {
        "cold"
    } else {
        "warm"
    };
    Ok(ColdStart {
        device: ctx.name.clone(),
        instance: instance_ms,
        adapter: adapter_ms,
        device_create: ctx.device_create_ms,
        shader_module: kernel.shader_module_ms,
        pipeline: kernel.pipeline_ms,
        first_dispatch: first,
        weight_upload: upload_ms,
        first_result,
        shader_cache: shader_cache.into(),
        weight_upload_gbytes_per_s: (upload_ms > 0.0)
            .then(|| (elems * F32_BYTES) as f64 / (upload_ms * 1e6)),
    })
}

/// The CPU path: FMA peak, then GEMM per precision and size with the `gemm` crate.
fn profile_cpu(
    opts: &ProfileOptions,
    budget: &SamplingBudget,
    models: &Models,
    report: &mut ProfileReport,
    progress: &mut dyn FnMut(&str),
) -> Result<(), ProfileError> {
    begin(opts, progress, "cpu: FMA peak");
    let fma = cpu::peak::fma_peak(20_000_000);
    let bandwidth = if opts.peaks {
        Some(super::cpu::mlp::bandwidth_gbytes_per_s(budget)?)
    } else {
        None
    };
    opts.meter.advance(1);
    let presets = &models.mlps;
    let per_precision = opts.units_per_precision();
    for &p in &opts.precisions {
        // Unsupported work counts as done at once; the bar still reaches its end.
        let precision_end = opts.meter.done_units() + per_precision;
        if opts.peaks && cpu::why_unsupported(p).is_none() {
            report.peaks.push(Peak {
                device: "cpu".into(),
                precision: p,
                fma_gflops: fma.gflops,
                bandwidth_gbytes_per_s: bandwidth,
                scalar_gflops: None,
                vec4_gflops: None,
                isa: Some(fma.isa.name().into()),
                isa_gflops: (fma.by_isa.iter())
                    .map(|&(isa, gflops)| IsaPeak {
                        isa: isa.name().into(),
                        gflops,
                    })
                    .collect(),
            });
        }
        for &s in &opts.gemm_sizes {
            if opts.cancelled() {
                return Ok(());
            }
            let mut row = ResultRow::new("cpu", Workload::Gemm, p, "gemm-crate", (s, s, s));
            if let Some(why) = cpu::why_unsupported(p) {
                report.results.push(row.unsupported(why));
                continue;
            }
            begin(opts, progress, &format!("cpu: {} GEMM {s}³", p.name()));
            let (err, timing) = cpu::profile_gemm(p, (s, s, s), budget)?;
            opts.meter.advance(1);
            row.rel_error = Some(err);
            row.correct = timing.is_some();
            row.chosen = row.correct;
            if let Some(t) = timing {
                row.set_timing(t);
            }
            report.results.push(row);
        }
        for &pre in presets {
            if opts.cancelled() {
                return Ok(());
            }
            if let Some(why) = cpu::why_unsupported(p) {
                let first_batch = opts.batches.first().copied().unwrap_or(1);
                let row = ResultRow::new(
                    "cpu",
                    pre.workload(),
                    p,
                    "gemm-crate+epilogue",
                    (first_batch, pre.d_model, pre.d_model),
                );
                report.results.push(row.unsupported(why));
                continue;
            }
            begin(
                opts,
                progress,
                &format!(
                    "cpu: {} {} over batches {:?}",
                    pre.workload(),
                    p.name(),
                    opts.batches
                ),
            );
            let rows = super::cpu::mlp::sweep(pre, p, &opts.batches, budget, &|| opts.cancelled())?;
            report.results.extend(rows);
            opts.meter.advance(opts.batches.len() as u64);
        }
        transformer_run::cpu(&models.transformers, p, (opts, budget), report, progress)?;
        opts.meter.reach(precision_end);
    }
    Ok(())
}

/// Sets `pct_of_peak` on every timed row from the matching device × precision peak.
pub fn fill_pct_of_peak(rows: &mut [ResultRow], peaks: &[Peak]) {
    for r in rows {
        let peak = peaks
            .iter()
            .find(|p| p.device == r.device && p.precision == r.precision);
        if let (Some(g), Some(p)) = (r.gflops, peak)
            && p.fma_gflops > 0.0
        {
            r.pct_of_peak = Some(100.0 * g / p.fma_gflops);
        }
    }
}
