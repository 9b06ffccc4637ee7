//! App layer: "the best fleet changed" — the recommendation before and after a change
//! of the plan that made the optimiser pick another fleet, and the line the panel that
//! made the change shows.

use eframe::egui;

use super::format::{fmt_sig, fmt_sig_pair};
use super::state::Tab;
use crate::model::compare::FleetFigures;

/// The recommendation before and after a change of the plan that picked another
/// fleet, shown by the panel whose control made the change until the next change.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetChange {
    /// The panel that was open when the plan changed.
    pub tab: Tab,
    /// The recommendation before (none: no feasible fleet).
    pub from: Option<FleetFigures>,
    /// The recommendation now (kept current while the same panel moves the plan on
    /// without changing the fleet again).
    pub to: Option<FleetFigures>,
}

impl FleetChange {
    /// The change to show after the plan changed on `tab`, the recommendation going
    /// from `from` to `to`: a new change when the fleet differs; else the `previous`
    /// change, its new side brought up to date, if `tab` made it; else none (another
    /// panel's change is the latest, and it changed no fleet).
    pub fn after(
        previous: Option<FleetChange>,
        tab: Tab,
        from: Option<FleetFigures>,
        to: Option<FleetFigures>,
    ) -> Option<FleetChange> {
        let fleet = |f: &Option<FleetFigures>| f.as_ref().map(|f| f.fleet.clone());
        if fleet(&from) != fleet(&to) {
            return Some(FleetChange { tab, from, to });
        }
        previous
            .filter(|c| c.tab == tab)
            .map(|c| FleetChange { to, ..c })
    }

    /// "the best fleet changed: A -> B (cost a -> b $/hour, p95 c -> d ms)" (egui's font
    /// has no arrow glyph).
    pub fn message(&self) -> String {
        let fleet = |f: &Option<FleetFigures>| {
            f.as_ref()
                .map_or_else(|| "no feasible fleet".to_owned(), |f| f.fleet.clone())
        };
        let (a, b) = (&self.from, &self.to);
        let cost = |f: &Option<FleetFigures>| f.as_ref().map(|f| f.cost_usd_per_hour);
        let p95 = |f: &Option<FleetFigures>| f.as_ref().and_then(|f| f.p95_ms);
        let (cost_a, cost_b) = sig_pair(cost(a), cost(b));
        let (p95_a, p95_b) = sig_pair(p95(a), p95(b));
        format!(
            "the best fleet changed: {} -> {} (cost {cost_a} -> {cost_b} $/hour, p95 {p95_a} -> {p95_b} ms)",
            fleet(a),
            fleet(b),
        )
    }
}

/// Before and after in significant digits, as many as it takes to tell them apart;
/// "-" for a figure that does not exist.
fn sig_pair(before: Option<f64>, after: Option<f64>) -> (String, String) {
    let one = |x: Option<f64>| x.map_or_else(|| "-".to_owned(), |x| fmt_sig(x, 3));
    match (before, after) {
        (Some(x), Some(y)) => fmt_sig_pair(x, y, 3),
        _ => (one(before), one(after)),
    }
}

/// "the best fleet changed: …" when a control of `tab` changed the recommended fleet,
/// until the next change.
pub fn fleet_change_ui(ui: &mut egui::Ui, change: Option<&FleetChange>, tab: Tab) {
    if let Some(c) = change.filter(|c| c.tab == tab) {
        ui.colored_label(ui.visuals().warn_fg_color, c.message())
            .on_hover_text(
                "The last change on this panel made the optimiser pick another fleet: \
                 the recommendation before it -> the recommendation now.",
            );
        ui.separator();
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn fleet(name: &str, cost: f64, p95: f64) -> Option<FleetFigures> {
        Some(FleetFigures {
            fleet: name.into(),
            cost_usd_per_hour: cost,
            p95_ms: Some(p95),
        })
    }

    #[test]
    fn a_change_lasts_until_the_next_change() {
        let a = fleet("always_on servers=1 batch=1", 0.732, 8.2);
        let b = fleet("always_on servers=2 batch=4", 1.052, 24.5);
        let b_later = fleet("always_on servers=2 batch=4", 1.1, 20.0);
        // Costs that differ past 3 significant digits get the digits to tell them apart.
        let near = FleetChange::after(None, Tab::Caching, a.clone(), fleet("x", 0.7321, 8.2));
        assert!(
            near.unwrap()
                .message()
                .contains("(cost 0.732 -> 0.7321 $/hour, p95 8.2 -> 8.2 ms)")
        );
        // The fleet changed on the Caching panel.
        let c = FleetChange::after(None, Tab::Caching, a.clone(), b.clone()).unwrap();
        assert_eq!(
            c.message(),
            "the best fleet changed: always_on servers=1 batch=1 -> always_on servers=2 \
             batch=4 (cost 0.732 -> 1.05 $/hour, p95 8.2 -> 24.5 ms)"
        );
        // The same panel moves on, same fleet: the new side follows the recommendation.
        let c = FleetChange::after(Some(c), Tab::Caching, b.clone(), b_later.clone()).unwrap();
        assert_eq!((&c.from, &c.to), (&a, &b_later));
        // Another panel changes the plan without changing the fleet: that is the latest.
        assert_eq!(
            FleetChange::after(Some(c), Tab::Explore, b.clone(), b),
            None
        );
        // Nothing feasible any more.
        let gone = FleetChange::after(None, Tab::Explore, a, None).unwrap();
        assert!(
            gone.message()
                .contains("-> no feasible fleet (cost 0.732 -> - $/hour, p95 8.2 -> - ms)"),
            "{}",
            gone.message()
        );
    }
}
