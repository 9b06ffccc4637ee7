//! App layer: a plot's legend as a row of its own above the data, never over it —
//! each series' swatch and name; a click hides or shows a series, Alt+click shows it
//! alone (again: all of them). The hidden names of a plot are kept in egui's memory
//! under the plot's key for as long as the window is open.

use eframe::egui::{self, Color32};

/// How a series is drawn, as its legend swatch shows it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Swatch {
    /// A line of this width, points; dashed or solid.
    Line {
        /// Stroke width, points.
        width: f32,
        /// Dashed (the Warm / cold plan as written).
        dashed: bool,
    },
    /// A marker (points without a line: the optimum, a policy's best).
    Marker,
    /// A filled block (a bar chart's series).
    Block,
}

/// One series in a legend.
#[derive(Debug, Clone, PartialEq)]
pub struct LegendEntry {
    /// The series' name, as its plot item is named.
    pub label: String,
    /// Its colour.
    pub color: Color32,
    /// How it is drawn.
    pub swatch: Swatch,
}

impl LegendEntry {
    /// A solid line of width 1.5 in `color`.
    pub fn line(label: impl Into<String>, color: Color32) -> Self {
        Self {
            label: label.into(),
            color,
            swatch: Swatch::Line {
                width: 1.5,
                dashed: false,
            },
        }
    }

    /// A marker in `color`.
    pub fn marker(label: impl Into<String>, color: Color32) -> Self {
        Self {
            label: label.into(),
            color,
            swatch: Swatch::Marker,
        }
    }

    /// A filled block in `color`.
    pub fn block(label: impl Into<String>, color: Color32) -> Self {
        Self {
            label: label.into(),
            color,
            swatch: Swatch::Block,
        }
    }
}

fn memory_id(key: &str) -> egui::Id {
    egui::Id::unique(("plot_legend_hidden", key))
}

/// The names hidden in the plot `key`'s legend.
pub fn hidden(ctx: &egui::Context, key: &str) -> Vec<String> {
    ctx.data(|d| d.get_temp::<Vec<String>>(memory_id(key)))
        .unwrap_or_default()
}

/// The legend row of the plot `key` (`entries`, a click hides, Alt+click isolates);
/// returns the names now hidden, for the plot to leave out.
pub fn plot_legend(ui: &mut egui::Ui, key: &str, entries: &[LegendEntry]) -> Vec<String> {
    let mut names = hidden(ui.ctx(), key);
    // A series gone from the plot (another report) is no longer hidden.
    names.retain(|n| entries.iter().any(|e| &e.label == n));
    let before = names.clone();
    legend_row(ui, entries, &mut names, "series");
    if names != before {
        ui.ctx()
            .data_mut(|d| d.insert_temp(memory_id(key), names.clone()));
    }
    names
}

/// A row of `entries`' swatches and names; a click on one hides or shows it in
/// `hidden`, Alt+click shows it alone. `what` names a series in the tooltip ("fleet").
pub fn legend_row(
    ui: &mut egui::Ui,
    entries: &[LegendEntry],
    hidden: &mut Vec<String>,
    what: &str,
) {
    let tip = format!("Click: hide or show this {what}. Alt+click: show it alone.");
    ui.horizontal_wrapped(|ui| {
        for e in entries {
            let is_hidden = hidden.contains(&e.label);
            let (rect, _) = ui.allocate_exact_size(egui::vec2(28.0, 14.0), egui::Sense::hover());
            let color = if is_hidden {
                e.color.gamma_multiply(0.3)
            } else {
                e.color
            };
            paint_swatch(ui.painter(), rect, color, e.swatch);
            let text = egui::RichText::new(&e.label);
            let text = if is_hidden {
                text.weak().strikethrough()
            } else {
                text
            };
            let response = ui
                .add(egui::Label::new(text).sense(egui::Sense::click()))
                .on_hover_text(&tip);
            // Screen readers (and tests) hear it as a checkbox: ticked while shown.
            response.widget_info(|| {
                egui::WidgetInfo::selected(egui::Role::CheckBox, true, !is_hidden, &e.label)
            });
            if response.clicked() {
                let alone = ui.input(|i| i.modifiers.alt);
                let labels: Vec<&str> = entries.iter().map(|e| e.label.as_str()).collect();
                toggle(hidden, &labels, &e.label, alone);
            }
        }
    });
}

/// `entries`' swatches and names as a plain row, nothing to click: the legend a
/// plot's PNG carries when on screen its panel shares one row above all its plots.
pub fn legend_strip(ui: &mut egui::Ui, entries: &[LegendEntry]) {
    for e in entries {
        let (rect, _) = ui.allocate_exact_size(egui::vec2(28.0, 14.0), egui::Sense::hover());
        paint_swatch(ui.painter(), rect, e.color, e.swatch);
        ui.label(&e.label);
    }
}

fn paint_swatch(painter: &egui::Painter, rect: egui::Rect, color: Color32, swatch: Swatch) {
    let (a, b) = (rect.left_center(), rect.right_center());
    match swatch {
        Swatch::Line { width, dashed } => {
            let stroke = egui::Stroke::new(width, color);
            if dashed {
                painter.add(egui::Shape::dashed_line(&[a, b], stroke, 6.0, 4.0));
            } else {
                painter.line_segment([a, b], stroke);
            }
        }
        Swatch::Marker => {
            painter.circle_filled(rect.center(), 4.0, color);
        }
        Swatch::Block => {
            painter.rect_filled(rect.shrink2(egui::vec2(6.0, 2.0)), 1.0, color);
        }
    }
}

/// Hides or shows `label`; `alone`: shows `label` only, or every series when it is
/// already the only one shown.
pub fn toggle(hidden: &mut Vec<String>, labels: &[&str], label: &str, alone: bool) {
    if alone {
        let only_it = labels
            .iter()
            .all(|l| (*l == label) != hidden.iter().any(|h| h == l));
        hidden.clear();
        if !only_it {
            hidden.extend(
                labels
                    .iter()
                    .filter(|l| **l != label)
                    .map(|l| (*l).to_owned()),
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
        let labels = ["a", "b", "c"];
        let mut hidden = Vec::new();
        toggle(&mut hidden, &labels, "b", false);
        assert_eq!(hidden, ["b"]);
        toggle(&mut hidden, &labels, "b", false);
        assert!(hidden.is_empty());
        toggle(&mut hidden, &labels, "a", true);
        assert_eq!(hidden, ["b", "c"]);
        // Isolating the one shown alone shows them all again.
        toggle(&mut hidden, &labels, "a", true);
        assert!(hidden.is_empty());
    }
}
