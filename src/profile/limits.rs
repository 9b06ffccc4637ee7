//! profile layer: a run's batch sizes checked before anything is allocated — against
//! each adapter's buffer limits and against the host memory available — so an
//! oversized `--batches` is a clear error naming the limit, not a wgpu panic or an
//! abort allocating terabytes.

use crate::profile::cpu::attention::QUERY_BLOCK as ATTENTION_QUERY_BLOCK;
use crate::profile::cpu::transformer_rows::SweepPlan;
use crate::profile::workloads::mlp::MlpPreset;
use crate::profile::workloads::transformer::{Pass, TransformerConfig, accounting};
use crate::profile::{Precision, ProfileError};

/// Share of the available host memory one run may plan to use; the rest is left for
/// the OS, the driver and the f64 reference.
const HOST_SHARE: f64 = 0.5;

/// Bytes of f32 host copies alive at once in one MLP pass, per activation element:
/// the input, the hidden and output activations, and their encoded or rounded copies.
const HOST_COPIES: u64 = 3;

/// Bytes of one f32.
const F32_BYTES: u64 = 4;

/// What one MLP batch needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Footprint {
    /// The largest single device buffer (the hidden activations), bytes.
    pub largest_buffer_bytes: u64,
    /// Host memory the pass allocates, bytes.
    pub host_bytes: u64,
}

/// The memory a batch of `batch` rows of `preset` at `precision` needs. Saturates
/// instead of overflowing for absurd batches, which then fail every limit.
pub fn footprint(preset: MlpPreset, precision: Precision, batch: usize) -> Footprint {
    let batch = batch as u64;
    let widest = preset.d_model.max(preset.d_hidden) as u64;
    // Padded like the GPU's storage (bf16 packs two per u32, rows rounded up).
    let elem = precision.bytes_per_element() as u64;
    let largest_buffer_bytes = batch.saturating_mul(widest + 1).saturating_mul(elem);
    let activations = batch.saturating_mul(2 * preset.d_model as u64 + preset.d_hidden as u64);
    let host_bytes = activations.saturating_mul(4 * HOST_COPIES);
    Footprint {
        largest_buffer_bytes,
        host_bytes,
    }
}

/// Checks every (preset, precision, batch) against one GPU adapter's limits.
pub fn check_adapter(
    adapter: &str,
    limits: &wgpu::Limits,
    presets: &[MlpPreset],
    precisions: &[Precision],
    batches: &[usize],
) -> Result<(), ProfileError> {
    let (limit, name) = if limits.max_storage_buffer_binding_size <= limits.max_buffer_size {
        (
            limits.max_storage_buffer_binding_size,
            "max_storage_buffer_binding_size",
        )
    } else {
        (limits.max_buffer_size, "max_buffer_size")
    };
    for_each(presets, precisions, batches, |pre, p, b| {
        let need = footprint(pre, p, b).largest_buffer_bytes;
        if need > limit {
            return Err(ProfileError::Invalid(format!(
                "batch {b} of {} in {p} needs a {} buffer; {adapter} allows at most {} ({name})",
                pre.workload(),
                bytes(need),
                bytes(limit)
            )));
        }
        Ok(())
    })
}

/// Checks every (preset, precision, batch) against the host memory available now
/// (`available_bytes`, e.g. from [`available_memory_bytes`]).
pub fn check_host(
    available_bytes: u64,
    presets: &[MlpPreset],
    precisions: &[Precision],
    batches: &[usize],
) -> Result<(), ProfileError> {
    let allowed = (available_bytes as f64 * HOST_SHARE) as u64;
    for_each(presets, precisions, batches, |pre, p, b| {
        let need = footprint(pre, p, b).host_bytes;
        if need > allowed {
            return Err(ProfileError::Invalid(format!(
                "batch {b} of {} in {p} needs about {} of memory; this machine has {} available (at most half of it is used)",
                pre.workload(),
                bytes(need),
                bytes(available_bytes)
            )));
        }
        Ok(())
    })
}

