//! App layer: how the Warm / cold panel draws its fleets — each in its policy's
//! palette colour, the plan as written dashed and the recommendation thick — and the
//! legend row above its plots, whose entries hide (click) or isolate (Alt+click) a
//! series in every plot.

use eframe::egui::{self, Color32};
use egui_plot::LineStyle;

use super::legend::{LegendEntry, Swatch};
use super::palette;
use super::warm_cold_fleets::{FleetRole, FleetSpec};
use crate::model::evaluation::kind_of;

/// A fleet as drawn: its name, its policy's colour and its stroke.
#[derive(Debug, Clone, PartialEq)]
pub struct FleetStyle {
    /// The name in the legend and the read-out.
    pub label: String,
    /// Its policy's palette colour.
    pub color: Color32,
    /// Line width, points: the recommendation thicker.
    pub width: f32,
    /// Dashed for the plan as written, solid otherwise.
    pub style: LineStyle,
}

/// How `spec` is drawn in every Warm / cold plot: its policy's colour
/// ([`palette::policy_color`]); the plan as written dashed and the recommendation
/// thick, so the two stay apart when they share a policy.
pub fn fleet_style(spec: &FleetSpec) -> FleetStyle {
    let (width, style) = match spec.role {
        FleetRole::PlanAsWritten => (2.0, LineStyle::dashed_loose()),
        FleetRole::Recommendation => (3.0, LineStyle::Solid),
        FleetRole::Comparison(_) => (1.5, LineStyle::Solid),
    };
    FleetStyle {
        label: spec.label(),
        color: palette::policy_color(kind_of(&spec.candidate.policy)),
        width,
        style,
    }
}

/// A row of the fleets' names in their colours and strokes: a click hides or shows a
/// fleet, Alt+click shows it alone (again: all).
pub fn legend_row(ui: &mut egui::Ui, styles: &[FleetStyle], hidden: &mut Vec<String>) {
    let entries: Vec<LegendEntry> = styles.iter().map(entry).collect();
    super::legend::legend_row(ui, &entries, hidden, "fleet in every plot");
}

/// The fleets `styles` not `hidden`, as a plain row for a plot's PNG (on screen the
/// panel's one legend row names them for every plot; the image stands alone).
pub fn png_legend_ui(ui: &mut egui::Ui, styles: &[FleetStyle], hidden: &[String]) {
    let entries: Vec<LegendEntry> = (styles.iter())
        .filter(|s| !hidden.contains(&s.label))
        .map(entry)
        .collect();
    super::legend::legend_strip(ui, &entries);
}

/// A fleet's legend entry: its name, colour and stroke.
fn entry(s: &FleetStyle) -> LegendEntry {
    LegendEntry {
        label: s.label.clone(),
        color: s.color,
        swatch: Swatch::Line {
            width: s.width,
            dashed: matches!(s.style, LineStyle::Dashed { .. }),
        },
    }
}
