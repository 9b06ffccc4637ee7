//! Calibration layer: what a calibration changed and what the user should know before
//! accepting it — the before → after of every field, the rows used, a monotone L(b)
//! (fitted, and said), and warnings about what the profile cannot tell.

use serde::Serialize;

use super::llm::{DECODE_FIELD, PREFILL_FIELD};
use super::parts;
use crate::model::llm_types::IterationTime;
use crate::model::{ColdStartParts, Plan, Source};

/// Substrings of adapter names that are the CPU emulating a GPU.
const SOFTWARE_ADAPTERS: [&str; 3] = ["llvmpipe", "lavapipe", "swiftshader"];

/// One field a calibration changed (or deliberately kept), for the user to read.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Change {
    /// The plan's field path, e.g. `service.batch_latency_ms`.
    pub field: String,
    /// The value before, as text.
    pub before: String,
    /// The value after, as text (the same when kept).
    pub after: String,
    /// Where the new value came from, or why the old one was kept.
    pub why: String,
}

/// The fields of `before` that differ in `after`, with the reasons in `why` (keyed by
/// field path; a field without a reason gets "measured").
pub fn changes(before: &Plan, after: &Plan, why: &[(&str, String)]) -> Vec<Change> {
    let reason = |f: &str| {
        why.iter()
            .find(|(k, _)| *k == f)
            .map_or_else(|| "measured".to_owned(), |(_, w)| w.clone())
    };
    let (b, a) = (&before.service, &after.service);
    let mut fields = Vec::new();
    // An LLM plan's timing is its iteration model, in two groups fitted together.
    if let (Some(lb), Some(la)) = (&b.llm, &a.llm) {
        let (ib, ia) = (&lb.iteration, &la.iteration);
        fields.push((PREFILL_FIELD, prefill(ib), prefill(ia)));
        fields.push((DECODE_FIELD, decode(ib), decode(ia)));
    }
    fields.extend([
        (
            "service.batch_latency_ms",
            curve(&b.batch_latency_ms),
            curve(&a.batch_latency_ms),
        ),
        (
            "service.service_cv",
            format!("{}", b.service_cv),
            format!("{}", a.service_cv),
        ),
    ]);
    // Each named part before the sum they make, when either plan names them.
    if b.cold_start_parts.is_some() || a.cold_start_parts.is_some() {
        let (pb, pa) = (b.cold_start_parts.as_ref(), a.cold_start_parts.as_ref());
        for (field, value) in PARTS {
            fields.push((field, part(pb, value), part(pa, value)));
        }
    }
    fields.extend([
        (
            "service.cold_start_s",
            short(b.cold_start_s),
            short(a.cold_start_s),
        ),
        (
            "hardware.power_w",
            format!("{}", before.hardware.power_w),
            format!("{}", after.hardware.power_w),
        ),
        ("service.source", source(&b.source), source(&a.source)),
    ]);
    fields
        .into_iter()
        .filter(|(f, x, y)| x != y || why.iter().any(|(k, _)| k == f))
        .map(|(f, x, y)| Change {
            field: f.to_owned(),
            before: x,
            after: y,
            why: reason(f),
        })
        .collect()
}

/// A cold-start part's value (`None` when stated as unknown).
type PartValue = fn(&ColdStartParts) -> Option<f64>;

/// The cold-start parts by field path, in the order they are added up.
const PARTS: [(&str, PartValue); 4] = [
    (parts::INSTANCE_BOOT, |p| Some(p.instance_boot_s)),
    (parts::STORAGE, |p| Some(p.storage_gbytes_per_s)),
    (parts::MODEL_BYTES, |p| p.model_bytes),
    (parts::DEVICE_SETUP, |p| Some(p.device_setup_s)),
];

/// One part as text: its number, "None" when the plan leaves it unknown, "absent"
/// when the plan states no parts.
fn part(p: Option<&ColdStartParts>, value: PartValue) -> String {
    match p.map(value) {
        Some(Some(x)) => short(x),
        Some(None) => "None".to_owned(),
        None => "absent".to_owned(),
    }
}

/// Significant digits a cold start or one of its parts is shown with: a measured
/// 0.6110437504 s reads 0.611044, a stated 0.131072 GB/s or 217780224 bytes as written.
const SHOWN_DIGITS: i32 = 6;

/// `x` to [`SHOWN_DIGITS`] significant digits (never rounding the integer part),
/// trailing zeros dropped: `45`, `3.3385`, `40.6138`.
fn short(x: f64) -> String {
    if !x.is_finite() || x == 0.0 {
        return format!("{x}");
    }
    let magnitude = x.abs().log10().floor() as i32;
    let decimals = (SHOWN_DIGITS - 1 - magnitude).max(0) as usize;
    let text = format!("{x:.decimals$}");
    if text.contains('.') {
        text.trim_end_matches('0').trim_end_matches('.').to_owned()
    } else {
        text
    }
}

/// The prefill coefficients as text: "60 ms + 0.27 ms/token".
fn prefill(it: &IterationTime) -> String {
    format!(
        "{} ms + {} ms/token",
        short(it.prefill_base_ms),
        short(it.prefill_ms_per_token)
    )
}

