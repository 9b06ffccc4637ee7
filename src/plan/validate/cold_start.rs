//! Plan layer: range checks of `service.cold_start_parts` — each part in range, their
//! sum at most a day, and `service.cold_start_s` stating that sum.

use super::{Check, MAX_COLD_START_S, format_number};
use crate::model::ColdStartParts;
use crate::model::cold_start::SUM_TOLERANCE_S;

/// Fastest storage a plan may state, GB/s: 10 TB/s, past any disk, array or network
/// volume (a PCIe 5 NVMe drive reads about 14 GB/s).
pub const MAX_STORAGE_GBYTES_PER_S: f64 = 10_000.0;

/// Largest model a plan may state, bytes: a petabyte, far past any model.
pub const MAX_MODEL_BYTES: f64 = 1e15;

/// Checks the parts at `{at}.cold_start_parts` and that `{at}.cold_start_s` is their
/// sum.
pub(super) fn parts(c: &mut Check, at: &str, cold_start_s: f64, p: &ColdStartParts) {
    let path = |f: &str| format!("{at}.cold_start_parts.{f}");
    c.range(
        &path("instance_boot_s"),
        p.instance_boot_s,
        0.0,
        MAX_COLD_START_S,
    );
    c.positive(
        &path("storage_gbytes_per_s"),
        p.storage_gbytes_per_s,
        MAX_STORAGE_GBYTES_PER_S,
    );
    if let Some(bytes) = p.model_bytes {
        c.positive(&path("model_bytes"), bytes, MAX_MODEL_BYTES);
    }
    c.range(
        &path("device_setup_s"),
        p.device_setup_s,
        0.0,
        MAX_COLD_START_S,
    );
    if c.first.is_some() {
        return;
    }
    let sum_s = p.sum_s();
    if sum_s > MAX_COLD_START_S {
        c.fail(
            format!("{at}.cold_start_parts"),
            format!("{} s in all ({})", format_number(sum_s), p.describe()),
            format!("at most {} s (a day)", format_number(MAX_COLD_START_S)),
        );
    } else if !p.agrees_with(cold_start_s) {
        c.fail(
            format!("{at}.cold_start_s"),
            format_number(cold_start_s),
            format!(
                "the sum of {at}.cold_start_parts to {SUM_TOLERANCE_S} s: {} (write cold_start_s: {:.3}, or remove cold_start_parts)",
                p.describe(),
                sum_s
            ),
        );
    }
}

#[cfg(test)]
mod tests {
    use crate::plan::presets;
    use crate::plan::validate::validate;

    use super::*;

    /// The default preset with parts summing to its 45 s cold start (40 + 2 + 3).
    fn plan() -> crate::model::Plan {
        let mut plan = presets::load("healthcare-triage").unwrap();
        plan.service.cold_start_s = 45.0;
        plan.service.cold_start_parts = Some(ColdStartParts {
            instance_boot_s: 40.0,
            storage_gbytes_per_s: 0.5,
            model_bytes: Some(1e9),
            device_setup_s: 3.0,
        });
        plan
    }

    fn error(edit: impl FnOnce(&mut ColdStartParts)) -> (String, String, String) {
        let mut plan = plan();
        edit(plan.service.cold_start_parts.as_mut().unwrap());
        let v = validate(&plan).unwrap_err();
        (v.path, v.value, v.allowed)
    }

    #[test]
    fn parts_summing_to_the_cold_start_validate() {
        validate(&plan()).unwrap();
        // Within half a millisecond of the sum is the sum.
        let mut near = plan();
        near.service.cold_start_s = 45.0004;
        validate(&near).unwrap();
        // Without model bytes no load is counted: 40 + 3.
        let mut none = plan();
        none.service.cold_start_parts.as_mut().unwrap().model_bytes = None;
        none.service.cold_start_s = 43.0;
        validate(&none).unwrap();
    }

    #[test]
    fn each_part_out_of_range_is_named() {
        let (path, value, _) = error(|p| p.instance_boot_s = -1.0);
        assert_eq!(
            (path.as_str(), value.as_str()),
            ("service.cold_start_parts.instance_boot_s", "-1")
        );
        let (path, _, allowed) = error(|p| p.storage_gbytes_per_s = 0.0);
        assert_eq!(path, "service.cold_start_parts.storage_gbytes_per_s");
        assert_eq!(allowed, "greater than 0, at most 10000");
        let (path, value, _) = error(|p| p.model_bytes = Some(f64::NAN));
        assert_eq!(
            (path.as_str(), value.as_str()),
            ("service.cold_start_parts.model_bytes", "NaN")
        );
        let (path, _, _) = error(|p| p.device_setup_s = f64::INFINITY);
        assert_eq!(path, "service.cold_start_parts.device_setup_s");
        // A petabyte at 1 byte/ns is 10⁶ s: past a day in all.
        let (path, value, allowed) = error(|p| {
            p.model_bytes = Some(1e15);
            p.storage_gbytes_per_s = 1.0;
        });
        assert_eq!(path, "service.cold_start_parts");
        assert!(value.starts_with("1000043 s in all"), "{value}");
        assert_eq!(allowed, "at most 86400 s (a day)");
    }

    #[test]
    fn a_cold_start_that_is_not_the_sum_of_its_parts_is_an_error() {
        let mut plan = plan();
        plan.service.cold_start_s = 60.0;
        let v = validate(&plan).unwrap_err();
        assert_eq!(
            (v.path.as_str(), v.value.as_str()),
            ("service.cold_start_s", "60")
        );
        assert_eq!(
            v.allowed,
            "the sum of service.cold_start_parts to 0.0005 s: 45.000 s = 40.000 s instance boot + 2.000 s weight load (1000.0 MB at 0.5 GB/s) + 3.000 s device set-up (write cold_start_s: 45.000, or remove cold_start_parts)"
        );
    }
}
