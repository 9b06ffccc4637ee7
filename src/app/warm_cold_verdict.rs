//! App layer: the Warm / cold verdict — after a simulated day, the cheapest fleet among
//! those meeting the SLO in simulation, by how much ($/day and %), and which fleets miss
//! the SLO or stopped short of the day.

use eframe::egui;

use super::warm_cold_fleets::FleetRole;
use super::warm_cold_run::{Day, FleetDay};
use crate::sim::SimResult;

/// Days whose costs differ by less than this share count as equally cheap: one cold
/// start more or less on a day of an otherwise fixed fleet is a few hundredths of a
/// per cent.
pub const TIE_REL: f64 = 1e-3;

/// How much cheaper one fleet's day is than another's.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Saving {
    /// The dearer fleet (index into the day's fleets).
    pub than: usize,
    /// Dollars a day saved.
    pub usd_per_day: f64,
    /// As a share of the dearer fleet's day, per cent.
    pub percent: f64,
}

/// What the day says.
#[derive(Debug, Clone, PartialEq)]
pub struct Verdict {
    /// The cheapest fleet meeting the SLO in simulation (any latency without an SLO).
    pub cheapest: Option<usize>,
    /// Other fleets meeting the SLO whose day costs the same within [`TIE_REL`].
    pub tied: Vec<usize>,
    /// Its saving over the next cheapest meeting the SLO.
    pub next: Option<Saving>,
    /// Its saving over the plan as written and the recommendation, when those meet the
    /// SLO and are other fleets.
    pub over: Vec<(FleetRole, Saving)>,
    /// Fleets that simulated the whole day and missed the SLO, with their metric, ms.
    pub missing_slo: Vec<(usize, f64)>,
    /// Fleets without a whole day (stopped short, failed, or no latency).
    pub incomplete: Vec<usize>,
}

/// The simulated result of a fleet when it covers the whole day with a latency.
fn whole_day(f: &FleetDay) -> Option<&SimResult> {
    f.sim
        .as_ref()
        .ok()
        .filter(|r| r.stopped.is_none() && r.latency_ms.is_some())
}

/// The day's dollars of a whole simulated day.
fn usd_per_day(r: &SimResult) -> f64 {
    r.cost_usd_per_hour * r.hours
}

/// The verdict of `day`.
pub fn verdict(day: &Day) -> Verdict {
    let o = &day.plan.objective;
    let slo = o.slo_ms.unwrap_or(f64::INFINITY);
    let mut meeting: Vec<(usize, f64)> = Vec::new();
    let mut missing_slo = Vec::new();
    let mut incomplete = Vec::new();
    for (i, f) in day.fleets.iter().enumerate() {
        let Some(r) = whole_day(f) else {
            incomplete.push(i);
            continue;
        };
        let metric = r.latency_ms.map_or(f64::INFINITY, |l| l.get(o.metric));
        if metric <= slo {
            meeting.push((i, usd_per_day(r)));
        } else {
            missing_slo.push((i, metric));
        }
    }
    meeting.sort_by(|a, b| a.1.total_cmp(&b.1));
    let saving = |(than, usd): (usize, f64), cheapest_usd: f64| Saving {
        than,
        usd_per_day: usd - cheapest_usd,
        percent: if usd > 0.0 {
            100.0 * (usd - cheapest_usd) / usd
        } else {
            0.0
        },
    };
    let Some(&(_, lowest_usd)) = meeting.first() else {
        return Verdict {
            cheapest: None,
            tied: Vec::new(),
            next: None,
            over: Vec::new(),
            missing_slo,
            incomplete,
        };
    };
    // Fleets within the tie of the cheapest are equally cheap; the first in the list
    // (the plan as written, then the recommendation) is named.
    type Costs = Vec<(usize, f64)>;
    let (mut tied, rest): (Costs, Costs) = meeting
        .iter()
        .partition(|m| m.1 <= lowest_usd + TIE_REL * lowest_usd.abs());
    tied.sort_by_key(|m| m.0);
    let (cheapest, cheapest_usd) = tied[0];
    // The next is named the same way: the first in the list among those tied with it.
    let next = rest.first().and_then(|&(_, next_usd)| {
        rest.iter()
            .filter(|m| m.1 <= next_usd + TIE_REL * next_usd.abs())
            .min_by_key(|m| m.0)
            .map(|&m| saving(m, cheapest_usd))
    });
    let over = [FleetRole::PlanAsWritten, FleetRole::Recommendation]
        .into_iter()
        .filter_map(|role| {
            let m = rest.iter().find(|(i, _)| day.fleets[*i].spec.is(role))?;
            (Some(m.0) != next.map(|n| n.than)).then(|| (role, saving(*m, cheapest_usd)))
        })
        .collect();
    Verdict {
        cheapest: Some(cheapest),
        tied: tied[1..].iter().map(|m| m.0).collect(),
        next,
        over,
        missing_slo,
        incomplete,
    }
}

