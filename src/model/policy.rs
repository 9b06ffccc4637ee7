//! Model layer: one hour of one provisioning policy — servers held, queueing, cold
//! starts — for AlwaysOn, OnDemand, Hybrid (k warm + on-demand burst) and SpotMix.
//!
//! On-demand instances are modelled level by level: with B busy servers distributed as
//! an M/M/∞ (Poisson, truncated at the cap), the ℓ-th most recently used instance is
//! alive if B ≥ ℓ now or B crossed up to ℓ within the idle timeout T. Whether it did
//! depends on the passage time from ℓ−1 up to ℓ, fitted by its first three moments
//! ([`super::passage`]); for a single lightly loaded instance that is exactly e^{−λT}.
//! An arrival that finds every alive instance busy starts a new one and pays the cold
//! start; the boot adds to the time that server is held. A boot also causes cold
//! starts: while the server started for level j + 1 boots, only j are warm, and an
//! arrival finding them all busy starts yet another (net of the start it replaces
//! later); and a server booting for the first level keeps that level in use, so its
//! alive–dead cycle is a boot longer and its cold starts fewer. The simulator's steady
//! state, and an exact
//! M/M/∞ reference, check this (`docs/simulator.md` has the measured gaps).

use super::queue::{erlang_b, erlang_c_from_b};

/// The load one hour puts on one server class.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HourLoad {
    /// Batches per second reaching the servers.
    pub batch_rate_per_s: f64,
    /// Mean batch service time, ms.
    pub service_ms: f64,
    /// Offered load in servers (λ_b·S).
    pub load: f64,
}

/// Queueing at a fixed number of servers.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct FixedFleet {
    /// Probability an arrival waits.
    pub p_wait: f64,
    /// Mean wait of those that wait, ms (Allen–Cunneen mean / C).
    pub wait_given_wait_ms: f64,
}

/// Queueing of `servers` servers under `load`, given Erlang B at that size (so sweeps
/// can carry it). `None` if the queue is unstable.
pub fn fixed_fleet(
    servers: u32,
    hour: &HourLoad,
    erlang_b_value: f64,
    arrival_cv: f64,
    service_cv: f64,
) -> Option<FixedFleet> {
    if hour.load <= 0.0 {
        return Some(FixedFleet {
            p_wait: 0.0,
            wait_given_wait_ms: 0.0,
        });
    }
    let c = erlang_c_from_b(servers, hour.load, erlang_b_value)?;
    let spare_servers = f64::from(servers) - hour.load;
    // Allen–Cunneen: M/M/c wait C·S/(c − a), scaled by (c_a² + c_s²)/2.
    let mean_wait_ms = c * hour.service_ms / spare_servers
        * (arrival_cv * arrival_cv + service_cv * service_cv)
        / 2.0;
    let wait_given_wait_ms = if c > 0.0 { mean_wait_ms / c } else { 0.0 };
    Some(FixedFleet {
        p_wait: c,
        wait_given_wait_ms,
    })
}

/// One hour of an on-demand (or hybrid) fleet.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ElasticHour {
    /// Mean servers held (warm, idle-but-kept and booting), the billed quantity.
    pub servers_held: f64,
    /// Mean busy servers (serving or booting for a request).
    pub servers_busy: f64,
    /// Fraction of arrivals that start a new server.
    pub cold_fraction: f64,
    /// Queueing at the cap when every allowed server is busy.
    pub queue: FixedFleet,
}

/// Standard deviations (plus 8 levels) around the mode outside which a Poisson term
/// is below 1e-15 — nothing a reported figure can see.
const TAIL_SIGMAS: f64 = 8.0;

