//! App layer: the model beside the simulation in the Warm / cold panel — for the plan
//! as written and the recommendation, the analytic cost, p95, p99 and cold-start share
//! beside this day's and the background verification's days, a model figure outside
//! their 95 % interval (beyond the simulation's noise) marked.

use eframe::egui;

use super::verify_job::{Checked, REPLICATIONS, VerifyState, current};
use super::warm_cold_fleets::FleetRole;
use super::warm_cold_run::{Day, FleetDay};
use crate::model::Metric;
use crate::model::objective::candidate_of;
use crate::sim::verify::{Interval, Verification};

/// One figure of a fleet: the model's, this day's, and the mean of the background
/// verification's days with its 95 % interval.
#[derive(Debug, Clone, PartialEq)]
pub struct Figure {
    /// What it is, with its unit.
    pub name: String,
    /// The model's value.
    pub model: Option<f64>,
    /// This simulated day's.
    pub day: Option<f64>,
    /// The verification's days: mean and 95 % half-width.
    pub days: Option<Interval>,
}

impl Figure {
    /// True when the model lies outside the simulated days' 95 % interval (noise alone
    /// would put it there one time in twenty); `None` without both.
    pub fn disagrees(&self) -> Option<bool> {
        Some(!self.days?.contains(self.model?))
    }
}

/// Cost, p95, p99 and the cold-start share of `fleet`, model beside simulation.
pub fn figures(fleet: &FleetDay, verified: Option<&Verification>) -> Vec<Figure> {
    let sim = fleet.sim.as_ref().ok();
    let model = fleet.spec.model.as_ref();
    let lat = |m: Metric| model.and_then(|e| e.latency_ms).map(|l| l.get(m));
    let sim_lat = |m: Metric| sim.and_then(|r| r.latency_ms).map(|l| l.get(m));
    let v = verified.map(|v| &v.simulated);
    let pct = |i: Interval| Interval {
        mean: 100.0 * i.mean,
        ci95: 100.0 * i.ci95,
    };
    vec![
        Figure {
            name: "$/hour".into(),
            model: model.map(|e| e.cost_usd_per_hour),
            day: sim.map(|r| r.cost_usd_per_hour),
            days: v.map(|s| s.cost_usd_per_hour),
        },
        Figure {
            name: "p95 ms".into(),
            model: lat(Metric::P95),
            day: sim_lat(Metric::P95),
            days: v.map(|s| s.p95_ms),
        },
        Figure {
            name: "p99 ms".into(),
            model: lat(Metric::P99),
            day: sim_lat(Metric::P99),
            days: v.map(|s| s.p99_ms),
        },
        Figure {
            name: "cold starts %".into(),
            model: model.map(|e| 100.0 * e.cold_start_fraction),
            day: sim.map(|r| 100.0 * r.cold_start_fraction),
            days: v.map(|s| pct(s.cold_start_fraction)),
        },
    ]
}

/// The verification of the fleet's candidate among `checked`, matched by policy and batch.
pub fn verification_of<'a>(
    day: &Day,
    fleet: &FleetDay,
    checked: &'a [Verification],
) -> Option<&'a Verification> {
    checked
        .iter()
        .find(|v| candidate_of(&day.plan, &v.candidate) == fleet.spec.candidate)
}

/// What bounds the simulation's noise: the verification of the day's plan, or why
/// there is none yet.
fn noise_bound(checked: Result<&Checked, &str>) -> String {
    match checked {
        Ok(c) => {
            let seed = c.options.seed;
            let last = seed.saturating_add(u64::from(c.options.replications.saturating_sub(1)));
            format!(
                "Model vs simulation: ≠ marks a model figure outside the 95 % interval of \
                 {} simulated days (seeds {seed}–{last}), beyond the simulation's noise.",
                c.options.replications
            )
        }
        Err(why) => format!("Model vs simulation (no noise bound: {why}):"),
    }
}

/// The plan as written and the recommendation, the model beside the simulation.
pub fn model_vs_sim_ui(ui: &mut egui::Ui, day: &Day) {
    let status = current(ui.ctx(), &day.plan);
    let checked = match status.as_deref().map(|s| &s.state) {
        Some(VerifyState::Done(c)) => Ok(c),
        Some(VerifyState::Failed(why)) => Err(format!("the verification failed: {why}")),
        Some(VerifyState::Nothing(why)) => Err(why.clone()),
        Some(VerifyState::Running) | None => {
            Err(format!("verifying {REPLICATIONS} days in the background"))
        }
    };
    ui.label(noise_bound(
        checked.as_ref().map_err(String::as_str).copied(),
    ));
    for role in [FleetRole::PlanAsWritten, FleetRole::Recommendation] {
        let Some(fleet) = day.fleets.iter().find(|f| f.spec.role == role) else {
            continue;
        };
        let verified = checked
            .as_ref()
            .ok()
            .and_then(|c| verification_of(day, fleet, &c.candidates));
        figures_ui(ui, &fleet.spec.label(), &figures(fleet, verified));
    }
}

fn figures_ui(ui: &mut egui::Ui, label: &str, rows: &[Figure]) {
    ui.strong(label);
    // Enough digits that a disagreement outside a narrow interval shows in the numbers.
    let fmt = |x: Option<f64>| x.map_or_else(|| "-".into(), |x| format!("{x:.3}"));
    egui::Grid::new(("warm_cold_model_vs_sim", label))
        .striped(true)
        .show(ui, |ui| {
            ui.label("");
            ui.strong("model").on_hover_text("The analytic model's figure.");
            ui.strong("this day").on_hover_text("The day simulated above.");
            ui.strong(format!("{REPLICATIONS} days ± 95 %"))
                .on_hover_text("The background verification: mean of its days and the half-width of its 95 % interval.");
            ui.end_row();
            for f in rows {
                ui.label(&f.name);
                if f.disagrees() == Some(true) {
                    ui.colored_label(ui.visuals().warn_fg_color, format!("{} ≠", fmt(f.model)));
                } else {
                    ui.label(fmt(f.model));
                }
                ui.label(fmt(f.day));
                ui.label(f.days.map_or_else(
                    || "-".into(),
                    |i| format!("{:.3} ± {:.3}", i.mean, i.ci95),
                ));
                ui.end_row();
            }
        });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::app::warm_cold_verdict::tests::{day, day_of};

    #[test]
    fn a_model_figure_outside_the_interval_disagrees() {
        let d = day(vec![day_of(1.0, 30.0)]);
        let f = Figure {
            name: "p95 ms".into(),
            model: Some(8.2),
            day: Some(8.3),
            days: Some(Interval {
                mean: 8.3,
                ci95: 0.02,
            }),
        };
        assert_eq!(f.disagrees(), Some(true));
        let inside = Figure {
            model: Some(8.31),
            ..f.clone()
        };
        assert_eq!(inside.disagrees(), Some(false));
        assert_eq!(Figure { days: None, ..f }.disagrees(), None);
        // Without a verification the figures still pair model and day.
        let rows = figures(&d.fleets[0], None);
        assert_eq!(rows[0].day, Some(1.0));
        assert!(rows.iter().all(|r| r.days.is_none() && r.model.is_some()));
    }
}
