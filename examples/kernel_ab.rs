//! profile layer (example): A/B of the CPU pass's kernels on this machine — whole
//! bert-base-uncased encoder passes (128 tokens, f32, batches 1 and 8) with the
//! projections on the `gemm` crate or the packed kernel and the packed products on the
//! AVX-512 or the AVX2 tile, then each projection's product alone on each kernel, and
//! the measured FMA peak per instruction set.
//!
//! The arms run interleaved, one pass of each per round, so load from other processes
//! hits them alike; medians over the rounds are printed, of the wall clock and of the
//! process's CPU time (all threads; less moved by other processes' load than the wall
//! clock, since time spent descheduled is not counted), and the best run against the
//! peak. `cargo run --release --example kernel_ab -- [ROUNDS]` (default 7).

use std::time::Instant;

use costscope::profile::Precision;
use costscope::profile::cpu::CpuGemm;
use costscope::profile::cpu::attention::View;
use costscope::profile::cpu::packed::{PackedB, Product, Tile, matmul_packed_on};
use costscope::profile::cpu::peak::{FmaPeak, fma_peak};
use costscope::profile::cpu::projection::Kernel;
use costscope::profile::cpu::threads;
use costscope::profile::cpu::transformer::CpuTransformer;
use costscope::profile::workloads::transformer::accounting::flops_per_item;
use costscope::profile::workloads::transformer::weights::{Weights, random_tokens};
use costscope::profile::workloads::transformer::{Pass, TransformerConfig};

const SEQ: usize = 128;

/// CPU time of this process (all threads), seconds; NaN where not measured.
fn cpu_s() -> f64 {
    #[cfg(unix)]
    {
        let mut ts = libc::timespec {
            tv_sec: 0,
            tv_nsec: 0,
        };
        // SAFETY: `ts` is a valid timespec to write.
        if unsafe { libc::clock_gettime(libc::CLOCK_PROCESS_CPUTIME_ID, &mut ts) } == 0 {
            return ts.tv_sec as f64 + ts.tv_nsec as f64 * 1e-9;
        }
    }
    f64::NAN
}

/// Wall and CPU seconds of one call of `f`.
fn timed(f: impl FnOnce()) -> (f64, f64) {
    let (t0, c0) = (Instant::now(), cpu_s());
    f();
    (t0.elapsed().as_secs_f64(), cpu_s() - c0)
}

/// Median and minimum of `v` (not empty).
fn med_min(v: &[f64]) -> (f64, f64) {
    let mut s = v.to_vec();
    s.sort_by(f64::total_cmp);
    (s[s.len() / 2], s[0])
}

/// The pass arms: (name, projection kernel, tile of the packed products).
fn arms() -> Vec<(&'static str, Kernel, Option<Tile>)> {
    let mut out = vec![("gemm+avx2-attn", Kernel::GemmCrate, Some(Tile::Avx2))];
    if Tile::Avx512.runs_here() {
        out.push(("packed-avx512", Kernel::Packed, Some(Tile::Avx512)));
        out.push(("gemm+avx512-attn", Kernel::GemmCrate, Some(Tile::Avx512)));
    }
    out.push(("packed-avx2", Kernel::Packed, Some(Tile::Avx2)));
    out.retain(|a| a.2.is_some_and(Tile::runs_here));
    out
}

/// Whole encoder passes of every arm at batches 1 and 8, `rounds` each.
fn passes(rounds: usize, peak: &FmaPeak) {
    let cfg = match TransformerConfig::lookup("bert-base-uncased") {
        Ok(cfg) => cfg,
        Err(e) => return eprintln!("bert-base-uncased: {e}"),
    };
    let w = Weights::random(&cfg, Precision::F32, 1);
    let arms = arms();
    let models: Vec<CpuTransformer<f32>> = (arms.iter())
        .map(|&(_, k, t)| CpuTransformer::with_kernel_on(&w, k, t))
        .collect();
    let flops = flops_per_item(&cfg, Pass::Encoder, SEQ);
    println!("default: {}", Kernel::best().variant(Tile::best()));
    for batch in [1usize, 8] {
        let tokens = random_tokens(batch * SEQ, cfg.vocab_size, 3);
        let mut bufs: Vec<_> = models.iter().map(|m| m.buffers(batch, SEQ, SEQ)).collect();
        let (mut wall, mut cpu) = (
            vec![Vec::new(); models.len()],
            vec![Vec::new(); models.len()],
        );
        for round in 0..=rounds {
            for (i, m) in models.iter().enumerate() {
                let b = &mut bufs[i];
                let (w, c) = timed(|| m.forward(b, &tokens, (SEQ, 0), cfg.num_layers));
                // Round 0 warms the caches and the packed scratch up.
                if round > 0 {
                    wall[i].push(w * 1e3);
                    cpu[i].push(c * 1e3);
                }
            }
        }
        let bound_ms = batch as f64 * flops / (peak.gflops * 1e6);
        for (((name, ..), w), c) in arms.iter().zip(&wall).zip(&cpu) {
            let ((med, min), (cpu_med, _)) = (med_min(w), med_min(c));
            println!(
                "batch {batch} {name:17} median {med:7.1} ms wall, {cpu_med:7.1} ms CPU \
                 (best {min:7.1} ms, {:.1} GFLOP/s, {:.2}x the FLOP bound)",
                batch as f64 * flops / (min * 1e6),
                min / bound_ms
            );
        }
    }
}

