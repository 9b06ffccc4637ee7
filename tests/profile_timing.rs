//! profile layer tests: GPU timestamps and the wall clock agree on a long kernel.
//!
//! The wall clock covers submit + poll, so it is never shorter than the GPU time by more
//! than timer noise and exceeds it only by submission overhead; on a kernel of ≥ 20 ms we
//! accept timestamp/wall within [0.5, 1.05] — generous, because lavapipe shares the two
//! CPU cores with the test harness.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod profile_common;

use std::time::Duration;

use costscope::profile::gpu::buffers::{Operands, Timer};
use costscope::profile::gpu::kernels::{GemmKernel, GemmLayout, Variant};
use costscope::profile::reference::{Epilogue, Rng};
use costscope::profile::{Precision, ProfileError};

#[test]
fn timestamps_agree_with_wall_clock_on_a_long_kernel() {
    let Some(ctx) = profile_common::device() else {
        return;
    };
    if !ctx.has_timestamps {
        eprintln!(
            "adapter `{}` has no TIMESTAMP_QUERY; only wall-clock timing applies",
            ctx.name
        );
        return;
    }
    let layout = GemmLayout::new(&ctx.device);
    let kernel = GemmKernel::new(&ctx, &layout, Variant::Naive, Precision::F32).expect("compiles");
    let n = 192;
    let mut rng = Rng::new(7);
    let (a, b) = (rng.vec(n * n, 1.0), rng.vec(n * n, 1.0));
    let ops = Operands::upload(
        &ctx,
        &layout,
        Precision::F32,
        (n, n, n),
        Epilogue::None,
        [&a, &b, &[0.0]],
    )
    .expect("upload");
    let timer = Timer::new(&ctx, Duration::from_secs(60));
    timer
        .run(&ctx, &[(&kernel, &ops)], "warm-up")
        .expect("warm-up");
    let mut ratios = Vec::new();
    for _ in 0..5 {
        let t = timer.run(&ctx, &[(&kernel, &ops)], "timed").expect("runs");
        let gpu = t.gpu_ms.expect("timestamps");
        assert!(gpu > 0.0 && t.wall_ms > 0.0);
        ratios.push(gpu / t.wall_ms);
    }
    ratios.sort_by(f64::total_cmp);
    let median = ratios[ratios.len() / 2];
    eprintln!("timestamp/wall ratios {ratios:?}");
    assert!(
        (0.5..=1.05).contains(&median),
        "timestamp/wall median ratio {median}"
    );
}

#[test]
fn a_dispatch_that_outlives_its_timeout_is_a_typed_hung_error() {
    let Some(ctx) = profile_common::device() else {
        return;
    };
    let layout = GemmLayout::new(&ctx.device);
    let kernel = GemmKernel::new(&ctx, &layout, Variant::Naive, Precision::F32).expect("compiles");
    let n = 256;
    let mut rng = Rng::new(3);
    let (a, b) = (rng.vec(n * n, 1.0), rng.vec(n * n, 1.0));
    let ops = Operands::upload(
        &ctx,
        &layout,
        Precision::F32,
        (n, n, n),
        Epilogue::None,
        [&a, &b, &[0.0]],
    )
    .expect("upload");
    // Warm up with a generous timeout so the driver compile is not what times out.
    Timer::new(&ctx, Duration::from_secs(60))
        .run(&ctx, &[(&kernel, &ops)], "warm-up")
        .expect("warm-up");
    let impatient = Timer::new(&ctx, Duration::from_micros(50));
    let err = impatient
        .run(&ctx, &[(&kernel, &ops)], "naive 256³")
        .expect_err("must time out");
    assert!(matches!(err, ProfileError::Hung { .. }), "{err}");
    assert!(err.to_string().contains("did not finish"), "{err}");
}

#[test]
fn an_invalid_dispatch_is_a_typed_error_not_a_panic() {
    let Some(ctx) = profile_common::device() else {
        return;
    };
    let layout = GemmLayout::new(&ctx.device);
    let kernel = GemmKernel::new(&ctx, &layout, Variant::Naive, Precision::F32).expect("compiles");
    let ops = Operands::upload(
        &ctx,
        &layout,
        Precision::F32,
        (4, 4, 4),
        Epilogue::None,
        [&[1.0; 16], &[1.0; 16], &[0.0; 4]],
    )
    .expect("upload");
    let too_many = ctx.device.limits().max_compute_workgroups_per_dimension + 1;
    let timer = Timer::new(&ctx, Duration::from_secs(10));
    let err = timer
        .run_pass(&ctx, "oversized dispatch", &|pass| {
            pass.set_pipeline(&kernel.pipeline);
            pass.set_bind_group(0, &ops.bind_group, &[]);
            pass.dispatch_workgroups(too_many, 1, 1);
        })
        .expect_err("over the limit");
    assert!(matches!(err, ProfileError::Gpu { .. }), "{err}");
    // The device stays usable afterwards.
    timer
        .run(&ctx, &[(&kernel, &ops)], "valid dispatch")
        .expect("still works");
}

#[test]
fn an_injected_device_without_timestamps_uses_the_wall_clock() {
    use costscope::profile::gpu::{GpuContext, adapters, instance};
    let inst = instance();
    let Some(adapter) = adapters(&inst).into_iter().next() else {
        if std::env::var_os("CI").is_some() {
            panic!("CI is set and no adapter was found");
        }
        eprintln!("SKIPPED (not CI): no adapter");
        return;
    };
    // A device opened by the caller with no optional features at all.
    let (device, queue) =
        pollster::block_on(adapter.request_device(&wgpu::DeviceDescriptor::default()))
            .expect("device");
    let ctx = GpuContext::from_device(adapter, device, queue);
    assert!(!ctx.has_timestamps && !ctx.has_f16);
    let layout = GemmLayout::new(&ctx.device);
    let kernel = GemmKernel::new(
        &ctx,
        &layout,
        Variant::Reg { tm: 4, tn: 4 },
        Precision::Bf16,
    )
    .expect("bf16 needs no feature");
    let ops = Operands::upload(
        &ctx,
        &layout,
        Precision::Bf16,
        (33, 33, 33),
        Epilogue::None,
        [&[0.5; 1089], &[0.25; 1089], &[0.0; 33]],
    )
    .expect("upload");
    let t = Timer::new(&ctx, Duration::from_secs(30))
        .run(&ctx, &[(&kernel, &ops)], "wall only")
        .expect("runs");
    assert!(t.gpu_ms.is_none() && t.wall_ms > 0.0);
    let c = ops.read_c(&ctx, Duration::from_secs(30)).expect("read");
    assert!(
        c.iter().all(|&x| (x - 33.0 * 0.125).abs() < 0.05),
        "{:?}",
        &c[..4]
    );
}
