//! profile layer: the fingerprint of the machine and build behind a report (CPU model,
//! OS, cores, UTC date, app version).

use super::report::Fingerprint;

/// Builds the fingerprint of this machine and build, now (`devices` is filled in by the
/// run as it measures them).
pub fn fingerprint() -> Fingerprint {
    let cpu = std::fs::read_to_string("/proc/cpuinfo")
        .ok()
        .and_then(|s| {
            s.lines()
                .find(|l| l.starts_with("model name"))
                .and_then(|l| l.split_once(':'))
                .map(|(_, v)| v.trim().to_string())
        })
        .unwrap_or_else(|| "unknown".to_string());
    Fingerprint {
        app_version: env!("CARGO_PKG_VERSION").to_string(),
        os: format!("{} {}", std::env::consts::OS, std::env::consts::ARCH),
        cpu,
        date: utc_now_rfc3339(),
        cpu_cores: std::thread::available_parallelism().map_or(1, |n| n.get()),
        devices: Vec::new(),
    }
}

/// Seconds in a (UTC, leap-second-free) day.
const SECONDS_PER_DAY: i64 = 86_400;

/// Current UTC time as `YYYY-MM-DDTHH:MM:SSZ` (civil-from-days, no date crate).
pub fn utc_now_rfc3339() -> String {
    let secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs()) as i64;
    let (days, rem) = (
        secs.div_euclid(SECONDS_PER_DAY),
        secs.rem_euclid(SECONDS_PER_DAY),
    );
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z - era * 146_097;
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    format!(
        "{y:04}-{m:02}-{d:02}T{:02}:{:02}:{:02}Z",
        rem / 3600,
        (rem % 3600) / 60,
        rem % 60
    )
}
