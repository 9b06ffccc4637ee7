//! CLI layer: `costscope profile` — clap arguments, Ctrl-C, progress on stderr, a
//! table on stdout, the report file.

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use anyhow::Context;

use crate::profile::report::ProfileReport;
use crate::profile::workloads::transformer::TransformerConfig;
use crate::profile::{DeviceChoice, Precision, ProfileError, ProfileOptions, gpu, run_profile};

/// Arguments of `costscope profile`.
#[derive(clap::Args, Debug, Clone, Default)]
pub struct ProfileArgs {
    /// List adapters (and the CPU) and exit.
    #[arg(long)]
    pub list: bool,
    /// Only adapters whose name contains this text.
    #[arg(long, conflicts_with = "cpu")]
    pub adapter: Option<String>,
    /// Only the native CPU path.
    #[arg(long)]
    pub cpu: bool,
    /// Models, comma-separated: MLP presets (bert-base, distilled, small), shipped
    /// transformer configs (bert-base-uncased, gpt2, Llama-3.2-1B, tiny-llama, …) or
    /// paths to Hugging Face config.json files.
    #[arg(long, value_delimiter = ',')]
    pub model: Vec<String>,
    /// Tokens per sequence of transformer encoder and prefill rows, comma-separated
    /// (default 128).
    #[arg(long, value_delimiter = ',')]
    pub seq_len: Vec<usize>,
    /// A Hugging Face safetensors checkpoint (model.safetensors; F32, F16 or BF16) of
    /// the one transformer named by --model, run instead of seeded random weights.
    #[arg(long, value_name = "FILE")]
    pub weights: Option<PathBuf>,
    /// Cached tokens of transformer decode rows, comma-separated (default 512).
    #[arg(long, value_delimiter = ',')]
    pub context_len: Vec<usize>,
    /// Precisions, comma-separated (f32, f16, bf16).
    #[arg(long, value_delimiter = ',')]
    pub precision: Vec<String>,
    /// Batch sizes, comma-separated (default 1,2,4,…,256; 1,8 with --quick).
    #[arg(long, value_delimiter = ',')]
    pub batches: Vec<usize>,
    /// Time budget per measured row, seconds.
    #[arg(long)]
    pub budget_s: Option<f64>,
    /// A short run (small model, 128³ GEMM) that finishes in under a minute on lavapipe.
    #[arg(long)]
    pub quick: bool,
    /// Write the report here; the extension picks JSON, RON or CSV.
    #[arg(long)]
    pub out: Option<PathBuf>,
    /// After the table, every transformer row's operators: ms, share, GFLOP/s, GB/s and
    /// share of the roofline bound (the table itself shows the largest few).
    #[arg(long)]
    pub ops: bool,
}

impl ProfileArgs {
    /// The options these arguments describe.
    pub fn options(&self) -> anyhow::Result<ProfileOptions> {
        let mut o = if self.quick {
            ProfileOptions::quick()
        } else {
            ProfileOptions::full()
        };
        o.device = match (&self.adapter, self.cpu) {
            (Some(a), _) => DeviceChoice::Adapter(a.clone()),
            (None, true) => DeviceChoice::Cpu,
            (None, false) => DeviceChoice::All,
        };
        if !self.model.is_empty() {
            o.models = self.model.clone();
        }
        if let Some(path) = &self.weights {
            let one_transformer = match self.model.as_slice() {
                [m] => TransformerConfig::is_transformer_name(m),
                _ => false,
            };
            anyhow::ensure!(
                one_transformer,
                "--weights needs exactly one --model, a transformer config (bert-base-uncased, gpt2, tiny-llama, a config.json, …); got `{}`",
                self.model.join(",")
            );
            o.weights = Some(path.clone());
        }
        if !self.precision.is_empty() {
            o.precisions = self
                .precision
                .iter()
                .map(|p| {
                    p.parse::<Precision>()
                        .map_err(|e| ProfileError::Invalid(e.to_string()))
                })
                .collect::<Result<_, _>>()?;
        }
        if !self.batches.is_empty() {
            o.batches = self.batches.clone();
        }
        if !self.seq_len.is_empty() {
            o.seq_lens = self.seq_len.clone();
        }
        if !self.context_len.is_empty() {
            o.context_lens = self.context_len.clone();
        }
        if let Some(b) = self.budget_s {
            anyhow::ensure!(
                b.is_finite() && b > 0.0,
                "--budget-s must be a positive number of seconds, got {b}"
            );
            o.budget_per_row = Duration::from_secs_f64(b);
        }
        Ok(o)
    }
}

