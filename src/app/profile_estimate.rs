//! App layer: what the Profile panel says before a run — how long it will take, from
//! the settings (models, precisions, batches, lengths, devices) and the per-row time
//! budget, or from the pace of the last finished run — and the last report kept on
//! disk, so it is shown again when the app restarts.

use std::path::{Path, PathBuf};

use crate::profile::report::ProfileReport;
use crate::profile::{DeviceChoice, ProfileOptions};

/// File name of the last report in the cache folder.
pub const LAST_REPORT_FILE: &str = "last-profile.json";

/// Where the last report is kept: the autotune cache's folder
/// (`$COSTSCOPE_CACHE_DIR`, else `$XDG_CACHE_HOME/costscope`, else
/// `$HOME/.cache/costscope`); `None` when none can be named.
pub fn default_report_path() -> Option<PathBuf> {
    crate::profile::autotune::cache_dir().map(|d| d.join(LAST_REPORT_FILE))
}

/// Reads the report kept at `path`, or says in one line why it cannot be shown.
pub fn restore_report(path: &Path) -> Result<ProfileReport, String> {
    ProfileReport::read(path).map_err(|e| format!("the last profile report was not restored: {e}"))
}

/// Keeps `report` at `path` (atomically, its folder made if needed), or says why not.
pub fn keep_report(report: &ProfileReport, path: &Path) -> Result<(), String> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir).map_err(|e| {
            format!(
                "the report is not kept for next time: {}: {e}",
                dir.display()
            )
        })?;
    }
    report
        .write(path)
        .map_err(|e| format!("the report is not kept for next time: {e}"))
}

/// How long a run of `opts` will take, and what that is based on.
#[derive(Debug, Clone, PartialEq)]
pub struct Estimate {
    /// Measurements planned (the progress bar's units: cold start, peaks, each GEMM
    /// size, MLP batch and transformer row, per precision and device).
    pub units: u64,
    /// GPU adapters counted (the CPU path comes on top when `cpu` is set).
    pub gpus: usize,
    /// Whether the CPU path is measured.
    pub cpu: bool,
    /// Seconds the run should take.
    pub seconds: f64,
    /// The share of each measurement's budget the last finished run used, when the
    /// estimate comes from it.
    pub from_last_run: Option<f64>,
}

/// The estimate for `opts` on `gpus` adapters (the ones the device picker lists that
/// the choice selects): each measurement takes its time budget, or the share of it
/// the last run took (`budget_share`, from [`budget_share`]).
pub fn estimate(opts: &ProfileOptions, gpus: &[String], budget_share: Option<f64>) -> Estimate {
    // One adapter listed by two back ends ("… [vulkan]", "… [gl]") is profiled once.
    let mut names: Vec<&str> = gpus
        .iter()
        .map(|g| g.split(" [").next().unwrap_or(g))
        .collect();
    names.sort_unstable();
    names.dedup();
    let gpus = match &opts.device {
        DeviceChoice::Cpu => 0,
        DeviceChoice::All => names.len(),
        // The profiler picks one adapter of those the name matches.
        DeviceChoice::Adapter(name) => usize::from(gpus.iter().any(|g| g.contains(name.as_str()))),
    };
    let cpu = matches!(opts.device, DeviceChoice::All | DeviceChoice::Cpu);
    let units =
        gpus as u64 * opts.units_per_device(true) + u64::from(cpu) * opts.units_per_device(false);
    let share = budget_share.filter(|s| s.is_finite() && *s > 0.0);
    let per_unit_s = opts.budget_per_row.as_secs_f64() * share.unwrap_or(1.0);
    Estimate {
        units,
        gpus,
        cpu,
        seconds: units as f64 * per_unit_s,
        from_last_run: share,
    }
}

/// The share of its per-row budget one measurement of a finished run took: the run's
/// seconds over its measurements and budget; `None` for a run too short to tell.
pub fn budget_share(elapsed_s: f64, units: u64, budget_s: f64) -> Option<f64> {
    (units > 0 && budget_s > 0.0 && elapsed_s > 0.0).then(|| elapsed_s / units as f64 / budget_s)
}

