//! App layer: plot axes people can read — linear axes with at least four labelled
//! ticks at 1–2–5 steps, a minimum span so a flat series does not zoom into its
//! rounding noise, and log axes plotted as log10 but labelled 1 / 10 / 1k / 1M.

use eframe::egui;
use egui_plot::{AxisHints, GridInput, GridMark, Plot};

use super::format::{fmt_compact, fmt_sig, thousands};

/// The fewest labelled (major) ticks an axis shows.
pub const MIN_TICKS: usize = 4;

/// The largest 1–2–5 step that puts at least [`MIN_TICKS`] multiples in a span.
fn major_step(span: f64) -> f64 {
    let rough = (span / MIN_TICKS as f64).max(f64::MIN_POSITIVE);
    let decade = 10f64.powf(rough.log10().floor());
    [5.0, 2.0, 1.0]
        .iter()
        .map(|m| m * decade)
        .find(|step| *step <= rough * (1.0 + 1e-9))
        .unwrap_or(decade)
}

/// Multiples of `step` within `bounds` (none when a degenerate range would ask for
/// millions: a plot needs a few dozen).
fn multiples(bounds: (f64, f64), step: f64) -> impl Iterator<Item = f64> {
    let first = (bounds.0 / step).ceil() as i64;
    let last = (bounds.1 / step).floor() as i64;
    let last = if last - first > 400 { first - 1 } else { last };
    (first..=last).map(move |i| i as f64 * step)
}

/// Grid marks for a linear axis: majors at the largest 1–2–5 step giving at least
/// [`MIN_TICKS`] of them (so a short plot spanning 0–700 labels 0, 200, 400, 600),
/// minors at a fifth of it.
pub fn linear_grid(input: GridInput) -> Vec<GridMark> {
    let span = (input.bounds.1 - input.bounds.0).abs();
    let major = major_step(span);
    let mut marks: Vec<GridMark> = multiples(input.bounds, major)
        .map(|value| GridMark {
            value,
            step_size: major,
        })
        .collect();
    let minor = major / 5.0;
    // A minor mark on a major one would be labelled twice ("2" over "2.0").
    let off_major = |v: &f64| ((v / major) - (v / major).round()).abs() > 1e-6;
    marks.extend(
        multiples(input.bounds, minor)
            .filter(off_major)
            .map(|value| GridMark {
                value,
                step_size: minor,
            }),
    );
    marks
}

/// The label of a [`linear_grid`] mark over the shown `range`: empty for a minor
/// mark; as many decimals as its step needs (egui's own formatter writes 0.5 as "0"),
/// thousands grouped; steps under 1e-4 in significant digits ("2.5e-6") rather than
/// a row of zeros.
pub fn linear_label(mark: GridMark, range: &std::ops::RangeInclusive<f64>) -> String {
    let span = (range.end() - range.start()).abs();
    if span > 0.0 && mark.step_size < 0.99 * major_step(span) {
        return String::new();
    }
    if mark.value.abs() < mark.step_size * 1e-6 {
        return "0".into();
    }
    if mark.step_size < 1e-4 {
        return fmt_sig(mark.value, 3);
    }
    // A hair below the decade, so a step of exactly 0.1 asks for one decimal, not two.
    let decimals = (-mark.step_size.log10() - 1e-9).ceil().max(0.0) as usize;
    let plain = format!("{:.decimals$}", mark.value.abs());
    let (int, frac) = plain.split_once('.').map_or((plain.as_str(), ""), |p| p);
    let sign = if mark.value < 0.0 { "-" } else { "" };
    let grouped = int
        .parse::<u64>()
        .map_or_else(|_| int.to_owned(), thousands);
    let dot = if frac.is_empty() { "" } else { "." };
    format!("{sign}{grouped}{dot}{frac}")
}

/// `(lo, hi)` widened to at least a thousandth of its size (and 1e-9 near zero),
/// centred: a flat Pareto front at 6.374013 ms reads 6.371 … 6.377, not nine-digit
/// noise. Pass the data's range; include both ends in the plot.
pub fn min_span(lo: f64, hi: f64) -> (f64, f64) {
    let (lo, hi) = (lo.min(hi), lo.max(hi));
    let floor = (1e-3 * lo.abs().max(hi.abs())).max(1e-9);
    if hi - lo >= floor {
        return (lo, hi);
    }
    let mid = 0.5 * (lo + hi);
    (mid - 0.5 * floor, mid + 0.5 * floor)
}

/// The y range of `points` widened by [`min_span`]; `None` for no points.
pub fn y_span(points: impl IntoIterator<Item = [f64; 2]>) -> Option<(f64, f64)> {
    let ys = points.into_iter().map(|p| p[1]).filter(|y| y.is_finite());
    let (lo, hi) = ys.fold(None, |acc: Option<(f64, f64)>, y| match acc {
        None => Some((y, y)),
        Some((lo, hi)) => Some((lo.min(y), hi.max(y))),
    })?;
    Some(min_span(lo, hi))
}

