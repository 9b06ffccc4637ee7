//! Model layer: dynamic routing — a share of latency-tolerant traffic goes to a second,
//! cheaper hardware class or a distilled model with its own service curve and queue.

use super::batching::{ServiceCurve, formation};
use super::cache::CacheEffect;
use super::evaluate::{ClassReport, LatencyStats, class_parts};
use super::latency::{Mixture, ServiceShape};
use super::policy::{HourLoad, fixed_fleet};
use super::queue::erlang_b;
use super::traffic::{DAY_HOURS, HourGroup};
use super::types::{Plan, Routing};

/// Utilisation an automatically sized second class is sized for at its peak hour.
const AUTO_PEAK_UTILIZATION: f64 = 0.85;

/// One hour group's response on the second class, ready to mix in.
#[derive(Debug, Clone, Copy)]
struct Part {
    weight: f64,
    shift_ms: f64,
    p_wait: f64,
    wait_given_wait_ms: f64,
    shape: ServiceShape,
}

/// The second class of a routed plan, evaluated once per plan (its fleet is fixed).
#[derive(Debug, Clone)]
pub struct SecondClass {
    pub(crate) name: String,
    pub(crate) fraction: f64,
    pub(crate) servers: u32,
    pub(crate) busy_servers: f64,
    pub(crate) cost_usd_per_hour: f64,
    pub(crate) overload: Option<String>,
    parts: Vec<Part>,
    latency: Option<LatencyStats>,
}

impl SecondClass {
    /// Prepares the second class; `None` if its service curve is unusable.
    pub fn new(
        plan: &Plan,
        r: &Routing,
        groups: &[HourGroup],
        cache: &CacheEffect,
    ) -> Option<Self> {
        let (service, hardware) = class_parts(plan, r);
        let curve = ServiceCurve::new(&service.batch_latency_ms, hardware.speed_vs_profiled)?;
        let fraction = r.fraction.clamp(0.0, 1.0);
        let batch = plan.batching.max_batch.max(1);
        let loads: Vec<(f64, HourLoad, f64, f64)> = groups
            .iter()
            .map(|g| {
                let rate = g.rate_rps * plan.lazy.fraction_needed * cache.miss_rate * fraction;
                let f = formation(batch, plan.batching.window_ms, rate);
                let service_ms = curve.latency_ms(f.mean_batch);
                let batch_rate = rate / f.mean_batch;
                let load = HourLoad {
                    batch_rate_per_s: batch_rate,
                    service_ms,
                    load: batch_rate * service_ms / 1000.0,
                };
                (
                    rate * f64::from(g.hours),
                    load,
                    f.mean_batch,
                    f.mean_wait_ms,
                )
            })
            .collect();
        let peak_load = loads.iter().map(|l| l.1.load).fold(0.0, f64::max);
        let servers = if r.servers > 0 {
            r.servers
        } else {
            ((peak_load / AUTO_PEAK_UTILIZATION).ceil() as u32).max(1)
        };
        let mut parts = Vec::new();
        let mut overload = None;
        let mut busy_hours = 0.0;
        for ((weight, load, mean_batch, wait_ms), g) in loads.iter().zip(groups) {
            let cv_a = plan.workload.arrival_cv / mean_batch.sqrt();
            let b = erlang_b(servers, load.load).unwrap_or(1.0);
            match fixed_fleet(servers, load, b, cv_a, service.service_cv) {
                Some(q) => parts.push(Part {
                    weight: *weight,
                    shift_ms: *wait_ms,
                    p_wait: q.p_wait,
                    wait_given_wait_ms: q.wait_given_wait_ms,
                    shape: ServiceShape::new(load.service_ms, service.service_cv),
                }),
                None => {
                    overload.get_or_insert(format!(
                        "routed class '{}' overloaded at hour {}: needs {:.2} servers busy, has {servers}",
                        r.name, g.first_hour, load.load
                    ));
                }
            }
            busy_hours += load.load * f64::from(g.hours);
        }
        let mut own = Mixture::new();
        for p in &parts {
            own.add_response(
                p.weight,
                p.shift_ms,
                p.p_wait,
                p.wait_given_wait_ms,
                &p.shape,
            );
        }
        let latency = if overload.is_none() && !own.is_empty() {
            own.latency_stats()
        } else {
            None
        };
        Some(Self {
            name: r.name.clone(),
            fraction,
            servers,
            busy_servers: busy_hours / DAY_HOURS,
            cost_usd_per_hour: f64::from(servers) * hardware.on_demand_usd_per_hour,
            overload,
            parts,
            latency,
        })
    }

    /// Adds the routed requests' responses to the whole plan's latency mixture.
    pub(crate) fn add_to(&self, mix: &mut Mixture, lookup_ms: f64) {
        for p in &self.parts {
            mix.add_response(
                p.weight,
                lookup_ms + p.shift_ms,
                p.p_wait,
                p.wait_given_wait_ms,
                &p.shape,
            );
        }
    }

    /// Its figures for an evaluation.
    pub(crate) fn report(&self) -> ClassReport {
        ClassReport {
            name: self.name.clone(),
            fraction: self.fraction,
            servers: self.servers,
            cost_usd_per_hour: self.cost_usd_per_hour,
            latency_ms: self.latency,
            utilization: (self.busy_servers / f64::from(self.servers.max(1))).clamp(0.0, 1.0),
        }
    }
}