/// Host bytes one transformer row needs on the CPU: the f32 master weights and their
/// storage copy (both alive while the model is built), the activations of
/// batch × tokens rows, the KV cache and the attention scratch.
pub fn transformer_host_bytes(
    cfg: &TransformerConfig,
    precision: Precision,
    pass: Pass,
    (batch, len): (usize, usize),
) -> u64 {
    let e = precision.bytes_per_element() as u64;
    let params = accounting::total_params(cfg);
    let weights = params.saturating_mul(F32_BYTES + e);
    let (rows_per_seq, cache_cap) = match pass {
        Pass::Decode => (1, len as u64 + 1),
        _ => (len as u64, len as u64),
    };
    let (d, q, kv, i) = (
        cfg.hidden_size as u64,
        cfg.q_dim() as u64,
        cfg.kv_dim() as u64,
        cfg.intermediate_size as u64,
    );
    let per_row = F32_BYTES * d + e * (2 * d + q + 2 * kv + 2 * q + 3 * i);
    let rows = (batch as u64).saturating_mul(rows_per_seq);
    let cache_layers = if cfg.family.is_decoder() {
        cfg.num_layers as u64
    } else {
        1
    };
    let cache = (2 * cache_layers * kv * e)
        .saturating_mul(batch as u64)
        .saturating_mul(cache_cap);
    let scratch = ((crate::profile::cpu::threads() * ATTENTION_QUERY_BLOCK) as u64 * e)
        .saturating_mul(cache_cap);
    let logits = (cfg.vocab_size as u64 * e).saturating_mul(batch as u64);
    weights
        .saturating_add(rows.saturating_mul(per_row))
        .saturating_add(cache)
        .saturating_add(scratch)
        .saturating_add(logits)
}

/// Checks every transformer row of the run against the host memory available now.
pub fn check_host_transformers(
    available_bytes: u64,
    cfgs: &[TransformerConfig],
    precisions: &[Precision],
    plan: &SweepPlan<'_>,
) -> Result<(), ProfileError> {
    let allowed = (available_bytes as f64 * HOST_SHARE) as u64;
    let runnable = precisions
        .iter()
        .filter(|&&p| crate::profile::cpu::why_unsupported(p).is_none());
    for (cfg, &p) in cfgs
        .iter()
        .flat_map(|c| runnable.clone().map(move |p| (c, p)))
    {
        for &pass in Pass::for_family(cfg.family) {
            let shapes = plan
                .lens(pass)
                .iter()
                .flat_map(|&l| plan.batches.iter().map(move |&b| (b, l)));
            for (b, len) in shapes {
                let need = transformer_host_bytes(cfg, p, pass, (b, len));
                if need > allowed {
                    let weights =
                        accounting::total_params(cfg) * (F32_BYTES + p.bytes_per_element() as u64);
                    return Err(ProfileError::Invalid(format!(
                        "batch {b} × length {len} of {} in {p} needs about {} of memory (weights {}); this machine has {} available (at most half of it is used)",
                        pass.workload(&cfg.name),
                        bytes(need),
                        bytes(weights),
                        bytes(available_bytes)
                    )));
                }
            }
        }
    }
    Ok(())
}

/// Refuses `need_bytes` of host memory for `what` when that is more than the share of
/// `available_bytes` one run may use.
pub fn check_host_bytes(
    what: &str,
    need_bytes: u64,
    available_bytes: u64,
) -> Result<(), ProfileError> {
    let allowed = (available_bytes as f64 * HOST_SHARE) as u64;
    if need_bytes > allowed {
        return Err(ProfileError::Invalid(format!(
            "{what} needs about {} of memory; this machine has {} available (at most half of it is used)",
            bytes(need_bytes),
            bytes(available_bytes)
        )));
    }
    Ok(())
}

