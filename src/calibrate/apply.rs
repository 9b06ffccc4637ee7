//! Calibration layer: a calibration applied in part — the fields the user ticked taken
//! from the calibrated plan, every other field left as the original plan has it (the
//! app's "Use in plan" dialog lets each changed field be opted out).

use crate::model::Plan;

/// The field paths a calibration can change, as [`super::review::changes`] names them.
pub const FIELDS: [&str; 5] = [
    "service.batch_latency_ms",
    "service.service_cv",
    "service.cold_start_s",
    "hardware.power_w",
    "service.source",
];

/// `original` with the fields named in `fields` (paths of [`FIELDS`], as a
/// [`super::review::Change`] names them) taken from `calibrated`. Applying every field
/// gives `calibrated` (a calibration changes nothing else); applying none gives
/// `original`. A path not in [`FIELDS`] names nothing a calibration changes and is
/// ignored.
pub fn apply_changes(original: &Plan, calibrated: &Plan, fields: &[&str]) -> Plan {
    let mut out = original.clone();
    let (to, from) = (&mut out.service, &calibrated.service);
    for field in fields {
        match *field {
            "service.batch_latency_ms" => to.batch_latency_ms = from.batch_latency_ms.clone(),
            "service.service_cv" => to.service_cv = from.service_cv,
            "service.cold_start_s" => to.cold_start_s = from.cold_start_s,
            "service.source" => to.source = from.source.clone(),
            "hardware.power_w" => out.hardware.power_w = calibrated.hardware.power_w,
            _ => {}
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::calibrate::review;
    use crate::model::{Precision, Source};
    use crate::plan::presets;

    /// A preset and the same plan with every calibrated field changed.
    fn pair() -> (Plan, Plan) {
        let original = presets::load("healthcare-triage").unwrap();
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

    #[test]
    fn applying_every_field_gives_the_calibrated_plan_and_none_the_original() {
        let (original, calibrated) = pair();
        assert_ne!(original, calibrated);
        assert_eq!(apply_changes(&original, &calibrated, &FIELDS), calibrated);
        assert_eq!(apply_changes(&original, &calibrated, &[]), original);
        assert_eq!(
            apply_changes(&original, &calibrated, &["no.such.field"]),
            original
        );
    }

    #[test]
    fn applying_one_field_changes_only_it() {
        let (original, calibrated) = pair();
        for field in FIELDS {
            let applied = apply_changes(&original, &calibrated, &[field]);
            // review's before → after of the result against the original: exactly one row.
            let differ: Vec<String> = review::changes(&original, &applied, &[])
                .into_iter()
                .map(|c| c.field)
                .collect();
            assert_eq!(differ, vec![field.to_owned()], "applying {field}");
            // And the rest of the plan is the original's: undoing that one field restores it.
            assert_eq!(apply_changes(&applied, &original, &[field]), original);
        }
    }

    #[test]
    fn every_field_review_names_is_one_apply_knows() {
        let (original, calibrated) = pair();
        let named: Vec<String> = review::changes(&original, &calibrated, &[])
            .into_iter()
            .map(|c| c.field)
            .collect();
        assert_eq!(named, FIELDS.map(str::to_owned).to_vec());
    }
}