/// Truncated Poisson(a) on 0..=cap, only where it has mass: returns the first index
/// and P(B = j) for j from there, computed outward from the mode so large loads
/// neither overflow nor underflow. Outside the window the terms are below 1e-30.
fn busy_distribution(load: f64, cap: u32) -> (usize, Vec<f64>) {
    let cap = cap as usize;
    let spread = TAIL_SIGMAS * load.sqrt() + 8.0;
    let mode = (load.floor() as usize).min(cap);
    let first = (load - spread).floor().max(0.0) as usize;
    let first = first.min(mode);
    let last = ((load + spread).ceil() as usize).min(cap);
    let mut p = vec![0.0; last - first + 1];
    p[mode - first] = 1.0;
    for j in (mode + 1)..=last {
        p[j - first] = p[j - 1 - first] * load / j as f64;
    }
    for j in (first..mode).rev() {
        p[j - first] = p[j + 1 - first] * (j + 1) as f64 / load.max(f64::MIN_POSITIVE);
    }
    let total: f64 = p.iter().sum();
    p.iter_mut().for_each(|x| *x /= total);
    (first, p)
}

/// What a level may contribute to the servers held or the cold fraction, at most, and
/// still be skipped: P(B = j)·(1 + λT) below this and its fit is not worth computing.
const NEGLIGIBLE: f64 = 1e-9;

/// One pass of the level model at busy load `load`: (servers held, cold fraction).
///
/// Level ℓ = j + 1 is dead when the busy count B has stayed ≤ j for the last T; by
/// reversibility an arrival finding B = j meets that with probability P(τ_j > T), and
/// the time-average is the rate of down-crossings times E[(τ_j − T)⁺] (the sojourns
/// below ℓ that have outlived T). τ_j is the passage j → j+1 ([`super::passage`]).
fn elastic_pass(
    load: f64,
    batch_rate_per_s: f64,
    warm: u32,
    cap: u32,
    idle_timeout_s: f64,
    boot_s: f64,
) -> (f64, f64) {
    let (first, p) = busy_distribution(load, cap);
    let timeout_s = idle_timeout_s.max(0.0);
    let warm = warm.min(cap) as usize;
    // Levels up to `first` (below the mass) are busy almost always: held, never cold.
    let mut held = warm.max(first) as f64;
    let mut cold = 0.0;
    let mut below = 0.0; // P(B ≤ j)
    let lambda = batch_rate_per_s;
    let mu = lambda / load;
    if !(lambda > 0.0 && mu > 0.0 && mu.is_finite()) {
        // No arrivals: nothing starts, nothing beyond the warm floor stays.
        return (held, 0.0);
    }
    // Skip the passages below the mass: they only feed the recursion.
    let mut passages = super::passage::Passages::new(lambda, mu).skip(first);
    let mode = load.floor() as usize;
    // Arrivals caught by the boot of the level below (share of all arrivals), waiting
    // for this level's fit.
    let mut caught = 0.0;
    for (i, &pj) in p.iter().enumerate() {
        let j = first + i;
        below += pj;
        let Some(moments) = passages.next() else {
            break;
        };
        let level = j + 1; // the instance an arrival at B = j needs
        if level > cap as usize || level <= warm {
            continue;
        }
        if pj * (1.0 + lambda * timeout_s) < NEGLIGIBLE {
            // Outside the mass no fit is needed: far below it a level is always alive
            // (P(B ≤ j) is negligible), far above it is alive only while B reaches it,
            // P(B ≥ level) — up to P(B = j)·λT, below 1e-9 either way.
            held += if j > mode { 1.0 - below } else { 1.0 };
            // A level this rarely reached stays unused: what the boot below caught is
            // extra.
            cold += caught;
            held += lambda * caught * timeout_s;
            caught = 0.0;
            continue;
        }
        let fit = super::passage::Hyperexp::fit(moments);
        let (survival, excess_s) = fit.at(timeout_s);
        // A server booting for level 1 counts as in use: that level is alive a boot
        // longer after each cold start, so its cycle (alive, then dead until the next
        // cold start) is a boot longer and its cold starts fewer by 1 + λ·cold·boot.
        // (The time held is not stretched: the stretch is boot time, which
        // `booting_from` counts. Above level 1 a boot keeps the level in use only
        // while the j below are busy too — the arrivals caught below.)
        let stretch_s = if j == 0 { boot_s } else { 0.0 };
        let shorter = 1.0 / (1.0 + lambda * pj * survival * stretch_s);
        // P(level dead) = λ·P(B = j)·E[(τ_j − T)⁺], at most P(B ≤ j).
        let dead = (lambda * pj * excess_s).clamp(0.0, below);
        // Level 1's cycle is a boot longer: its alive (not booting) share and its dead
        // share both shrink by `shorter`; the boot itself is `booting_from`'s.
        held += (1.0 - dead) * shorter;
        let primary = pj * survival * shorter;
        cold += primary;
        // The previous level's caught arrivals started this level's server early; they
        // are extra only if, without boots, this level would have stayed unused for
        // that server's life (its boot and an idle timeout).
        if caught > 0.0 {
            let extra = caught * fit.at(timeout_s + boot_s).0;
            cold += extra;
            held += lambda * extra * timeout_s;
        }
        caught = 0.0;
        if level < cap as usize {
            // While the server started for this level boots, the j below it are the
            // only warm ones: an arrival finding all j busy starts another server (the
            // level above was dead too). Share of time in such a boot: λ·primary·boot
            // (Little), at most 1; B is then a loss system on j servers, busy on all j
            // with Erlang B's P(B = j)/P(B ≤ j). Besides, the boot starts with all j
            // busy: until the first of them finishes (rate jμ), every arrival (rate λ)
            // starts a server too — λ/(jμ) = a/j of them, at most λ·boot.
            let booting_share = (lambda * primary * boot_s).min(1.0);
            let burst = if j == 0 {
                0.0
            } else {
                (load / j as f64).min(lambda * boot_s)
            };
            caught = booting_share * pj / below.max(f64::MIN_POSITIVE) + primary * burst;
        }
    }
    // Past the last level fitted the level above is dead for good: all caught are extra.
    cold += caught;
    held += lambda * caught * timeout_s;
    (held, cold.clamp(0.0, 1.0))
}

