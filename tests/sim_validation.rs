//! The simulator as the model's reference: M/M/c exactness, the M/G/c approximation's
//! measured error, on-demand cold starts and cost, determinism, overload, spot,
//! batching, cache and lazy traffic. See docs/simulator.md for the tables these assert.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use costscope::model::{Candidate, Evaluation, Evaluator, Plan, Policy, Rate};
use costscope::plan::presets;
use costscope::sim::reference::exact_on_demand_cold_fraction;
use costscope::sim::steady::steady_state;
use costscope::sim::{SimOptions, SimResult, simulate};

fn base() -> Plan {
    let mut p = presets::load("textbook-mmc").unwrap();
    p.objective.slo_ms = None;
    p
}

/// `c` always-on servers, 1 ms service of CV `cv`, offered load ρ per server.
fn mgc(c: u32, rho: f64, cv: f64) -> Plan {
    let mut p = base();
    p.service.batch_latency_ms = vec![(1, 1.0)];
    p.service.service_cv = cv;
    p.workload.rate_rps = Rate::Constant(rho * f64::from(c) * 1000.0);
    p.policy = Policy::AlwaysOn { servers: c };
    p
}

fn on_demand(rate_rps: f64, service_ms: f64, timeout_s: f64, cold_s: f64) -> Plan {
    let mut p = base();
    p.service.batch_latency_ms = vec![(1, service_ms)];
    p.service.cold_start_s = cold_s;
    p.workload.rate_rps = Rate::Constant(rate_rps);
    p.policy = Policy::OnDemand {
        idle_timeout_s: timeout_s,
        max_servers: 1000,
    };
    p
}

fn model(p: &Plan) -> Evaluation {
    Evaluator::new(p)
        .unwrap()
        .evaluate(&Candidate::from_plan(p).unwrap())
}

/// Simulates about `requests` requests at the plan's (constant) rate.
fn sim(p: &Plan, requests: f64, seed: u64) -> SimResult {
    let rate = costscope::model::traffic::mean_rate_rps(&p.workload.rate_rps);
    let hours = requests / rate / 3600.0;
    let r = simulate(
        p,
        &SimOptions {
            seed,
            hours,
            ..SimOptions::default()
        },
    )
    .unwrap();
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
    assert!(r.completed as f64 > 0.98 * requests, "{}", r.completed);
    r
}

fn rel(model: f64, sim: f64) -> f64 {
    model / sim - 1.0
}

#[test]
fn mmc_mean_and_p95_match_the_exact_model_within_2_percent() {
    // c = 4, 1 ms exponential service: the model is exact M/M/c here, so any gap is
    // the simulator's (or sampling noise, which 10⁶–10⁷ requests keep well under 1 %;
    // the busiest queue is the noisiest and gets the most requests).
    for (rho, n) in [(0.5, 2e6), (0.8, 4e6), (0.9, 1e7)] {
        let p = mgc(4, rho, 1.0);
        let m = model(&p).latency_ms.unwrap();
        let s = sim(&p, n, 11).latency_ms.unwrap();
        assert!(
            rel(m.mean, s.mean).abs() < 0.02,
            "ρ {rho}: mean {} vs {}",
            m.mean,
            s.mean
        );
        assert!(
            rel(m.p95, s.p95).abs() < 0.02,
            "ρ {rho}: p95 {} vs {}",
            m.p95,
            s.p95
        );
        assert!(
            rel(m.p50, s.p50).abs() < 0.02,
            "ρ {rho}: p50 {} vs {}",
            m.p50,
            s.p50
        );
    }
}

