//! The Plan panel's in-app file dialog, headless with egui_kittest: listing and filtering
//! a folder, walking into a sub-folder, opening a plan (asking over unsaved changes),
//! Save as (asking before overwriting), and a bad folder typed into the path bar.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use std::path::{Path, PathBuf};

use costscope::app::CostscopeApp;
use costscope::app::file_dialog::FileDialog;
use costscope::app::state::{AppState, Tab};
use costscope::plan::presets;
use eframe::egui;
use egui::accesskit::Role;
use egui_kittest::Harness;
use egui_kittest::Node;
use egui_kittest::kittest::Queryable;

fn app(preset: &str) -> CostscopeApp {
    CostscopeApp::new(AppState::new(presets::load(preset).unwrap(), None))
}

fn harness(app: CostscopeApp) -> Harness<'static, CostscopeApp> {
    let mut h = Harness::builder()
        // Background jobs (the verification by simulation, the adapter list) repaint
        // when they finish: allow the frames that takes to settle.
        .with_max_steps(64)
        .with_size(egui::vec2(1400.0, 900.0))
        // Frames 1/60 s apart, as on a display: the default step is too long for the
        // two clicks of a double click to land within egui's 0.3 s.
        .with_step_dt(1.0 / 60.0)
        .build_ui_state(|ui, app: &mut CostscopeApp| app.ui(ui), app);
    h.run();
    h
}

/// A fresh folder holding `sub/inner.ron`, `plan.ron` (the textbook preset) and
/// `notes.txt`; removed on drop.
struct Fixture(PathBuf);

impl Fixture {
    fn new(tag: &str) -> Self {
        let dir =
            std::env::temp_dir().join(format!("costscope-dialog-{tag}-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(dir.join("sub")).unwrap();
        let plan = presets::load("textbook-mmc").unwrap();
        costscope::plan::save_file(&plan, &dir.join("plan.ron")).unwrap();
        let inner = presets::load("startup-transcribe").unwrap();
        costscope::plan::save_file(&inner, &dir.join("sub/inner.ron")).unwrap();
        std::fs::write(dir.join("notes.txt"), "not a plan").unwrap();
        Self(dir.canonicalize().unwrap())
    }
}

impl Drop for Fixture {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.0);
    }
}

/// The app on the Plan panel with the dialog open on `dir` (`dialog_dir` remembered).
fn with_dialog(preset: &str, dir: &Path, button: &str) -> Harness<'static, CostscopeApp> {
    let mut a = app(preset);
    a.state.tab = Tab::Plan;
    a.state.dialog_dir = Some(dir.to_path_buf());
    let mut h = harness(a);
    h.get_by_label(button).click();
    h.run();
    h
}

fn dialog(h: &Harness<'static, CostscopeApp>) -> FileDialog {
    h.state()
        .plan_panel
        .file_dialog
        .clone()
        .expect("the dialog is open")
}

/// The dialog's window, to tell its Open / Save / Cancel from the panel's.
fn window<'t>(h: &'t Harness<'static, CostscopeApp>, title: &'t str) -> Node<'t> {
    h.get_by_role_and_label(Role::Window, title)
}

#[test]
fn ctrl_o_opens_the_dialog_and_lists_folders_first_with_plans_only() {
    let fx = Fixture::new("list");
    let mut a = app("healthcare-triage");
    a.state.dialog_dir = Some(fx.0.clone());
    let mut h = harness(a);
    assert_eq!(h.state().state.tab, Tab::Explore);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::O);
    h.run();
    assert_eq!(h.state().state.tab, Tab::Plan);
    let d = dialog(&h);
    assert_eq!(d.dir, fx.0);
    let names: Vec<&str> = d.entries.iter().map(|e| e.name.as_str()).collect();
    assert_eq!(names, ["sub", "notes.txt", "plan.ron"]);
    let w = window(&h, "Open plan");
    w.get_by_label("..");
    w.get_by_label("sub/");
    w.get_by_label("plan.ron");
    assert!(
        w.query_by_label("notes.txt").is_none(),
        "the plans filter hides .txt"
    );
    w.get_by_label("all files").click();
    h.run();
    window(&h, "Open plan").get_by_label("notes.txt");
    // Escape closes it without touching the plan.
    h.key_press(egui::Key::Escape);
    h.run();
    assert!(h.state().plan_panel.file_dialog.is_none());
}

