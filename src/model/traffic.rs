//! Model layer: request rate over the day, hour by hour.

use super::types::Rate;

/// Hours in the modelled day.
pub const HOURS_PER_DAY: usize = 24;

/// Hours in the day the model averages over, as a rate's denominator.
pub const DAY_HOURS: f64 = HOURS_PER_DAY as f64;

/// Two hours whose rates differ by less than this (relative) are evaluated as one.
pub const SAME_RATE_REL: f64 = 1e-9;

/// Rates below this many requests per second compare absolutely, not relatively.
const TINY_RATE_RPS: f64 = 1e-12;

/// Slowest rate the model resolves, requests per second: one request in about 30 000
/// years. An hour below it is idle. Slower rates carry nothing any figure can show,
/// and would reach subnormal weights (where products lose every digit) and per-request
/// costs beyond the largest float.
pub const MIN_RATE_RPS: f64 = 1e-12;

/// Seconds per hour: requests per second × this = requests per hour.
pub const SECONDS_PER_HOUR: f64 = 3600.0;

/// A group of hours that share one request rate (evaluated once, weighted by count).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HourGroup {
    /// Request rate in these hours, requests per second.
    pub rate_rps: f64,
    /// How many of the 24 hours have this rate.
    pub hours: u32,
    /// First hour (0–23) with this rate, for messages.
    pub first_hour: u32,
}

/// The 24 hourly request rates of a day, requests per second.
///
/// Diurnal is a cosine between trough and peak, highest at `peak_hour`:
/// λ(h) = trough + (peak − trough)·(1 + cos(2π(h − peak_hour)/24))/2.
pub fn hourly_rates_rps(rate: &Rate) -> [f64; HOURS_PER_DAY] {
    let mut out = [0.0; HOURS_PER_DAY];
    match rate {
        Rate::Constant(r) => out.fill(*r),
        Rate::Diurnal {
            peak,
            trough,
            peak_hour,
        } => {
            for (h, slot) in out.iter_mut().enumerate() {
                let phase = (h as f64 - f64::from(*peak_hour)) * std::f64::consts::TAU / DAY_HOURS;
                *slot = trough + (peak - trough) * 0.5 * (1.0 + phase.cos());
            }
        }
        Rate::Hourly(values) => {
            for (slot, v) in out.iter_mut().zip(values) {
                *slot = *v;
            }
        }
    }
    out
}

/// The 24 hourly rates as the model evaluates them: below [`MIN_RATE_RPS`], 0.
pub fn resolved_hourly_rates_rps(rate: &Rate) -> [f64; HOURS_PER_DAY] {
    hourly_rates_rps(rate).map(|r| if r < MIN_RATE_RPS { 0.0 } else { r })
}

/// The hour with the highest traffic that is too slow to resolve (above 0, below
/// [`MIN_RATE_RPS`]) and its rate, for messages; `None` when there is none.
pub fn unresolved_hour(rate: &Rate) -> Option<(usize, f64)> {
    hourly_rates_rps(rate)
        .into_iter()
        .enumerate()
        .filter(|&(_, r)| r > 0.0 && r < MIN_RATE_RPS)
        .fold(None, |best, (h, r)| match best {
            Some((_, b)) if b >= r => best,
            _ => Some((h, r)),
        })
}

/// Mean resolved request rate over the day (see [`resolved_hourly_rates_rps`]),
/// requests per second.
pub fn resolved_mean_rate_rps(rate: &Rate) -> f64 {
    resolved_hourly_rates_rps(rate).iter().sum::<f64>() / HOURS_PER_DAY as f64
}

/// Resolved hourly rates (see [`resolved_hourly_rates_rps`]) grouped by equal value (to [`SAME_RATE_REL`] relative), so a constant day is one
/// evaluation and a symmetric diurnal day thirteen.
pub fn hour_groups(rate: &Rate) -> Vec<HourGroup> {
    let rates = resolved_hourly_rates_rps(rate);
    let mut groups: Vec<HourGroup> = Vec::new();
    for (h, &r) in rates.iter().enumerate() {
        let same = |g: &&mut HourGroup| {
            (g.rate_rps - r).abs() <= SAME_RATE_REL * r.abs().max(TINY_RATE_RPS)
        };
        if let Some(g) = groups.iter_mut().find(same) {
            g.hours += 1;
        } else {
            groups.push(HourGroup {
                rate_rps: r,
                hours: 1,
                first_hour: h as u32,
            });
        }
    }
    groups
}

/// Mean request rate over the day, requests per second.
pub fn mean_rate_rps(rate: &Rate) -> f64 {
    hourly_rates_rps(rate).iter().sum::<f64>() / HOURS_PER_DAY as f64
}

/// Highest hourly request rate, requests per second.
pub fn peak_rate_rps(rate: &Rate) -> f64 {
    hourly_rates_rps(rate).iter().copied().fold(0.0, f64::max)
}

/// The same day with every hour scaled by `factor` (for rate sliders and break-evens).
pub fn scaled(rate: &Rate, factor: f64) -> Rate {
    match rate {
        Rate::Constant(r) => Rate::Constant(r * factor),
        Rate::Diurnal {
            peak,
            trough,
            peak_hour,
        } => Rate::Diurnal {
            peak: peak * factor,
            trough: trough * factor,
            peak_hour: *peak_hour,
        },
        Rate::Hourly(v) => Rate::Hourly(v.iter().map(|x| x * factor).collect()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn diurnal_peaks_and_troughs_where_asked() {
        let r = Rate::Diurnal {
            peak: 40.0,
            trough: 4.0,
            peak_hour: 14,
        };
        let h = hourly_rates_rps(&r);
        assert!((h[14] - 40.0).abs() < 1e-12);
        assert!((h[2] - 4.0).abs() < 1e-12);
        assert!((mean_rate_rps(&r) - 22.0).abs() < 1e-9);
        assert_eq!(hour_groups(&r).len(), 13);
        assert_eq!(hour_groups(&r).iter().map(|g| g.hours).sum::<u32>(), 24);
    }

    #[test]
    fn constant_is_one_group() {
        let g = hour_groups(&Rate::Constant(8.0));
        assert_eq!(g.len(), 1);
        assert_eq!(g[0].hours, 24);
    }
}
