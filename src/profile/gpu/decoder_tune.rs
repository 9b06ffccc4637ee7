//! profile layer: the GEMM variant of each projection of a GPU decoder pass, tuned per
//! shape ([`super::gemm_tune`]) — prefill projections at M = batch · seq_len, decode
//! projections at M = batch, the LM head at M = batch, K and V at their own (GQA)
//! width; an assignment is only used once the whole pass re-verified on it
//! ([`super::decoder_check`]).

use std::collections::BTreeMap;

use crate::profile::ProfileError;
use crate::profile::gpu::buffers::Operands;
use crate::profile::gpu::decoder::{DecoderPlan, GpuDecoder};
use crate::profile::gpu::decoder_plan::Dispatch;
use crate::profile::gpu::gemm_tune::{ProjectionChoice, ProjectionKey, ProjectionTuner};
use crate::profile::gpu::kernels::Variant;
use crate::profile::gpu::timer::Bench;
use crate::profile::gpu::transformer::ProjectionStep;
use crate::profile::workloads::transformer::ops::OpKind;

/// Which projections of a decoder pass share a variant: those of one (N, K) columns and
/// bias, the LM head apart (its M is the batch, a prefill block's is batch · seq_len),
/// so one assignment applies to any plan of the same model and pass.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct ProjectionSlot {
    /// Output columns.
    pub n: usize,
    /// Input columns.
    pub k: usize,
    /// The bias epilogue is fused.
    pub bias: bool,
    /// It is the LM head.
    pub head: bool,
}

impl ProjectionSlot {
    /// The slot of `step`.
    pub fn of(step: &ProjectionStep) -> Self {
        let (_, n, k) = step.shape;
        ProjectionSlot {
            n,
            k,
            bias: step.bias,
            head: step.op == OpKind::LmHead,
        }
    }
}

/// The variant of each projection slot of a decoder pass.
pub type DecoderChoice = BTreeMap<ProjectionSlot, Variant>;

impl DecoderPlan {
    /// Every projection step (LM head included), in recording order, with its variant.
    pub fn projections(&self, model: &GpuDecoder) -> Vec<ProjectionStep> {
        self.steps
            .iter()
            .filter_map(|s| match &s.dispatch {
                Dispatch::Gemm { ops, kernel, bias } => Some(ProjectionStep {
                    op: s.op,
                    shape: (ops.m, ops.n, ops.k),
                    bias: *bias,
                    variant: model.kernels().get(*kernel)?.variant,
                }),
                _ => None,
            })
            .collect()
    }

    /// The operands of the first projection in `slot`, bound to this plan's buffers (a
    /// tuning times candidates on them).
    pub fn operands(&self, slot: ProjectionSlot) -> Option<&Operands> {
        self.steps.iter().find_map(|s| match &s.dispatch {
            Dispatch::Gemm { ops, bias, .. }
                if ProjectionSlot {
                    n: ops.n,
                    k: ops.k,
                    bias: *bias,
                    head: s.op == OpKind::LmHead,
                } == slot =>
            {
                Some(&**ops)
            }
            _ => None,
        })
    }

    /// Puts each projection on the variant `choice` gives its slot; `Invalid` when
    /// `choice` misses one or names a variant `model` did not compile.
    pub fn assign(
        &mut self,
        model: &GpuDecoder,
        choice: &DecoderChoice,
    ) -> Result<(), ProfileError> {
        for s in &mut self.steps {
            if let Dispatch::Gemm { ops, kernel, bias } = &mut s.dispatch {
                let slot = ProjectionSlot {
                    n: ops.n,
                    k: ops.k,
                    bias: *bias,
                    head: s.op == OpKind::LmHead,
                };
                let v = choice.get(&slot).ok_or_else(|| {
                    ProfileError::Invalid(format!(
                        "no GEMM variant chosen for a {}x{} decoder projection",
                        slot.n, slot.k
                    ))
                })?;
                *kernel = model
                    .kernels()
                    .iter()
                    .position(|kern| kern.variant == *v)
                    .ok_or_else(|| {
                        ProfileError::Invalid(format!(
                            "GEMM variant {} is not compiled for this decoder",
                            v.name()
                        ))
                    })?;
            }
        }
        Ok(())
    }
}

/// A decoder plan's projections after tuning: the assignment applied, each shape's
/// record.
pub struct TunedDecoder {
    /// The variant of each slot.
    pub choice: DecoderChoice,
    /// Each distinct projection shape's key and choice, in pass order.
    pub shapes: Vec<(ProjectionKey, ProjectionChoice)>,
}

/// Puts every projection of `plan` (LM head included) on its fastest verified variant
/// among `model`'s kernels: tuned by `tuner` on the plan's own operands the first time
/// a key is seen, the recorded choice after that.
pub fn tune_plan(
    bench: Bench<'_>,
    model: &GpuDecoder,
    plan: &mut DecoderPlan,
    tuner: &ProjectionTuner,
) -> Result<TunedDecoder, ProfileError> {
    let mut choice = DecoderChoice::new();
    let mut shapes = Vec::new();
    for step in plan.projections(model) {
        let slot = ProjectionSlot::of(&step);
        if choice.contains_key(&slot) {
            continue;
        }
        let key = ProjectionKey::new(bench, model.precision(), step.shape, step.bias);
        let ops = plan.operands(slot).ok_or_else(|| {
            ProfileError::Invalid(format!(
                "the decoder plan has no {}x{} projection",
                slot.n, slot.k
            ))
        })?;
        let c = tuner.choose(bench, model.kernels(), &key, ops)?;
        choice.insert(slot, c.variant);
        shapes.push((key, c));
    }
    plan.assign(model, &choice)?;
    Ok(TunedDecoder { choice, shapes })
}
