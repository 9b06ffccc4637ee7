//! profile layer tests: `costscope profile` arguments map onto profile options, and bad
//! values are refused with a clear message.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use clap::Parser;
use costscope::cli::profile::{ProfileArgs, list_table};
use costscope::profile::workloads::Workload;
use costscope::profile::{DeviceChoice, Precision};

#[derive(Parser)]
struct Wrap {
    #[command(flatten)]
    args: ProfileArgs,
}

fn parse(argv: &[&str]) -> ProfileArgs {
    Wrap::try_parse_from(std::iter::once("profile").chain(argv.iter().copied()))
        .expect("parses")
        .args
}

#[test]
fn flags_map_to_options() {
    let a = parse(&[
        "--adapter",
        "vulkan",
        "--model",
        "small,distilled",
        "--precision",
        "f32,bf16",
        "--batches",
        "1,2,4",
        "--budget-s",
        "0.5",
        "--out",
        "r.ron",
    ]);
    let o = a.options().expect("valid");
    assert_eq!(o.device, DeviceChoice::Adapter("vulkan".into()));
    assert_eq!(o.models, ["small", "distilled"]);
    assert_eq!(o.precisions, [Precision::F32, Precision::Bf16]);
    assert_eq!(o.batches, [1, 2, 4]);
    assert_eq!(o.budget_per_row.as_millis(), 500);

    let quick = parse(&["--quick", "--cpu"]).options().expect("valid");
    assert_eq!(quick.device, DeviceChoice::Cpu);
    assert_eq!(quick.models, ["small"]);

    let full = parse(&[]).options().expect("valid");
    assert_eq!(full.batches, [1, 2, 4, 8, 16, 32, 64, 128, 256]);
    assert_eq!(full.models, ["bert-base"]);
}

#[test]
fn bad_values_are_refused() {
    let e = parse(&["--precision", "f8"]).options().expect_err("f8");
    assert!(e.to_string().contains("unknown precision"), "{e}");
    let e = parse(&["--budget-s=-1"]).options().expect_err("negative");
    assert!(e.to_string().contains("--budget-s"), "{e}");
    assert!(Wrap::try_parse_from(["profile", "--cpu", "--adapter", "x"]).is_err());
}

#[test]
fn list_names_the_cpu() {
    let t = list_table();
    assert!(t.lines().any(|l| l.starts_with("cpu ")), "{t}");
}

#[test]
fn the_command_reports_progress_and_writes_the_report() {
    let dir = std::env::temp_dir().join(format!("costscope-profile-cli-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let out = dir.join("cpu.json");
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_costscope"))
        .args(["profile", "--cpu", "--quick", "--precision", "f32"])
        .args(["--batches", "1,2", "--budget-s", "0.05", "--out"])
        .arg(&out)
        .env("COSTSCOPE_CACHE_DIR", &dir)
        .output()
        .expect("costscope runs");
    let stderr = String::from_utf8_lossy(&run.stderr);
    let stdout = String::from_utf8_lossy(&run.stdout);
    assert!(run.status.success(), "{stderr}");
    // stderr is a pipe here: one `[ n %]` line per step, then the closing line.
    let shares: Vec<f64> = stderr
        .lines()
        .filter_map(|l| l.strip_prefix("costscope: ["))
        .filter_map(|l| l.split(" %]").next()?.trim().parse().ok())
        .collect();
    assert!(shares.len() >= 4, "{stderr}");
    assert_eq!(shares.first(), Some(&0.0), "{stderr}");
    assert!(shares.windows(2).all(|w| w[0] <= w[1]), "{shares:?}");
    assert!(stderr.contains("[100 %] done after"), "{stderr}");
    assert!(stdout.lines().any(|l| l.starts_with("cpu ")), "{stdout}");
    let report = costscope::profile::report::ProfileReport::read(&out).expect("report");
    assert!(
        report
            .results
            .iter()
            .any(|r| r.device == "cpu" && r.correct)
    );
}

#[test]
fn a_cancelled_run_keeps_what_it_measured_and_its_bar_stops_short() {
    let mut opts = costscope::profile::ProfileOptions::quick();
    opts.device = DeviceChoice::Cpu;
    opts.precisions = vec![Precision::F32];
    opts.batches = vec![1, 2, 4];
    opts.budget_per_row = std::time::Duration::from_millis(20);
    let (cancel, meter) = (opts.cancel.clone(), opts.meter.clone());
    let mut lines = 0;
    let report = costscope::profile::run_profile(&opts, &mut |_| {
        lines += 1;
        // Ctrl-C as the GEMM starts: the GEMM row finishes, the MLP sweep never starts.
        if lines == 2 {
            cancel.store(true, std::sync::atomic::Ordering::Relaxed);
        }
    })
    .expect("a cancelled run still returns its report");
    assert!(report.cancelled);
    assert!(
        report
            .results
            .iter()
            .any(|r| r.workload == Workload::Gemm && r.correct)
    );
    assert!(
        !report
            .results
            .iter()
            .any(|r| r.workload.mlp_name().is_some())
    );
    let end = meter.snapshot();
    assert!(end.finished, "the bar ends");
    assert!(end.fraction > 0.0 && end.fraction < 1.0, "{}", end.fraction);
    assert_eq!(end.eta_s, None);
}

#[test]
fn oversized_batches_are_refused_before_anything_is_allocated() {
    // The CPU path: a batch of 2³² would ask for terabytes.
    let mut opts = costscope::profile::ProfileOptions::quick();
    opts.device = DeviceChoice::Cpu;
    opts.models = vec!["bert-base".into()];
    opts.batches = vec![1, 4_294_967_296];
    let started = std::time::Instant::now();
    let e = costscope::profile::run_profile(&opts, &mut |_| {})
        .expect_err("a batch of 2^32 is refused")
        .to_string();
    assert!(e.contains("batch 4294967296 of mlp:bert-base"), "{e}");
    assert!(e.contains("of memory"), "{e}");
    assert!(started.elapsed().as_secs() < 10, "refused before measuring");
    // A GPU adapter: a million rows of bert-base break its buffer limit.
    opts.device = DeviceChoice::Adapter(
        std::env::var("COSTSCOPE_TEST_ADAPTER").unwrap_or_else(|_| String::new()),
    );
    opts.batches = vec![1_000_000];
    match costscope::profile::run_profile(&opts, &mut |_| {}) {
        Err(costscope::profile::ProfileError::NoAdapter(why))
            if std::env::var_os("CI").is_none() =>
        {
            eprintln!("SKIPPED (not CI): no GPU adapter{why}");
        }
        Err(e) => {
            let e = e.to_string();
            assert!(e.contains("batch 1000000 of mlp:bert-base"), "{e}");
            assert!(
                e.contains("max_storage_buffer_binding_size")
                    || e.contains("max_buffer_size")
                    || e.contains("of memory"),
                "{e}"
            );
        }
        Ok(r) => panic!("a million-row batch was run: {} rows", r.results.len()),
    }
}
