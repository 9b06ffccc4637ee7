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

#[test]
fn transformer_flags_map_to_options() {
    let o = parse(&[
        "--model",
        "tiny-bert,small",
        "--seq-len",
        "16,32",
        "--context-len",
        "64",
    ])
    .options()
    .expect("valid");
    assert_eq!(o.models, ["tiny-bert", "small"]);
    assert_eq!(o.seq_lens, [16, 32]);
    assert_eq!(o.context_lens, [64]);
    let d = parse(&[]).options().expect("valid");
    assert_eq!(
        (d.seq_lens.as_slice(), d.context_lens.as_slice()),
        ([128].as_slice(), [512].as_slice())
    );
    // 1 GEMM + 2 MLP batches... here: 1 GEMM size, small × 9 batches, tiny-bert × 2 × 9.
    assert_eq!(o.units_per_precision(), 1 + 9 + 2 * 9);
}

/// Runs `costscope profile --cpu` with `args` into `file` and reads the report back.
fn profile_cpu(file: &str, args: &[&str]) -> (costscope::profile::report::ProfileReport, String) {
    let dir = std::env::temp_dir().join(format!("costscope-profile-tf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let out = dir.join(file);
    let run = std::process::Command::new(env!("CARGO_BIN_EXE_costscope"))
        .args([
            "profile",
            "--cpu",
            "--precision",
            "f32",
            "--budget-s",
            "0.05",
        ])
        .args(args)
        .arg("--out")
        .arg(&out)
        .env("COSTSCOPE_CACHE_DIR", &dir)
        .output()
        .expect("costscope runs");
    let stderr = String::from_utf8_lossy(&run.stderr).into_owned();
    assert!(run.status.success(), "{stderr}");
    assert!(stderr.contains("[100 %] done after"), "{stderr}");
    let stdout = String::from_utf8_lossy(&run.stdout).into_owned();
    (
        costscope::profile::report::ProfileReport::read(&out).expect("report"),
        stdout,
    )
}

#[test]
fn a_transformer_encoder_gets_verified_timed_rows_with_its_work() {
    let (report, stdout) = profile_cpu(
        "bert.json",
        &[
            "--model",
            "tiny-bert",
            "--seq-len",
            "16",
            "--batches",
            "1,2",
        ],
    );
    let rows: Vec<_> = report
        .results
        .iter()
        .filter(|r| r.workload == Workload::Encoder("tiny-bert".into()))
        .collect();
    assert_eq!(rows.len(), 2, "{stdout}");
    for (r, b) in rows.iter().zip([1, 2]) {
        assert!(
            r.correct && r.timing.is_some() && r.gflops.is_some(),
            "{r:?}"
        );
        assert_eq!(
            (r.batch, r.seq_len, r.context_len),
            (Some(b), Some(16), None)
        );
        assert!(r.rel_error.unwrap() <= 1e-5);
        let flops = r.flops_per_item.unwrap();
        // 16 tokens × 2 layers × 2·(4·64² + 2·64·128) + 4·16 dims × 4 heads × 2 layers × 16².
        assert_eq!(
            flops,
            16.0 * 2.0 * 2.0 * (4.0 * 4096.0 + 2.0 * 8192.0) + 4.0 * 16.0 * 8.0 * 256.0
        );
        assert!(r.weights_bytes.unwrap() > 0.0 && r.bytes_per_item.unwrap() > 0.0);
        assert_eq!(r.kv_bytes_per_token, None);
    }
    assert!(stdout.contains("encoder:tiny-bert"), "{stdout}");
    // Under each transformer row: where its time goes.
    assert_eq!(
        stdout.matches("  └ where the time goes: ").count(),
        2,
        "{stdout}"
    );
    let csv = report.to_csv();
    let header = csv.lines().next().unwrap();
    assert!(header.ends_with("why_unsupported,seq_len,context_len,flops_per_item,bytes_per_item,weights_bytes,kv_bytes_per_token"), "{header}");
    let flops = rows[0].flops_per_item.unwrap();
    assert!(
        csv.lines()
            .any(|l| l.contains("encoder:tiny-bert") && l.contains(&format!(",16,,{flops:.0},"))),
        "{csv}"
    );
}

#[test]
fn a_transformer_decoder_gets_prefill_and_decode_rows() {
    let (report, stdout) = profile_cpu(
        "llama.json",
        &[
            "--model",
            "tiny-llama",
            "--seq-len",
            "16",
            "--context-len",
            "32",
            "--batches",
            "1",
            "--ops",
        ],
    );
    // `--ops`: a table per transformer row, one line per operator of its pass.
    let tables = stdout.split("\ncpu ").skip(1).collect::<Vec<_>>();
    assert!(
        tables
            .iter()
            .any(|t| t.starts_with("decode:tiny-llama f32 ctx 32 batch 1:")
                && t.contains("%roofline")
                && t.lines().filter(|l| l.starts_with("  kv_append ")).count() == 1),
        "{stdout}"
    );
    let prefill = report
        .results
        .iter()
        .find(|r| r.workload == Workload::Prefill("tiny-llama".into()))
        .expect("prefill row");
    let decode = report
        .results
        .iter()
        .find(|r| r.workload == Workload::Decode("tiny-llama".into()))
        .expect("decode row");
    assert!(prefill.correct && prefill.timing.is_some());
    assert!(decode.correct && decode.timing.is_some());
    assert_eq!((prefill.seq_len, decode.context_len), (Some(16), Some(32)));
    // KV bytes per token in f32: K and V × 2 layers × 2 kv heads × 16 dims × 4 bytes.
    assert_eq!(decode.kv_bytes_per_token, Some(512.0));
    assert!(decode.flops_per_item.unwrap() < prefill.flops_per_item.unwrap());
}

#[test]
fn unknown_models_and_too_long_sequences_are_refused() {
    let mut opts = costscope::profile::ProfileOptions::quick();
    opts.device = DeviceChoice::Cpu;
    opts.models = vec!["tiny-gpt5".into()];
    let e = costscope::profile::run_profile(&opts, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("unknown model `tiny-gpt5`") && e.contains("tiny-llama"),
        "{e}"
    );
    opts.models = vec!["tiny-bert".into()];
    opts.seq_lens = vec![129];
    let e = costscope::profile::run_profile(&opts, &mut |_| {})
        .unwrap_err()
        .to_string();
    assert!(
        e.contains("sequence length 129") && e.contains("128 positions"),
        "{e}"
    );
}

#[test]
fn a_report_written_before_transformer_rows_still_reads() {
    // A row exactly as the report format wrote it before the transformer fields existed.
    let old = r#"{"version":1,"fingerprint":{"app_version":"0.1.0","os":"linux x86_64","cpu":"x","date":"2026-11-28T10:00:00Z","cpu_cores":2,"devices":["cpu"]},
      "adapters":[{"name":"cpu","backend":"native","device_type":"cpu","driver":"gemm crate","driver_info":"x","features":["AVX2"],"limits":[["threads",2]]}],
      "results":[{"device":"cpu","workload":"mlp:small","precision":"f32","variant":"gemm-crate+epilogue","chosen":true,"m":1,"n":256,"k":256,"batch":1,"supported":true,"why_unsupported":null,"correct":true,"rel_error":1e-7,
        "timing":{"method":"wall","median_ms":0.5,"p5_ms":0.4,"p95_ms":0.6,"p99_ms":0.7,"min_ms":0.4,"max_ms":0.8,"cv":0.01,"stable":true,"samples":5},
        "gflops":2.0,"gbytes_per_s":1.0,"pct_of_peak":1.0,"autotune":null,"flops_per_byte":1.0,"items_per_s":2000.0,"error":null}],
      "cold_start_ms":null,"cold_start_all_ms":[],"peaks":[],"telemetry":{"available":false,"why_unavailable":"none","samples":[],"energy_j_per_item":null},"cancelled":false,"errors":[]}"#;
    let dir = std::env::temp_dir().join(format!("costscope-old-report-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("old.json");
    std::fs::write(&path, old).unwrap();
    let r = costscope::profile::report::ProfileReport::read(&path).expect("old report reads");
    let row = &r.results[0];
    assert_eq!(row.workload, Workload::Mlp("small".into()));
    assert_eq!(
        (row.seq_len, row.flops_per_item, row.kv_bytes_per_token),
        (None, None, None)
    );
    // Written again, an MLP row carries no transformer fields: old readers read it too.
    let json = r.to_json().unwrap();
    assert!(
        !json.contains("seq_len") && !json.contains("flops_per_item"),
        "{json}"
    );
    let ron_path = dir.join("old.ron");
    r.write(&ron_path).unwrap();
    assert_eq!(
        costscope::profile::report::ProfileReport::read(&ron_path).unwrap(),
        r
    );
}

#[test]
fn weights_need_exactly_one_transformer_model() {
    let o = parse(&["--model", "tiny-llama", "--weights", "m.safetensors"])
        .options()
        .expect("valid");
    assert_eq!(
        o.weights.as_deref(),
        Some(std::path::Path::new("m.safetensors"))
    );
    assert_eq!(parse(&[]).options().expect("valid").weights, None);
    for models in ["small", "tiny-llama,gpt2"] {
        let e = parse(&["--model", models, "--weights", "m.safetensors"])
            .options()
            .expect_err(models)
            .to_string();
        assert!(e.contains(&format!("--weights needs exactly one --model, a transformer config (bert-base-uncased, gpt2, tiny-llama, a config.json, …); got `{models}`")), "{e}");
    }
    let e = parse(&["--weights", "m.safetensors"])
        .options()
        .expect_err("no model");
    assert!(e.to_string().contains("got ``"), "{e}");
}