/// `data` as a row-major matrix of row stride `rs`.
fn view(data: &[f32], rs: usize) -> View<'_, f32> {
    View {
        data,
        offset: 0,
        rs,
        cs: 1,
    }
}

/// The projections' products of bert-base at `m` rows: QKV, output, up, down.
fn products(m: usize, rounds: usize) {
    for (n, k) in [(2304, 768), (768, 768), (3072, 768), (768, 3072)] {
        let a: Vec<f32> = (0..m * k).map(|i| (i % 7) as f32 * 0.1).collect();
        let b: Vec<f32> = (0..k * n).map(|i| (i % 5) as f32 * 0.1).collect();
        let pb = PackedB::new(view(&b, n), (k, n));
        let (mut c, mut scratch) = (vec![0.0f32; m * n], Vec::new());
        let Ok(mut crate_gemm) = CpuGemm::new(Precision::F32, (m, n, k)) else {
            return;
        };
        let tiles: Vec<Tile> = [Tile::Avx512, Tile::Avx2]
            .into_iter()
            .filter(|t| t.runs_here())
            .collect();
        let mut s = vec![Vec::new(); tiles.len() + 1];
        for round in 0..=rounds {
            for (i, &tile) in tiles.iter().enumerate() {
                let p = Product {
                    m,
                    a: view(&a, k),
                    b: &pb,
                    bias: &[],
                    used: (k, n),
                };
                let t = timed(|| matmul_packed_on(tile, p, (&mut c, n), &mut scratch, threads()));
                s[i].extend((round > 0).then_some(t));
            }
            let t = timed(|| crate_gemm.run());
            s[tiles.len()].extend((round > 0).then_some(t));
        }
        // GFLOP/s of the median wall clock and of the median CPU time per thread.
        let rate = |t: &[(f64, f64)]| {
            let flop = 2.0 * (m * n * k) as f64 / 1e9;
            let wall: Vec<f64> = t.iter().map(|x| x.0).collect();
            let cpu: Vec<f64> = t.iter().map(|x| x.1 / threads() as f64).collect();
            format!(
                "{:6.1} / {:6.1}",
                flop / med_min(&wall).0,
                flop / med_min(&cpu).0
            )
        };
        let mut line = format!("{m:5} x {n:4} x {k:4}:");
        for (tile, t) in tiles.iter().zip(&s) {
            line += &format!(" packed-{} {}", tile.name(), rate(t));
        }
        line += &format!(" gemm-crate {}", rate(&s[tiles.len()]));
        println!("{line} GFLOP/s (wall / CPU time, medians)");
    }
}

fn main() {
    let rounds: usize = std::env::args()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(7)
        .max(1);
    let peak = fma_peak(20_000_000);
    let by_isa: Vec<String> = (peak.by_isa.iter())
        .map(|(i, g)| format!("{} {g:.1}", i.name()))
        .collect();
    println!(
        "FMA peak {:.1} GFLOP/s ({}); {}; {} threads",
        peak.gflops,
        peak.isa.name(),
        by_isa.join(", "),
        threads()
    );
    passes(rounds, &peak);
    for m in [SEQ, 8 * SEQ] {
        products(m, rounds);
    }
    let after = fma_peak(20_000_000);
    println!("FMA peak after the runs {:.1} GFLOP/s", after.gflops);
}