/// Seconds as people say them: "45 s", "3 min 20 s", "1 h 05 min".
pub fn duration_words(seconds: f64) -> String {
    let s = seconds.max(0.0).round() as u64;
    match s {
        0..60 => format!("{s} s"),
        60..3600 => format!("{} min {:02} s", s / 60, s % 60),
        _ => format!("{} h {:02} min", s / 3600, (s % 3600) / 60),
    }
}

impl Estimate {
    /// The line the panel shows above Run: the time, how many measurements on what,
    /// and what the figure is based on.
    pub fn line(&self, budget_s: f64) -> String {
        let devices = match (self.gpus, self.cpu) {
            (0, _) => "the CPU".to_owned(),
            (n, true) => format!("{n} GPU{} and the CPU", if n == 1 { "" } else { "s" }),
            (n, false) => format!("{n} GPU{}", if n == 1 { "" } else { "s" }),
        };
        let time = duration_words(self.seconds);
        let n = self.units;
        match self.from_last_run {
            Some(share) => format!(
                "Estimate: about {time} for {n} measurements on {devices} (at the last \
                 run's pace, {share:.1}x each {budget_s} s timing budget)."
            ),
            // Compiling, checking and autotuning each kernel come on top of its timing:
            // a first run here is not known to be near its budgets, only above them.
            None => format!(
                "Estimate: at least {time} for {n} measurements on {devices} (their \
                 {budget_s} s timing budgets; compiling and checking kernels come on top, \
                 and the next estimate uses this run's pace)."
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_estimate_counts_what_the_progress_bar_counts() {
        let mut opts = ProfileOptions::quick();
        let gpus = vec!["llvmpipe (LLVM 15) [vulkan]".to_owned()];
        let e = estimate(&opts, &gpus, None);
        assert_eq!(
            e.units,
            opts.units_per_device(true) + opts.units_per_device(false)
        );
        assert_eq!(e.seconds, e.units as f64 * 0.25);
        assert!(
            e.line(0.25).starts_with("Estimate: at least "),
            "{}",
            e.line(0.25)
        );
        assert!(e.line(0.25).contains("1 GPU and the CPU"));
        // The last run's pace: half its budget a measurement, half the time.
        let half = estimate(&opts, &gpus, Some(0.5));
        assert_eq!(half.seconds, e.seconds / 2.0);
        assert!(
            half.line(0.25)
                .contains("at the last run's pace, 0.5x each 0.25 s")
        );
        // Two back ends of one adapter are one GPU.
        let twice = [gpus[0].clone(), "llvmpipe (LLVM 15) [gl]".to_owned()];
        assert_eq!(estimate(&opts, &twice, None).gpus, 1);
        opts.device = DeviceChoice::Cpu;
        let cpu = estimate(&opts, &gpus, None);
        assert_eq!((cpu.gpus, cpu.units), (0, opts.units_per_device(false)));
        opts.device = DeviceChoice::Adapter("nvidia".into());
        assert_eq!(estimate(&opts, &gpus, None).units, 0);
    }

    #[test]
    fn durations_read_as_people_say_them() {
        assert_eq!(duration_words(44.6), "45 s");
        assert_eq!(duration_words(200.0), "3 min 20 s");
        assert_eq!(duration_words(3900.0), "1 h 05 min");
        assert_eq!(budget_share(10.0, 20, 1.0), Some(0.5));
        assert_eq!(budget_share(10.0, 0, 1.0), None);
    }

    #[test]
    fn a_missing_or_corrupt_report_is_one_line() {
        let dir =
            std::env::temp_dir().join(format!("costscope-last-report-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let missing = restore_report(&dir.join("none.json")).unwrap_err();
        assert!(missing.starts_with("the last profile report was not restored: "));
        assert!(!missing.contains('\n'), "{missing}");
        let bad = dir.join("bad.json");
        std::fs::write(&bad, "{ not json").unwrap();
        let corrupt = restore_report(&bad).unwrap_err();
        assert!(
            !corrupt.contains('\n') && corrupt.contains("bad.json"),
            "{corrupt}"
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