/// Runs `costscope profile` with `args`.
pub fn run(args: &ProfileArgs) -> anyhow::Result<()> {
    if args.list {
        print!("{}", list_table());
        return Ok(());
    }
    let opts = args.options()?;
    if let Some(out) = &args.out {
        crate::profile::report::ReportFormat::from_path(out)?;
        // Found out now, not after a run of minutes.
        crate::files::check_writable(out)
            .with_context(|| format!("cannot write the report to {}", out.display()))?;
    }
    let _watch = cancel_on_ctrl_c(opts.cancel.clone());
    let bar = super::bar::StderrBar::start(opts.meter.clone());
    let report = run_profile(&opts, &mut |line| bar.line(line));
    // The bar's last state goes out before the table and any error.
    drop(bar);
    let report = report.context("profiling failed")?;
    print!("{}", results_table(&report));
    print!("{}", peaks_lines(&report));
    if args.ops {
        print!("{}", super::ops_table::ops_tables(&report));
    }
    if report.cancelled {
        eprintln!("costscope: cancelled; the report holds what was measured so far");
    }
    if let Some(out) = &args.out {
        report
            .write(out)
            .with_context(|| format!("writing {}", out.display()))?;
        eprintln!("costscope: wrote {}", out.display());
    }
    Ok(())
}

static SIGINT_SEEN: AtomicBool = AtomicBool::new(false);

#[cfg(unix)]
extern "C" fn on_sigint(_: libc::c_int) {
    SIGINT_SEEN.store(true, Ordering::SeqCst);
    // SAFETY: signal() is async-signal-safe; a second Ctrl-C then ends the process.
    unsafe { libc::signal(libc::SIGINT, libc::SIG_DFL) };
}

/// Sets `cancel` when Ctrl-C arrives (first press: stop after the current row and still
/// write the report; second press: default behaviour). Returns the watcher thread.
fn cancel_on_ctrl_c(cancel: Arc<AtomicBool>) -> Option<std::thread::JoinHandle<()>> {
    #[cfg(unix)]
    {
        let handler = on_sigint as extern "C" fn(libc::c_int);
        // SAFETY: installs a handler that only stores to an atomic and calls signal().
        unsafe { libc::signal(libc::SIGINT, handler as libc::sighandler_t) };
    }
    std::thread::Builder::new()
        .name("costscope-ctrl-c".into())
        .spawn(move || {
            loop {
                if SIGINT_SEEN.load(Ordering::SeqCst) {
                    // On a terminal the progress bar owns the line: clear it first.
                    let clear = if std::io::stderr().is_terminal() { "\r\x1b[2K" } else { "" };
                    eprintln!("{clear}costscope: Ctrl-C: finishing the current measurement, then writing the report (Ctrl-C again to abort)");
                    cancel.store(true, Ordering::SeqCst);
                    return;
                }
                std::thread::sleep(Duration::from_millis(50));
            }
        })
        .ok()
}

/// The adapter list as a text table.
pub fn list_table() -> String {
    let inst = gpu::instance();
    let mut entries: Vec<_> = gpu::adapters(&inst)
        .iter()
        .map(gpu::adapter_entry)
        .collect();
    entries.push(gpu::cpu_entry());
    let mut s = format!(
        "{:<40} {:<8} {:<14} {:<24} features\n",
        "name", "backend", "type", "driver"
    );
    for e in entries {
        let driver = format!("{} {}", e.driver, e.driver_info);
        let key: Vec<&str> = e
            .features
            .iter()
            .map(String::as_str)
            .filter(|f| {
                [
                    "SHADER_F16",
                    "TIMESTAMP_QUERY",
                    "SUBGROUP",
                    "AVX2",
                    "FMA",
                    "AVX512F",
                ]
                .contains(f)
            })
            .collect();
        s += &format!(
            "{:<40} {:<8} {:<14} {:<24} {}\n",
            e.name,
            e.backend,
            e.device_type,
            trim(&driver, 24),
            key.join(" ")
        );
    }
    s
}

