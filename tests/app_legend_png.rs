//! Legends and plot PNGs, headless with egui_kittest: the Explore, Profile and Caching plots'
//! legends sit in a row above the data, a click on an entry hides its series and
//! Alt+click shows it alone; a plot's PNG holds its title, legend and axes, and an
//! existing file is replaced only after the user agrees.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use costscope::app::CostscopeApp;
use costscope::app::legend;
use costscope::app::state::{AppState, Tab};
use costscope::plan::presets;
use costscope::profile::report::ProfileReport;
use eframe::egui;
use egui::accesskit::{Role, Toggled};
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};

fn harness(app: CostscopeApp) -> Harness<'static, CostscopeApp> {
    let mut h = Harness::builder()
        // Background jobs (the verification by simulation, the adapter list) repaint
        // when they finish: allow the frames that takes to settle.
        .with_max_steps(64)
        .with_size(egui::vec2(1400.0, 900.0))
        .build_ui_state(|ui, app: &mut CostscopeApp| app.ui(ui), app);
    h.run();
    h
}

fn explore(preset: &str) -> CostscopeApp {
    let mut a = CostscopeApp::new(AppState::new(presets::load(preset).unwrap(), None));
    a.state.tab = Tab::Explore;
    a
}

/// Whether the legend entry `label` (a check box: ticked while its series is shown)
/// is ticked; the first such entry on screen.
fn shown(h: &Harness<'static, CostscopeApp>, label: &str) -> bool {
    let node = h.get_all_by_role_and_label(Role::CheckBox, label).next();
    node.unwrap().accesskit_node().toggled() == Some(Toggled::True)
}

#[test]
fn an_explore_legend_click_hides_a_series_and_alt_click_isolates_it() {
    let mut h = harness(explore("healthcare-triage"));
    let series = |h: &Harness<'static, CostscopeApp>| legend::hidden(&h.ctx, "objective");
    // One entry per policy on the objective plot, all shown.
    for policy in ["always_on", "on_demand", "hybrid", "spot_mix"] {
        assert!(shown(&h, policy), "{policy}");
    }
    let click = |h: &mut Harness<'static, CostscopeApp>, modifiers: egui::Modifiers| {
        (h.get_all_by_role_and_label(Role::CheckBox, "on_demand")
            .next())
        .unwrap()
        .click_modifiers(modifiers);
        h.run();
    };
    click(&mut h, egui::Modifiers::NONE);
    assert_eq!(series(&h), ["on_demand"]);
    assert!(!shown(&h, "on_demand"));
    assert!(shown(&h, "always_on"));
    // Shown again on a second click.
    click(&mut h, egui::Modifiers::NONE);
    assert!(series(&h).is_empty());
    // Alt+click: on_demand alone, every other series (and the optimum) hidden.
    click(&mut h, egui::Modifiers::ALT);
    let hidden = series(&h);
    assert!(!hidden.contains(&"on_demand".to_owned()), "{hidden:?}");
    for other in ["always_on", "hybrid", "spot_mix", "optimum"] {
        assert!(hidden.contains(&other.to_owned()), "{other}: {hidden:?}");
    }
    // The Pareto plot has a legend of its own, untouched.
    assert!(legend::hidden(&h.ctx, "pareto").is_empty());
}

/// A report of `mlp:small` in f32 and f16 on one adapter at batches 1 and 4.
#[test]
fn the_caching_panels_legend_is_a_row_and_a_click_hides_the_point() {
    let mut a = CostscopeApp::new(AppState::new(
        presets::load("embedding-cache").unwrap(),
        None,
    ));
    a.state.tab = Tab::Caching;
    let mut h = harness(a);
    assert!(shown(&h, "hit rate H(k,s)/H(N,s)"));
    assert!(shown(&h, "this cache"));
    h.get_all_by_role_and_label(Role::CheckBox, "this cache")
        .next()
        .unwrap()
        .click();
    h.run();
    assert_eq!(legend::hidden(&h.ctx, "zipf_hit_rate"), ["this cache"]);
    assert!(!shown(&h, "this cache"));
    assert!(shown(&h, "hit rate H(k,s)/H(N,s)"));
}

