//! App layer: the Plan panel's CSV export — every candidate the optimiser scored
//! (each policy × fleet size × batch it tried, feasible or not), with the best per
//! policy and the Pareto frontier marked.
//!
//! The optimiser keeps only a count of what it scored, not the list, so the sweep is
//! walked again ([`crate::model::sweep::tried_candidates`], the optimiser's own walk);
//! a test holds the rows with a latency to the optimiser's `evaluated`.

use std::path::Path;

use eframe::egui;

use super::plan_ui::{NO_PATH, PlanPanel};
use super::state::Results;
use crate::model::sweep::tried_candidates;
use crate::model::{Evaluation, Optimum, Plan, SweepOptions};

/// The CSV header: one column per figure, units in the names.
pub const CSV_HEADER: &str = "policy,servers,warm,spot,batch,max_num_seqs,cost_usd_per_hour,cost_usd_per_million,mean_ms,p50_ms,p95_ms,p99_ms,utilization,p_wait,cold_start_fraction,objective,feasible,best_per_policy,pareto,why_infeasible";

/// Every candidate the optimiser scores for `plan` under its default search, in sweep
/// order (policy, then `max_num_seqs` for an LLM plan, then servers, then batch), each
/// evaluated in full. Overloaded ones (no latency; infeasible, the optimiser's
/// `evaluated` does not count them) are listed too, so the file shows where each
/// policy starts to fit. An error says why the plan cannot be evaluated.
pub fn all_candidates(plan: &Plan) -> Result<Vec<Evaluation>, String> {
    let options = SweepOptions::for_plan(plan);
    let tried = tried_candidates(plan, &options).map_err(|e| e.to_string())?;
    Ok(tried.into_iter().map(|(_, e)| e).collect())
}

/// Whether `a` and `b` are the same candidate (policy, sizes, batch, sequences).
fn same(a: &Evaluation, b: &Evaluation) -> bool {
    let key = |e: &Evaluation| (e.policy, e.servers, e.warm, e.spot, e.batch, e.max_num_seqs);
    key(a) == key(b)
}

/// `candidates` as CSV under [`CSV_HEADER`]: one row each, marked when the optimum
/// reports it as its policy's best or on the Pareto frontier.
pub fn candidates_csv(candidates: &[Evaluation], optimum: &Optimum) -> String {
    let mut out = format!("{CSV_HEADER}\n");
    let num = |x: Option<f64>| x.map_or_else(String::new, |v| format!("{v}"));
    for e in candidates {
        let l = e.latency_ms;
        let best = optimum.candidates.iter().any(|c| same(c, e));
        let pareto = optimum.pareto.iter().any(|c| same(c, e));
        // Quoted, with quotes doubled, so a reason with a comma stays one field.
        let why = e
            .why_infeasible
            .as_deref()
            .map_or_else(String::new, |w| format!("\"{}\"", w.replace('"', "\"\"")));
        out += &format!(
            "{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{},{}\n",
            e.policy.name(),
            e.servers,
            e.warm,
            e.spot,
            e.batch,
            e.max_num_seqs.map_or_else(String::new, |n| n.to_string()),
            e.cost_usd_per_hour,
            num(e.cost_usd_per_million),
            num(l.map(|l| l.mean)),
            num(l.map(|l| l.p50)),
            num(l.map(|l| l.p95)),
            num(l.map(|l| l.p99)),
            e.utilization,
            e.p_wait,
            e.cold_start_fraction,
            num(e.objective),
            e.feasible,
            best,
            pareto,
            why,
        );
    }
    out
}

/// Writes every candidate of `plan`'s search to `path` (atomically; an existing file
/// only with `overwrite`) and says what it wrote.
pub fn export_csv(
    plan: &Plan,
    optimum: &Result<Optimum, String>,
    path: &Path,
    overwrite: bool,
) -> Result<String, Exported> {
    let nothing = |e: String| Exported::Failed(format!("nothing to export: {e}"));
    let optimum = optimum.as_ref().map_err(|e| nothing(e.clone()))?;
    let all = all_candidates(plan).map_err(|e| nothing(e.to_string()))?;
    let bytes = candidates_csv(&all, optimum);
    let written = if overwrite {
        crate::files::write_atomic(path, bytes.as_bytes())
    } else {
        crate::files::write_new(path, bytes.as_bytes())
    };
    written.map_err(|e| match e.kind() {
        std::io::ErrorKind::AlreadyExists => Exported::Exists,
        _ => Exported::Failed(format!("cannot write {}: {e}", path.display())),
    })?;
    let feasible = all.iter().filter(|e| e.feasible).count();
    Ok(format!(
        "exported {} candidates ({feasible} feasible) to {}",
        all.len(),
        path.display()
    ))
}

