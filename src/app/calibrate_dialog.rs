//! App layer: the Profile panel's "Use in plan" — the calibration's before → after of
//! every field, the rows it read and its warnings in a modal dialog, each changed field
//! with a tick to opt out; Apply writes exactly the ticked fields into the plan
//! ([`apply_changes`]), Cancel (or Escape, or a click beside it) changes nothing. A
//! calibration that fails is one line in the panel, worded for the app's controls.

use eframe::egui;

use crate::calibrate::review::Change;
use crate::calibrate::{
    CalibrateError, Calibration, Selection, apply_changes, calibrate_with_warnings, is_derived,
};
use crate::model::Plan;
use crate::plan::validate::validate;
use crate::profile::report::ProfileReport;

/// How a report measured in the app (never saved to a file) is named in the plan's
/// `service.source` and in the calibration's lines: by when it was measured, so a saved
/// plan still says which profile it came from.
pub fn report_label(report: &ProfileReport) -> String {
    format!("the app's profile of {}", report.fingerprint.date)
}

/// What the panel says after Cancel.
const CANCELLED: &str = "Use in plan cancelled: the plan is unchanged";

/// A button of the dialog.
enum Choice {
    /// Write the ticked fields.
    Apply,
    /// Change nothing.
    Cancel,
}

/// The dialog's state while open (runtime only): the plan it was computed on, the
/// calibration, and which changed fields are ticked.
#[derive(Debug, Clone)]
pub struct CalibrateDialog {
    /// The plan as it was when "Use in plan" was clicked.
    pub original: Plan,
    /// What the calibration proposes.
    pub calibration: Calibration,
    /// One per change in [`Calibration::changes`]: apply it (on by default). A field the
    /// calibration kept (before == after) has nothing to apply and no tick.
    pub ticked: Vec<bool>,
}

impl CalibrateDialog {
    /// The dialog over `calibration` of `plan`, every changed field ticked.
    pub fn new(plan: &Plan, calibration: Calibration) -> Self {
        Self {
            original: plan.clone(),
            ticked: vec![true; calibration.changes.len()],
            calibration,
        }
    }

    /// The changes that change something and can be ticked (the others are kept
    /// fields, shown as information, or a cold start that is the sum of its parts),
    /// each with whether it is ticked.
    fn changed(&self) -> impl Iterator<Item = (&Change, bool)> {
        let derived = |c: &Change| is_derived(&self.calibration.plan, &c.field);
        (self.calibration.changes.iter())
            .zip(self.ticked.iter().copied())
            .filter(move |(c, _)| c.before != c.after && !derived(c))
    }

    /// The ticked fields' paths.
    fn ticked_fields(&self) -> Vec<&str> {
        (self.changed())
            .filter(|(_, on)| *on)
            .map(|(c, _)| c.field.as_str())
            .collect()
    }

    /// The plan Apply would write now.
    fn preview(&self) -> Plan {
        apply_changes(
            &self.original,
            &self.calibration.plan,
            &self.ticked_fields(),
        )
    }

    /// True when `field` changes and is ticked.
    fn is_ticked(&self, field: &str) -> bool {
        self.changed().any(|(c, on)| on && c.field == field)
    }

    /// Shows the dialog; once it closes, writes the ticked fields into `plan` (Apply)
    /// or leaves it (Cancel) and returns what the panel should say.
    pub fn ui(&mut self, ctx: &egui::Context, plan: &mut Plan) -> Option<String> {
        let modal = egui::Modal::new(egui::Id::unique("costscope_calibrate_dialog"))
            .show(ctx, |ui| self.contents_ui(ui));
        match modal.inner {
            Some(Choice::Apply) => Some(self.apply(plan)),
            Some(Choice::Cancel) => Some(CANCELLED.to_owned()),
            None => modal.should_close().then(|| CANCELLED.to_owned()),
        }
    }