#[test]
fn double_click_walks_into_a_folder_and_open_loads_the_plan() {
    let fx = Fixture::new("open");
    let mut h = with_dialog("healthcare-triage", &fx.0, "Open…");
    // Let half a second pass, else egui counts the click on "Open…" and these two as a
    // triple click.
    h.run_steps(30);
    window(&h, "Open plan").get_by_label("sub/").click();
    h.step();
    window(&h, "Open plan").get_by_label("sub/").click();
    h.run();
    assert_eq!(dialog(&h).dir, fx.0.join("sub"));
    window(&h, "Open plan").get_by_label("inner.ron").click();
    h.run();
    assert_eq!(dialog(&h).selected, Some(fx.0.join("sub/inner.ron")));
    window(&h, "Open plan").get_by_label("Open").click();
    h.run();
    assert!(
        h.state().plan_panel.file_dialog.is_none(),
        "the dialog closed"
    );
    let state = &h.state().state;
    assert_eq!(state.plan, presets::load("startup-transcribe").unwrap());
    assert_eq!(
        state.plan_path.as_deref(),
        Some(fx.0.join("sub/inner.ron").as_path())
    );
    assert_eq!(
        state.dialog_dir.as_deref(),
        Some(fx.0.join("sub").as_path())
    );
    assert_eq!(h.state().runtime.saved_plan, state.plan);
}

#[test]
fn opening_over_unsaved_changes_asks_first() {
    let fx = Fixture::new("unsaved");
    let mut h = with_dialog("healthcare-triage", &fx.0, "Open…");
    h.state_mut().state.plan.objective.beta = 0.77;
    let edited = h.state().state.plan.clone();
    window(&h, "Open plan").get_by_label("plan.ron").click();
    h.run();
    h.key_press(egui::Key::Enter);
    h.run();
    assert_eq!(h.state().state.plan, edited, "nothing replaced yet");
    window(&h, "Open plan").get_by_label_contains("unsaved changes");
    window(&h, "Open plan").get_by_label("Go back").click();
    h.run();
    assert_eq!(h.state().state.plan, edited);
    assert!(dialog(&h).question.is_none());
    window(&h, "Open plan").get_by_label("Open").click();
    h.run();
    window(&h, "Open plan").get_by_label("Open anyway").click();
    h.run();
    assert_eq!(h.state().state.plan, presets::load("textbook-mmc").unwrap());
    assert!(h.state().plan_panel.file_dialog.is_none());
}

#[test]
fn save_as_writes_a_plan_that_loads_back_and_asks_before_overwriting() {
    let fx = Fixture::new("save");
    let mut h = with_dialog("healthcare-triage", &fx.0, "Save as…");
    // A plan never saved is offered a file name made from its own name.
    assert_eq!(dialog(&h).file_name, "healthcare-triage.ron");
    h.state_mut().state.plan.objective.beta = 0.25;
    h.state_mut()
        .plan_panel
        .file_dialog
        .as_mut()
        .unwrap()
        .file_name = "mine".into();
    h.run();
    window(&h, "Save plan as").get_by_label("Save").click();
    h.run();
    let mine = fx.0.join("mine.ron");
    let saved = costscope::plan::load_file(&mine).expect(".ron appended, file written");
    assert_eq!(saved, h.state().state.plan);
    assert_eq!(h.state().runtime.saved_plan, saved);
    assert_eq!(h.state().state.plan_path.as_deref(), Some(mine.as_path()));
    assert_eq!(h.state().plan_panel.path_input, mine.display().to_string());
    let (code, _, err) = common::costscope(&["validate", mine.to_str().unwrap()]);
    assert_eq!(code, 0, "the CLI accepts the saved plan: {err}");

    // Saving over plan.ron asks; nothing is written until "Overwrite".
    let before = std::fs::read_to_string(fx.0.join("plan.ron")).unwrap();
    h.get_by_label("Save as…").click();
    h.run();
    window(&h, "Save plan as").get_by_label("plan.ron").click();
    h.run();
    assert_eq!(dialog(&h).file_name, "plan.ron");
    h.key_press(egui::Key::Enter);
    h.run();
    window(&h, "Save plan as").get_by_label_contains("already exists");
    assert_eq!(
        std::fs::read_to_string(fx.0.join("plan.ron")).unwrap(),
        before
    );
    window(&h, "Save plan as").get_by_label("Overwrite").click();
    h.run();
    assert!(h.state().plan_panel.file_dialog.is_none());
    let overwritten = costscope::plan::load_file(&fx.0.join("plan.ron")).unwrap();
    assert_eq!(overwritten.objective.beta, 0.25);
}

