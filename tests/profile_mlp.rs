//! profile layer tests: the fused MLP forward pass matches the f64 reference with every
//! buffer variant, also when the same bound pass is run again (input never overwritten).

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod profile_common;

use std::time::Duration;

use costscope::profile::Precision;
use costscope::profile::gpu::buffers::Timer;
use costscope::profile::gpu::kernels::{GemmKernel, GemmLayout, Variant};
use costscope::profile::workloads::mlp::{MlpModel, MlpPreset};

#[test]
fn fused_mlp_matches_reference_every_variant_and_rerun() {
    let Some(ctx) = profile_common::device() else {
        return;
    };
    let layout = GemmLayout::new(&ctx.device);
    let timer = Timer::new(&ctx, Duration::from_secs(60));
    let preset = MlpPreset {
        name: "test",
        d_model: 33,
        d_hidden: 65,
        layers: 3,
    };
    for p in Precision::ALL {
        if p == Precision::F16 && !ctx.has_f16 {
            continue;
        }
        let model = MlpModel::upload(&ctx, preset, p).expect("upload");
        let bound = model.bind(&ctx, &layout, 5);
        for v in Variant::for_precision(p)
            .into_iter()
            .filter(|v| *v != Variant::Texture)
        {
            let kernel = GemmKernel::new(&ctx, &layout, v, p).expect("compiles");
            for run in 0..2 {
                let err = bound.verify(&ctx, &timer, &kernel, &model).expect("runs");
                assert!(
                    err <= p.tolerance(),
                    "{} {} run {run}: {err:e}",
                    p.name(),
                    v.name()
                );
            }
        }
    }
}

#[test]
fn unknown_model_is_a_clear_error() {
    let err = MlpPreset::by_name("gpt-17").expect_err("unknown");
    assert!(err.to_string().contains("bert-base"), "{err}");
}
