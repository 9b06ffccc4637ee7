//! Model layer: one candidate's day, hour group by hour group — each policy's queue in
//! an hour (always-on, elastic on-demand/hybrid, spot mix) added to the latency mixture
//! and to the day's server-hours, waits and cold starts.

use super::latency::{Mixture, ServiceShape};
use super::policy::{
    ElasticHour, FixedFleet, HourLoad, booting_servers, elastic_hour, fixed_fleet,
};
use super::traffic::HourGroup;

/// Largest share of time a spot mix may spend overloaded by interruptions (transient
/// states while replacements boot) before it counts as infeasible.
const MAX_TRANSIENT_OVERLOAD: f64 = 0.01;

/// Shortest checkpoint interval the slow-down δ/τ divides by (a zero interval in a
/// hand-built candidate would otherwise divide by zero).
const MIN_CHECKPOINT_INTERVAL_S: f64 = 1e-9;

/// Booting servers fewer than this are left out of an overload's reason.
const MENTIONED_BOOTING: f64 = 0.005;

/// Binomial states less likely than this are dropped (then the rest renormalised).
const NEGLIGIBLE_STATE: f64 = 1e-9;

/// Once past the mode, states below this end the walk.
const STOP_STATE: f64 = 1e-12;

/// Accumulates one class's day: cost, busy and held servers, waits, cold starts.
#[derive(Debug, Default)]
pub(crate) struct Day {
    pub held_server_hours: f64,
    pub busy_server_hours: f64,
    pub wait_weighted: f64,
    pub cold_weighted: f64,
    pub batch_weighted: f64,
    pub server_weight: f64,
    pub overload: Option<String>,
}

/// One hour group as every policy sees it: its load at the candidate's batch, the
/// weight of its requests in the mixture and the service shape.
pub(crate) struct GroupHour<'g> {
    pub group: &'g HourGroup,
    pub hours: f64,
    pub load: HourLoad,
    /// Requests of this group that reach the servers (the mixture's weight).
    pub weight: f64,
    /// Requests per second reaching the servers (for the overload message).
    pub server_rate_rps: f64,
    /// Arrival CV of batches.
    pub cv_a: f64,
    /// Service CV of the plan.
    pub cv_s: f64,
    /// Mean batch formed at this load.
    pub mean_batch: f64,
    pub shape: ServiceShape,
    /// Latency added before the queue: cache lookup and batch formation.
    pub shift_ms: f64,
}

impl GroupHour<'_> {
    /// "overloaded at hour …" with what ran out.
    fn overloaded(&self, what: String) -> String {
        format!(
            "overloaded at hour {}: {:.1} req/s needs {:.2} servers busy, {what}",
            self.group.first_hour, self.server_rate_rps, self.load.load
        )
    }
}

/// A fixed always-on fleet of `servers` in one hour group.
pub(crate) fn always_on(
    mix: &mut Mixture,
    day: &mut Day,
    h: &GroupHour<'_>,
    servers: u32,
    erlang: &mut dyn FnMut(u32, f64) -> f64,
) {
    let b = erlang(servers, h.load.load);
    match fixed_fleet(servers, &h.load, b, h.cv_a, h.cv_s) {
        Some(q) => {
            add_fixed(mix, day, h.weight, h.shift_ms, &q, &h.shape);
            day.held_server_hours += f64::from(servers) * h.hours;
            day.busy_server_hours += h.load.load * h.hours;
        }
        None => {
            day.overload
                .get_or_insert(h.overloaded(format!("only {servers} always on")));
        }
    }
}

/// The rules of an elastic fleet: `warm` always on, the rest started on demand.
pub(crate) struct Elastic {
    pub warm: u32,
    pub max_servers: u32,
    pub idle_timeout_s: f64,
    pub cold_ms: f64,
}

/// On-demand (`warm` 0) or hybrid servers in one hour group.
pub(crate) fn elastic(mix: &mut Mixture, day: &mut Day, h: &GroupHour<'_>, rules: &Elastic) {
    let hour = elastic_hour(
        &h.load,
        rules.warm,
        rules.max_servers,
        rules.idle_timeout_s,
        rules.cold_ms,
        h.cv_a,
        h.cv_s,
    );
    match hour {
        Some(e) => add_elastic(mix, day, h, rules.cold_ms, &e),
        None => {
            let booting = booting_servers(
                &h.load,
                rules.warm,
                rules.max_servers,
                rules.idle_timeout_s,
                rules.cold_ms,
            );
            // When boots are what fills the fleet, say so: the serving load alone may be
            // far below the cap.
            let what = if booting >= MENTIONED_BOOTING {
                format!(
                    "and {booting:.2} more held booting (each boot {:.0} s): more than the cap of {}",
                    rules.cold_ms / 1000.0,
                    rules.max_servers
                )
            } else {
                format!("more than the cap of {}", rules.max_servers)
            };
            day.overload.get_or_insert(h.overloaded(what));
        }
    }
}