/// The decode coefficients as text: "60 ms + 0.27 ms/seq + 0.00049 ms/context token".
fn decode(it: &IterationTime) -> String {
    format!(
        "{} ms + {} ms/seq + {} ms/context token",
        short(it.decode_base_ms),
        short(it.decode_ms_per_seq),
        short(it.decode_ms_per_context_token)
    )
}

fn curve(points: &[(u32, f64)]) -> String {
    let p: Vec<String> = points
        .iter()
        .map(|(b, ms)| format!("{b}: {ms:.3}"))
        .collect();
    format!("[{}] ms", p.join(", "))
}

fn source(s: &Source) -> String {
    match s {
        Source::Manual => "Manual".into(),
        Source::Profile {
            report,
            adapter,
            precision,
            model,
        } => format!("Profile({report}, {adapter}, {precision}, {model})"),
    }
}

/// L(b) made non-decreasing in the batch by pooling adjacent violators (isotonic
/// regression, equal weights): a bigger batch is never faster than a smaller one.
/// Returns the curve and whether it had to change.
pub fn monotone(points: &[(u32, f64)]) -> (Vec<(u32, f64)>, bool) {
    // Blocks of (sum, count, first index) whose means never decrease.
    let mut blocks: Vec<(f64, usize)> = Vec::new();
    for &(_, ms) in points {
        blocks.push((ms, 1));
        while blocks.len() >= 2 {
            let n = blocks.len();
            let (s1, c1) = blocks[n - 2];
            let (s2, c2) = blocks[n - 1];
            if s1 / c1 as f64 <= s2 / c2 as f64 {
                break;
            }
            blocks.truncate(n - 2);
            blocks.push((s1 + s2, c1 + c2));
        }
    }
    let means = blocks
        .iter()
        .flat_map(|&(s, c)| std::iter::repeat_n(s / c as f64, c));
    let fitted: Vec<(u32, f64)> = points
        .iter()
        .zip(means)
        .map(|(&(b, _), m)| (b, m))
        .collect();
    let changed = fitted.iter().zip(points).any(|(f, p)| f.1 != p.1);
    (fitted, changed)
}

/// The first pair (smaller batch, larger batch) where the larger one is faster.
pub fn first_inversion(points: &[(u32, f64)]) -> Option<((u32, f64), (u32, f64))> {
    points
        .windows(2)
        .find(|w| w[1].1 < w[0].1)
        .map(|w| (w[0], w[1]))
}

/// True when `adapter` is a software rasteriser (the CPU emulating a GPU).
pub fn is_software(adapter: &str) -> bool {
    let a = adapter.to_ascii_lowercase();
    SOFTWARE_ADAPTERS.iter().any(|s| a.contains(s))
}

/// Warnings about the device the numbers came from, against the plan's hardware.
pub fn device_warnings(plan: &Plan, device: &str) -> Vec<String> {
    let mut w = Vec::new();
    if is_software(device) {
        w.push(format!(
            "{device} is the CPU emulating a GPU: its latencies are not those of any GPU"
        ));
    }
    let hw = &plan.hardware;
    let named = device
        .to_ascii_lowercase()
        .contains(&hw.name.to_ascii_lowercase());
    if !named && hw.speed_vs_profiled == 1.0 {
        w.push(format!(
            "the plan's hardware '{}' is not the profiled device '{device}' while \
             hardware.speed_vs_profiled is 1.0: the plan now assumes '{}' is exactly as fast",
            hw.name, hw.name
        ));
    }
    w
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bigger_batch_is_never_faster_after_the_fit() {
        let (fit, changed) = monotone(&[(1, 4.56), (8, 2.98), (16, 6.0)]);
        assert!(changed);
        assert_eq!(fit[0].1, fit[1].1);
        assert!((fit[0].1 - (4.56 + 2.98) / 2.0).abs() < 1e-12);
        assert_eq!(fit[2], (16, 6.0));
        let ok = [(1, 1.0), (2, 1.5), (4, 1.5)];
        assert_eq!(monotone(&ok), (ok.to_vec(), false));
        assert_eq!(
            first_inversion(&[(1, 4.56), (8, 2.98)]),
            Some(((1, 4.56), (8, 2.98)))
        );
    }

    #[test]
    fn cold_start_figures_are_shown_to_six_digits() {
        assert_eq!(short(45.0), "45");
        assert_eq!(short(3.3385), "3.3385");
        assert_eq!(short(0.131072), "0.131072");
        assert_eq!(short(0.6110437504265135), "0.611044");
        assert_eq!(short(40.61384062542651), "40.6138");
        assert_eq!(short(217780224.0), "217780224");
        assert_eq!(short(0.0), "0");
    }

    #[test]
    fn software_adapters_are_recognised() {
        assert!(is_software("llvmpipe (LLVM 15.0.6, 256 bits) [vulkan]"));
        assert!(is_software("SwiftShader Device"));
        assert!(!is_software("NVIDIA H200"));
    }
}