#[test]
fn mgc_approximation_error_is_as_documented() {
    // Allen–Cunneen for the mean and a shifted-exponential / hyperexponential service
    // shape for quantiles (docs/simulator.md). Measured: means within 2.5 %, p95 within 3 %
    // except at CV 2 and ρ 0.5, where the model's p95 is about 13 % low: with few
    // waits the p95 is set by the service tail, and the model's two-phase
    // hyperexponential has a lighter 95th percentile than the gamma the simulator
    // draws (same mean and CV, different shape).
    for cv in [0.2, 2.0] {
        for rho in [0.5, 0.8, 0.9] {
            let p = mgc(4, rho, cv);
            let m = model(&p).latency_ms.unwrap();
            let s = sim(&p, 4e6, 5).latency_ms.unwrap();
            let (e_mean, e_p95) = (rel(m.mean, s.mean), rel(m.p95, s.p95));
            assert!(e_mean.abs() < 0.035, "cv {cv} ρ {rho}: mean {e_mean:+.3}");
            if cv > 1.0 && rho < 0.6 {
                assert!(
                    (-0.20..-0.07).contains(&e_p95),
                    "cv {cv} ρ {rho}: p95 {e_p95:+.3}"
                );
            } else {
                assert!(e_p95.abs() < 0.035, "cv {cv} ρ {rho}: p95 {e_p95:+.3}");
            }
        }
    }
}

#[test]
fn on_demand_light_traffic_cold_starts_and_cost_within_3_percent() {
    // Regime: traffic so light that one instance carries it nearly always (load
    // 0.0001–0.1 servers). There level 1 is exact (an idle instance expires after an
    // Exp(λ) gap exceeds T: cold fraction e^{−λT}) and the levels above carry little —
    // so this is where the model claims accuracy and the simulator must agree. (With a
    // boot time see the gap test below and tests/boot_grid.rs.)
    for (rate, service_ms, timeout_s, cold_s) in [(0.01, 10.0, 60.0, 0.0), (1.0, 100.0, 1.0, 0.0)] {
        let p = on_demand(rate, service_ms, timeout_s, cold_s);
        let m = model(&p);
        // 10⁶ requests, or as many as fit in the simulator's one-year horizon limit.
        let s = sim(&p, (rate * 3.0e7).min(1e6), 3);
        let what = format!("λ {rate}, S {service_ms} ms, T {timeout_s} s, boot {cold_s} s");
        assert!(
            rel(m.cold_start_fraction, s.cold_start_fraction).abs() < 0.03,
            "{what}: cold {} vs {}",
            m.cold_start_fraction,
            s.cold_start_fraction
        );
        assert!(
            rel(m.cost_usd_per_hour, s.cost_usd_per_hour).abs() < 0.03,
            "{what}: cost {} vs {}",
            m.cost_usd_per_hour,
            s.cost_usd_per_hour
        );
    }
}

#[test]
fn on_demand_model_simulator_and_exact_mm_inf_agree_with_several_instances_alive() {
    // Without boot time the exact first-passage answer for MRU dispatch is known (see
    // `sim::reference`): the simulator must reproduce it, and the model — whose passage
    // times carry three exact moments (`model::passage`) — must too. Measured: exact
    // 0.4965, 0.4141, 0.0191; simulator within 0.5 %; model 0.4955, 0.4141, 0.0191 (the
    // exponential-excursion model before it said 0.585, 0.420, 0.0160). The cost (servers
    // held) is checked against the simulator: within 0.3 % measured.
    for (rate, service_ms, timeout_s) in
        [(1.0, 1000.0, 1.0), (1.0, 100.0, 1.0), (100.0, 100.0, 1.0)]
    {
        let exact = exact_on_demand_cold_fraction(rate, service_ms / 1000.0, timeout_s);
        let p = on_demand(rate, service_ms, timeout_s, 0.0);
        let s = sim(&p, 2e6, 9);
        let m = model(&p);
        let what = format!("λ {rate}, S {service_ms} ms, T {timeout_s} s");
        let sim_err = rel(s.cold_start_fraction, exact);
        assert!(
            sim_err.abs() < 0.02,
            "{what}: sim {} vs exact {exact}",
            s.cold_start_fraction
        );
        let model_err = rel(m.cold_start_fraction, exact);
        assert!(
            model_err.abs() < 0.02,
            "{what}: model {} vs exact {exact}",
            m.cold_start_fraction
        );
        let cost = rel(m.cost_usd_per_hour, s.cost_usd_per_hour);
        assert!(
            cost.abs() < 0.02,
            "{what}: cost {} vs {}",
            m.cost_usd_per_hour,
            s.cost_usd_per_hour
        );
    }
}

