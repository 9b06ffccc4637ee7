//! Model layer: a cold start as a sum of named parts — the instance boot, the weight
//! load from storage (model bytes over the storage bandwidth) and the device set-up
//! (compile, first dispatch, weights host → device) — the optional
//! `service.cold_start_parts` of a plan.
//!
//! When a plan states its parts, `service.cold_start_s` states their sum
//! ([`ColdStartParts::sum_s`], checked to [`SUM_TOLERANCE_S`] when the plan is read):
//! the model and the simulator read `cold_start_s`, so a plan's one figure is what every
//! reader sees, and the parts say where it comes from. Calibration replaces the measured
//! part and the model bytes, keeps the stated boot and bandwidth, and writes the new sum.

use serde::{Deserialize, Serialize};

/// Bytes per second in one GB/s (decimal gigabytes, as storage is rated).
pub const BYTES_PER_S_PER_GBYTE_S: f64 = 1e9;

/// Bytes per (decimal) megabyte, for the parts as people read them.
const BYTES_PER_MB: f64 = 1e6;

/// How far `service.cold_start_s` may be from the sum of its parts, seconds: half a
/// millisecond, so the sum as `costscope plan` prints it (to the millisecond) is a
/// value the plan may state.
pub const SUM_TOLERANCE_S: f64 = 0.0005;

/// The parts of one server's cold start (`service.cold_start_parts`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ColdStartParts {
    /// Seconds from asking for a server to its operating system and container running
    /// (stated by the plan; calibration keeps it: a profile cannot measure it).
    pub instance_boot_s: f64,
    /// Rate the model's weights are read from storage (disk, network volume, object
    /// store) into host memory, GB/s (decimal; stated, kept by calibration).
    pub storage_gbytes_per_s: f64,
    /// Bytes of the model's weights read from storage; `None` when not known yet
    /// (calibrating from a transformer's rows fills it from their `weights_bytes`).
    /// Without it no weight load is counted.
    #[serde(default)]
    pub model_bytes: Option<f64>,
    /// Seconds from the weights in host memory to the first result: device set-up,
    /// compiling the kernels, the first dispatch and the weights' host → device upload
    /// (what a profile measures; calibration replaces it).
    #[serde(default)]
    pub device_setup_s: f64,
}

impl ColdStartParts {
    /// The weight load from storage, seconds: `model_bytes` over
    /// `storage_gbytes_per_s`; 0 when the bytes are not stated.
    pub fn weight_load_s(&self) -> f64 {
        self.model_bytes.map_or(0.0, |bytes| {
            bytes / (self.storage_gbytes_per_s * BYTES_PER_S_PER_GBYTE_S)
        })
    }

    /// The cold start these parts make, seconds: instance boot + weight load + device
    /// set-up.
    pub fn sum_s(&self) -> f64 {
        self.instance_boot_s + self.weight_load_s() + self.device_setup_s
    }

    /// True when `cold_start_s` states the sum of these parts (within
    /// [`SUM_TOLERANCE_S`]).
    pub fn agrees_with(&self, cold_start_s: f64) -> bool {
        (cold_start_s - self.sum_s()).abs() <= SUM_TOLERANCE_S
    }

    /// The weight load as people read it: "0.840 s weight load (220.0 MB at 0.262
    /// GB/s)", or that the bytes are not stated.
    pub fn weight_load_text(&self) -> String {
        match self.model_bytes {
            Some(bytes) => format!(
                "{:.3} s weight load ({:.1} MB at {} GB/s)",
                self.weight_load_s(),
                bytes / BYTES_PER_MB,
                self.storage_gbytes_per_s
            ),
            None => "0 s weight load (model_bytes not stated)".to_owned(),
        }
    }

    /// The sum with its parts named: "45.000 s = 41.000 s instance boot + 1.679 s
    /// weight load (220.0 MB at 0.131 GB/s) + 2.321 s device set-up".
    pub fn describe(&self) -> String {
        format!(
            "{:.3} s = {:.3} s instance boot + {} + {:.3} s device set-up",
            self.sum_s(),
            self.instance_boot_s,
            self.weight_load_text(),
            self.device_setup_s
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(model_bytes: Option<f64>) -> ColdStartParts {
        ColdStartParts {
            instance_boot_s: 40.0,
            storage_gbytes_per_s: 0.5,
            model_bytes,
            device_setup_s: 1.5,
        }
    }

    #[test]
    fn the_sum_is_boot_plus_bytes_over_bandwidth_plus_set_up() {
        // 440 MB at 0.5 GB/s is 0.88 s.
        let p = parts(Some(440e6));
        assert!((p.weight_load_s() - 0.88).abs() < 1e-12);
        assert!((p.sum_s() - 42.38).abs() < 1e-12);
        assert_eq!(
            p.describe(),
            "42.380 s = 40.000 s instance boot + 0.880 s weight load (440.0 MB at 0.5 GB/s) + 1.500 s device set-up"
        );
        assert!(p.agrees_with(42.38) && p.agrees_with(42.3804) && !p.agrees_with(42.381));
        // Without the bytes no load is counted, and the text says why.
        let p = parts(None);
        assert_eq!(p.sum_s(), 41.5);
        assert!(
            p.describe()
                .contains("0 s weight load (model_bytes not stated)")
        );
    }
}
