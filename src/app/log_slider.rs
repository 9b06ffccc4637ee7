//! App layer: logarithmic sliders for rates, prices and sizes — a rail wide enough
//! that a short drag moves the value by a small factor, and a number box beside it
//! that takes a typed value ("250", "1e5", "2.5k", "5 000 000"), clamped to what the
//! plan accepts, so an edit never makes the plan invalid or NaN.

use eframe::egui;

use crate::app::format::fmt_sig;

/// Width kept for the number box beside the rail.
const VALUE_BOX_PX: f32 = 84.0;
/// The narrowest rail drawn, however narrow the panel.
const MIN_RAIL_PX: f32 = 160.0;
/// Significant digits the number box shows: enough to tell 1234 from 1235.
const BOX_DIGITS: usize = 4;

/// One logarithmic control: what the rail spans and what may be typed.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LogControl {
    /// The label shown above the rail, e.g. "peak request rate, req/s"; it also names
    /// the control's widgets, so it is unique in the app.
    pub label: &'static str,
    /// The rail's ends: the values people set most, a few decades wide.
    pub rail: (f64, f64),
    /// The values the plan accepts (its validation bounds); typed values are clamped
    /// to these, so a value outside the rail can still be typed.
    pub valid: (f64, f64),
}

impl LogControl {
    /// The control's label, rail and validation bounds.
    pub const fn new(label: &'static str, rail: (f64, f64), valid: (f64, f64)) -> Self {
        Self { label, rail, valid }
    }

    /// `typed` as the plan may hold it: clamped to the validation bounds; a value that
    /// is not a number keeps `before`.
    pub fn settle(&self, typed: f64, before: f64) -> f64 {
        if typed.is_nan() {
            return before;
        }
        typed.clamp(self.valid.0, self.valid.1)
    }

    /// Draws the label, the rail and the number box; edits `value` in place and
    /// returns the slider's response (changed when the value changed).
    pub fn ui(&self, ui: &mut egui::Ui, value: &mut f64) -> egui::Response {
        let label = ui.label(self.label);
        let before = *value;
        let mut edited = before;
        let rail_px = (ui.available_width() - VALUE_BOX_PX).max(MIN_RAIL_PX);
        // An id from the label, not from the widget count: a message that appears above
        // mid-drag (the best fleet changed) must not hand the drag to another widget.
        let id = egui::Id::unique(("log_control", self.label));
        let response = ui
            .scope_builder(egui::UiBuilder::new().scope_id(id), |ui| {
                ui.spacing_mut().slider_width = rail_px;
                ui.add(
                    egui::Slider::new(&mut edited, self.rail.0..=self.rail.1)
                        .logarithmic(true)
                        .smallest_positive(self.rail.0.max(f64::MIN_POSITIVE))
                        // Typed values may leave the rail; `settle` clamps them to the
                        // plan's bounds instead of the rail's.
                        .clamping(egui::SliderClamping::Never)
                        .custom_formatter(|x, _| fmt_sig(x, BOX_DIGITS))
                        .custom_parser(parse_number)
                        .update_while_editing(false),
                )
            })
            .inner
            .labelled_by(label.id);
        // Only an edit is clamped: a value the plan already holds stays as it is.
        if edited.to_bits() != before.to_bits() {
            *value = self.settle(edited, before);
        }
        response
    }
}

/// A typed number: digits with optional thousands separators (spaces, thin spaces,
/// commas, underscores), an exponent ("1e5") or a k / M / G suffix ("2.5k").
/// `None` for anything else, NaN and infinities included.
pub fn parse_number(text: &str) -> Option<f64> {
    let plain: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, ',' | '_'))
        .collect();
    let (digits, scale) = match plain.chars().last() {
        Some('k' | 'K') => (&plain[..plain.len() - 1], 1e3),
        Some('M') => (&plain[..plain.len() - 1], 1e6),
        Some('G') => (&plain[..plain.len() - 1], 1e9),
        _ => (plain.as_str(), 1.0),
    };
    // Rust parses "inf" and "NaN"; people do not mean them as a rate or a price.
    if !digits
        .chars()
        .all(|c| c.is_ascii_digit() || matches!(c, '.' | '-' | '+' | 'e' | 'E'))
    {
        return None;
    }
    let x = digits.parse::<f64>().ok()? * scale;
    x.is_finite().then_some(x)
}

/// A count (keys, servers) through a [`LogControl`]: shown and typed as a number,
/// stored rounded to a whole count.
pub fn count_ui(ui: &mut egui::Ui, control: &LogControl, count: &mut u64) -> egui::Response {
    // u64 counts here stay below 10^12, which f64 holds exactly.
    let mut x = *count as f64;
    let response = control.ui(ui, &mut x);
    let rounded = x.round().max(0.0) as u64;
    if rounded != *count {
        *count = rounded;
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn typed_numbers_read_as_people_write_them() {
        assert_eq!(parse_number("250"), Some(250.0));
        assert_eq!(parse_number(" 1e5 "), Some(1e5));
        assert_eq!(parse_number("2.5k"), Some(2500.0));
        assert_eq!(parse_number("3M"), Some(3e6));
        assert_eq!(parse_number("5 000 000"), Some(5e6));
        assert_eq!(parse_number("5\u{2009}000\u{2009}000"), Some(5e6));
        assert_eq!(parse_number("1,234.5"), Some(1234.5));
        assert_eq!(parse_number("0.001"), Some(0.001));
        assert_eq!(parse_number("NaN"), None);
        assert_eq!(parse_number("inf"), None);
        assert_eq!(parse_number("1e400"), None);
        assert_eq!(parse_number("abc"), None);
        assert_eq!(parse_number(""), None);
    }

    #[test]
    fn the_box_reads_back_what_it_shows() {
        for x in [250.0, 0.001_234, 100_000.0, 5e6, 1e-7] {
            let shown = fmt_sig(x, BOX_DIGITS);
            assert_eq!(parse_number(&shown), Some(x), "{shown}");
        }
    }

    #[test]
    fn typed_values_are_clamped_to_the_plan_bounds() {
        let c = LogControl::new("rate", (0.01, 1e5), (1e-6, 1e6));
        assert_eq!(c.settle(250.0, 30.0), 250.0);
        assert_eq!(c.settle(5e7, 30.0), 1e6);
        assert_eq!(c.settle(0.0, 30.0), 1e-6);
        assert_eq!(c.settle(-3.0, 30.0), 1e-6);
        assert_eq!(c.settle(f64::NAN, 30.0), 30.0);
        assert_eq!(c.settle(f64::INFINITY, 30.0), 1e6);
    }
}