    /// Writes the ticked fields into `plan`, unless it changed since the calibration
    /// was computed (then nothing is written); returns what was applied and kept.
    pub fn apply(&self, plan: &mut Plan) -> String {
        if *plan != self.original {
            return "nothing applied: the plan changed while the dialog was open; \
                    click Use in plan again"
                .to_owned();
        }
        let fields = self.ticked_fields();
        let applied = self.preview();
        // Each field's range holds in both plans, so any mix of them validates; checked
        // anyway, as the plan is the user's.
        if let Err(v) = validate(&applied) {
            let (path, value, allowed) = (v.path, v.value, v.allowed);
            return format!(
                "nothing applied: {path} = {value} would be out of range (allowed: {allowed})"
            );
        }
        *plan = applied;
        let mut text = self.summary(&fields);
        let (before_s, after_s) = (
            self.original.service.cold_start_s,
            plan.service.cold_start_s,
        );
        if let Some(p) = &plan.service.cold_start_parts
            && before_s != after_s
        {
            text.insert_str(
                text.find('\n').unwrap_or(text.len()),
                &format!(
                    "; service.cold_start_s {before_s} -> {after_s:.3}: {}",
                    p.describe()
                ),
            );
        }
        text
    }

    /// "applied 2 of 3 changes from the profile: …; kept: …" and the warnings.
    fn summary(&self, fields: &[&str]) -> String {
        let total = self.changed().count();
        let mut kept: Vec<String> = (self.changed())
            .filter(|(_, on)| !on)
            .map(|(c, _)| format!("{} (opted out)", c.field))
            .collect();
        kept.extend(
            (self.calibration.changes.iter())
                .filter(|c| c.before == c.after && !is_derived(&self.calibration.plan, &c.field))
                .map(|c| c.field.clone()),
        );
        let mut text = format!(
            "applied {} of {total} changes from the profile: {}",
            fields.len(),
            if fields.is_empty() {
                "none".to_owned()
            } else {
                fields.join(", ")
            }
        );
        if !kept.is_empty() {
            text.push_str("; kept: ");
            text.push_str(&kept.join(", "));
        }
        for w in &self.calibration.warnings {
            text.push_str("\nwarning: ");
            text.push_str(w);
        }
        text
    }

    /// The changes, rows used, warnings and buttons; the button clicked, if any.
    fn contents_ui(&mut self, ui: &mut egui::Ui) -> Option<Choice> {
        ui.set_max_width(760.0);
        ui.heading("Use the profile in the plan");
        let warn = ui.visuals().warn_fg_color;
        for w in &self.calibration.warnings {
            ui.colored_label(warn, format!("warning: {w}"));
        }
        ui.separator();
        let max_height = ui.ctx().content_rect().height() * 0.6;
        let shown = egui::ScrollArea::vertical()
            .id_salt("calibrate_changes")
            .max_height(max_height)
            .show(ui, |ui| self.changes_ui(ui));
        // The area takes its height from the content it measured a frame before: while
        // it is shorter than both, draw again, so the dialog settles before a click
        // lands on rows that are about to move.
        let (height, content) = (shown.inner_rect.height(), shown.content_size.y);
        if height + 0.5 < content.min(max_height) {
            ui.ctx().request_repaint();
        }
        ui.separator();
        if self.is_ticked("service.source") && !self.is_ticked("service.batch_latency_ms") {
            ui.colored_label(
                warn,
                "service.source will name the profile while L(b) stays the plan's own",
            );
        }
        let (total, on) = (
            self.changed().count(),
            self.changed().filter(|c| c.1).count(),
        );
        let mut choice = None;
        ui.horizontal(|ui| {
            let why = format!("Write the {on} ticked of the {total} changed fields into the plan.");
            if ui.button("Apply").on_hover_text(why).clicked() {
                choice = Some(Choice::Apply);
            }
            let why = "Close, changing nothing (Escape).";
            if ui.button("Cancel").on_hover_text(why).clicked() {
                choice = Some(Choice::Cancel);
            }
        });
        choice
    }