#[test]
fn on_demand_model_gaps_with_boot_time_are_as_reported() {
    // Gaps reported in docs/simulator.md rather than hidden by a loose tolerance, against
    // the simulator's steady state (`sim::steady`: its cold start-up, when every arrival
    // of the first boot starts a server, left out). The model counts the cold starts a
    // boot causes (tests/boot_grid.rs has the grid). Measured (cold fraction, cost):
    // λ 0.1/s, S 100 ms, T 10 s, boot 1 s: +0.2 %, −0.1 % (before level 1's cycle was a
    // boot longer in the servers held too: +0.2 %, +3.1 %; the model without the boot's
    // cold starts, against the raw simulator: −5.3 %, −1.9 %); λ 5/s, S 1 s, T 2 s,
    // boot 1 s: +15.3 %, +4.8 % (earlier −11.6 %, −2.0 %): with a timeout of two
    // service times the model counts too many. If the model changes this test fails:
    // then re-measure and pin the new size.
    for (rate, service_ms, timeout_s, cold_s, requests, cold_gap, cost_gap) in [
        (0.1, 100.0, 10.0, 1.0, 3e5, -0.02..0.02, -0.02..0.02),
        (5.0, 1000.0, 2.0, 1.0, 1e6, 0.10..0.20, 0.02..0.07),
    ] {
        let p = on_demand(rate, service_ms, timeout_s, cold_s);
        let m = model(&p);
        let warmup_h = 10.0 * (timeout_s + cold_s) / 3600.0;
        let s = steady_state(&p, 1, warmup_h, requests / rate / 3600.0).unwrap();
        assert!(s.warnings.is_empty(), "{:?}", s.warnings);
        let cold = rel(m.cold_start_fraction, s.cold_start_fraction);
        let cost = rel(m.cost_usd_per_hour, s.cost_usd_per_hour);
        let what = format!("λ {rate}, S {service_ms} ms, T {timeout_s} s, boot {cold_s} s");
        assert!(
            cold_gap.contains(&cold),
            "{what}: cold-start fraction gap {cold:+.3}"
        );
        assert!(cost_gap.contains(&cost), "{what}: cost gap {cost:+.3}");
    }
}

#[test]
fn same_seed_same_result_different_seeds_differ() {
    let mut p = presets::load("startup-transcribe").unwrap();
    p.policy = Policy::Hybrid {
        warm: 1,
        idle_timeout_s: 120.0,
        max_servers: 32,
    };
    let opts = |seed| SimOptions {
        seed,
        hours: 6.0,
        timeline: true,
        ..SimOptions::default()
    };
    let a = simulate(&p, &opts(7)).unwrap();
    let b = simulate(&p, &opts(7)).unwrap();
    let c = simulate(&p, &opts(8)).unwrap();
    assert_eq!(a, b);
    assert_eq!(a.timeline.len(), 360);
    assert_ne!(a.requests, 0);
    assert_ne!(a.latency_ms, c.latency_ms);
    assert_ne!(a.requests, c.requests);
}

#[test]
fn overload_ends_with_a_warning_and_bounded_memory() {
    // 2 servers, 1 s service, 100 req/s: 50× over capacity.
    let mut p = base();
    p.workload.rate_rps = Rate::Constant(100.0);
    p.policy = Policy::AlwaysOn { servers: 2 };
    let opts = SimOptions {
        hours: 24.0,
        max_waiting: 10_000,
        ..SimOptions::default()
    };
    let r = simulate(&p, &opts).unwrap();
    assert!(
        r.warnings.iter().any(|w| w.contains("overloaded")),
        "{:?}",
        r.warnings
    );
    assert!(r.hours < 0.1, "{}", r.hours);
    assert!(r.requests < 11_000, "{}", r.requests);
    // The queue drains after arrivals stop: every request is answered, slowly.
    assert_eq!(r.completed, r.requests);
    assert!(r.latency_ms.unwrap().max > 1000.0);
}

