//! Model layer: roofline projection — per-operator times measured on one device carried
//! to a catalog accelerator. Each operator keeps the fraction of its local roofline it
//! reached (capped by a ceiling) and runs against the target's roofline; the sum is the
//! projected latency, with a band from the operators whose bound is ambiguous.

use serde::Serialize;

use super::Precision;
use super::catalog::Accelerator;

/// One operator as measured locally (the shape of a profile report's `ops` row).
#[derive(Clone, Debug, PartialEq)]
pub struct OpMeasurement {
    /// Operator kind (`qkv`, `attention`, …).
    pub name: String,
    /// Measured milliseconds of one pass in this operator.
    pub ms: f64,
    /// FLOPs of this operator in one pass.
    pub flops: f64,
    /// Bytes it moves in one pass.
    pub bytes: f64,
}

/// A device's roofline: peak FLOP rate and memory bandwidth at one precision.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct Roofline {
    /// Peak FLOP/s.
    pub flops_per_s: f64,
    /// Peak bytes/s.
    pub bytes_per_s: f64,
}

impl Roofline {
    /// The accelerator's data-sheet roofline at `precision`; `None` where the catalog
    /// has no verified FLOP rate for it.
    pub fn of(acc: &Accelerator, precision: Precision) -> Option<Roofline> {
        Some(Roofline {
            flops_per_s: acc.tflops(precision)? * 1e12,
            bytes_per_s: acc.memory_bandwidth_gbytes_per_s * 1e9,
        })
    }

    /// FLOPs per byte where compute and memory take equally long.
    pub fn ridge_flops_per_byte(&self) -> f64 {
        self.flops_per_s / self.bytes_per_s
    }

    /// The roofline bound of `flops` and `bytes`: the longer of the two, in ms.
    fn bound_ms(&self, flops: f64, bytes: f64) -> f64 {
        (flops / self.flops_per_s).max(bytes / self.bytes_per_s) * 1e3
    }
}

/// Settings of a projection.
#[derive(Clone, Copy, Debug, PartialEq, Serialize)]
pub struct ProjectionOptions {
    /// The most of the target's roofline an operator is assumed to reach, whatever it
    /// reached locally (a kernel at 100 % locally is not assumed to be at 100 % there).
    pub efficiency_ceiling: f64,
    /// An operator whose FLOPs per byte lie within this factor of either device's ridge
    /// counts as near the ridge: its bound may differ between the devices.
    pub ridge_factor: f64,
}

impl Default for ProjectionOptions {
    fn default() -> Self {
        Self {
            efficiency_ceiling: 0.9,
            ridge_factor: 2.0,
        }
    }
}

/// What limits an operator on the target.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Bound {
    /// FLOPs / peak FLOP rate is the longer time.
    Compute,
    /// Bytes / bandwidth is the longer time.
    Memory,
    /// No FLOPs and no bytes recorded: the measured time is carried over unscaled.
    Unscaled,
}

/// One operator's projection.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct OpProjection {
    /// Operator kind.
    pub name: String,
    /// Measured locally, ms.
    pub measured_ms: f64,
    /// Projected on the target, ms.
    pub projected_ms: f64,
    /// Low end of its band, ms.
    pub low_ms: f64,
    /// High end of its band, ms.
    pub high_ms: f64,
    /// What bounds it on the target.
    pub bound: Bound,
    /// Fraction of the local roofline the measurement reached.
    pub local_efficiency: f64,
    /// The efficiency applied on the target: the local one, at most the ceiling.
    pub efficiency_used: f64,
    /// Its arithmetic intensity is near a ridge, so the band spans both bounds.
    pub near_ridge: bool,
}

/// A projection to one accelerator.
#[derive(Clone, Debug, PartialEq, Serialize)]
pub struct Projection {
    /// Catalog name of the target.
    pub target: String,
    /// Precision projected at.
    #[serde(with = "crate::model::types::precision_name")]
    pub precision: Precision,
    /// Sum of the operators' projected times, ms.
    pub latency_ms: f64,
    /// Sum of the low ends, ms.
    pub low_ms: f64,
    /// Sum of the high ends, ms.
    pub high_ms: f64,
    /// Sum of the measured times, ms.
    pub measured_ms: f64,
    /// Per operator, in input order.
    pub ops: Vec<OpProjection>,
    /// Operators that together take at least half the projected time, longest first.
    pub bound_by: Vec<String>,
}

/// Why a target gets no projection.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
pub enum Infeasible {
    /// Weights (+ KV cache) exceed the accelerator's memory.
    #[error("{target}: needs {} GB (weights + KV cache), has {} GB", gb(*need_gb), gb(*have_gb))]
    DoesNotFit {
        /// Catalog name.
        target: String,
        /// GB needed.
        need_gb: f64,
        /// GB it has.
        have_gb: f64,
    },
    /// The catalog has no verified FLOP rate at this precision.
    #[error("{target}: the catalog has no verified {precision} FLOP rate")]
    NoRate {
        /// Catalog name.
        target: String,
        /// The precision asked for.
        precision: &'static str,
    },
    /// A measurement or peak is not positive and finite.
    #[error("{0}")]
    BadInput(String),
}

/// GB to two decimals, or to six below 1 GB so a small model does not read as 0.00.
fn gb(x: f64) -> String {
    if x >= 1.0 {
        format!("{x:.2}")
    } else {
        format!("{}", (x * 1e6).round() / 1e6)
    }
}