/// Servers held booting on average: λ·cold·boot (Little's law over the boots).
fn booting_from(hour: &HourLoad, cold_fraction: f64, cold_start_ms: f64) -> f64 {
    hour.batch_rate_per_s * cold_fraction * cold_start_ms / 1000.0
}

/// Servers an elastic fleet holds booting on average in this hour (the share of
/// arrivals that start a server × the boot time); with the serving load, what counts
/// against the cap. Says why [`elastic_hour`] returned `None` when boots are the cause.
pub fn booting_servers(
    hour: &HourLoad,
    warm: u32,
    cap: u32,
    idle_timeout_s: f64,
    cold_start_ms: f64,
) -> f64 {
    if cap == 0 || hour.load <= 0.0 {
        return 0.0;
    }
    let (_, cold) = elastic_pass(
        hour.load,
        hour.batch_rate_per_s,
        warm,
        cap,
        idle_timeout_s,
        cold_start_ms / 1000.0,
    );
    booting_from(hour, cold, cold_start_ms)
}

/// One hour of an elastic fleet: `warm` always-on servers, the rest started on demand
/// up to `cap`, stopped after `idle_timeout_s` idle; a cold start takes `cold_start_ms`
/// during which the new server is held but not serving. `None` if even `cap` servers
/// cannot carry the load.
pub fn elastic_hour(
    hour: &HourLoad,
    warm: u32,
    cap: u32,
    idle_timeout_s: f64,
    cold_start_ms: f64,
    arrival_cv: f64,
    service_cv: f64,
) -> Option<ElasticHour> {
    if cap == 0 {
        return None;
    }
    if hour.load <= 0.0 {
        return Some(ElasticHour {
            servers_held: f64::from(warm.min(cap)),
            servers_busy: 0.0,
            cold_fraction: 0.0,
            queue: FixedFleet {
                p_wait: 0.0,
                wait_given_wait_ms: 0.0,
            },
        });
    }
    if cap == 1 && warm == 0 {
        return single_server_hour(
            hour,
            idle_timeout_s,
            cold_start_ms / 1000.0,
            arrival_cv,
            service_cv,
        );
    }
    // The levels follow the serving load. A booting server sits on the level it was
    // started for and does not take a lower level's work: it is held λ·cold·boot
    // servers on average, billed and counted against the cap, and the arrivals that
    // find the levels below it busy start more (`elastic_pass`). (Folding the boot into
    // every server's holding time — a fixed point on the load — made long boots keep
    // the lower levels busy and fed back into more boots.)
    let (held, cold) = elastic_pass(
        hour.load,
        hour.batch_rate_per_s,
        warm,
        cap,
        idle_timeout_s,
        cold_start_ms / 1000.0,
    );
    let booting = booting_from(hour, cold, cold_start_ms);
    let load = hour.load + booting;
    let held = held + booting;
    if load >= f64::from(cap) {
        return None;
    }
    // Far above the busy mass the cap never binds (Erlang C below 1e-15): skip the O(cap)
    // recurrence.
    let b = if f64::from(cap) > load + TAIL_SIGMAS * load.sqrt() + 8.0 {
        0.0
    } else {
        erlang_b(cap, load)?
    };
    let mut queue = fixed_fleet(cap, &HourLoad { load, ..*hour }, b, arrival_cv, service_cv)?;
    // Arrivals that start a new server do not queue.
    queue.p_wait = queue.p_wait.min(1.0 - cold);
    Some(ElasticHour {
        servers_held: held.max(load).min(f64::from(cap)),
        servers_busy: load,
        cold_fraction: cold,
        queue,
    })
}

