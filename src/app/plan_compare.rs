//! App layer: the Plan panel's comparison — the other plan, named by a path or a
//! shipped preset (as the CLI takes them), and the two recommendations row by row with
//! the difference (B − A, signed, in the row's unit) and which is better.

use eframe::egui;

use super::explore_ui::describe;
use super::format::{fmt_sig, fmt_sig_pair};
use super::plan_ui::PlanPanel;
use super::state::Results;
use super::text::{MAX_NAME_CHARS, elide};
use crate::model::{Evaluation, Plan};
use crate::plan::presets::PRESETS;

/// The plan to compare with, from what the compare field holds: a file when one
/// exists at that path, else the shipped preset of that name (as `costscope plan`
/// reads its argument). The error names what was tried.
pub fn load_other(text: &str) -> Result<Plan, String> {
    let text = text.trim();
    if text.is_empty() {
        return Err("compare: type a plan file or pick a preset to compare with".into());
    }
    crate::plan::load(text)
        .map(|(plan, _)| plan)
        .map_err(|e| e.to_string())
}

/// Which way a row's figure is better.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Better {
    /// The lower figure is better (cost, latency, J, cold starts).
    Lower,
    /// Neither way is better in itself (utilisation: high is cheap, low is headroom).
    Neither,
}

/// One row of the comparison: its label and unit, the figure of each plan's
/// recommendation (none when it has no feasible one or the figure is undefined), and
/// which way is better.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareRow {
    /// What the row shows.
    pub label: &'static str,
    /// The unit of the figures and the difference ("$/hour", "ms", "%", "").
    pub unit: &'static str,
    /// This plan's figure.
    pub a: Option<f64>,
    /// The other plan's figure.
    pub b: Option<f64>,
    /// Which way is better.
    pub better: Better,
}

impl CompareRow {
    /// B − A, signed with its unit ("+0.25 $/hour", "−3 ms", "0 ms"); "-" without both.
    pub fn difference(&self) -> String {
        let (Some(a), Some(b)) = (self.a, self.b) else {
            return "-".into();
        };
        let d = b - a;
        let sign = if d > 0.0 { "+" } else { "" };
        let text = format!("{sign}{}", fmt_sig(d, 3)).replace('-', "−");
        if self.unit.is_empty() {
            text
        } else {
            format!("{text} {}", self.unit)
        }
    }

    /// Which plan is better on this row: `Some(false)` for this one (A), `Some(true)`
    /// for the other (B), `None` when they are equal, a figure is missing or neither
    /// way is better.
    pub fn b_is_better(&self) -> Option<bool> {
        let (Some(a), Some(b), Better::Lower) = (self.a, self.b, self.better) else {
            return None;
        };
        (a != b).then_some(b < a)
    }
}

/// The rows compared for two recommendations.
pub fn compare_rows(a: Option<&Evaluation>, b: Option<&Evaluation>) -> Vec<CompareRow> {
    type Figure = fn(&Evaluation) -> Option<f64>;
    let rows: [(&'static str, &'static str, Better, Figure); 6] = [
        ("cost", "$/hour", Better::Lower, |e| {
            Some(e.cost_usd_per_hour)
        }),
        ("cost per million", "$", Better::Lower, |e| {
            e.cost_usd_per_million
        }),
        ("p95 latency", "ms", Better::Lower, |e| {
            e.latency_ms.map(|l| l.p95)
        }),
        ("objective J", "", Better::Lower, |e| e.objective),
        ("utilisation", "%", Better::Neither, |e| {
            Some(e.utilization * 100.0)
        }),
        ("cold starts", "%", Better::Lower, |e| {
            Some(e.cold_start_fraction * 100.0)
        }),
    ];
    rows.into_iter()
        .map(|(label, unit, better, f)| CompareRow {
            label,
            unit,
            a: a.and_then(f),
            b: b.and_then(f),
            better,
        })
        .collect()
}