    /// Each change as field, before -> after and why (a tick on those that change
    /// something), then the rows the curve was read from.
    fn changes_ui(&mut self, ui: &mut egui::Ui) {
        let weak = ui.visuals().weak_text_color();
        // The sum of the parts as they are ticked now.
        let preview = self.preview().service;
        for (change, ticked) in (self.calibration.changes.iter()).zip(self.ticked.iter_mut()) {
            // Plain ASCII arrows: the window's font has no arrow glyph.
            if is_derived(&self.calibration.plan, &change.field) {
                let sum = preview.cold_start_parts.as_ref().map(|p| p.describe());
                ui.label(format!(
                    "{} = {} -> {:.3} (the sum of the ticked parts)",
                    change.field, change.before, preview.cold_start_s
                ));
                ui.colored_label(weak, sum.unwrap_or_default());
                ui.add_space(4.0);
                continue;
            } else if change.before == change.after {
                ui.label(format!("{} = {} (kept)", change.field, change.after));
            } else {
                ui.checkbox(ticked, change.field.as_str())
                    .on_hover_text("Untick to keep the plan's value.");
                ui.label(format!("{} -> {}", change.before, change.after));
            }
            ui.colored_label(weak, change.why.as_str());
            ui.add_space(4.0);
        }
        ui.separator();
        ui.label("Rows used (the median of each):");
        for row in &self.calibration.rows_used {
            ui.monospace(row.as_str());
        }
    }
}

/// The "Use in plan" button: calibrates `plan` from `report` and opens the dialog over
/// the result, or says in `message` why it cannot.
pub fn use_in_plan_ui(
    ui: &mut egui::Ui,
    (report, selection): (&ProfileReport, &Selection),
    plan: &Plan,
    dialog: &mut Option<CalibrateDialog>,
    message: &mut Option<String>,
) {
    let label = report_label(report);
    if !ui
        .button("Use in plan")
        .on_hover_ui(|ui| {
            ui.label(
                "Review the measured L(b) and power before they go into the plan, field by \
                 field (the plan's service CV stays: the profile measures timing noise, not \
                 how requests vary; its cold start stays too, unless the plan states \
                 cold_start_parts: then the measured device set-up and the model's bytes \
                 replace theirs and the cold start is the new sum).",
            );
            // Only while hovered: the same calibration a click makes, so the tooltip
            // names exactly the device, precision and rows the dialog will show.
            match calibrate_with_warnings(plan, report, &label, selection) {
                Ok(c) => rows_it_uses_ui(ui, &c.rows_used),
                Err(e) => {
                    ui.label(error_line(&e));
                }
            }
        })
        .clicked()
    {
        return;
    }
    match calibrate_with_warnings(plan, report, &label, selection) {
        Ok(c) => {
            *dialog = Some(CalibrateDialog::new(plan, c));
            *message = None;
        }
        Err(e) => *message = Some(error_line(&e)),
    }
}

/// Rows shown in the button's tooltip before the rest are counted.
const TOOLTIP_ROWS: usize = 4;

/// "It will use:" and the first rows a calibration reads (device, precision, workload,
/// batch, median), the rest counted.
fn rows_it_uses_ui(ui: &mut egui::Ui, rows: &[String]) {
    ui.label("It will use:");
    for row in rows.iter().take(TOOLTIP_ROWS) {
        ui.monospace(row.as_str());
    }
    if rows.len() > TOOLTIP_ROWS {
        ui.label(format!("… and {} more rows", rows.len() - TOOLTIP_ROWS));
    }
}

/// The calibration's error in the app's words: a missing sequence length names the
/// Profile panel's list (the app has no `--seq-len`); others as the library says them.
pub fn error_line(e: &CalibrateError) -> String {
    match e {
        CalibrateError::NoSeqLen {
            workload,
            precision,
            seq_len,
            available,
            ..
        } => format!(
            "the profile has no {workload} rows in {precision} at the plan's service.seq_len \
             {seq_len} (lengths it has: {available}): add {seq_len} to the sequence lengths \
             here and run the profile again, or set service.seq_len in the plan's file to \
             one of them and open it again"
        ),
        other => other.to_string(),
    }
}