/// Does a model of `weights_bytes` plus `kv_bytes` fit one `acc`? An accelerator with
/// unknown memory (a CPU class) is not refused.
pub fn check_fits(acc: &Accelerator, weights_bytes: f64, kv_bytes: f64) -> Result<(), Infeasible> {
    let need_gb = (weights_bytes + kv_bytes) / 1e9;
    match acc.memory_gb {
        Some(have_gb) if need_gb > have_gb => Err(Infeasible::DoesNotFit {
            target: acc.name.clone(),
            need_gb,
            have_gb,
        }),
        _ => Ok(()),
    }
}

fn positive(what: &str, v: f64) -> Result<(), Infeasible> {
    if v.is_finite() && v > 0.0 {
        Ok(())
    } else {
        Err(Infeasible::BadInput(format!(
            "{what} = {v} is not positive and finite"
        )))
    }
}

/// Projects `ops`, measured on a device with roofline `local`, to `acc` at `precision`.
/// `memory` is (weights bytes, KV bytes) for the fit check, when known.
pub fn project(
    ops: &[OpMeasurement],
    local: Roofline,
    acc: &Accelerator,
    precision: Precision,
    memory: Option<(f64, f64)>,
    options: ProjectionOptions,
) -> Result<Projection, Infeasible> {
    if let Some((weights, kv)) = memory {
        check_fits(acc, weights, kv)?;
    }
    let target = Roofline::of(acc, precision).ok_or(Infeasible::NoRate {
        target: acc.name.clone(),
        precision: precision.name(),
    })?;
    positive("local peak FLOP/s", local.flops_per_s)?;
    positive("local bandwidth bytes/s", local.bytes_per_s)?;
    let mut out = Vec::with_capacity(ops.len());
    for op in ops {
        positive(&format!("{} ms", op.name), op.ms)?;
        if !(op.flops >= 0.0 && op.bytes >= 0.0 && op.flops.is_finite() && op.bytes.is_finite()) {
            return Err(Infeasible::BadInput(format!(
                "{}: flops and bytes must be finite and not negative",
                op.name
            )));
        }
        out.push(project_op(op, local, target, options));
    }
    let sum = |f: fn(&OpProjection) -> f64| out.iter().map(f).sum::<f64>();
    let latency_ms = sum(|o| o.projected_ms);
    Ok(Projection {
        target: acc.name.clone(),
        precision,
        latency_ms,
        low_ms: sum(|o| o.low_ms),
        high_ms: sum(|o| o.high_ms),
        measured_ms: sum(|o| o.measured_ms),
        bound_by: bound_by(&out, latency_ms),
        ops: out,
    })
}

/// One operator: t = roofline_target(flops, bytes) / min(local efficiency, ceiling).
/// Its band runs from the target's roofline at the ceiling to t; near a ridge it also takes the measured time scaled purely by the FLOP-rate
/// ratio and purely by the bandwidth ratio (each no faster than the ceiling allows).
fn project_op(
    op: &OpMeasurement,
    local: Roofline,
    target: Roofline,
    options: ProjectionOptions,
) -> OpProjection {
    let ceiling = options.efficiency_ceiling;
    if op.flops == 0.0 && op.bytes == 0.0 {
        return OpProjection {
            name: op.name.clone(),
            measured_ms: op.ms,
            projected_ms: op.ms,
            low_ms: op.ms,
            high_ms: op.ms,
            bound: Bound::Unscaled,
            local_efficiency: 0.0,
            efficiency_used: 0.0,
            near_ridge: false,
        };
    }
    let local_efficiency = local.bound_ms(op.flops, op.bytes) / op.ms;
    let efficiency_used = local_efficiency.min(ceiling);
    let floor_ms = target.bound_ms(op.flops, op.bytes) / ceiling;
    let projected_ms = target.bound_ms(op.flops, op.bytes) / efficiency_used;
    let bound = if op.flops / target.flops_per_s >= op.bytes / target.bytes_per_s {
        Bound::Compute
    } else {
        Bound::Memory
    };
    let intensity = if op.bytes > 0.0 {
        op.flops / op.bytes
    } else {
        f64::INFINITY
    };
    let near = |ridge: f64| {
        intensity >= ridge / options.ridge_factor && intensity <= ridge * options.ridge_factor
    };
    let near_ridge = near(local.ridge_flops_per_byte()) || near(target.ridge_flops_per_byte());
    // The low end is the operator at the ceiling on the target (its local efficiency
    // need not carry over); the high end is the local efficiency as measured.
    let (mut low_ms, mut high_ms) = (projected_ms.min(floor_ms), projected_ms);
    if near_ridge {
        let as_compute = (op.ms * local.flops_per_s / target.flops_per_s).max(floor_ms);
        let as_memory = (op.ms * local.bytes_per_s / target.bytes_per_s).max(floor_ms);
        low_ms = low_ms.min(as_compute).min(as_memory);
        high_ms = high_ms.max(as_compute).max(as_memory);
    }
    OpProjection {
        name: op.name.clone(),
        measured_ms: op.ms,
        projected_ms,
        low_ms,
        high_ms,
        bound,
        local_efficiency,
        efficiency_used,
        near_ridge,
    }
}

/// The longest operators until they cover half the projected time.
fn bound_by(ops: &[OpProjection], total_ms: f64) -> Vec<String> {
    let mut sorted: Vec<&OpProjection> = ops.iter().collect();
    sorted.sort_by(|a, b| b.projected_ms.total_cmp(&a.projected_ms));
    let mut covered = 0.0;
    let mut names = Vec::new();
    for op in sorted {
        if covered >= 0.5 * total_ms {
            break;
        }
        covered += op.projected_ms;
        names.push(op.name.clone());
    }
    names
}

#[cfg(test)]
#[path = "projection_tests.rs"]
mod tests;