/// The recommendation of this plan beside the other one's, row by row, with the
/// difference and which is better.
pub fn compare_ui(ui: &mut egui::Ui, this: &Results, other: &Results) {
    let (a, b) = (this.best(), other.best());
    let (name_a, name_b) = (
        elide(&this.plan.name, MAX_NAME_CHARS),
        elide(&other.plan.name, MAX_NAME_CHARS),
    );
    egui::Grid::new("compare").striped(true).show(ui, |ui| {
        for head in ["", "A: this plan", "B: other plan", "B − A", "better"] {
            ui.strong(head);
        }
        ui.end_row();
        ui.label("plan");
        ui.label(name_a.as_ref());
        ui.label(name_b.as_ref());
        ui.end_row();
        let words = |e: Option<&Evaluation>| e.map_or_else(|| "no feasible plan".into(), describe);
        ui.label("recommended");
        ui.label(words(a));
        ui.label(words(b));
        ui.end_row();
        for row in compare_rows(a, b) {
            let cell = |x: Option<f64>| x.map_or_else(|| "-".into(), |v| fmt_sig(v, 3));
            let (mut left, mut right) = (cell(row.a), cell(row.b));
            // Two costs side by side: as many digits as it takes to tell them apart.
            if let (Some(x), Some(y), "$/hour") = (row.a, row.b, row.unit) {
                (left, right) = fmt_sig_pair(x, y, 3);
            }
            let unit = |s: String| match (s.as_str(), row.unit) {
                ("-", _) | (_, "") => s,
                _ => format!("{s} {}", row.unit),
            };
            ui.label(row.label);
            ui.label(unit(left));
            ui.label(unit(right));
            ui.label(row.difference());
            ui.label(match row.b_is_better() {
                Some(true) => "B",
                Some(false) => "A",
                None if row.better == Better::Neither => "-",
                None => "equal",
            });
            ui.end_row();
        }
    });
}

impl PlanPanel {
    /// The other plan's path or preset name, a picker of the shipped presets, and
    /// Compare.
    pub(super) fn compare_bar_ui(&mut self, ui: &mut egui::Ui) {
        ui.horizontal(|ui| {
            let label = ui.label("other plan:");
            ui.add(egui::TextEdit::singleline(&mut self.compare_input).desired_width(300.0))
                .labelled_by(label.id)
                .on_hover_text("A second .ron plan file, or a shipped preset's name, to compare this one with.");
            let mut picked = None;
            egui::ComboBox::from_id_salt("compare_preset")
                .selected_text("preset…")
                .show_ui(ui, |ui| {
                    for p in PRESETS {
                        if ui.selectable_label(false, p.name).clicked() {
                            picked = Some(p.name);
                        }
                    }
                })
                .response
                .on_hover_text("Compare with a shipped preset.");
            if let Some(name) = picked {
                self.compare_input = name.to_owned();
                self.load_compare();
            }
            if ui
                .button("Compare")
                .on_hover_text("Load the other plan and show both recommendations side by side.")
                .clicked()
            {
                self.load_compare();
            }
        });
    }

    /// Loads the plan to compare with (a file, else a preset of that name); a bad one
    /// shows its error.
    fn load_compare(&mut self) {
        match load_other(&self.compare_input) {
            Ok(plan) => {
                self.compare = Some(Results::compute(&plan));
                self.file_error = None;
            }
            Err(e) => self.file_error = Some(e),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn two_presets_compare_with_signed_differences_and_the_better_side() {
        let a = Results::compute(&load_other("startup-transcribe").unwrap());
        let b = Results::compute(&load_other("healthcare-triage").unwrap());
        let (ea, eb) = (a.best().unwrap(), b.best().unwrap());
        let rows = compare_rows(Some(ea), Some(eb));
        let cost = &rows[0];
        assert_eq!(
            (cost.a, cost.b),
            (Some(ea.cost_usd_per_hour), Some(eb.cost_usd_per_hour))
        );
        let d = eb.cost_usd_per_hour - ea.cost_usd_per_hour;
        let expected =
            format!("{}{} $/hour", if d > 0.0 { "+" } else { "" }, fmt_sig(d, 3)).replace('-', "−");
        assert_eq!(cost.difference(), expected);
        assert_eq!(cost.b_is_better(), Some(d < 0.0));
        let p95 = &rows[2];
        assert!(p95.difference().ends_with(" ms"));
        let util = &rows[4];
        assert_eq!(util.b_is_better(), None, "utilisation has no better side");
        // The same plan on both sides: zero differences, no side better.
        let same = compare_rows(Some(ea), Some(ea));
        assert_eq!(same[0].difference(), "0 $/hour");
        assert!(same.iter().all(|r| r.b_is_better().is_none()));
    }

    #[test]
    fn the_compare_field_takes_a_preset_name_or_a_path_and_names_what_failed() {
        assert_eq!(
            load_other(" spot-sweep ").unwrap().name,
            crate::plan::presets::load("spot-sweep").unwrap().name
        );
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/presets/textbook-mmc.ron");
        assert_eq!(
            load_other(path).unwrap(),
            crate::plan::presets::load("textbook-mmc").unwrap()
        );
        let err = load_other("no-such-plan").unwrap_err();
        assert!(err.contains("no-such-plan"), "{err}");
        assert!(load_other("  ").is_err());
    }
}