/// Shortens an adapter label to `n` characters, keeping its `[backend]` suffix.
fn short_device(label: &str, n: usize) -> String {
    if label.chars().count() <= n {
        return label.to_string();
    }
    match label.rfind(" [") {
        Some(i) => {
            let suffix = &label[i..];
            let keep = n.saturating_sub(suffix.chars().count() + 1);
            format!("{}…{suffix}", trim(label, keep))
        }
        None => trim(label, n),
    }
}

fn trim(s: &str, n: usize) -> String {
    s.chars().take(n).collect()
}

/// The results as a text table (one line per row).
pub fn results_table(r: &ProfileReport) -> String {
    // Wide enough for the longest workload (`encoder:distilbert-base-uncased`), never
    // narrower than the MLP-only table was.
    let wl = r
        .results
        .iter()
        .map(|row| row.workload.label().chars().count())
        .fold(14, usize::max);
    let mut s = format!(
        "{:<24} {:<wl$} {:<5} {:<20} {:>5} {:>11} {:>10} {:>8} {:>7} {:>6}  note\n",
        "device",
        "workload",
        "prec",
        "variant",
        "batch",
        "shape",
        "median_ms",
        "GFLOP/s",
        "%peak",
        "cv"
    );
    for row in &r.results {
        let shape = match (row.seq_len, row.context_len) {
            (Some(s), _) => format!("seq {s}"),
            (_, Some(c)) => format!("ctx {c}"),
            _ => format!("{}x{}x{}", row.m, row.n, row.k),
        };
        let batch = row
            .batch
            .map(|b| b.to_string())
            .unwrap_or_else(|| "-".into());
        let (med, cv) = row.timing.as_ref().map_or(("-".into(), "-".into()), |t| {
            (format!("{:.3}", t.median_ms), format!("{:.3}", t.cv))
        });
        let num = |v: Option<f64>| v.map_or("-".into(), |x| format!("{x:.2}"));
        let note = if !row.supported {
            format!(
                "unsupported: {}",
                row.why_unsupported.as_deref().unwrap_or("")
            )
        } else if let Some(e) = &row.error {
            e.clone()
        } else if !row.correct {
            format!("WRONG (rel err {:.1e})", row.rel_error.unwrap_or(f64::NAN))
        } else if row.chosen {
            "chosen".into()
        } else {
            String::new()
        };
        s += &format!(
            "{:<24} {:<wl$} {:<5} {:<20} {:>5} {:>11} {:>10} {:>8} {:>7} {:>6}  {note}\n",
            short_device(&row.device, 24),
            row.workload.label(),
            row.precision,
            row.variant,
            batch,
            shape,
            med,
            num(row.gflops),
            num(row.pct_of_peak),
            cv
        );
        if let Some(line) = super::ops_table::ops_line(row) {
            s += &line;
        }
    }
    s
}

/// One line per measured peak: FMA GFLOP/s (on the CPU with the instruction set that
/// reached it and the others measured) and the copy bandwidth.
pub fn peaks_lines(r: &ProfileReport) -> String {
    let mut s = String::new();
    for p in &r.peaks {
        let isa = match &p.isa {
            Some(best) => {
                let others: Vec<String> = (p.isa_gflops.iter())
                    .filter(|i| &i.isa != best)
                    .map(|i| format!("{} {:.1}", i.isa, i.gflops))
                    .collect();
                if others.is_empty() {
                    format!(" ({best})")
                } else {
                    format!(" ({best}; {})", others.join(", "))
                }
            }
            None => String::new(),
        };
        let bw = p
            .bandwidth_gbytes_per_s
            .map_or(String::new(), |b| format!(", copy bandwidth {b:.1} GB/s"));
        s += &format!(
            "peak {} {}: FMA {:.1} GFLOP/s{isa}{bw}\n",
            short_device(&p.device, 24),
            p.precision,
            p.fma_gflops
        );
    }
    s
}
