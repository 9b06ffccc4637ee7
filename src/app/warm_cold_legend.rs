//! App layer: how the Warm / cold panel draws its fleets — each in its policy's
//! palette colour, the plan as written dashed and the recommendation thick — and the
//! legend row above its plots, whose entries hide (click) or isolate (Alt+click) a
//! series in every plot.

use eframe::egui::{self, Color32};
use egui_plot::LineStyle;

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
    ui.horizontal_wrapped(|ui| {
        for s in styles {
            let is_hidden = hidden.contains(&s.label);
            let (rect, _) = ui.allocate_exact_size(egui::vec2(28.0, 14.0), egui::Sense::hover());
            let color = if is_hidden {
                s.color.gamma_multiply(0.3)
            } else {
                s.color
            };
            let stroke = egui::Stroke::new(s.width, color);
            let (a, b) = (rect.left_center(), rect.right_center());
            match s.style {
                LineStyle::Dashed { .. } => {
                    ui.painter()
                        .add(egui::Shape::dashed_line(&[a, b], stroke, 6.0, 4.0));
                }
                _ => {
                    ui.painter().line_segment([a, b], stroke);
                }
            }
            let text = egui::RichText::new(&s.label);
            let text = if is_hidden {
                text.weak().strikethrough()
            } else {
                text
            };
            let clicked = ui
                .add(egui::Label::new(text).sense(egui::Sense::click()))
                .on_hover_text(
                    "Click: hide or show this fleet in every plot. Alt+click: show it alone.",
                )
                .clicked();
            if clicked {
                let alone = ui.input(|i| i.modifiers.alt);
                toggle(hidden, styles, &s.label, alone);
            }
        }
    });
}

/// Hides or shows `label`; `alone`: shows `label` only, or every fleet when it is
/// already the only one shown.
fn toggle(hidden: &mut Vec<String>, styles: &[FleetStyle], label: &str, alone: bool) {
    if alone {
        let only_it = styles
            .iter()
            .all(|s| (s.label == label) != hidden.contains(&s.label));
        hidden.clear();
        if !only_it {
            hidden.extend(
                styles
                    .iter()
                    .filter(|s| s.label != label)
                    .map(|s| s.label.clone()),
            );
        }
    } else if let Some(i) = hidden.iter().position(|h| h == label) {
        hidden.remove(i);
    } else {
        hidden.push(label.to_owned());
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_legend_click_hides_and_an_alt_click_isolates() {
        let style = |label: &str| FleetStyle {
            label: label.into(),
            color: palette::BLUE,
            width: 1.0,
            style: LineStyle::Solid,
        };
        let styles = [style("a"), style("b"), style("c")];
        let mut hidden = Vec::new();
        toggle(&mut hidden, &styles, "b", false);
        assert_eq!(hidden, ["b"]);
        toggle(&mut hidden, &styles, "b", false);
        assert!(hidden.is_empty());
        toggle(&mut hidden, &styles, "a", true);
        assert_eq!(hidden, ["b", "c"]);
        // Isolating the one shown alone shows them all again.
        toggle(&mut hidden, &styles, "a", true);
        assert!(hidden.is_empty());
    }
}
