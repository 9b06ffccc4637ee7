//! The Profile panel with real models, headless with egui_kittest: picking a shipped
//! transformer asks for its lengths (checked against its positions) and the run
//! measures exactly those; a config.json that does not parse shows its error and keeps
//! the model; transformer rows show latency vs batch and, per picked row, the stacked
//! time per operator (or say the report has none).

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::collections::BTreeSet;
use std::path::PathBuf;

use costscope::app::CostscopeApp;
use costscope::app::profile_model::params_text;
use costscope::app::profile_transformer::NO_BREAKDOWN;
use costscope::app::state::{AppState, Tab};
use costscope::plan::presets;
use costscope::profile::cpu::transformer_rows::base_row;
use costscope::profile::report::{OpTime, ProfileReport, ResultRow, fingerprint};
use costscope::profile::stats::{TimingMethod, summarize};
use costscope::profile::workloads::transformer::accounting::total_params;
use costscope::profile::workloads::transformer::{Pass, TransformerConfig};
use costscope::profile::{Precision, telemetry};
use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::kittest::{NodeT, Queryable};

fn profile_app() -> CostscopeApp {
    let mut a = CostscopeApp::new(AppState::new(presets::default_plan().unwrap(), None));
    a.state.tab = Tab::Profile;
    a
}

/// The window on `app`, stepped by the test (a running worker keeps asking for frames).
fn harness(app: CostscopeApp) -> Harness<'static, CostscopeApp> {
    let mut h = Harness::builder()
        // Background jobs (the verification by simulation, the adapter list) repaint
        // when they finish: allow the frames that takes to settle.
        .with_max_steps(64)
        .with_size(egui::vec2(1400.0, 900.0))
        .with_step_dt(1.0 / 60.0)
        .build_ui_state(|ui, app: &mut CostscopeApp| app.ui(ui), app);
    h.run();
    h
}

/// What a transformer row measured: (workload, seq_len, context_len, batch).
type RowShape = (String, Option<usize>, Option<usize>, Option<usize>);

fn field<'t>(h: &'t Harness<'static, CostscopeApp>, label: &'t str) -> egui_kittest::Node<'t> {
    h.get_by_role_and_label(Role::TextInput, label)
}

fn run_disabled(h: &Harness<'static, CostscopeApp>) -> bool {
    h.get_by_label("Run profile").accesskit_node().is_disabled()
}

#[test]
fn picking_a_shipped_model_asks_for_its_lengths_and_the_run_measures_them() {
    let mut a = profile_app();
    let s = &mut a.state.profile.settings;
    (s.cpu_only, s.precisions, s.budget_s) = (true, [true, false, false], 0.05);
    // The finished report is kept for the next start: here, not in the user's cache.
    let kept =
        std::env::temp_dir().join(format!("costscope-app-profile-{}.json", std::process::id()));
    s.last_report = Some(kept.clone());
    let mut h = harness(a);
    assert!(
        h.query_by_role_and_label(Role::TextInput, "sequence lengths:")
            .is_none(),
        "an MLP has no sequence lengths"
    );
    h.get_by_label("model").click();
    h.run();
    h.get_by_label("GPT-2");
    h.get_by_label_contains("tiny-gpt2 (").click();
    h.run();
    assert_eq!(h.state().state.profile.settings.model, "tiny-gpt2");
    h.get_by_label_contains("GPT-2 decoder · 2 layers · d 64 · 4 heads · 128 positions");
    // The default context (512) does not fit tiny-gpt2's 128 positions: said, and no run.
    h.get_by_label(
        "context length 512 leaves no position for a decoded token in tiny-gpt2's 128 positions",
    );
    assert!(run_disabled(&h));
    field(&h, "sequence lengths:").set_text_value_accesskit("16, x");
    field(&h, "context lengths:").set_text_value_accesskit("64");
    h.run();
    h.get_by_label("sequence lengths: `x` is not a whole number");
    assert!(run_disabled(&h));
    field(&h, "sequence lengths:").set_text_value_accesskit("16, 32");
    field(&h, "batches:").set_text_value_accesskit("1, 2");
    h.run();
    assert!(!run_disabled(&h));
    let opts = h.state().state.profile.settings.options().unwrap();
    assert_eq!(opts.models, ["tiny-gpt2"]);
    assert_eq!((opts.seq_lens, opts.context_lens), (vec![16, 32], vec![64]));
    assert_eq!(opts.batches, [1, 2]);

    h.get_by_label("Run profile").click();
    h.step();
    let start = std::time::Instant::now();
    while h.state().state.profile.running() {
        assert!(
            start.elapsed().as_secs() < 120,
            "the profile did not finish"
        );
        std::thread::sleep(std::time::Duration::from_millis(20));
        h.step();
    }
    h.run();
    let run = &h.state().state.profile.run;
    let report = run
        .report
        .clone()
        .unwrap_or_else(|| panic!("{:?}", run.message));
    // The runner measured exactly the lengths and batches typed, nothing else.
    let measured: BTreeSet<RowShape> = (report.results.iter())
        .filter(|r| r.workload.transformer_name().is_some())
        .map(|r| {
            assert!(r.correct && r.timing.is_some(), "{r:?}");
            (r.workload.label(), r.seq_len, r.context_len, r.batch)
        })
        .collect();
    let (p, d) = (
        "prefill:tiny-gpt2".to_owned(),
        "decode:tiny-gpt2".to_owned(),
    );
    let expected = BTreeSet::from([
        (p.clone(), Some(16), None, Some(1)),
        (p.clone(), Some(16), None, Some(2)),
        (p.clone(), Some(32), None, Some(1)),
        (p, Some(32), None, Some(2)),
        (d.clone(), None, Some(64), Some(1)),
        (d, None, Some(64), Some(2)),
    ]);
    assert_eq!(measured, expected);
    assert!(kept.exists(), "the report was kept where the settings say");
    std::fs::remove_file(&kept).unwrap();
    h.get_by_label_contains("Transformer latency vs batch (median)");
    // One legend entry per (pass, length, precision, device).
    h.get_by_label("prefill:tiny-gpt2 seq 32 · f32 · cpu");
    h.get_by_label("decode:tiny-gpt2 ctx 64 · f32 · cpu");
    // The first row is broken down by default: its operators, or the note that the
    // report has none.
    let first = report
        .results
        .iter()
        .find(|r| r.workload.transformer_name().is_some())
        .unwrap();
    let first_name = "prefill:tiny-gpt2 seq 16 · f32 · cpu · b1";
    if first.ops.is_empty() {
        h.get_by_label(&format!("{first_name}: {NO_BREAKDOWN}"));
    } else {
        h.get_by_label("Time per operator, ms of one pass (stacked)");
        for op in &first.ops {
            assert!(h.query_all_by_label(&op.name).count() >= 1, "{}", op.name);
        }
    }
}

