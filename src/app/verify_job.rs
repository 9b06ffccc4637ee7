//! App layer: the recommendation verified by simulation in the background — what
//! `costscope plan --verify` checks (the recommendation, the plan as written and each
//! policy's best, in seeded replications), rerun whenever the plan changes (the run
//! before is cancelled), and one line saying whether the simulation agrees.

use std::sync::Arc;

use eframe::egui;

use super::explore_ui::describe;
use super::job::BackgroundJob;
use super::state::Results;
use crate::model::{Evaluation, Plan};
use crate::sim::verify::{Verification, VerifyOptions, reversal, verify_cancellable};

/// Replications per candidate: few, so a day of `embedding-cache` (the busiest preset)
/// is checked in seconds on two cores, and enough for Student's t to give an interval
/// (t = 3.18 at three degrees of freedom).
pub const REPLICATIONS: u32 = 4;

/// Relative slack below which two simulated objectives count as a tie (the two
/// candidates are often the same fleet under two names).
const TIE_REL: f64 = 1e-3;

/// A finished verification of one plan.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// How it was simulated.
    pub options: VerifyOptions,
    /// The recommendation first, then the plan as written (when it differs), then each
    /// other policy's best.
    pub candidates: Vec<Verification>,
    /// The candidate the simulation ranks above the recommendation by more than the
    /// intervals' width, if any.
    pub prefers: Option<usize>,
}

/// Where the verification of a plan stands.
#[derive(Debug, Clone, PartialEq)]
pub enum VerifyState {
    /// Nothing to verify (no recommendation), and why.
    Nothing(String),
    /// Simulating.
    Running,
    /// Done.
    Done(Checked),
    /// The simulation could not run, and why.
    Failed(String),
}

/// The verification of one plan, as the panels read it.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifyStatus {
    /// The plan verified.
    pub plan: Plan,
    /// Where it stands.
    pub state: VerifyState,
}

/// The worker's answer.
type Outcome = Result<Checked, crate::sim::SimError>;

/// The background verification (runtime only). Dropping it cancels its run.
#[derive(Default)]
pub struct VerifyRun {
    /// The run in flight.
    pub job: Option<BackgroundJob<Outcome>>,
    /// The status of the current plan.
    pub status: Option<Arc<VerifyStatus>>,
    /// Runs cancelled for a newer plan, kept until their workers stop (a dropped job
    /// waits for its worker; the frame that cancels must not).
    retired: Vec<BackgroundJob<Outcome>>,
}

impl Drop for VerifyRun {
    fn drop(&mut self) {
        for job in self.job.iter().chain(&self.retired) {
            job.cancel();
        }
    }
}

/// Where the status lives in egui's memory, for the panels to read.
fn status_id() -> egui::Id {
    egui::Id::unique("costscope-verification")
}

/// The candidates `plan --verify` checks, plus the plan as written: the
/// recommendation first, each once.
pub fn candidates(results: &Results) -> Vec<Evaluation> {
    let Ok(optimum) = &results.optimum else {
        return Vec::new();
    };
    let mut chosen: Vec<Evaluation> = optimum.best.iter().cloned().collect();
    let others = results.evaluation.iter().chain(optimum.candidates.iter());
    for c in others {
        let same = |b: &Evaluation| {
            (b.policy, b.servers, b.warm, b.spot, b.batch)
                == (c.policy, c.servers, c.warm, c.spot, c.batch)
        };
        if !chosen.is_empty() && c.latency_ms.is_some() && !chosen.iter().any(same) {
            chosen.push(c.clone());
        }
    }
    chosen
}

impl VerifyRun {
    /// True once the verification of `plan` has finished (or there is nothing to run).
    pub fn settled(&self, plan: &Plan) -> bool {
        self.job.is_none() && self.status.as_ref().is_some_and(|s| s.plan == *plan)
    }

    /// Once a frame: takes a finished run, starts one for a changed plan (cancelling
    /// the one before), and publishes the status for the panels.
    pub fn update(&mut self, ctx: &egui::Context, results: &Results) {
        self.retired.retain_mut(|job| job.poll().is_none());
        if let Some(outcome) = self.job.as_mut().and_then(BackgroundJob::poll) {
            self.job = None;
            let state = match outcome {
                Ok(Ok(checked)) => VerifyState::Done(checked),
                Ok(Err(e)) => VerifyState::Failed(e.to_string()),
                Err(died) => VerifyState::Failed(died.to_string()),
            };
            if let Some(s) = &self.status {
                self.status = Some(Arc::new(VerifyStatus {
                    plan: s.plan.clone(),
                    state,
                }));
            }
        }
        if self.status.as_ref().is_none_or(|s| s.plan != results.plan) {
            self.start(ctx, results);
        }
        let status = self.status.clone();
        ctx.data_mut(|d| d.insert_temp(status_id(), status));
    }