fn report() -> ProfileReport {
    let row = |precision: &str, batch: u64, median_ms: f64| {
        serde_json::json!({
            "device": "llvmpipe (LLVM 15.0.7, 256 bits)", "workload": "mlp:small",
            "precision": precision, "variant": "tiled", "chosen": true, "m": batch,
            "n": 256, "k": 256, "batch": batch, "supported": true,
            "why_unsupported": null, "correct": true, "rel_error": 1e-7,
            "timing": {
                "method": "timestamp", "median_ms": median_ms, "p5_ms": median_ms * 0.97,
                "p95_ms": median_ms * 1.05, "p99_ms": median_ms * 1.08,
                "min_ms": median_ms * 0.95, "max_ms": median_ms * 1.1, "cv": 0.05,
                "stable": true, "samples": 30
            },
            "gflops": 1.0, "gbytes_per_s": 1.0, "pct_of_peak": 1.0,
            "items_per_s": batch as f64 * 1000.0 / median_ms
        })
    };
    serde_json::from_value(serde_json::json!({
        "version": 1,
        "fingerprint": {"app_version": "0.1.0", "os": "linux", "cpu": "test",
                        "date": "2026-12-01T00:00:00Z"},
        "adapters": [],
        "results": [row("f32", 1, 2.0), row("f32", 4, 3.0), row("f16", 1, 1.5),
                    row("f16", 4, 2.0)],
        "cold_start_ms": null,
        "cold_start_all_ms": [],
        "peaks": [],
        "telemetry": {"available": false, "why_unavailable": "test", "samples": [],
                      "energy_j_per_item": null}
    }))
    .unwrap()
}

#[test]
fn a_profile_legend_click_hides_a_series() {
    let mut a = CostscopeApp::new(AppState::new(presets::default_plan().unwrap(), None));
    a.state.tab = Tab::Profile;
    a.state.profile.run.report = Some(report());
    let mut h = harness(a);
    // The latency plot's legend is the first with these names (the throughput plot's
    // has its own).
    assert!(shown(&h, "llvmpipe f16"));
    h.get_all_by_role_and_label(Role::CheckBox, "llvmpipe f16")
        .next()
        .unwrap()
        .click();
    h.run();
    assert_eq!(legend::hidden(&h.ctx, "latency_vs_batch"), ["llvmpipe f16"]);
    assert!(legend::hidden(&h.ctx, "throughput_vs_batch").is_empty());
    assert!(shown(&h, "llvmpipe f32"));
}