/// `plot` made to show at least `x` and `y` (each a [`min_span`]-widened range).
pub fn include_spans<'a>(
    mut plot: Plot<'a>,
    x: Option<(f64, f64)>,
    y: Option<(f64, f64)>,
) -> Plot<'a> {
    if let Some((lo, hi)) = x {
        plot = plot.include_x(lo).include_x(hi);
    }
    if let Some((lo, hi)) = y {
        plot = plot.include_y(lo).include_y(hi);
    }
    plot
}

/// The mantissas marked in each decade of a log axis: fewer as the span grows, so
/// there are always [`MIN_TICKS`] or more and never a crowd.
fn log_mantissas(decades: f64) -> &'static [f64] {
    if decades >= 3.0 {
        &[1.0]
    } else if decades >= 1.2 {
        &[1.0, 2.0, 5.0]
    } else {
        &[1.0, 2.0, 3.0, 4.0, 5.0, 6.0, 7.0, 8.0, 9.0]
    }
}

/// Grid marks for an axis holding log10 of the value: majors at 1, 10, 100 … (every
/// second or third decade over a wide span), and at 2 and 5 or every digit when few
/// decades show; under one decade, a linear 1–2–5 grid in the value itself.
pub fn log_grid(input: GridInput) -> Vec<GridMark> {
    let (lo, hi) = (input.bounds.0, input.bounds.1);
    let decades = (hi - lo).abs();
    if decades < 1.0 {
        let values = (10f64.powf(lo), 10f64.powf(hi));
        let step = major_step(values.1 - values.0);
        return multiples(values, step)
            .filter(|v| *v > 0.0)
            .map(|v| GridMark {
                value: v.log10(),
                step_size: decades / MIN_TICKS as f64,
            })
            .collect();
    }
    let every = (decades / 8.0).ceil().max(1.0) as i64;
    let mantissas = log_mantissas(decades);
    let mut marks = Vec::new();
    for d in (lo.floor() as i64)..=(hi.ceil() as i64) {
        for (j, &m) in mantissas.iter().enumerate() {
            let value = d as f64 + m.log10();
            let on_decade = j == 0;
            if value < lo || value > hi || (on_decade && d.rem_euclid(every) != 0) {
                continue;
            }
            // The gap to the mark below: egui labels a mark only where that leaves
            // room for its text.
            let step_size = match j.checked_sub(1).and_then(|i| mantissas.get(i)) {
                Some(below) => (m / below).log10(),
                None => every as f64,
            };
            marks.push(GridMark { value, step_size });
        }
    }
    marks
}

/// The value behind a log10 axis position, written as people read it:
/// 1 / 10 / 100 / 1k / 10k / 1M, and 0.1 / 0.01 below one.
pub fn log_value_text(log10_value: f64) -> String {
    fmt_compact(10f64.powf(log10_value))
}

/// The label of a [`log_grid`] mark.
pub fn log_label(mark: GridMark, _range: &std::ops::RangeInclusive<f64>) -> String {
    log_value_text(mark.value)
}

/// How an axis maps its values.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Scale {
    /// The value itself, at 1–2–5 steps.
    Linear,
    /// log10 of the value, labelled with the value (1 / 10 / 1k).
    Log10,
}

/// The X axis: `label` (with its unit) and tick labels for `scale`. Labels show from
/// 40 points apart (egui's default waits for 60, which leaves a short plot with one).
pub fn x_axis<'a>(scale: Scale, label: impl Into<egui::WidgetText>) -> AxisHints<'a> {
    let hints = AxisHints::new_x().label(label).label_spacing(40.0..=56.0);
    match scale {
        Scale::Linear => hints.formatter(linear_label),
        Scale::Log10 => hints.formatter(log_label),
    }
}

/// The Y axis, as [`x_axis`]; labels show from 16 points apart.
pub fn y_axis<'a>(scale: Scale, label: impl Into<egui::WidgetText>) -> AxisHints<'a> {
    let hints = AxisHints::new_y().label(label).label_spacing(16.0..=22.0);
    match scale {
        Scale::Linear => hints.formatter(linear_label),
        Scale::Log10 => hints.formatter(log_label),
    }
}

/// The grid spacer of `scale`.
pub fn spacer(scale: Scale) -> fn(GridInput) -> Vec<GridMark> {
    match scale {
        Scale::Linear => linear_grid,
        Scale::Log10 => log_grid,
    }
}