/// The verdict in sentences.
pub fn verdict_text(day: &Day, v: &Verdict) -> Vec<String> {
    let o = &day.plan.objective;
    let m = o.metric.name();
    let slo = match o.slo_ms {
        Some(s) => format!("meeting the SLO ({m} ≤ {s} ms)"),
        None => "(the plan has no SLO)".into(),
    };
    let name = |i: usize| day.fleets[i].spec.label();
    let mut lines = Vec::new();
    match v.cheapest {
        Some(i) => {
            let r = day.fleets[i].sim.as_ref().ok();
            let mut s = format!(
                "Cheapest {slo} in simulation: {} ({}), {:.2} $/day",
                name(i),
                day.fleets[i].spec.description(),
                r.map_or(0.0, usd_per_day)
            );
            if !v.tied.is_empty() {
                let tied: Vec<String> = v.tied.iter().map(|&t| name(t)).collect();
                s += &format!(
                    " (as cheap, within {} %: {})",
                    TIE_REL * 100.0,
                    tied.join(", ")
                );
            }
            if let Some(n) = v.next {
                s += &format!(
                    ", {:.2} $/day ({:.1} %) less than the next, {}",
                    n.usd_per_day,
                    n.percent,
                    name(n.than)
                );
            }
            for (role, sv) in &v.over {
                s += &format!(
                    "; {:.2} $/day ({:.1} %) less than the {}",
                    sv.usd_per_day,
                    sv.percent,
                    role.label()
                );
            }
            lines.push(s + ".");
        }
        None => lines.push(format!("No fleet {slo} simulated the whole day.")),
    }
    if !v.missing_slo.is_empty() {
        let missed: Vec<String> = v
            .missing_slo
            .iter()
            .map(|&(i, ms)| format!("{} ({m} {ms:.1} ms)", name(i)))
            .collect();
        lines.push(format!("Missing the SLO: {}.", missed.join(", ")));
    }
    if !v.incomplete.is_empty() {
        let short: Vec<String> = v.incomplete.iter().map(|&i| name(i)).collect();
        lines.push(format!(
            "Not a whole day (see below): {}.",
            short.join(", ")
        ));
    }
    lines
}