/// A folder with a config that parses (tiny-gpt2's), one that does not, and a text file.
struct Fixture(PathBuf);

impl Fixture {
    fn new() -> Self {
        let dir = std::env::temp_dir().join(format!("costscope-configs-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir).unwrap();
        let tiny = std::fs::read_to_string("models/tiny-gpt2.json").unwrap();
        std::fs::write(dir.join("good.json"), tiny).unwrap();
        std::fs::write(
            dir.join("bad.json"),
            r#"{"model_type": "gpt2", "n_embd": 64}"#,
        )
        .unwrap();
        std::fs::write(dir.join("notes.txt"), "not a config").unwrap();
        Self(dir.canonicalize().unwrap())
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

#[test]
fn a_config_json_that_does_not_parse_shows_its_error_and_keeps_the_model() {
    let fx = Fixture::new();
    let mut a = profile_app();
    a.state.profile.settings.config_dir = Some(fx.0.clone());
    let mut h = harness(a);
    h.get_by_label("Open config.json…").click();
    h.run();
    let window = || h.get_by_role_and_label(Role::Window, "Open model config");
    window().get_by_label("good.json");
    assert!(
        window().query_by_label("notes.txt").is_none(),
        "configs only"
    );
    window().get_by_label("bad.json").click();
    h.run();
    h.get_by_role_and_label(Role::Window, "Open model config")
        .get_by_label("Open")
        .click();
    h.run();
    let bad = fx.0.join("bad.json");
    let why = format!("{}: key `n_head` is missing", bad.display());
    assert_eq!(h.state().state.profile.settings.model, "small");
    assert_eq!(
        h.state().state.profile.picker.open_error.as_deref(),
        Some(why.as_str())
    );
    // In the dialog (still open, to pick another) and in the panel.
    assert_eq!(h.query_all_by_label(&why).count(), 2);
    let window = || h.get_by_role_and_label(Role::Window, "Open model config");
    window().get_by_label("good.json").click();
    h.run();
    h.get_by_role_and_label(Role::Window, "Open model config")
        .get_by_label("Open")
        .click();
    h.run();
    let good = fx.0.join("good.json");
    assert!(h.state().state.profile.picker.dialog.is_none());
    assert_eq!(
        h.state().state.profile.settings.model,
        good.display().to_string()
    );
    assert_eq!(h.query_all_by_label(&why).count(), 0, "the error went");
    let cfg = TransformerConfig::lookup("tiny-gpt2").unwrap();
    let size = params_text(total_params(&cfg));
    h.get_by_label_contains(&format!("128 positions · {size} · from {}", good.display()));
    h.get_by_role_and_label(Role::TextInput, "context lengths:");
    let opts = (h.state().state.profile.settings)
        .options()
        .expect_err("512 cached tokens do not fit 128 positions");
    assert!(opts.contains("in good's 128 positions"), "{opts}");
}

/// A timed row of `pass` of tiny-gpt2 (tiny-bert for the encoder) on the CPU at (len,
/// batch), `median_ms` long, with `ops` (name, ms) as its operator times.
fn row(pass: Pass, (len, batch): (usize, usize), median_ms: f64, ops: &[(&str, f64)]) -> ResultRow {
    let model = if pass == Pass::Encoder {
        "tiny-bert"
    } else {
        "tiny-gpt2"
    };
    let cfg = TransformerConfig::lookup(model).unwrap();
    let mut r = base_row("cpu", &cfg, Precision::F32, pass, (len, batch));
    r.correct = true;
    r.chosen = true;
    let samples = [median_ms * 0.98, median_ms, median_ms * 1.02];
    r.set_timing(summarize(TimingMethod::Wall, &samples, 0.02));
    r.ops = (ops.iter())
        .map(|&(name, ms)| OpTime {
            name: name.into(),
            ms,
            flops: 1e6,
            bytes: 1e5,
            pct_of_roofline: Some(33.0),
            variant: None,
        })
        .collect();
    r
}

fn report(results: Vec<ResultRow>) -> ProfileReport {
    ProfileReport {
        version: 1,
        fingerprint: fingerprint(),
        adapters: vec![costscope::profile::gpu::cpu_entry()],
        results,
        cold_start_ms: None,
        cold_start_all_ms: Vec::new(),
        peaks: Vec::new(),
        telemetry: telemetry::unavailable("NVML unavailable: test".into()),
        cancelled: false,
        errors: Vec::new(),
    }
}

fn showing(report: ProfileReport) -> Harness<'static, CostscopeApp> {
    let mut a = profile_app();
    a.state.profile.run.report = Some(report);
    harness(a)
}

#[test]
fn transformer_rows_show_latency_vs_batch_and_the_time_per_operator() {
    let prefill = [("qkv", 1.0), ("attention", 2.5), ("mlp_up", 0.5)];
    let mut h = showing(report(vec![
        row(Pass::Prefill, (16, 1), 4.2, &prefill),
        row(
            Pass::Prefill,
            (16, 4),
            9.0,
            &[("qkv", 3.0), ("attention", 6.0)],
        ),
        row(
            Pass::Decode,
            (64, 1),
            0.5,
            &[("attention", 0.25), ("lm_head", 0.75)],
        ),
    ]));
    h.get_by_label_contains("Transformer latency vs batch (median)");
    h.get_by_label("prefill:tiny-gpt2 seq 16 · f32 · cpu");
    h.get_by_label("decode:tiny-gpt2 ctx 64 · f32 · cpu");
    // The first row by default: its operators with their share of the four ms.
    h.get_by_label("Time per operator, ms of one pass (stacked)");
    let first = "prefill:tiny-gpt2 seq 16 · f32 · cpu · b1";
    let shares = [
        ("qkv", "1 ms", "25.0 %"),
        ("attention", "2.5 ms", "62.5 %"),
        ("mlp_up", "0.5 ms", "12.5 %"),
    ];
    for (op, ms, pct) in shares {
        // The legend entry and the table cell.
        assert_eq!(h.query_all_by_label(op).count(), 2, "{op}");
        h.get_by_label(ms);
        h.get_by_label(pct);
    }
    h.get_by_label(&format!(
        "{first}: operators add up to 4.000 ms of the pass's 4.200 ms median"
    ));
    assert!(
        h.query_by_label("lm_head").is_none(),
        "the decode row is not picked"
    );
    // Picking the decode row adds its bar: its operators join the legend and the table.
    h.get_by_label_contains("decode:tiny-gpt2 ctx 64 · f32 · cpu · b1: 0.500 ms")
        .click();
    h.run();
    assert_eq!(h.query_all_by_label("lm_head").count(), 2);
    h.get_by_label("75.0 %");
    assert_eq!(
        h.query_all_by_label("attention").count(),
        3,
        "legend + two table rows"
    );
    let picked = h.state().state.profile.transformers.picked.clone();
    assert_eq!(
        picked,
        Some(vec![
            first.to_owned(),
            "decode:tiny-gpt2 ctx 64 · f32 · cpu · b1".to_owned()
        ])
    );
    assert!(h.query_by_label_contains(NO_BREAKDOWN).is_none());
}

#[test]
fn rows_without_operator_times_say_the_report_has_no_breakdown() {
    let mut h = showing(report(vec![
        row(Pass::Encoder, (16, 1), 1.5, &[]),
        row(Pass::Encoder, (16, 2), 2.5, &[]),
    ]));
    h.get_by_label_contains("Transformer latency vs batch (median)");
    h.get_by_label(&format!(
        "encoder:tiny-bert seq 16 · f32 · cpu · b1: {NO_BREAKDOWN}"
    ));
    assert!(
        h.query_by_label("Time per operator, ms of one pass (stacked)")
            .is_none()
    );
    // Clearing the only box picked shows no row at all, and says nothing about one.
    h.get_by_label_contains("encoder:tiny-bert seq 16 · f32 · cpu · b1: 1.500 ms")
        .click();
    h.run();
    assert!(h.query_by_label_contains(NO_BREAKDOWN).is_none());
}
