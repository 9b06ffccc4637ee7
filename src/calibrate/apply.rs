//! Calibration layer: a calibration applied in part — the fields the user ticked taken
//! from the calibrated plan, every other field left as the original plan has it (the
//! app's "Use in plan" dialog lets each changed field be opted out).

use super::llm::{DECODE_FIELD, PREFILL_FIELD};
use super::parts::{DEVICE_SETUP, INSTANCE_BOOT, MODEL_BYTES, STORAGE};
use crate::model::Plan;

/// The field paths a calibration can change, as [`super::review::changes`] names them
/// (the iteration model's two groups only for an LLM plan, the cold-start parts only
/// for a plan that states them).
pub const FIELDS: [&str; 11] = [
    PREFILL_FIELD,
    DECODE_FIELD,
    "service.batch_latency_ms",
    "service.service_cv",
    INSTANCE_BOOT,
    STORAGE,
    MODEL_BYTES,
    DEVICE_SETUP,
    "service.cold_start_s",
    "hardware.power_w",
    "service.source",
];

/// True when `field` follows others in `calibrated` rather than being applied on its
/// own: a plan's cold start is the sum of its parts when it states them.
pub fn is_derived(calibrated: &Plan, field: &str) -> bool {
    field == "service.cold_start_s" && calibrated.service.cold_start_parts.is_some()
}

