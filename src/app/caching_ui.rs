//! App layer: the Caching & lazy panel — hit rate (stated, or from Zipf popularity and
//! cache size), the L2 tier, reuse, storage and lazy evaluation's p; what the cache and
//! lazy evaluation save, each figure named by the evaluation it comes from.

use eframe::egui;
use egui_plot::{HoverPosition, Line, Plot, PlotPoints, Points};

use super::axes::{self, Scale, with_axes};
use super::format::{fmt_sig, thousands};
use super::legend::{LegendEntry, plot_legend};
use super::palette;

use super::caching_figures::figure_sections;
use super::fleet_change::fleet_change_ui;
use super::log_slider::{LogControl, count_ui};
use super::state::{Results, Runtime, Tab};
use crate::model::cache::zipf_hit_rate;
use crate::model::{Cache, CacheTier, Plan, Zipf};
use crate::plan::validate::MAX_ZIPF_ITEMS;

/// The Caching & lazy panel. It holds nothing of its own: the controls edit the shared
/// plan's cache and lazy settings, the figures read the shared results.
#[derive(Debug, Default)]
pub struct CachingPanel {}

impl CachingPanel {
    /// The Caching & lazy panel: controls mutate `plan`; figures read the runtime's
    /// results.
    pub fn ui(&mut self, ui: &mut egui::Ui, plan: &mut Plan, runtime: &Runtime) {
        egui::Panel::left("caching_controls")
            .resizable(false)
            .exact_size(400.0)
            .show(ui, |ui| {
                egui::ScrollArea::vertical().show(ui, |ui| {
                    fleet_change_ui(ui, runtime.fleet_change.as_ref(), Tab::Caching);
                    controls_ui(ui, plan);
                    ui.separator();
                    figures_ui(ui, &runtime.results);
                });
            });
        egui::CentralPanel::default().show(ui, |ui| match &plan.cache.zipf {
            Some(z) => {
                let title = format!(
                    "Hit rate vs cache size, Zipf(s = {}) over {} keys",
                    fmt_sig(z.s, 3),
                    thousands(z.items)
                );
                super::plot_png::titled_plot(ui, &title, "hit-rate", |ui| hit_rate_plot_ui(ui, z));
            }
            None => {
                ui.label("Hit rate is stated directly; tick \"derive the hit rate from Zipf popularity\" to see it as a function of cache size.");
            }
        });
    }
}

/// The cache's controls (hit rate, latency, reuse, storage, L2), then lazy evaluation.
fn controls_ui(ui: &mut egui::Ui, plan: &mut Plan) {
    let cache = &mut plan.cache;
    ui.heading("Cache");
    hit_rate_ui(ui, cache);
    HIT_LATENCY_MS
        .ui(ui, &mut cache.hit_latency_ms)
        .on_hover_text("Time to answer a request from the L1 cache.");
    REUSE.ui(ui, &mut cache.reuse).on_hover_text(
        "Each computed result used r times saves (r − 1)·C_E, C_E being what the fleet \
         pays per computed result.",
    );
    STORAGE_USD_PER_HOUR
        .ui(ui, &mut cache.storage_usd_per_hour)
        .on_hover_text("What holding the cache costs per hour, added to the servers' cost.");
    l2_ui(ui, cache);
    ui.heading("Lazy evaluation");
    FRACTION_NEEDED
        .ui(ui, &mut plan.lazy.fraction_needed)
        .on_hover_text(
            "Only a fraction p of results is ever read, so only those are computed: the model \
         sends p of the traffic to servers, so every cost on this panel already serves p.",
        );
}

/// L1 hit latency: 10 µs to 100 ms on the rail; the plan takes 0 to 10^6 ms.
pub const HIT_LATENCY_MS: LogControl =
    LogControl::new("hit latency, ms", (0.01, 100.0), (0.0, 1e6));