fn for_each(
    presets: &[MlpPreset],
    precisions: &[Precision],
    batches: &[usize],
    mut f: impl FnMut(MlpPreset, Precision, usize) -> Result<(), ProfileError>,
) -> Result<(), ProfileError> {
    for &pre in presets {
        for &p in precisions {
            for &b in batches {
                f(pre, p, b)?;
            }
        }
    }
    Ok(())
}

/// Host memory available to a new allocation, from `/proc/meminfo`'s `MemAvailable`;
/// `None` where that is not readable (then only the adapters' limits are checked).
pub fn available_memory_bytes() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/meminfo").ok()?;
    let line = text.lines().find(|l| l.starts_with("MemAvailable:"))?;
    let kib: u64 = line.split_whitespace().nth(1)?.parse().ok()?;
    Some(kib.saturating_mul(1024))
}

/// Bytes in binary units, three significant digits: `128 MiB`, `11.4 GiB`.
fn bytes(n: u64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = n as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit + 1 < UNITS.len() {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 || v >= 100.0 {
        format!("{v:.0} {}", UNITS[unit])
    } else if v >= 10.0 {
        format!("{v:.1} {}", UNITS[unit])
    } else {
        format!("{v:.2} {}", UNITS[unit])
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::workloads::mlp::PRESETS;

    #[test]
    fn a_huge_batch_names_the_limit_it_breaks() {
        let limits = wgpu::Limits {
            max_storage_buffer_binding_size: 128 << 20,
            max_buffer_size: 256 << 20,
            ..wgpu::Limits::default()
        };
        let bert = PRESETS[0];
        let e = check_adapter(
            "llvmpipe",
            &limits,
            &[bert],
            &[Precision::F32],
            &[1_000_000],
        )
        .unwrap_err()
        .to_string();
        assert!(e.contains("max_storage_buffer_binding_size"), "{e}");
        assert!(e.contains("batch 1000000 of mlp:bert-base"), "{e}");
        assert!(e.contains("128 MiB"), "{e}");
        assert!(check_adapter("x", &limits, &[bert], &Precision::ALL, &[1, 256]).is_ok());
        let e = check_host(8 << 30, &[bert], &[Precision::F32], &[4_294_967_296])
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("of memory") && e.contains("8.00 GiB available"),
            "{e}"
        );
        assert!(check_host(8 << 30, &[bert], &[Precision::F32], &[256]).is_ok());
    }

    #[test]
    fn absurd_batches_saturate_instead_of_overflowing() {
        let f = footprint(PRESETS[0], Precision::F32, usize::MAX);
        assert_eq!(f.host_bytes, u64::MAX);
        assert_eq!(f.largest_buffer_bytes, u64::MAX);
        assert_eq!(bytes(1536), "1.50 KiB");
        assert_eq!(bytes(11 * (1 << 30) + (1 << 29)), "11.5 GiB");
    }

    #[test]
    fn a_transformer_too_big_for_memory_is_refused_up_front() {
        let llama = TransformerConfig::lookup("Llama-3.1-8B").expect("shipped");
        let plan = SweepPlan {
            seq_lens: &[128],
            context_lens: &[512],
            batches: &[1],
            weights: None,
        };
        let e = check_host_transformers(16 << 30, &[llama], &[Precision::F32], &plan)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("prefill:Llama-3.1-8B") && e.contains("16.0 GiB available"),
            "{e}"
        );
        let tiny = TransformerConfig::lookup("tiny-llama").expect("shipped");
        assert!(
            check_host_transformers(
                16 << 30,
                std::slice::from_ref(&tiny),
                &Precision::ALL,
                &plan
            )
            .is_ok()
        );
        let huge = transformer_host_bytes(&tiny, Precision::F32, Pass::Prefill, (usize::MAX, 128));
        assert_eq!(huge, u64::MAX);
    }
}
