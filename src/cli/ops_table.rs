//! CLI layer: where a transformer row's time goes — one compact line under the row in
//! `costscope profile`'s table, and with `--ops` a table per row: every operator's ms,
//! share, GFLOP/s, GB/s, share of its roofline bound and, for a tuned projection, the
//! GEMM variant it ran on.

use crate::profile::report::{OpTime, ProfileReport, ResultRow};

/// Operators named on the compact line; the rest are summed as `other`.
const TOP_OPS: usize = 4;

/// Each op's share of the ops' total, largest first.
fn shares(ops: &[OpTime]) -> Vec<(&OpTime, f64)> {
    let total: f64 = ops.iter().map(|o| o.ms).sum();
    let mut out: Vec<_> = ops
        .iter()
        .map(|o| (o, if total > 0.0 { o.ms / total } else { 0.0 }))
        .collect();
    out.sort_by(|a, b| b.1.total_cmp(&a.1));
    out
}

/// The compact line under a row with ops (`None` without): its largest operators'
/// shares of the ops' total, the rest as `other`, and the ops' total beside the row's
/// median (the two differ by the instrumentation and by noise; see docs/profiler.md).
pub fn ops_line(row: &ResultRow) -> Option<String> {
    if row.ops.is_empty() {
        return None;
    }
    let shares = shares(&row.ops);
    let mut parts: Vec<String> = shares
        .iter()
        .take(TOP_OPS)
        .map(|(o, s)| format!("{} {:.0} %", o.name, 100.0 * s))
        .collect();
    let rest: f64 = shares.iter().skip(TOP_OPS).map(|(_, s)| s).sum();
    if shares.len() > TOP_OPS {
        parts.push(format!("other {:.0} %", 100.0 * rest));
    }
    let total: f64 = row.ops.iter().map(|o| o.ms).sum();
    let median = row
        .timing
        .as_ref()
        .map_or(String::new(), |t| format!(", median {:.3} ms", t.median_ms));
    Some(format!(
        "  └ where the time goes: {} (ops Σ {total:.3} ms{median})\n",
        parts.join(", ")
    ))
}

/// One table per row with ops: every operator in pass order.
pub fn ops_tables(report: &ProfileReport) -> String {
    let mut s = String::new();
    for row in report.results.iter().filter(|r| !r.ops.is_empty()) {
        let len = match (row.seq_len, row.context_len) {
            (Some(n), _) => format!("seq {n}"),
            (_, Some(n)) => format!("ctx {n}"),
            _ => String::new(),
        };
        s += &format!(
            "\n{} {} {} {len} batch {}:\n",
            row.device,
            row.workload.label(),
            row.precision,
            row.batch.unwrap_or(0)
        );
        s += &format!(
            "  {:<10} {:>10} {:>7} {:>9} {:>8} {:>10}  {}\n",
            "op", "ms", "share", "GFLOP/s", "GB/s", "%roofline", "GEMM variant"
        );
        let total: f64 = row.ops.iter().map(|o| o.ms).sum();
        for o in &row.ops {
            let rate = |amount: f64| {
                if o.ms > 0.0 && amount > 0.0 {
                    format!("{:.2}", amount / (o.ms * 1e6))
                } else {
                    "-".into()
                }
            };
            let share = if total > 0.0 {
                100.0 * o.ms / total
            } else {
                0.0
            };
            let line = format!(
                "  {:<10} {:>10.4} {:>5.1} % {:>9} {:>8} {:>10}  {}",
                o.name,
                o.ms,
                share,
                rate(o.flops),
                rate(o.bytes),
                o.pct_of_roofline.map_or("-".into(), |p| format!("{p:.1}")),
                o.variant.as_deref().unwrap_or_default()
            );
            s += line.trim_end();
            s += "\n";
        }
    }
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::profile::Precision;
    use crate::profile::workloads::Workload;

    fn op(name: &str, ms: f64) -> OpTime {
        OpTime {
            name: name.into(),
            ms,
            flops: 2e6,
            bytes: 1e6,
            pct_of_roofline: Some(12.5),
            variant: None,
        }
    }

    #[test]
    fn the_compact_line_names_the_largest_ops_and_sums_the_rest() {
        let mut row = ResultRow::new(
            "cpu",
            Workload::Encoder("tiny-bert".into()),
            Precision::F32,
            "v",
            (1, 1, 1),
        );
        assert_eq!(ops_line(&row), None);
        row.ops = ["a", "b", "c", "d", "e", "f"]
            .iter()
            .zip([1.0, 5.0, 2.0, 0.5, 1.0, 0.5])
            .map(|(n, ms)| op(n, ms))
            .collect();
        row.ops[1].variant = Some("reg8x8".into());
        let line = ops_line(&row).expect("a line");
        assert_eq!(
            line,
            "  └ where the time goes: b 50 %, c 20 %, a 10 %, e 10 %, other 10 % (ops Σ 10.000 ms)\n"
        );
        let report = ProfileReport {
            version: crate::profile::report::REPORT_VERSION,
            fingerprint: crate::profile::report::fingerprint(),
            adapters: Vec::new(),
            results: vec![row],
            cold_start_ms: None,
            cold_start_all_ms: Vec::new(),
            peaks: Vec::new(),
            telemetry: crate::profile::telemetry::unavailable("not sampled".into()),
            cancelled: false,
            errors: Vec::new(),
        };
        let t = ops_tables(&report);
        // 2e6 FLOPs in 5 ms is 0.40 GFLOP/s; 1e6 bytes in 5 ms 0.20 GB/s.
        assert!(
            t.lines().any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["b", "5.0000", "50.0", "%", "0.40", "0.20", "12.5", "reg8x8"]),
            "{t}"
        );
        // An op without a variant ends at its roofline share.
        assert!(
            t.lines().any(|l| l.split_whitespace().collect::<Vec<_>>()
                == ["c", "2.0000", "20.0", "%", "1.00", "0.50", "12.5"]),
            "{t}"
        );
    }
}