    fn start(&mut self, ctx: &egui::Context, results: &Results) {
        if let Some(job) = self.job.take() {
            job.cancel();
            self.retired.push(job);
        }
        let chosen = candidates(results);
        let state = if chosen.is_empty() {
            VerifyState::Nothing("no feasible recommendation to verify".into())
        } else {
            let plan = results.plan.clone();
            let spawned = BackgroundJob::spawn("verifier", ctx, move |w| {
                let options = VerifyOptions {
                    replications: REPLICATIONS,
                    ..VerifyOptions::default()
                };
                let candidates = verify_cancellable(&plan, &chosen, &options, &|| !w.cancelled())?;
                Ok(Checked {
                    prefers: prefers_beyond_noise(&plan, &candidates),
                    options,
                    candidates,
                })
            });
            match spawned {
                Ok(job) => {
                    self.job = Some(job);
                    VerifyState::Running
                }
                Err(e) => VerifyState::Failed(format!("cannot start the verifier thread: {e}")),
            }
        };
        self.status = Some(Arc::new(VerifyStatus {
            plan: results.plan.clone(),
            state,
        }));
    }
}

/// The status published for `plan` this frame, if it is that plan's.
pub fn current(ctx: &egui::Context, plan: &Plan) -> Option<Arc<VerifyStatus>> {
    ctx.data(|d| d.get_temp::<Option<Arc<VerifyStatus>>>(status_id()))
        .flatten()
        .filter(|s| s.plan == *plan)
}

/// [`reversal`], kept only when the simulated objectives differ by more than their
/// intervals allow (α·cost and β·metric half-widths of both, summed) — two names for
/// the same fleet, or a difference inside the noise, are no reversal.
pub fn prefers_beyond_noise(plan: &Plan, v: &[Verification]) -> Option<usize> {
    let i = reversal(plan, v)?;
    let (rec, alt) = (v.first()?, v.get(i)?);
    let o = &plan.objective;
    let noise = |x: &Verification| {
        o.alpha * x.simulated.cost_usd_per_hour.ci95 + o.beta * x.simulated.metric_ms.ci95
    };
    let gap = rec.simulated.objective - alt.simulated.objective;
    let slack = noise(rec) + noise(alt) + TIE_REL * rec.simulated.objective.abs();
    (gap > slack).then_some(i)
}

/// One figure of a candidate against its simulated interval: "cost ±0.4 %" when the
/// model lies inside, else the model, the interval and how far off the model is.
fn figure(
    name: &str,
    (unit, decimals): (&str, usize),
    model: f64,
    sim: crate::sim::verify::Interval,
) -> (bool, String) {
    let pct = |x: f64| {
        if sim.mean.abs() > 0.0 {
            100.0 * x / sim.mean.abs()
        } else {
            0.0
        }
    };
    if sim.contains(model) {
        (true, format!("{name} ±{:.1} %", pct(sim.ci95)))
    } else {
        (
            false,
            format!(
                "{name}: model {model:.decimals$} {unit}, simulated {:.decimals$} ± {:.decimals$} \
                 (model {:+.1} %)",
                sim.mean,
                sim.ci95,
                pct(model - sim.mean)
            ),
        )
    }
}

/// The line the panels show under the recommendation, and whether it is good news.
pub fn line(plan: &Plan, state: &VerifyState) -> (bool, String) {
    let c = match state {
        VerifyState::Nothing(why) => return (true, format!("not verified: {why}")),
        VerifyState::Running => {
            return (
                true,
                format!("verifying by simulation ({REPLICATIONS} days)…"),
            );
        }
        VerifyState::Failed(why) => return (false, format!("verification failed: {why}")),
        VerifyState::Done(c) => c,
    };
    let Some(rec) = c.candidates.first() else {
        return (true, "not verified: nothing was simulated".into());
    };
    let m = plan.objective.metric;
    let model_metric = rec.candidate.latency_ms.map(|l| l.get(m));
    let mut parts = vec![figure(
        "cost",
        ("$/h", 3),
        rec.candidate.cost_usd_per_hour,
        rec.simulated.cost_usd_per_hour,
    )];
    parts.push(match model_metric {
        Some(x) => figure(m.name(), ("ms", 2), x, rec.simulated.metric_ms),
        None => (false, "the model has no latency for it".into()),
    });
    let agrees = parts.iter().all(|p| p.0);
    let mut text: Vec<String> = parts
        .into_iter()
        .filter(|p| agrees || !p.0)
        .map(|p| p.1)
        .collect();
    if let Some(better) = c.prefers.and_then(|i| c.candidates.get(i)) {
        text.push(format!(
            "it ranks {} first (simulated J {:.3} vs {:.3})",
            describe(&better.candidate),
            better.simulated.objective,
            rec.simulated.objective
        ));
    }
    if agrees && c.prefers.is_none() {
        (true, format!("verified by simulation: {}", text.join(", ")))
    } else {
        (false, format!("simulation disagrees: {}", text.join("; ")))
    }
}