/// Reuse r: 1 to 1000 uses on the rail; the plan takes 1 to 10^9.
pub const REUSE: LogControl = LogControl::new(
    "reuse r (uses per computed result)",
    (1.0, 1000.0),
    (1.0, 1e9),
);
/// Cache storage: 0.1 cent to 100 $/hour on the rail; the plan takes 0 to 10^6.
pub const STORAGE_USD_PER_HOUR: LogControl =
    LogControl::new("cache storage $/hour", (0.001, 100.0), (0.0, 1e6));
/// Lazy evaluation's p: 0.001 to 1 on the rail; the plan takes (0, 1].
pub const FRACTION_NEEDED: LogControl =
    LogControl::new("fraction needed p", (0.001, 1.0), (1e-9, 1.0));
/// Distinct keys N: 1 to 10^9 on the rail; the plan takes up to 10^12.
pub const ZIPF_ITEMS: LogControl =
    LogControl::new("distinct keys N", (1.0, 1e9), (1.0, MAX_ZIPF_ITEMS as f64));
/// The L2 tier's extra latency, as [`HIT_LATENCY_MS`].
pub const L2_HIT_LATENCY_MS: LogControl =
    LogControl::new("L2 extra latency, ms", (0.01, 100.0), (0.0, 1e6));

/// The hit rate: stated directly, or derived from Zipf popularity and the cache size.
fn hit_rate_ui(ui: &mut egui::Ui, cache: &mut Cache) {
    let mut use_zipf = cache.zipf.is_some();
    ui.checkbox(&mut use_zipf, "derive the hit rate from Zipf popularity")
        .on_hover_text(
            "Compute the hit rate from key popularity (Zipf skew s over N keys, k cached) \
             instead of stating it.",
        );
    match (use_zipf, cache.zipf.is_some()) {
        (true, false) => {
            cache.zipf = Some(Zipf {
                s: 1.0,
                items: 1_000_000,
                cache_items: 10_000,
            });
        }
        (false, true) => cache.zipf = None,
        _ => {}
    }
    if let Some(z) = &mut cache.zipf {
        ui.add(egui::Slider::new(&mut z.s, 0.0..=3.0).text("Zipf skew s"))
            .on_hover_text(
                "0 = every key equally popular; 1 = classic Zipf; larger = more skewed.",
            );
        count_ui(ui, &ZIPF_ITEMS, &mut z.items)
            .on_hover_text("How many different requests (keys) there are.");
        // k is at most N: the rail and the typed bound follow N.
        let items = z.items as f64;
        let cached = LogControl::new("keys cached k", (1.0, items.max(1.0)), (0.0, items));
        z.cache_items = z.cache_items.min(z.items);
        count_ui(ui, &cached, &mut z.cache_items)
            .on_hover_text("The cache holds the k most popular keys: hit rate H(k,s)/H(N,s).");
    } else {
        ui.add(egui::Slider::new(&mut cache.hit_rate, 0.0..=0.999).text("hit rate"))
            .on_hover_text("Share of requests answered from the cache, without inference.");
    }
}

/// The optional L2 tier tried on L1 misses.
fn l2_ui(ui: &mut egui::Ui, cache: &mut Cache) {
    let mut has_l2 = cache.l2.is_some();
    ui.checkbox(&mut has_l2, "L2 tier on L1 misses")
        .on_hover_text("A second, slower cache tried when L1 misses, before inference.");
    match (has_l2, cache.l2.is_some()) {
        (true, false) => {
            cache.l2 = Some(CacheTier {
                hit_rate: 0.3,
                hit_latency_ms: 2.0,
            });
        }
        (false, true) => cache.l2 = None,
        _ => {}
    }
    if let Some(t) = &mut cache.l2 {
        ui.add(egui::Slider::new(&mut t.hit_rate, 0.0..=1.0).text("L2 hit rate (of L1 misses)"))
            .on_hover_text("Share of L1 misses that L2 answers.");
        L2_HIT_LATENCY_MS
            .ui(ui, &mut t.hit_latency_ms)
            .on_hover_text("Time an L2 hit adds on top of the L1 lookup.");
    }
}

fn figures_ui(ui: &mut egui::Ui, results: &Results) {
    for section in figure_sections(results) {
        ui.heading(section.heading);
        for line in section.lines {
            ui.label(line.text).on_hover_text(line.hover);
        }
    }
}

