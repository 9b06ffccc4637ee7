//! profile layer tests: every GEMM variant × precision against the f64 reference on
//! lavapipe (or whichever adapter is present), at odd sizes that cross every tile edge.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod profile_common;

use std::time::Duration;

use costscope::profile::Precision;
use costscope::profile::gpu::buffers::verify_gemm;
use costscope::profile::gpu::kernels::{GemmKernel, GemmLayout, Variant};
use costscope::profile::reference::Epilogue;

const TIMEOUT: Duration = Duration::from_secs(120);

fn check_all(precision: Precision, epilogue: Epilogue, sizes: &[(usize, usize, usize)]) {
    let Some(ctx) = profile_common::device() else {
        return;
    };
    if precision == Precision::F16 && !ctx.has_f16 {
        let err = GemmKernel::new(
            &ctx,
            &GemmLayout::new(&ctx.device),
            Variant::Naive,
            precision,
        );
        assert!(err.is_err(), "f16 without SHADER_F16 must be refused");
        return;
    }
    let layout = GemmLayout::new(&ctx.device);
    let mut failures = Vec::new();
    for variant in Variant::for_precision(precision) {
        let kernel = GemmKernel::new(&ctx, &layout, variant, precision).expect("compiles");
        for &shape in sizes {
            let err = verify_gemm(&ctx, &layout, &kernel, shape, epilogue, TIMEOUT).expect("runs");
            if err > precision.tolerance() {
                failures.push(format!(
                    "{} {:?} {shape:?}: {err:e}",
                    variant.name(),
                    epilogue
                ));
            }
        }
    }
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        precision.name(),
        failures.join("\n")
    );
}

const SQUARE: [(usize, usize, usize); 4] = [(1, 1, 1), (7, 7, 7), (33, 33, 33), (129, 129, 129)];
const RAGGED: [(usize, usize, usize); 2] = [(5, 33, 7), (17, 3, 65)];

#[test]
fn f32_gemm_all_variants_match_reference() {
    check_all(Precision::F32, Epilogue::None, &SQUARE);
    check_all(Precision::F32, Epilogue::None, &RAGGED);
}

#[test]
fn f16_gemm_all_variants_match_reference() {
    check_all(Precision::F16, Epilogue::None, &SQUARE);
}

#[test]
fn bf16_gemm_all_variants_match_reference() {
    check_all(Precision::Bf16, Epilogue::None, &SQUARE);
    check_all(Precision::Bf16, Epilogue::None, &RAGGED);
}

#[test]
fn fused_bias_gelu_matches_reference_in_every_precision() {
    for p in Precision::ALL {
        check_all(p, Epilogue::BiasGelu, &[(7, 33, 33), (33, 129, 7)]);
        check_all(p, Epilogue::Bias, &[(7, 7, 7)]);
    }
}

#[test]
fn broken_shader_is_a_typed_compile_error() {
    let Some(ctx) = profile_common::device() else {
        return;
    };
    let layout = GemmLayout::new(&ctx.device);
    let result = costscope::profile::gpu::kernels::compile(
        &ctx.device,
        Some(&layout.pipeline_layout),
        "broken",
        "fn main( {",
    );
    let Err(err) = result else {
        panic!("a broken shader must not compile");
    };
    let msg = err.to_string();
    assert!(
        msg.contains("broken") && msg.contains("failed to compile"),
        "{msg}"
    );
}

#[test]
fn a_wrong_kernel_is_caught_by_the_reference_check() {
    let Some(ctx) = profile_common::device() else {
        return;
    };
    let layout = GemmLayout::new(&ctx.device);
    let good = costscope::profile::gpu::kernels::source(Variant::Naive, Precision::F32);
    let bad = good.replace("s1 += a * load_b", "s1 += 1.5 * a * load_b");
    assert_ne!(good, bad, "the mutation must apply");
    let (pipeline, ..) = costscope::profile::gpu::kernels::compile(
        &ctx.device,
        Some(&layout.pipeline_layout),
        "mutant",
        &bad,
    )
    .expect("compiles");
    let kernel = GemmKernel {
        variant: Variant::Naive,
        precision: Precision::F32,
        pipeline,
        shader_hash: 0,
        shader_module_ms: 0.0,
        pipeline_ms: 0.0,
    };
    let err =
        verify_gemm(&ctx, &layout, &kernel, (9, 9, 9), Epilogue::None, TIMEOUT).expect("runs");
    assert!(err > 0.1, "mutant kernel error {err}");
}

#[test]
fn f16_without_shader_f16_is_a_typed_missing_feature() {
    use costscope::profile::{ProfileError, gpu};
    let inst = gpu::instance();
    let mut checked = 0;
    for adapter in gpu::adapters(&inst) {
        let ctx = match gpu::open(adapter) {
            Ok(ctx) if !ctx.has_f16 => ctx,
            _ => continue,
        };
        let layout = GemmLayout::new(&ctx.device);
        let err = GemmKernel::new(&ctx, &layout, Variant::Naive, Precision::F16).err();
        assert!(
            matches!(err, Some(ProfileError::MissingFeature { ref feature, .. }) if feature == "SHADER_F16"),
            "{err:?}"
        );
        checked += 1;
    }
    if checked == 0 {
        eprintln!("every adapter here offers SHADER_F16; the refusal path was not exercised");
    }
}