/// One hour of an on-demand fleet capped at one server, exactly: an M/G/1 queue whose
/// server stops after `idle_timeout_s` idle and boots `boot_s` when an arrival finds it
/// stopped (arrivals during the boot queue behind it). A renewal cycle: stopped until
/// an arrival (1/λ), the boot, a busy period started by the 1 + λ·boot requests queued
/// by then, and idle gaps until one outlives T, each shorter gap followed by a busy
/// period; e^{λT} − 1 such gaps on average. The cycle is
/// L = boot + e^{λT}/λ + (λ·boot + e^{λT})·S/(1 − ρ), one cold start in it, stopped for
/// 1/λ of it. The mean wait is the M/G/1 wait plus the boot's share by Fuhrmann–Cooper
/// decomposition: the requests present on average while the server is not serving,
/// boot·(1 + λ·boot/2) per cycle over the L·(1 − ρ) not serving, divided by λ.
/// `None` if the server cannot carry the load (ρ ≥ 1).
fn single_server_hour(
    hour: &HourLoad,
    idle_timeout_s: f64,
    boot_s: f64,
    arrival_cv: f64,
    service_cv: f64,
) -> Option<ElasticHour> {
    let lambda = hour.batch_rate_per_s;
    let service_s = hour.service_ms / 1000.0;
    let rho = hour.load;
    if rho >= 1.0 || !(lambda > 0.0 && lambda.is_finite()) {
        return None;
    }
    let boot_s = boot_s.max(0.0);
    // The cycle scaled by e^{−λT}, finite for any timeout (an infinite one never stops).
    let stays = (-lambda * idle_timeout_s.max(0.0)).exp();
    let cycle_scaled_s =
        boot_s * stays + 1.0 / lambda + (lambda * boot_s * stays + 1.0) * service_s / (1.0 - rho);
    let cold = stays / (lambda * cycle_scaled_s);
    let booting = boot_s * stays / cycle_scaled_s;
    // Allen–Cunneen's M/G/1 wait, as `fixed_fleet` has it for one server.
    let queue_wait_s =
        rho * service_s / (1.0 - rho) * (arrival_cv * arrival_cv + service_cv * service_cv) / 2.0;
    let boot_wait_s = boot_s * (1.0 + lambda * boot_s / 2.0) * cold / (1.0 - rho);
    // The cold request's boot is added by the latency mixture; the rest of the wait
    // falls on those that find the server booting or busy.
    let p_wait = (booting + rho).min(1.0 - cold);
    let warm_wait_s = (queue_wait_s + boot_wait_s - cold * boot_s).max(0.0);
    Some(ElasticHour {
        // Stopped 1/λ of each cycle: the same share as the cold starts, 1/(λL).
        servers_held: 1.0 - cold,
        servers_busy: rho + booting,
        cold_fraction: cold,
        queue: FixedFleet {
            p_wait,
            wait_given_wait_ms: if p_wait > 0.0 {
                warm_wait_s * 1000.0 / p_wait
            } else {
                0.0
            },
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn light(rate: f64, service_ms: f64) -> HourLoad {
        HourLoad {
            batch_rate_per_s: rate,
            service_ms,
            load: rate * service_ms / 1000.0,
        }
    }

    #[test]
    fn single_light_instance_cold_fraction_is_exp_minus_lambda_t() {
        // 0.01 req/s, 10 ms service, 60 s timeout: almost never two busy at once.
        let h = elastic_hour(&light(0.01, 10.0), 0, 64, 60.0, 0.0, 1.0, 1.0).unwrap();
        let exact = (-0.01f64 * 60.0).exp();
        assert!(
            (h.cold_fraction - exact).abs() < 2e-3,
            "{} vs {exact}",
            h.cold_fraction
        );
        // Held ≈ 1 − e^{−λT} (kept alive after use) plus the tiny busy share.
        assert!(
            (h.servers_held - (1.0 - exact)).abs() < 5e-3,
            "{}",
            h.servers_held
        );
    }

    #[test]
    fn warm_servers_absorb_light_traffic() {
        // 0.05 Erlangs: both warm servers are busy well under 1 % of the time.
        let warm = elastic_hour(&light(0.5, 100.0), 2, 64, 60.0, 30_000.0, 1.0, 1.0).unwrap();
        let cold = elastic_hour(&light(0.5, 100.0), 0, 64, 60.0, 30_000.0, 1.0, 1.0).unwrap();
        assert!(warm.cold_fraction < 0.01, "{}", warm.cold_fraction);
        assert!(
            warm.cold_fraction < cold.cold_fraction / 3.0,
            "{warm:?} vs {cold:?}"
        );
        assert!(warm.servers_held >= 2.0);
    }

    #[test]
    fn a_boot_holds_its_server_and_at_most_a_timeout_more_per_cold_start() {
        // 60 s boots next to 10 ms service: every boot holds a server 60 s (busy, and
        // billed); the levels it keeps in use and the servers started for arrivals it
        // caught add at most an idle timeout per cold start, and never fewer servers.
        for (rate, warm, cap) in [(3.6, 0, 3), (1.0, 0, 64), (0.5, 2, 64)] {
            let hour = light(rate, 10.0);
            let plain = elastic_hour(&hour, warm, cap, 300.0, 0.0, 1.0, 1.0).unwrap();
            let boot = elastic_hour(&hour, warm, cap, 300.0, 60_000.0, 1.0, 1.0).unwrap();
            let booting = rate * boot.cold_fraction * 60.0;
            assert!(booting > 0.0, "{boot:?}");
            assert!((boot.servers_busy - (hour.load + booting)).abs() < 1e-12);
            assert!(
                boot.servers_held >= plain.servers_held - 1e-12,
                "{boot:?} vs {plain:?}"
            );
            let most = plain.servers_held + booting + rate * boot.cold_fraction * 300.0;
            assert!(boot.servers_held <= most + 1e-12, "{boot:?} vs {most}");
            assert!(boot.servers_held <= f64::from(cap));
        }
    }

    #[test]
    fn a_lone_instance_booting_catches_the_arrivals_of_its_boot() {
        // 0.1 req/s, 100 ms service, T 10 s, boot 1 s: one instance (P(B ≥ 1) = 1 %).
        // Its cycle is alive, then dead until a cold start, which boots for 1 s: the
        // cold starts are e^{−λT} stretched by that second, and each catches the
        // λ·boot arrivals of its boot (almost nothing else is alive then).
        let hour = light(0.1, 100.0);
        let plain = elastic_hour(&hour, 0, 64, 10.0, 0.0, 1.0, 1.0).unwrap();
        let boot = elastic_hour(&hour, 0, 64, 10.0, 1000.0, 1.0, 1.0).unwrap();
        let primary = plain.cold_fraction / (1.0 + 0.1 * plain.cold_fraction * 1.0);
        let want = primary * (1.0 + 0.1 * 1.0);
        assert!(
            (boot.cold_fraction / want - 1.0).abs() < 0.01,
            "{} vs {want}",
            boot.cold_fraction
        );
    }

    #[test]
    fn one_server_with_a_boot_is_its_renewal_cycle() {
        // λ 0.05/s, S 1 s, T 30 s, boot 20 s, cap 1: the cycle is
        // 20 + e^{1.5}/0.05 + (1 + e^{1.5})·1/0.95 s long, one cold start in it.
        let hour = light(0.05, 1000.0);
        let h = elastic_hour(&hour, 0, 1, 30.0, 20_000.0, 1.0, 1.0).unwrap();
        let e = 1.5f64.exp();
        let cycle_s = 20.0 + e / 0.05 + (1.0 + e) / 0.95;
        let cold = 1.0 / (0.05 * cycle_s);
        assert!((h.cold_fraction / cold - 1.0).abs() < 1e-12, "{h:?}");
        assert!((h.servers_held - (1.0 - cold)).abs() < 1e-12);
        assert!((h.servers_busy - (0.05 + 20.0 / cycle_s)).abs() < 1e-12);
        // Mean wait: M/M/1's ρS/(1 − ρ) plus 20·(1 + 0.05·20/2) per cycle over the
        // 0.95·cycle not serving, divided by λ; the cold request's 20 s is the mixture's.
        let wait_s = 0.05 / 0.95 + 20.0 * 1.5 / (0.05 * cycle_s * 0.95);
        let warm_wait_s = h.queue.p_wait * h.queue.wait_given_wait_ms / 1000.0;
        assert!((warm_wait_s + cold * 20.0 - wait_s).abs() < 1e-9, "{h:?}");
        // Never stopped and no boot: M/M/1.
        let m = elastic_hour(&hour, 0, 1, f64::INFINITY, 0.0, 1.0, 1.0).unwrap();
        assert_eq!(m.cold_fraction, 0.0);
        assert!((m.servers_held - 1.0).abs() < 1e-12);
        assert!((m.queue.p_wait - 0.05).abs() < 1e-12);
        assert!((m.queue.wait_given_wait_ms - 1000.0 / 0.95).abs() < 1e-9);
        assert!(elastic_hour(&light(1.0, 1000.0), 0, 1, 30.0, 0.0, 1.0, 1.0).is_none());
    }

    #[test]
    fn without_boot_time_the_levels_are_unchanged() {
        let hour = light(20.0, 1000.0);
        let (held, cold) = elastic_pass(hour.load, 20.0, 0, 64, 60.0, 0.0);
        let h = elastic_hour(&hour, 0, 64, 60.0, 0.0, 1.0, 1.0).unwrap();
        assert_eq!(h.cold_fraction, cold);
        assert!((h.servers_held - held.max(hour.load)).abs() < 1e-12);
    }

    #[test]
    fn overloaded_cap_is_none() {
        assert!(elastic_hour(&light(100.0, 100.0), 0, 5, 60.0, 0.0, 1.0, 1.0).is_none());
    }

    #[test]
    fn busy_distribution_is_normalised_for_large_loads() {
        let (first, p) = busy_distribution(5000.0, 10_000);
        let s: f64 = p.iter().sum();
        assert!((s - 1.0).abs() < 1e-12);
        assert!(p.len() < 2000, "only the mass is kept: {}", p.len());
        let mean: f64 = p
            .iter()
            .enumerate()
            .map(|(i, x)| (first + i) as f64 * x)
            .sum();
        assert!((mean - 5000.0).abs() < 1e-6);
    }
}