/// What hovering the hit-rate curve reads out: the cache size (x is log10 of it) and
/// the hit rate there.
pub fn hit_rate_readout(log10_keys: f64, hit_rate: f64) -> String {
    let keys = 10f64.powf(log10_keys).round().max(0.0) as u64;
    format!(
        "{} keys cached\nhit rate {} %",
        thousands(keys),
        fmt_sig(100.0 * hit_rate, 3)
    )
}

/// The hit-rate plot's series names (its legend's and its hover's).
const HIT_RATE_CURVE: &str = "hit rate H(k,s)/H(N,s)";
const THIS_CACHE: &str = "this cache";

fn hit_rate_plot_ui(ui: &mut egui::Ui, z: &Zipf) -> egui::Response {
    // Cache sizes on a log grid from 1 key to all of them.
    let n = z.items.max(1) as f64;
    let steps = 64;
    let curve: Vec<[f64; 2]> = (0..=steps)
        .filter_map(|i| {
            let k = n.powf(f64::from(i) / f64::from(steps)).round() as u64;
            Some([(k.max(1) as f64).log10(), zipf_hit_rate(z.s, z.items, k)?])
        })
        .collect();
    let here = zipf_hit_rate(z.s, z.items, z.cache_items).unwrap_or(0.0);
    // The legend is a row above the data (a click hides a series), not over the curve.
    let entries = [
        LegendEntry::line(HIT_RATE_CURVE, palette::series_color(0)),
        LegendEntry::marker(THIS_CACHE, palette::OPTIMUM),
    ];
    let hidden = plot_legend(ui, "zipf_hit_rate", &entries);
    let shown = |name: &str| !hidden.iter().any(|h| h == name);
    let plot = with_axes(
        Plot::new("zipf_hit_rate"),
        (Scale::Log10, "keys cached (log scale)"),
        (Scale::Linear, "hit rate, share of requests"),
    );
    axes::include_spans(plot, None, axes::y_span(curve.iter().copied()))
        .label_formatter(|pos| match pos {
            HoverPosition::NearDataPoint { position, .. } => {
                Some(hit_rate_readout(position.x, position.y))
            }
            HoverPosition::Elsewhere { .. } => None,
        })
        .height(ui.available_height().max(160.0))
        .show(ui, |plot| {
            if shown(HIT_RATE_CURVE) {
                let line = Line::new(HIT_RATE_CURVE, PlotPoints::from(curve));
                plot.line(line.color(palette::series_color(0)));
            }
            if shown(THIS_CACHE) {
                let at = vec![[(z.cache_items.max(1) as f64).log10(), here]];
                plot.points(
                    Points::new(THIS_CACHE, at)
                        .color(palette::OPTIMUM)
                        .radius(6.0),
                );
            }
        })
        .response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_control_types_up_to_the_plans_bound_and_stays_valid() {
        let mut plan = crate::plan::presets::load("embedding-cache").unwrap();
        for pick in [|r: (f64, f64)| r.0, |r: (f64, f64)| r.1] {
            let c = &mut plan.cache;
            c.hit_latency_ms = pick(HIT_LATENCY_MS.valid);
            c.reuse = pick(REUSE.valid);
            c.storage_usd_per_hour = pick(STORAGE_USD_PER_HOUR.valid);
            c.l2 = Some(CacheTier {
                hit_rate: 0.3,
                hit_latency_ms: pick(L2_HIT_LATENCY_MS.valid),
            });
            let items = pick(ZIPF_ITEMS.valid) as u64;
            c.zipf = Some(Zipf {
                s: 1.0,
                items,
                cache_items: items,
            });
            plan.lazy.fraction_needed = pick(FRACTION_NEEDED.valid);
            crate::plan::validate::validate(&plan).unwrap();
        }
    }

    #[test]
    fn the_hit_rate_reads_out_keys_and_percent() {
        assert_eq!(
            hit_rate_readout(4.0, 0.8123),
            "10\u{2009}000 keys cached\nhit rate 81.2 %"
        );
    }
}