/// The verification line for `results`' recommendation, coloured when it disagrees
/// (Explore shows it under the recommendation, Warm / cold above its verdict).
pub fn status_line_ui(ui: &mut egui::Ui, plan: &Plan) {
    let (good, text) = match current(ui.ctx(), plan) {
        Some(s) => line(plan, &s.state),
        None => (
            true,
            format!("verifying by simulation ({REPLICATIONS} days)…"),
        ),
    };
    let hover = format!(
        "The recommendation, the plan as written and each policy's best simulated for \
         {REPLICATIONS} seeded days (what `costscope plan --verify` does): ± is the half-width \
         of the 95 % interval of the simulated mean, as a share of it; the model agrees when \
         its figure lies inside."
    );
    if good {
        ui.label(text).on_hover_text(hover);
    } else {
        ui.colored_label(ui.visuals().warn_fg_color, text)
            .on_hover_text(hover);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sim::verify::{Interval, Simulated};

    fn iv(mean: f64, ci95: f64) -> Interval {
        Interval { mean, ci95 }
    }

    /// `e` as simulated with cost and p95 intervals, and J from them (α 1, β 0.05).
    fn verified(e: &Evaluation, cost: Interval, p95: Interval) -> Verification {
        Verification {
            candidate: e.clone(),
            simulated: Simulated {
                cost_usd_per_hour: cost,
                mean_ms: p95,
                p95_ms: p95,
                p99_ms: p95,
                cold_start_fraction: iv(0.0, 0.0),
                metric_ms: p95,
                objective: cost.mean + 0.05 * p95.mean,
                ttft_ms: None,
                tpot_ms: None,
                warnings: Vec::new(),
            },
            agrees: true,
            disagreements: Vec::new(),
        }
    }

    fn setting() -> (Plan, Evaluation, Evaluation) {
        let plan = crate::plan::presets::load("embedding-cache").unwrap();
        let r = Results::compute(&plan);
        let o = r.optimum.unwrap();
        let best = o.best.unwrap();
        let other = o
            .candidates
            .into_iter()
            .find(|c| c.policy != best.policy)
            .unwrap();
        (plan, best, other)
    }

    fn done(candidates: Vec<Verification>, plan: &Plan) -> VerifyState {
        VerifyState::Done(Checked {
            prefers: prefers_beyond_noise(plan, &candidates),
            options: VerifyOptions::default(),
            candidates,
        })
    }

    #[test]
    fn the_line_gives_the_intervals_when_the_model_is_inside() {
        let (plan, best, _) = setting();
        let cost = best.cost_usd_per_hour;
        let p95 = best.latency_ms.unwrap().p95;
        let v = verified(&best, iv(cost * 1.001, cost * 0.004), iv(p95, p95 * 0.02));
        let (good, text) = line(&plan, &done(vec![v], &plan));
        assert!(good);
        assert_eq!(text, "verified by simulation: cost ±0.4 %, p95 ±2.0 %");
    }

    #[test]
    fn the_line_names_the_figure_outside_and_a_better_candidate() {
        let (plan, best, other) = setting();
        let cost = best.cost_usd_per_hour;
        let p95 = best.latency_ms.unwrap().p95;
        // p95 simulated 10 % above the model, well outside ± 1 %.
        let rec = verified(&best, iv(cost, 0.0), iv(p95 * 1.1, p95 * 0.01));
        let (good, text) = line(&plan, &done(vec![rec.clone()], &plan));
        assert!(!good);
        assert!(
            text.starts_with("simulation disagrees: p95: model "),
            "{text}"
        );
        assert!(text.ends_with("(model -9.1 %)"), "{text}");
        assert!(text.contains(" ms, simulated "), "{text}");
        // A candidate far cheaper in simulation is named; one within the noise is not.
        let cheaper = verified(&other, iv(cost / 2.0, 0.0), iv(p95, 0.0));
        let (_, text) = line(&plan, &done(vec![rec.clone(), cheaper], &plan));
        assert!(
            text.contains(&format!("it ranks {} first", describe(&other))),
            "{text}"
        );
        let tie = verified(&other, iv(cost, 0.0), iv(p95 * 1.1 - 1e-6, p95 * 0.01));
        assert_eq!(prefers_beyond_noise(&plan, &[rec, tie]), None);
    }

    #[test]
    fn the_candidates_put_the_recommendation_first_and_add_the_plan_as_written() {
        let plan = crate::plan::presets::load("embedding-cache").unwrap();
        let r = Results::compute(&plan);
        let c = candidates(&r);
        let best = r.optimum.as_ref().unwrap().best.clone().unwrap();
        assert_eq!(c[0], best);
        let written = r.evaluation.clone().unwrap();
        assert!(
            c[1..].contains(&written),
            "the plan as written is checked too"
        );
        for (i, a) in c.iter().enumerate() {
            assert!(!c[..i].contains(a), "each candidate once");
        }
    }
}