/// The verdict in sentences, then the model beside the simulation.
pub fn verdict_ui(ui: &mut egui::Ui, day: &Day) {
    ui.heading("Verdict");
    for line in verdict_text(day, &verdict(day)) {
        ui.label(line);
    }
    super::warm_cold_model_vs_sim::model_vs_sim_ui(ui, day);
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::app::state::Results;
    use crate::app::warm_cold_fleets::WarmColdSettings;
    use crate::sim::{EarlyStop, ServerHours, SimLatency, StopReason};

    /// A simulated day of `cost` $/hour and `p95` ms (other figures plausible).
    pub(crate) fn day_of(cost: f64, p95: f64) -> SimResult {
        SimResult {
            policy: crate::model::PolicyKind::AlwaysOn,
            hours: 24.0,
            warmup_hours: 0.0,
            requests: 1000,
            completed: 1000,
            server_requests: 1000,
            latency_ms: Some(SimLatency {
                mean: p95 / 3.0,
                p50: p95 / 4.0,
                p95,
                p99: p95 * 1.5,
                max: p95 * 3.0,
            }),
            cost_usd_per_hour: cost,
            cold_starts: 0,
            cold_start_fraction: 0.0,
            p_wait: 0.0,
            spot_interruptions: 0,
            slo_violations: 0,
            server_hours: ServerHours {
                busy: 1.0,
                idle: 1.0,
                booting: 0.0,
            },
            servers_held: 1.0,
            utilization: 0.5,
            mean_batch: 1.0,
            warnings: Vec::new(),
            stopped: None,
            timeline: Vec::new(),
        }
    }

    /// The embedding-cache fleets (SLO p95 ≤ 100 ms) with the given simulated days.
    pub(crate) fn day(sims: Vec<SimResult>) -> Day {
        let plan = crate::plan::presets::load("embedding-cache").unwrap();
        let specs = WarmColdSettings::default().fleets(&plan, &Results::compute(&plan));
        assert!(specs.len() >= sims.len());
        Day {
            fleets: specs
                .into_iter()
                .zip(sims)
                .map(|(spec, r)| FleetDay { spec, sim: Ok(r) })
                .collect(),
            plan,
            hours: 24.0,
            warmup_hours: 0.0,
            seed: 1,
        }
    }

    #[test]
    fn the_cheapest_at_the_slo_wins_and_the_savings_are_per_day() {
        // plan as written 2 $/h, recommendation 1 $/h, then 0.5 $/h missing the SLO
        // (p95 400 ms > 100) and 1.5 $/h meeting it.
        let d = day(vec![
            day_of(2.0, 20.0),
            day_of(1.0, 30.0),
            day_of(0.5, 400.0),
            day_of(1.5, 50.0),
        ]);
        let v = verdict(&d);
        assert_eq!(v.cheapest, Some(1));
        let next = v.next.unwrap();
        assert_eq!(next.than, 3);
        assert!((next.usd_per_day - 12.0).abs() < 1e-9);
        assert!((next.percent - 100.0 / 3.0).abs() < 1e-9);
        assert_eq!(v.over.len(), 1);
        let (role, over_plan) = v.over[0];
        assert_eq!(role, FleetRole::PlanAsWritten);
        assert!((over_plan.usd_per_day - 24.0).abs() < 1e-9);
        assert!((over_plan.percent - 50.0).abs() < 1e-9);
        assert_eq!(v.missing_slo, vec![(2, 400.0)]);
        let text = verdict_text(&d, &v).join("\n");
        assert!(
            text.starts_with(
                "Cheapest meeting the SLO (p95 ≤ 100 ms) in simulation: recommendation"
            ),
            "{text}"
        );
        assert!(
            text.contains("24.00 $/day, 12.00 $/day (33.3 %) less than the next"),
            "{text}"
        );
        assert!(
            text.contains("24.00 $/day (50.0 %) less than the plan as written"),
            "{text}"
        );
        assert!(text.contains("Missing the SLO: "), "{text}");
    }

    #[test]
    fn equally_cheap_fleets_name_the_first_in_the_list() {
        // The recommendation and a fleet 0.05 % dearer (one boot more) tie.
        let d = day(vec![
            day_of(2.0, 20.0),
            day_of(1.0005, 30.0),
            day_of(1.0, 30.0),
        ]);
        let v = verdict(&d);
        assert_eq!((v.cheapest, v.tied.clone()), (Some(1), vec![2]));
        assert_eq!(v.next.unwrap().than, 0);
        assert!(v.over.is_empty(), "the plan as written is the next");
        let text = verdict_text(&d, &v).join("\n");
        assert!(text.contains(" (as cheap, within 0.1 %: "), "{text}");
    }

    #[test]
    fn a_fleet_stopped_short_is_no_candidate_and_none_meeting_the_slo_is_said() {
        let mut short = day_of(0.1, 10.0);
        short.hours = 10.9;
        short.stopped = Some(EarlyStop {
            hour: 10.9,
            reason: StopReason::RequestLimit(5_000_000),
            warning: 0,
        });
        let d = day(vec![short, day_of(1.0, 300.0)]);
        let v = verdict(&d);
        assert_eq!((v.cheapest, v.incomplete.clone()), (None, vec![0]));
        let text = verdict_text(&d, &v);
        assert_eq!(
            text[0],
            "No fleet meeting the SLO (p95 ≤ 100 ms) simulated the whole day."
        );
        assert!(text[2].starts_with("Not a whole day"), "{text:?}");
    }
}