#[test]
fn a_missing_folder_in_the_path_bar_shows_an_error_and_the_dialog_still_works() {
    let fx = Fixture::new("missing");
    let mut h = with_dialog("healthcare-triage", &fx.0, "Open…");
    let missing = fx.0.join("no-such-folder");
    h.state_mut()
        .plan_panel
        .file_dialog
        .as_mut()
        .unwrap()
        .path_input = missing.display().to_string();
    h.run();
    window(&h, "Open plan").get_by_label("folder:").focus();
    h.run();
    h.key_press(egui::Key::Enter);
    h.run();
    let d = dialog(&h);
    let err = d.error.clone().expect("an error line");
    assert!(
        err.contains("no-such-folder") && err.contains("os error"),
        "{err}"
    );
    assert_eq!(d.dir, fx.0, "still listing the old folder");
    window(&h, "Open plan").get_by_label(&err);
    // Still usable: the sub-folder typed in the path bar opens and clears the error.
    h.state_mut()
        .plan_panel
        .file_dialog
        .as_mut()
        .unwrap()
        .path_input = "sub".into();
    window(&h, "Open plan").get_by_label("folder:").focus();
    h.run();
    h.key_press(egui::Key::Enter);
    h.run();
    assert_eq!(dialog(&h).dir, fx.0.join("sub"));
    assert!(dialog(&h).error.is_none());
    window(&h, "Open plan").get_by_label("Cancel").click();
    h.run();
    assert!(h.state().plan_panel.file_dialog.is_none());
}

#[test]
fn the_path_field_and_a_dropped_file_ask_too_over_unsaved_changes() {
    let fx = Fixture::new("pending");
    let mut a = app("healthcare-triage");
    a.state.tab = Tab::Plan;
    a.state.plan.objective.beta = 0.77;
    let edited = a.state.plan.clone();
    a.plan_panel.path_input = fx.0.join("plan.ron").display().to_string();
    let mut h = harness(a);
    h.get_by_label("Open").click();
    h.run();
    assert_eq!(h.state().state.plan, edited, "nothing replaced yet");
    h.get_by_label_contains("unsaved changes; opening");
    h.get_by_label("Go back").click();
    h.run();
    assert_eq!(h.state().state.plan, edited);
    assert!(h.state().plan_panel.pending_open.is_none());
    let dropped = std::sync::Arc::new(Dropped(fx.0.join("plan.ron")));
    h.input_mut().dropped_files.push(dropped);
    h.run();
    assert_eq!(h.state().state.plan, edited, "a drop asks as well");
    h.get_by_label("Open anyway").click();
    h.run();
    assert_eq!(h.state().state.plan, presets::load("textbook-mmc").unwrap());
}

/// A file dropped onto the window (egui leaves the handle type to the integration).
#[derive(Debug)]
struct Dropped(PathBuf);

impl egui::DroppedFile for Dropped {
    fn path(&self) -> &Path {
        &self.0
    }

    fn bytes(&self) -> Result<Vec<u8>, String> {
        std::fs::read(&self.0).map_err(|e| e.to_string())
    }
}

/// The app on the Plan panel with `path` opened through the path field's Open.
fn opened(path: &Path) -> Harness<'static, CostscopeApp> {
    let mut a = app("healthcare-triage");
    a.state.tab = Tab::Plan;
    a.plan_panel.path_input = path.display().to_string();
    let mut h = harness(a);
    h.get_by_label("Open").click();
    h.run();
    assert_eq!(h.state().plan_panel.file_error, None);
    h
}