impl PlanPanel {
    /// Export CSV: the candidates next to the path field's file (`path`); a file
    /// already there is replaced only after the user agrees.
    pub(super) fn export_ui(&mut self, ui: &mut egui::Ui, path: Option<&Path>, results: &Results) {
        let csv = path.unwrap_or(Path::new("")).with_extension("csv");
        ui.horizontal(|ui| {
            if ui
                .add_enabled(path.is_some(), egui::Button::new("Export CSV"))
                .on_hover_text(
                    "Every candidate the optimiser scored (feasible or not), next to the plan \
                     file; asks before replacing a file there.",
                )
                .on_disabled_hover_text(NO_PATH)
                .clicked()
            {
                if csv.exists() {
                    self.pending_csv = Some(csv.clone());
                } else {
                    self.write_csv(results, &csv, false);
                }
            }
        });
        let Some(pending) = self.pending_csv.clone() else {
            return;
        };
        ui.horizontal_wrapped(|ui| {
            ui.colored_label(
                ui.visuals().warn_fg_color,
                format!("{} exists.", pending.display()),
            );
            if ui
                .button("Overwrite")
                .on_hover_text("Replace that file with the candidates.")
                .clicked()
            {
                self.pending_csv = None;
                self.write_csv(results, &pending, true);
            }
            if ui
                .button("Cancel")
                .on_hover_text("Keep the file; export nothing.")
                .clicked()
            {
                self.pending_csv = None;
            }
        });
    }

    /// Writes the CSV and says how it went; a file that appeared meanwhile is asked
    /// about rather than replaced, unless `overwrite`.
    fn write_csv(&mut self, results: &Results, csv: &Path, overwrite: bool) {
        match export_csv(&results.plan, &results.optimum, csv, overwrite) {
            Ok(message) => {
                self.file_message = Some(message);
                self.file_error = None;
            }
            Err(Exported::Exists) => self.pending_csv = Some(csv.to_owned()),
            Err(Exported::Failed(e)) => self.file_error = Some(e),
        }
    }
}

/// Why an export wrote nothing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Exported {
    /// A file is there and `overwrite` was not given.
    Exists,
    /// Nothing to export, or the write failed: why, in one line.
    Failed(String),
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::model::optimize;
    use crate::plan::presets::{PRESETS, load};

    #[test]
    fn the_rows_are_every_candidate_the_optimiser_scored() {
        for preset in PRESETS {
            let plan = load(preset.name).unwrap();
            let optimum = optimize(&plan, &SweepOptions::for_plan(&plan)).unwrap();
            let all = all_candidates(&plan).unwrap();
            let scored = all.iter().filter(|e| e.latency_ms.is_some()).count();
            assert_eq!(scored, optimum.evaluated, "{}", preset.name);
            assert!(
                all.iter()
                    .filter(|e| e.latency_ms.is_none())
                    .all(|e| !e.feasible)
            );
            let csv = candidates_csv(&all, &optimum);
            let mut lines = csv.lines();
            assert_eq!(lines.next(), Some(CSV_HEADER));
            assert_eq!(lines.count(), all.len(), "{}", preset.name);
            // The optimiser's best of each policy is among the rows, marked.
            for best in &optimum.candidates {
                assert!(all.iter().any(|e| same(e, best)), "{}", preset.name);
            }
            let column = |name: &str| CSV_HEADER.split(',').position(|c| c == name).unwrap();
            let best_col = column("best_per_policy");
            let marked = (csv.lines().skip(1))
                .filter(|l| l.split(',').nth(best_col) == Some("true"))
                .count();
            assert_eq!(marked, optimum.candidates.len(), "{}", preset.name);
        }
    }
}