#[test]
fn spot_mix_interruptions_requeue_work_and_bill_spot_prices() {
    // Interruptions every ~10 minutes per spot server so a day sees many.
    let mut p = base();
    p.hardware.spot_interruptions_per_hour = 6.0;
    p.policy = Policy::SpotMix {
        on_demand: 2,
        spot: 10,
        checkpoint_interval_s: 600.0,
        checkpoint_s: 6.0,
    };
    let r = simulate(&p, &SimOptions::default()).unwrap();
    let hw = &p.hardware;
    let want = 2.0 * hw.on_demand_usd_per_hour + 10.0 * hw.spot_usd_per_hour;
    assert!(
        (r.cost_usd_per_hour - want).abs() < 1e-9,
        "{}",
        r.cost_usd_per_hour
    );
    // 10 spot × 6/h × 24 h = 1440 expected; Poisson sd ≈ 38.
    assert!(
        (1_300..1_580).contains(&r.spot_interruptions),
        "{}",
        r.spot_interruptions
    );
    assert_eq!(r.completed, r.requests);
    // Replacements boot for 30 s each: about 1440 × 30 s = 12 server-hours.
    assert!(
        (r.server_hours.booting - 12.0).abs() < 1.5,
        "{:?}",
        r.server_hours
    );
    assert!(r.warnings.is_empty(), "{:?}", r.warnings);
}

#[test]
fn batching_forms_the_batches_the_model_expects() {
    // 100 req/s, batch ≤ 8, 20 ms window: 1 + λ·w = 3 per batch on average.
    let mut p = base();
    p.workload.rate_rps = Rate::Constant(100.0);
    p.service.batch_latency_ms = vec![(1, 10.0), (8, 24.0)];
    p.batching.max_batch = 8;
    p.batching.window_ms = 20.0;
    p.policy = Policy::AlwaysOn { servers: 4 };
    let m = model(&p);
    let s = simulate(
        &p,
        &SimOptions {
            hours: 2.0,
            ..SimOptions::default()
        },
    )
    .unwrap();
    assert!(
        (s.mean_batch - m.mean_batch).abs() < 0.05,
        "{} vs {}",
        s.mean_batch,
        m.mean_batch
    );
    // Every request waits at most the window plus its service plus queueing; with four
    // lightly loaded servers the mean is close to the model's.
    let (ml, sl) = (m.latency_ms.unwrap(), s.latency_ms.unwrap());
    assert!(
        rel(ml.mean, sl.mean).abs() < 0.05,
        "{} vs {}",
        ml.mean,
        sl.mean
    );
}

#[test]
fn cache_lazy_and_the_daily_rate_shape_the_traffic() {
    let mut p = base();
    p.workload.rate_rps = Rate::Diurnal {
        peak: 40.0,
        trough: 4.0,
        peak_hour: 14,
    };
    p.workload.arrival_cv = 1.5;
    p.policy = Policy::AlwaysOn { servers: 60 };
    p.cache.hit_rate = 0.3;
    p.cache.hit_latency_ms = 2.0;
    p.lazy.fraction_needed = 0.5;
    let r = simulate(&p, &SimOptions::default()).unwrap();
    // Mean rate 22/s, half needed: 950 400 requests a day.
    let want = 22.0 * 0.5 * 86_400.0;
    assert!(
        (r.requests as f64 / want - 1.0).abs() < 0.01,
        "{}",
        r.requests
    );
    let miss = r.server_requests as f64 / r.requests as f64;
    assert!((miss - 0.7).abs() < 0.005, "{miss}");
    // 30 % answered at 2 ms: the median of a mixture with 1 s services is above it,
    // but the 20th percentile is a hit.
    assert!(r.latency_ms.unwrap().p50 > 100.0);
}

