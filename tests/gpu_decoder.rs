//! profile layer tests: the GPU decoder forward pass (tiny-gpt2, tiny-llama and
//! tiny-qwen2 with its QKV bias, on whatever adapter the machine has, lavapipe in CI)
//! matches the f64 reference in prefill and decode at f32/f16/bf16; a corrupted
//! weight, a corrupted KV cache or a decode step at the wrong position fails the same
//! check; f16/bf16 rows carry their top-1 agreement; a profile run gives correct, timed
//! `prefill:` and `decode:` rows.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod profile_common;

use std::time::Duration;

use costscope::profile::cpu::transformer_rows::tolerance;
use costscope::profile::gpu::GpuContext;
use costscope::profile::gpu::buffers::encode;
use costscope::profile::gpu::decoder::{DecoderShape, GpuDecoder, KvCache};
use costscope::profile::gpu::decoder_rows::{round_weights, top1_agreement, verify};
use costscope::profile::gpu::kernels::{GemmLayout, Variant};
use costscope::profile::gpu::timer::{Bench, Timer};
use costscope::profile::gpu::transformer_rows::pick_variant;
use costscope::profile::reference::rel_frobenius;
use costscope::profile::stats::SamplingBudget;
use costscope::profile::workloads::transformer::accounting::flops_per_item;
use costscope::profile::workloads::transformer::reference;
use costscope::profile::workloads::transformer::weights::{Weights, random_tokens};
use costscope::profile::workloads::transformer::{Pass, TransformerConfig};
use costscope::profile::{DeviceChoice, Precision, ProfileOptions, run_profile};

const TINY: [&str; 3] = ["tiny-gpt2", "tiny-llama", "tiny-qwen2"];

/// The device's shared GEMM layout, timer and budget, for [`Bench`].
struct Rig {
    ctx: GpuContext,
    layout: GemmLayout,
    timer: Timer,
    budget: SamplingBudget,
}

impl Rig {
    fn new() -> Option<Self> {
        let ctx = profile_common::device()?;
        Some(Rig {
            layout: GemmLayout::new(&ctx.device),
            timer: Timer::new(&ctx, Duration::from_secs(60)),
            budget: SamplingBudget::new(Duration::from_millis(10), 0.05),
            ctx,
        })
    }

    fn bench(&self) -> Bench<'_> {
        Bench {
            ctx: &self.ctx,
            layout: &self.layout,
            timer: &self.timer,
            budget: &self.budget,
        }
    }

    fn precisions(&self) -> Vec<Precision> {
        let has_f16 = self.ctx.has_f16;
        Precision::ALL
            .into_iter()
            .filter(|&p| p != Precision::F16 || has_f16)
            .collect()
    }
}

#[test]
fn tiny_decoders_match_the_reference_in_prefill_and_decode() {
    let Some(rig) = Rig::new() else {
        return;
    };
    let bench = rig.bench();
    for name in TINY {
        let cfg = TransformerConfig::lookup(name).unwrap();
        for p in rig.precisions() {
            let w = round_weights(&Weights::random(&cfg, Precision::F32, 5), p);
            let v = pick_variant(bench, &cfg, p).expect("a GEMM variant verifies");
            let model = GpuDecoder::upload(&rig.ctx, &rig.layout, &w, p, v).expect("upload");
            for pass in [Pass::Prefill, Pass::Decode] {
                let err = verify(bench, &model, &w, pass, 9).expect("runs");
                eprintln!(
                    "{name} {} {pass:?} ({}): rel error {err:.2e}",
                    p.name(),
                    v.name()
                );
                assert!(err <= tolerance(p), "{name} {p:?} {pass:?}: {err}");
            }
        }
    }
}