/// `plot` with both axes labelled (label with its unit) and gridded for their scales.
pub fn with_axes<'a>(
    plot: Plot<'a>,
    (x_scale, x_label): (Scale, &str),
    (y_scale, y_label): (Scale, &str),
) -> Plot<'a> {
    plot.custom_x_axes(vec![x_axis(x_scale, x_label.to_owned())])
        .custom_y_axes(vec![y_axis(y_scale, y_label.to_owned())])
        .x_grid_spacer(spacer(x_scale))
        .y_grid_spacer(spacer(y_scale))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn grid(lo: f64, hi: f64, f: fn(GridInput) -> Vec<GridMark>) -> Vec<GridMark> {
        f(GridInput {
            bounds: (lo, hi),
            base_step_size: (hi - lo) * 1e-3,
        })
    }

    /// The labelled marks: those at the largest step.
    fn majors(marks: &[GridMark]) -> Vec<f64> {
        let top = marks.iter().map(|m| m.step_size).fold(0.0, f64::max);
        let mut v: Vec<f64> = marks
            .iter()
            .filter(|m| m.step_size == top)
            .map(|m| m.value)
            .collect();
        v.sort_by(f64::total_cmp);
        v
    }

    #[test]
    fn linear_axes_have_four_to_ten_labelled_ticks_from_micro_to_giga() {
        for exp in -6..=9 {
            for m in [1.0, 1.7, 3.0, 5.9, 7.3] {
                let span = m * 10f64.powi(exp);
                let lo = 0.37 * span;
                let majors = majors(&grid(lo, lo + span, linear_grid));
                assert!(
                    (MIN_TICKS..=11).contains(&majors.len()),
                    "span {span}: {majors:?}"
                );
                let range = lo..=lo + span;
                let labels: Vec<String> = (grid(lo, lo + span, linear_grid).into_iter())
                    .map(|g| linear_label(g, &range))
                    .filter(|l| !l.is_empty())
                    .collect();
                assert_eq!(labels.len(), majors.len(), "span {span}: {labels:?}");
                let mut distinct = labels.clone();
                distinct.dedup();
                assert_eq!(distinct.len(), labels.len(), "span {span}: {labels:?}");
            }
        }
    }

    #[test]
    fn linear_labels_read_plainly() {
        // Over a range holding four of its steps, each mark is a major one.
        let l = |value, step_size: f64| {
            linear_label(GridMark { value, step_size }, &(0.0..=4.0 * step_size))
        };
        // A minor mark (a fifth of the major step) is not labelled.
        assert_eq!(
            linear_label(
                GridMark {
                    value: 0.2,
                    step_size: 0.2
                },
                &(0.0..=4.0)
            ),
            ""
        );
        assert_eq!(l(0.5, 0.5), "0.5");
        assert_eq!(l(2.0, 0.5), "2.0");
        assert_eq!(l(40.0, 20.0), "40");
        assert_eq!(l(10_000.0, 2000.0), "10\u{2009}000");
        assert_eq!(l(-1500.0, 500.0), "-1\u{2009}500");
        assert_eq!(l(2e-6, 1e-6), "2e-6");
        assert_eq!(l(2.5e-7, 5e-8), "2.5e-7");
        assert_eq!(l(1e-17, 0.2), "0");
    }

    #[test]
    fn a_flat_range_gets_a_span() {
        let (lo, hi) = min_span(6.374_013_003, 6.374_012_999);
        assert!((hi - lo - 6.374e-3).abs() < 1e-6, "{lo} … {hi}");
        assert!(lo < 6.374_012_999 && hi > 6.374_013_003);
        let (lo, hi) = min_span(0.0, 0.0);
        assert!(hi - lo >= 1e-9);
        assert_eq!(min_span(1.0, 5.0), (1.0, 5.0));
        assert_eq!(y_span([[0.0, 3.0], [1.0, 3.0]]), Some(min_span(3.0, 3.0)));
        // Labelled at a readable step over the widened span: four or more ticks.
        let (lo, hi) = min_span(6.374_013, 6.374_013);
        assert!(majors(&grid(lo, hi, linear_grid)).len() >= MIN_TICKS);
    }

    #[test]
    fn log_axes_are_labelled_in_human_units() {
        assert_eq!(log_value_text(0.0), "1");
        assert_eq!(log_value_text(1.0), "10");
        assert_eq!(log_value_text(2.0), "100");
        assert_eq!(log_value_text(3.0), "1k");
        assert_eq!(log_value_text(4.0), "10k");
        assert_eq!(log_value_text(6.0), "1M");
        assert_eq!(log_value_text(-1.0), "0.1");
        assert_eq!(log_value_text(-2.0), "0.01");
        let labels: Vec<String> = majors(&grid(0.0, 6.0, log_grid))
            .into_iter()
            .map(log_value_text)
            .collect();
        assert_eq!(labels, ["1", "10", "100", "1k", "10k", "100k", "1M"]);
    }

    #[test]
    fn log_axes_have_four_ticks_over_any_span() {
        for (lo, hi) in [
            (0.0, 0.2),
            (1.0, 1.6),
            (-2.0, -0.9),
            (0.0, 2.0),
            (-6.0, 9.0),
        ] {
            let marks = grid(lo, hi, log_grid);
            assert!(marks.len() >= MIN_TICKS, "{lo}..{hi}: {marks:?}");
            assert!(marks.len() <= 40, "{lo}..{hi}: {} marks", marks.len());
        }
    }
}