#[test]
fn an_event_storm_stops_with_a_warning() {
    // 200 spot servers interrupted 100 times an hour for a year is 1.75·10⁸ events with
    // no traffic at all: the event limit ends it.
    let mut p = base();
    p.workload.rate_rps = Rate::Constant(0.001);
    p.hardware.spot_interruptions_per_hour = 100.0;
    p.policy = Policy::SpotMix {
        on_demand: 0,
        spot: 200,
        checkpoint_interval_s: 600.0,
        checkpoint_s: 0.0,
    };
    let opts = SimOptions {
        hours: 8_760.0,
        max_events: 100_000,
        ..SimOptions::default()
    };
    let r = simulate(&p, &opts).unwrap();
    assert!(
        r.warnings.iter().any(|w| w.contains("events")),
        "{:?}",
        r.warnings
    );
    // Each interruption is one event and usually a replacement's boot another: about
    // 20 000 events an hour, so the limit comes after 2–3 hours.
    assert!((2.0..3.0).contains(&r.hours), "{}", r.hours);
    assert!((40_000..=100_000).contains(&r.spot_interruptions));
}

/// 1000 req/s of 10 ms work (10 servers busy) on demand with 30 s boots: the first
/// boot alone lets 30 000 requests queue, far past a 1 000-request queue limit.
fn booting_fleet(max_servers: u32) -> (Plan, SimOptions) {
    let mut p = on_demand(1000.0, 10.0, 300.0, 30.0);
    p.policy = Policy::OnDemand {
        idle_timeout_s: 300.0,
        max_servers,
    };
    let opts = SimOptions {
        hours: 0.25,
        max_waiting: 1_000,
        ..SimOptions::default()
    };
    (p, opts)
}

#[test]
fn a_backlog_while_servers_boot_is_not_an_overload() {
    let (p, opts) = booting_fleet(100);
    let r = simulate(&p, &opts).unwrap();
    assert!(
        !r.warnings.iter().any(|w| w.contains("overloaded")),
        "{:?}",
        r.warnings
    );
    assert!(
        r.warnings.iter().any(|w| w.contains("booted")),
        "a note says why the queue was long: {:?}",
        r.warnings
    );
    assert!((r.hours - 0.25).abs() < 1e-9, "{}", r.hours);
    assert_eq!(r.completed, r.requests);
    // The backlog drains: only the first ~30 s of requests wait for a boot.
    assert!(r.cold_start_fraction < 0.2, "{}", r.cold_start_fraction);
}

#[test]
fn a_fleet_capped_below_its_load_is_still_overloaded() {
    let (p, opts) = booting_fleet(5);
    let r = simulate(&p, &opts).unwrap();
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("overloaded") && w.contains("cannot carry")),
        "{:?}",
        r.warnings
    );
    assert!(r.hours < 0.25, "{}", r.hours);
}

#[test]
fn options_out_of_range_are_rejected_by_name() {
    use costscope::sim::SimError;
    let p = base();
    for (opts, name) in [
        (
            SimOptions {
                max_requests: 0,
                ..SimOptions::default()
            },
            "max_requests",
        ),
        (
            SimOptions {
                hours: 5e-324,
                ..SimOptions::default()
            },
            "hours",
        ),
        (
            SimOptions {
                hours: 0.5 / 3600.0,
                ..SimOptions::default()
            },
            "hours",
        ),
    ] {
        match simulate(&p, &opts) {
            Err(SimError::Option {
                name: got, allowed, ..
            }) => {
                assert_eq!(got, name);
                assert!(!allowed.is_empty());
            }
            other => panic!("{name}: {other:?}"),
        }
    }
    // One second and one request are the least that simulate.
    let one = SimOptions {
        hours: 1.0 / 3600.0,
        max_requests: 1,
        ..SimOptions::default()
    };
    assert!(simulate(&p, &one).is_ok());
}

#[test]
fn a_backlog_is_bounded_in_memory_even_when_it_would_drain() {
    let (p, mut opts) = booting_fleet(100);
    opts.max_backlog = 5_000;
    let r = simulate(&p, &opts).unwrap();
    assert!(
        r.warnings
            .iter()
            .any(|w| w.contains("more than the 5000 a run may hold in memory")),
        "{:?}",
        r.warnings
    );
    assert!(
        !r.warnings.iter().any(|w| w.contains("overloaded")),
        "{:?}",
        r.warnings
    );
    assert!(r.hours < 0.25, "{}", r.hours);
}