/// `original` with the fields named in `fields` (paths of [`FIELDS`], as a
/// [`super::review::Change`] names them) taken from `calibrated`. Applying every field
/// gives `calibrated` (a calibration changes nothing else); applying none gives
/// `original`. A path not in [`FIELDS`] names nothing a calibration changes and is
/// ignored. When the plan states cold-start parts, `service.cold_start_s` is not taken
/// on its own ([`is_derived`]): it becomes the sum of the parts applied, so a plan with
/// some parts opted out still states the sum of its parts.
pub fn apply_changes(original: &Plan, calibrated: &Plan, fields: &[&str]) -> Plan {
    let mut out = original.clone();
    let (to, from) = (&mut out.service, &calibrated.service);
    for field in fields {
        let parts = to
            .cold_start_parts
            .as_mut()
            .zip(from.cold_start_parts.as_ref());
        match (*field, parts) {
            ("service.batch_latency_ms", _) => to.batch_latency_ms = from.batch_latency_ms.clone(),
            ("service.service_cv", _) => to.service_cv = from.service_cv,
            ("service.cold_start_s", _) if !is_derived(calibrated, field) => {
                to.cold_start_s = from.cold_start_s
            }
            ("service.source", _) => to.source = from.source.clone(),
            (PREFILL_FIELD | DECODE_FIELD, _) => {
                if let (Some(t), Some(f)) = (to.llm.as_mut(), from.llm.as_ref()) {
                    let (t, f) = (&mut t.iteration, &f.iteration);
                    if *field == PREFILL_FIELD {
                        t.prefill_base_ms = f.prefill_base_ms;
                        t.prefill_ms_per_token = f.prefill_ms_per_token;
                    } else {
                        t.decode_base_ms = f.decode_base_ms;
                        t.decode_ms_per_seq = f.decode_ms_per_seq;
                        t.decode_ms_per_context_token = f.decode_ms_per_context_token;
                    }
                }
            }
            ("hardware.power_w", _) => out.hardware.power_w = calibrated.hardware.power_w,
            (INSTANCE_BOOT, Some((t, f))) => t.instance_boot_s = f.instance_boot_s,
            (STORAGE, Some((t, f))) => t.storage_gbytes_per_s = f.storage_gbytes_per_s,
            (MODEL_BYTES, Some((t, f))) => t.model_bytes = f.model_bytes,
            (DEVICE_SETUP, Some((t, f))) => t.device_setup_s = f.device_setup_s,
            _ => {}
        }
    }
    if let Some(p) = &out.service.cold_start_parts
        && out.service.cold_start_parts != original.service.cold_start_parts
    {
        out.service.cold_start_s = p.sum_s();
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibrate::review;
    use crate::model::{ColdStartParts, Precision, Source};
    use crate::plan::presets;

    /// A preset (without cold-start parts) and the same plan with every calibrated
    /// field changed.
    fn pair() -> (Plan, Plan) {
        let mut original = presets::load("healthcare-triage").unwrap();
        original.service.cold_start_parts = None;
        let mut calibrated = original.clone();
        let s = &mut calibrated.service;
        s.batch_latency_ms = vec![(1, 2.5), (4, 3.25)];
        s.service_cv += 0.1;
        s.cold_start_s += 1.0;
        s.source = Source::Profile {
            report: "r.json".into(),
            adapter: "cpu".into(),
            precision: Precision::F32,
            model: "small".into(),
        };
        calibrated.hardware.power_w += 25.0;
        (original, calibrated)
    }

    /// The same pair with cold-start parts: 40 s boot + 1 GB at 0.5 GB/s + 3 s, and
    /// after calibration every part changed and the cold start their new sum.
    fn pair_with_parts() -> (Plan, Plan) {
        let (mut original, mut calibrated) = pair();
        let parts = ColdStartParts {
            instance_boot_s: 40.0,
            storage_gbytes_per_s: 0.5,
            model_bytes: Some(1e9),
            device_setup_s: 3.0,
        };
        original.service.cold_start_s = parts.sum_s();
        original.service.cold_start_parts = Some(parts);
        let after = ColdStartParts {
            instance_boot_s: 41.0,
            storage_gbytes_per_s: 0.25,
            model_bytes: Some(2e8),
            device_setup_s: 0.3,
        };
        calibrated.service.cold_start_s = after.sum_s();
        calibrated.service.cold_start_parts = Some(after);
        (original, calibrated)
    }

    fn differ(a: &Plan, b: &Plan) -> Vec<String> {
        review::changes(a, b, &[])
            .into_iter()
            .filter(|c| c.before != c.after)
            .map(|c| c.field)
            .collect()
    }

    #[test]
    fn applying_every_field_gives_the_calibrated_plan_and_none_the_original() {
        for (original, calibrated) in [pair(), pair_with_parts()] {
            assert_ne!(original, calibrated);
            assert_eq!(apply_changes(&original, &calibrated, &FIELDS), calibrated);
            assert_eq!(apply_changes(&original, &calibrated, &[]), original);
            assert_eq!(
                apply_changes(&original, &calibrated, &["no.such.field"]),
                original
            );
        }
    }

    #[test]
    fn applying_one_field_changes_only_it() {
        let (original, calibrated) = pair();
        let request_level = FIELDS.iter().filter(|f| !f.starts_with("service.llm"));
        for field in request_level.filter(|f| !f.contains("cold_start_parts")) {
            let applied = apply_changes(&original, &calibrated, &[field]);
            // review's before → after of the result against the original: exactly one row.
            assert_eq!(
                differ(&original, &applied),
                vec![field.to_string()],
                "applying {field}"
            );
            // And the rest of the plan is the original's: undoing that one field restores it.
            assert_eq!(apply_changes(&applied, &original, &[field]), original);
        }
    }

    #[test]
    fn an_llm_plans_iteration_groups_apply_one_at_a_time() {
        let original = presets::load("llm-chatbot").unwrap();
        let mut calibrated = original.clone();
        let it = &mut calibrated.service.llm.as_mut().unwrap().iteration;
        it.prefill_base_ms = 1.5;
        it.prefill_ms_per_token = 0.01;
        it.decode_base_ms = 2.0;
        it.decode_ms_per_seq = 0.1;
        it.decode_ms_per_context_token = 0.0002;
        calibrated.service.batch_latency_ms = vec![(1, 600.0)];
        assert_eq!(apply_changes(&original, &calibrated, &FIELDS), calibrated);
        for field in [PREFILL_FIELD, DECODE_FIELD, "service.batch_latency_ms"] {
            let applied = apply_changes(&original, &calibrated, &[field]);
            assert_eq!(differ(&original, &applied), vec![field.to_string()]);
        }
        let prefill_only = apply_changes(&original, &calibrated, &[PREFILL_FIELD]);
        let (a, o) = (
            &prefill_only.service.llm.as_ref().unwrap().iteration,
            &original.service.llm.as_ref().unwrap().iteration,
        );
        assert_eq!((a.prefill_base_ms, a.prefill_ms_per_token), (1.5, 0.01));
        assert_eq!(a.decode_base_ms, o.decode_base_ms);
    }

    #[test]
    fn with_parts_the_cold_start_is_the_sum_of_the_parts_applied() {
        let (original, calibrated) = pair_with_parts();
        assert!(is_derived(&calibrated, "service.cold_start_s"));
        assert!(!is_derived(&pair().1, "service.cold_start_s"));
        // The sum alone is not applied: it follows the parts.
        let alone = apply_changes(&original, &calibrated, &["service.cold_start_s"]);
        assert_eq!(alone, original);
        // One part: it and the sum change, nothing else.
        let one = apply_changes(&original, &calibrated, &[DEVICE_SETUP]);
        assert_eq!(
            differ(&original, &one),
            [DEVICE_SETUP, "service.cold_start_s"]
        );
        // 40 s + 1e9 B / 0.5 GB/s + 0.3 s.
        assert!((one.service.cold_start_s - 42.3).abs() < 1e-12);
        crate::plan::validate::validate(&one).unwrap();
        // Every part but the bytes: 41 + 1e9 / 0.25e9 + 0.3.
        let most = apply_changes(
            &original,
            &calibrated,
            &[INSTANCE_BOOT, STORAGE, DEVICE_SETUP],
        );
        assert!((most.service.cold_start_s - 45.3).abs() < 1e-12);
    }

    #[test]
    fn every_field_review_names_is_one_apply_knows() {
        let (original, calibrated) = pair_with_parts();
        let named: Vec<String> = review::changes(&original, &calibrated, &[])
            .into_iter()
            .map(|c| c.field)
            .collect();
        // A request-level plan has no iteration model to name.
        let request_level: Vec<String> = FIELDS[2..].iter().map(|f| f.to_string()).collect();
        assert_eq!(named, request_level);
        // Without parts, review names no part.
        let (original, calibrated) = pair();
        let named = differ(&original, &calibrated);
        assert!(
            named.iter().all(|f| !f.contains("cold_start_parts")),
            "{named:?}"
        );
    }
}