/// Pixels of `png` in the rectangle (x0..x1, y0..y1) brighter than the dark theme's
/// backgrounds (below 30 of 255): text and lines.
fn bright(png: &image::RgbaImage, x: std::ops::Range<u32>, y: std::ops::Range<u32>) -> usize {
    let mut n = 0;
    for yy in y {
        for xx in x.clone() {
            let p = png.get_pixel(xx, yy).0;
            if u32::from(p[0]) + u32::from(p[1]) + u32::from(p[2]) > 3 * 100 {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn a_plot_png_has_its_title_and_axes_and_asks_before_overwriting() {
    let dir = std::env::temp_dir().join(format!("costscope-legend-png-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut a = explore("healthcare-triage");
    a.state.plan_path = Some(dir.join("plan.ron"));
    let mut h = harness(a);
    let path = dir.join("costscope-plot-objective.png");
    h.get_all_by_label("PNG").next().unwrap().click();
    h.run();
    let png = image::open(&path)
        .expect("the objective plot was written")
        .to_rgba8();
    let (w, hgt) = (png.width(), png.height());
    assert!(w > 300 && hgt > 200 && hgt < 700, "{w}x{hgt}");
    // Its top rows hold the title and the legend, its left columns the y axis's tick
    // labels: text, not the plot's background.
    assert!(
        bright(&png, 0..w / 2, 0..16) > 30,
        "no title in the top rows"
    );
    assert!(
        bright(&png, 0..40, 40..hgt - 40) > 30,
        "no tick labels on the left"
    );
    let written = std::fs::read(&path).unwrap();

    // A second export finds the file: it asks, and Cancel keeps it.
    std::fs::write(&path, b"kept").unwrap();
    h.get_all_by_label("PNG").next().unwrap().click();
    h.run();
    h.get_by_label_contains("costscope-plot-objective.png exists.");
    h.get_by_label("Cancel").click();
    h.run();
    assert_eq!(std::fs::read(&path).unwrap(), b"kept");
    assert!(h.query_by_label_contains("exists.").is_none());
    // Overwrite replaces it with the plot.
    h.get_all_by_label("PNG").next().unwrap().click();
    h.run();
    h.get_by_label("Overwrite").click();
    h.run();
    let again = std::fs::read(&path).unwrap();
    assert!(again.starts_with(b"\x89PNG"), "the plot replaced the file");
    assert_eq!(again.len() > 1000, written.len() > 1000);
    // Nothing else was left in the folder (no temp file).
    let names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    assert_eq!(names.len(), 1, "{names:?}");
    std::fs::remove_dir_all(&dir).unwrap();
}

/// Pixels of `png` in rows `y` of `color`'s hue: within 16 per channel of `color`
/// scaled by 0.6-1.1 (a thin line's anti-aliased edge over the dark background).
fn near(png: &image::RgbaImage, y: std::ops::Range<u32>, color: egui::Color32) -> usize {
    let want = [color.r(), color.g(), color.b()].map(f64::from);
    let mut n = 0;
    for yy in y {
        for xx in 0..png.width() {
            let p = png.get_pixel(xx, yy).0.map(f64::from);
            let k = (p[0] + p[1] + p[2]) / (want[0] + want[1] + want[2]);
            if (0.6..=1.1).contains(&k) && (0..3).all(|c| (p[c] - k * want[c]).abs() <= 16.0) {
                n += 1;
            }
        }
    }
    n
}

#[test]
fn a_warm_cold_plot_png_carries_the_fleets_legend() {
    use costscope::app::warm_cold_legend::fleet_style;
    let dir = std::env::temp_dir().join(format!("costscope-wc-png-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let mut a = CostscopeApp::new(AppState::new(
        presets::load("startup-transcribe").unwrap(),
        None,
    ));
    a.state.tab = Tab::WarmCold;
    a.state.warm_cold.settings.follow_optimum = false;
    a.state.plan_path = Some(dir.join("plan.ron"));
    let mut h = harness(a);
    h.get_by_label("Simulate a day").click();
    let start = std::time::Instant::now();
    // The day, and the recommendation's background verification (slow on a loaded
    // machine), both finish before the frame is read.
    while h.state().state.warm_cold.running() || !h.state().verify.settled(&h.state().state.plan) {
        assert!(start.elapsed().as_secs() < 120, "the day never finished");
        std::thread::sleep(std::time::Duration::from_millis(10));
        h.step();
    }
    h.run();
    let day = h.state().state.warm_cold.run.day.clone().unwrap();
    let colors: Vec<egui::Color32> = day
        .fleets
        .iter()
        .map(|f| fleet_style(&f.spec).color)
        .collect();
    assert!(colors.len() >= 2, "{} fleets", colors.len());
    // The PNG buttons in order: traffic, servers held, one fleet's states, cost.
    h.get_all_by_label("PNG").nth(1).unwrap().click();
    h.run();
    let path = dir.join("costscope-plot-servers.png");
    let png = image::open(&path)
        .expect("the servers plot was written")
        .to_rgba8();
    // Between the title and the plot's frame, as the panel's shared legend row is
    // outside the image: a swatch of every fleet in its colour.
    let legend_rows = 16..png.height().min(48);
    for color in &colors {
        let n = near(&png, legend_rows.clone(), *color);
        assert!(n >= 4, "no swatch of {color:?} above the plot ({n} pixels)");
    }
    std::fs::remove_dir_all(&dir).unwrap();
}