#[test]
fn ctrl_s_over_a_file_changed_on_disk_asks_and_overwrite_writes_it() {
    let fx = Fixture::new("changed");
    let file = fx.0.join("plan.ron");
    let mut h = opened(&file);
    h.state_mut().state.plan.objective.beta = 0.31;
    // Someone else writes the file while it is open.
    let theirs = presets::load("startup-transcribe").unwrap();
    costscope::plan::save_file(&theirs, &file).unwrap();
    let on_disk = std::fs::read_to_string(&file).unwrap();
    h.state_mut().state.tab = Tab::Explore;
    h.run();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    assert_eq!(
        std::fs::read_to_string(&file).unwrap(),
        on_disk,
        "not saved"
    );
    assert_eq!(h.state().state.tab, Tab::Plan, "the question is shown");
    h.get_by_label_contains(&format!(
        "{} changed on disk since it was opened",
        file.display()
    ));
    h.get_by_label("Overwrite").click();
    h.run();
    let saved = costscope::plan::load_file(&file).unwrap();
    assert_eq!(saved.objective.beta, 0.31);
    assert!(h.query_by_label_contains("changed on disk").is_none());
    // Saved now: the next Ctrl+S needs no question.
    h.state_mut().state.plan.objective.beta = 0.32;
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    assert_eq!(
        costscope::plan::load_file(&file).unwrap().objective.beta,
        0.32
    );
}

#[test]
fn the_changed_on_disk_question_offers_save_as_and_cancel() {
    let fx = Fixture::new("changed-cancel");
    let file = fx.0.join("plan.ron");
    let mut h = opened(&file);
    std::fs::write(&file, std::fs::read_to_string(&file).unwrap() + "\n").unwrap();
    let on_disk = std::fs::read_to_string(&file).unwrap();
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    h.get_by_label("Cancel").click();
    h.run();
    assert!(h.query_by_label_contains("changed on disk").is_none());
    assert_eq!(std::fs::read_to_string(&file).unwrap(), on_disk);
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    h.get_by_label("Save to another file…").click();
    h.run();
    window(&h, "Save plan as");
    assert_eq!(std::fs::read_to_string(&file).unwrap(), on_disk);
}

#[test]
fn a_relative_path_is_stored_absolute_when_opened_or_given() {
    // The crate root is the working folder of `cargo test`; the preset is only read.
    let relative = Path::new("presets/textbook-mmc.ron");
    let absolute = relative.canonicalize().unwrap();
    let h = opened(relative);
    assert_eq!(
        h.state().state.plan_path.as_deref(),
        Some(absolute.as_path())
    );
    // As `costscope gui plan.ron` hands it to the app.
    let plan = costscope::plan::load_file(relative).unwrap();
    let given = AppState::new(plan, Some(relative.to_path_buf()));
    assert_eq!(given.plan_path.as_deref(), Some(absolute.as_path()));
}

#[test]
fn saving_over_a_file_with_comments_says_they_are_lost_and_offers_save_as() {
    let fx = Fixture::new("comments");
    let file = fx.0.join("commented.ron");
    let text = std::fs::read_to_string(fx.0.join("plan.ron")).unwrap();
    let commented = format!("// my notes on this plan\n{text}");
    std::fs::write(&file, &commented).unwrap();
    let mut h = opened(&file);
    h.state_mut().state.plan.objective.beta = 0.4;
    h.key_press_modifiers(egui::Modifiers::COMMAND, egui::Key::S);
    h.run();
    assert_eq!(std::fs::read_to_string(&file).unwrap(), commented);
    let question = format!("{} has comments", file.display());
    h.get_by_label_contains(&question);
    h.get_by_label("Save to another file…").click();
    h.run();
    window(&h, "Save plan as");
    assert!(h.query_by_label_contains(&question).is_none());
    window(&h, "Save plan as").get_by_label("Cancel").click();
    h.run();
    // The Save button asks the same, and Overwrite writes the plan without them.
    h.get_by_label("Save").click();
    h.run();
    h.get_by_label_contains(&question);
    h.get_by_label("Overwrite").click();
    h.run();
    assert_eq!(
        costscope::plan::load_file(&file).unwrap().objective.beta,
        0.4
    );
    assert!(!std::fs::read_to_string(&file).unwrap().contains("//"));
}