/// A spot mix's fleet and checkpointing.
pub(crate) struct SpotFleet {
    pub on_demand: u32,
    pub spot: u32,
    pub checkpoint_interval_s: f64,
    pub checkpoint_s: f64,
    /// Share of time one spot server is down (interrupted, replacement booting).
    pub down: f64,
}

/// On-demand plus spot servers in one hour group, over the binomial states of how many
/// spot servers are up.
pub(crate) fn spot_mix(
    mix: &mut Mixture,
    day: &mut Day,
    h: &GroupHour<'_>,
    fleet: &SpotFleet,
    erlang: &mut dyn FnMut(u32, f64) -> f64,
) {
    let (on_demand, spot) = (fleet.on_demand, fleet.spot);
    // Checkpoints slow the spot share of the fleet by δ/τ.
    let total = (f64::from(on_demand) + f64::from(spot)).max(1.0);
    let slow = 1.0
        + f64::from(spot) / total * fleet.checkpoint_s
            / fleet.checkpoint_interval_s.max(MIN_CHECKPOINT_INTERVAL_S);
    let slowed = HourLoad {
        service_ms: h.load.service_ms * slow,
        load: h.load.load * slow,
        ..h.load
    };
    let shape = ServiceShape::new(slowed.service_ms, h.cv_s);
    // Rare states with so many spot servers down that the rest are overloaded are
    // transient (a replacement boots within cold_start_s); they are left out of the
    // latency mix unless they last over 1 % of the time, in which case the mix is
    // infeasible.
    let states: Vec<_> = binomial_states(spot, 1.0 - fleet.down)
        .into_iter()
        .map(|(up_spot, p)| {
            let c = on_demand.saturating_add(up_spot);
            let q = fixed_fleet(c, &slowed, erlang(c, slowed.load), h.cv_a, h.cv_s);
            (p, q)
        })
        .collect();
    let overloaded_share: f64 = states.iter().filter(|s| s.1.is_none()).map(|s| s.0).sum();
    if overloaded_share <= MAX_TRANSIENT_OVERLOAD {
        let stable = 1.0 - overloaded_share;
        for (p, q) in states.iter().filter_map(|(p, q)| Some((p, q.as_ref()?))) {
            add_fixed(mix, day, h.weight * p / stable, h.shift_ms, q, &shape);
        }
        day.held_server_hours += total * h.hours;
        day.busy_server_hours += slowed.load * h.hours;
    } else {
        day.overload.get_or_insert(h.overloaded(format!(
            "{on_demand} on-demand + {spot} spot, overloaded {:.1} % of the time by interruptions",
            overloaded_share * 100.0
        )));
    }
}

fn add_fixed(
    mix: &mut Mixture,
    day: &mut Day,
    weight: f64,
    shift: f64,
    q: &FixedFleet,
    shape: &ServiceShape,
) {
    mix.add_response(weight, shift, q.p_wait, q.wait_given_wait_ms, shape);
    day.wait_weighted += q.p_wait * weight;
}

fn add_elastic(mix: &mut Mixture, day: &mut Day, h: &GroupHour<'_>, cold_ms: f64, e: &ElasticHour) {
    let weight = h.weight;
    let warm_w = weight * (1.0 - e.cold_fraction);
    let p_wait_warm = if e.cold_fraction < 1.0 {
        e.queue.p_wait / (1.0 - e.cold_fraction)
    } else {
        0.0
    };
    mix.add_response(
        warm_w,
        h.shift_ms,
        p_wait_warm,
        e.queue.wait_given_wait_ms,
        &h.shape,
    );
    mix.add_response(
        weight * e.cold_fraction,
        h.shift_ms + cold_ms,
        0.0,
        0.0,
        &h.shape,
    );
    day.wait_weighted += e.queue.p_wait * weight;
    day.cold_weighted += e.cold_fraction * weight;
    day.held_server_hours += e.servers_held * h.hours;
    day.busy_server_hours += e.servers_busy * h.hours;
}

/// Binomial(n, p) states with probability above [`NEGLIGIBLE_STATE`], renormalised.
fn binomial_states(n: u32, p_up: f64) -> Vec<(u32, f64)> {
    if n == 0 || p_up >= 1.0 {
        return vec![(n, 1.0)];
    }
    let q = 1.0 - p_up;
    let mut states = Vec::new();
    // Walk down from all-up: P(n − j up) = C(n, j)·p^{n−j}·q^j.
    let mut prob = p_up.powi(n as i32);
    for j in 0..=n {
        if prob > NEGLIGIBLE_STATE {
            states.push((n - j, prob));
        } else if j > 0 && prob < STOP_STATE && !states.is_empty() {
            break;
        }
        prob *= f64::from(n - j) / f64::from(j + 1) * q / p_up;
    }
    let total: f64 = states.iter().map(|s| s.1).sum();
    if total <= 0.0 {
        return vec![((f64::from(n) * p_up).round() as u32, 1.0)];
    }
    states.iter().map(|&(k, p)| (k, p / total)).collect()
}
