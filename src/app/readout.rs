//! App layer: what hovering a plot's point reads out, in plain words and significant
//! digits — a fleet (policy, servers, batch, $/hour, latency, J) or a measured batch
//! (batch, ms, items/s).

use super::format::fmt_sig;
use crate::model::objective::CurvePoint;
use crate::model::{Evaluation, Metric, PolicyKind};

/// "no batching" for a batch of one, else "batches of up to 8".
pub fn batch_text(batch: u32) -> String {
    if batch <= 1 {
        "no batching".into()
    } else {
        format!("batches of up to {batch}")
    }
}

/// What a server takes at once: an LLM replica's sequence limit ("up to 64
/// sequences at once"), else [`batch_text`].
pub fn work_text(batch: u32, max_num_seqs: Option<u32>) -> String {
    match max_num_seqs {
        Some(n) => format!("up to {n} sequences at once"),
        None => batch_text(batch),
    }
}

/// "1 server" / "12 servers".
fn servers_text(servers: u32) -> String {
    match servers {
        1 => "1 server".into(),
        n => format!("{n} servers"),
    }
}

/// The lines every fleet read-out has, J last.
fn fleet_lines(
    policy: PolicyKind,
    servers: u32,
    work: String,
    cost_usd_per_hour: f64,
    latency: Option<(Metric, f64)>,
    objective: Option<f64>,
) -> String {
    let mut lines = vec![
        format!("{} · {}", policy.name(), servers_text(servers)),
        work,
        format!("${} per hour", fmt_sig(cost_usd_per_hour, 3)),
    ];
    match latency {
        Some((metric, ms)) => {
            lines.push(format!("{} latency {} ms", metric.name(), fmt_sig(ms, 3)))
        }
        None => lines.push("latency: overloaded".into()),
    }
    if let Some(j) = objective {
        lines.push(format!("J = {}", fmt_sig(j, 4)));
    }
    lines.join("\n")
}

/// One point of a policy's objective curve; `metric` is the objective's latency metric.
pub fn curve_point(policy: PolicyKind, p: &CurvePoint, metric: Metric) -> String {
    let latency = p.latency_ms.map(|ms| (metric, ms));
    fleet_lines(
        policy,
        p.servers,
        work_text(p.batch, p.max_num_seqs),
        p.cost_usd_per_hour,
        latency,
        p.objective,
    )
}

/// One evaluated fleet, its latency in `metric`.
pub fn evaluation(e: &Evaluation, metric: Metric) -> String {
    let latency = e.latency_ms.as_ref().map(|l| (metric, l.get(metric)));
    fleet_lines(
        e.policy,
        e.servers,
        work_text(e.batch, e.max_num_seqs),
        e.cost_usd_per_hour,
        latency,
        e.objective,
    )
}

/// One measured batch: its size, its time and the throughput that makes.
pub fn measured_batch(series: &str, batch: f64, ms: f64) -> String {
    let items = if ms > 0.0 { batch * 1000.0 / ms } else { 0.0 };
    format!(
        "{series}\nbatch of {}\n{} ms per batch\n{} items/s",
        fmt_sig(batch, 3),
        fmt_sig(ms, 3),
        fmt_sig(items, 3)
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_curve_point_reads_in_plain_words() {
        let p = CurvePoint {
            servers: 12,
            batch: 1,
            cost_usd_per_hour: 3.456_789,
            latency_ms: Some(120.04),
            objective: Some(5.678_91),
            feasible: true,
            max_num_seqs: None,
        };
        assert_eq!(
            curve_point(PolicyKind::OnDemand, &p, Metric::P95),
            "on_demand · 12 servers\nno batching\n$3.46 per hour\np95 latency 120 ms\nJ = 5.679"
        );
        let overloaded = CurvePoint {
            latency_ms: None,
            objective: None,
            batch: 8,
            servers: 1,
            ..p
        };
        let text = curve_point(PolicyKind::Hybrid, &overloaded, Metric::P95);
        assert_eq!(
            text,
            "hybrid · 1 server\nbatches of up to 8\n$3.46 per hour\nlatency: overloaded"
        );
        let replica = CurvePoint {
            max_num_seqs: Some(32),
            ..p
        };
        assert!(
            curve_point(PolicyKind::OnDemand, &replica, Metric::P95)
                .contains("\nup to 32 sequences at once\n")
        );
    }

    #[test]
    fn a_measured_batch_reads_its_throughput() {
        assert_eq!(
            measured_batch("cpu f32", 8.0, 2.0),
            "cpu f32\nbatch of 8\n2 ms per batch\n4\u{2009}000 items/s"
        );
    }
}
