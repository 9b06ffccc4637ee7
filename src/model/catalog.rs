//! Model layer: the hardware catalog — accelerators (memory, bandwidth, dense FLOP
//! rates, power) and the offers that rent them — with its checks and filters. Pure
//! data: the plan layer reads the RON files, this module says what a valid entry is.

use serde::{Deserialize, Serialize};

use super::Precision;

/// One accelerator's data-sheet figures. Throughputs are dense (no 2:4 sparsity); a
/// figure no cited page states is `None`, never a guess.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Accelerator {
    /// Catalog name offers refer to (`H100-SXM`, `L4`, …); unique in a catalog.
    pub name: String,
    /// Maker (`NVIDIA`, `AMD`, `Apple`).
    pub vendor: String,
    /// Device memory in GB (10^9 bytes); `None` where it depends on the build (a CPU).
    pub memory_gb: Option<f64>,
    /// Peak memory bandwidth in GB/s (10^9 bytes per second).
    pub memory_bandwidth_gbytes_per_s: f64,
    /// Dense FP32 TFLOP/s (vector units).
    pub fp32_tflops: Option<f64>,
    /// Dense FP16 TFLOP/s (tensor / matrix units where present).
    pub fp16_tflops: Option<f64>,
    /// Dense BF16 TFLOP/s (tensor / matrix units where present).
    pub bf16_tflops: Option<f64>,
    /// Board power (TDP / TGP) in watts.
    pub tdp_w: Option<f64>,
    /// Addresses of the pages the figures come from.
    pub sources: Vec<String>,
    /// How the figures were read (which page gave which, what was left out).
    #[serde(default)]
    pub note: String,
}

impl Accelerator {
    /// Dense TFLOP/s at `precision`, when the catalog has it.
    pub fn tflops(&self, precision: Precision) -> Option<f64> {
        match precision {
            Precision::F32 => self.fp32_tflops,
            Precision::F16 => self.fp16_tflops,
            Precision::Bf16 => self.bf16_tflops,
        }
    }
}

/// A way to rent accelerators: an instance type at a price seen on a date.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Offer {
    /// Cloud or marketplace (`AWS`, `RunPod`).
    pub provider: String,
    /// The provider's name for the instance.
    pub instance_type: String,
    /// Catalog name of the accelerator it carries.
    pub accelerator: String,
    /// Accelerators in one instance.
    pub accelerators_per_instance: u32,
    /// Virtual CPUs, where the cited page says.
    pub vcpus: Option<u32>,
    /// On-demand price of one instance, USD per hour.
    pub on_demand_usd_per_hour: f64,
    /// Spot price of one instance, USD per hour, where the cited page says.
    pub spot_usd_per_hour: Option<f64>,
    /// Region (or `global` where the page gives one price everywhere).
    pub region: String,
    /// The date (YYYY-MM-DD) the cited page states for its price; `None` if it has none.
    pub date_seen: Option<String>,
    /// Address of the price page.
    pub source: String,
}

/// Accelerators and offers together.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct Catalog {
    /// Every accelerator, in file order (a user file's overrides in place).
    pub accelerators: Vec<Accelerator>,
    /// Every offer, in file order.
    pub offers: Vec<Offer>,
}

/// A catalog entry that fails its checks: one line naming the entry and field.
#[derive(Clone, Debug, PartialEq, thiserror::Error)]
#[error("{entry}: {problem}")]
pub struct CatalogError {
    /// `accelerator 'L4'` or `offer 'AWS g5.xlarge'`.
    pub entry: String,
    /// What is wrong, with the value and the allowed range.
    pub problem: String,
}

/// Upper bounds that catch unit slips (TB/s typed as GB/s, PFLOP/s as TFLOP/s).
const MAX_MEMORY_GB: f64 = 10_000.0;
const MAX_BANDWIDTH_GBYTES_PER_S: f64 = 100_000.0;
const MAX_TFLOPS: f64 = 100_000.0;
const MAX_TDP_W: f64 = 10_000.0;
const MAX_USD_PER_HOUR: f64 = 10_000.0;
const MAX_ACCELERATORS_PER_INSTANCE: u32 = 64;

fn check(entry: &str, field: &str, value: f64, max: f64) -> Result<(), CatalogError> {
    if value.is_finite() && value > 0.0 && value <= max {
        return Ok(());
    }
    Err(CatalogError {
        entry: entry.to_owned(),
        problem: format!("{field} = {value} is outside (0, {max}]"),
    })
}

fn check_opt(entry: &str, field: &str, value: Option<f64>, max: f64) -> Result<(), CatalogError> {
    value.map_or(Ok(()), |v| check(entry, field, v, max))
}

impl Accelerator {
    /// Every figure positive, finite and below its bound; a name and a source given.
    pub fn validate(&self) -> Result<(), CatalogError> {
        let entry = format!("accelerator '{}'", self.name);
        let fail = |problem: &str| CatalogError {
            entry: entry.clone(),
            problem: problem.to_owned(),
        };
        if self.name.trim().is_empty() {
            return Err(fail("name is empty"));
        }
        if self.sources.iter().all(|s| s.trim().is_empty()) {
            return Err(fail("sources is empty: every figure needs a cited page"));
        }
        check_opt(&entry, "memory_gb", self.memory_gb, MAX_MEMORY_GB)?;
        check(
            &entry,
            "memory_bandwidth_gbytes_per_s",
            self.memory_bandwidth_gbytes_per_s,
            MAX_BANDWIDTH_GBYTES_PER_S,
        )?;
        check_opt(&entry, "fp32_tflops", self.fp32_tflops, MAX_TFLOPS)?;
        check_opt(&entry, "fp16_tflops", self.fp16_tflops, MAX_TFLOPS)?;
        check_opt(&entry, "bf16_tflops", self.bf16_tflops, MAX_TFLOPS)?;
        check_opt(&entry, "tdp_w", self.tdp_w, MAX_TDP_W)
    }
}

impl Offer {
    /// `provider instance_type`, the name errors and tables use.
    pub fn label(&self) -> String {
        format!("{} {}", self.provider, self.instance_type)
    }

    /// Prices positive and bounded, spot not above on-demand, a source and a
    /// well-formed date when given.
    pub fn validate(&self) -> Result<(), CatalogError> {
        let entry = format!("offer '{}'", self.label());
        let fail = |problem: String| CatalogError {
            entry: entry.clone(),
            problem,
        };
        if self.source.trim().is_empty() {
            return Err(fail(
                "source is empty: every price needs a cited page".into(),
            ));
        }
        let n = self.accelerators_per_instance;
        if n == 0 || n > MAX_ACCELERATORS_PER_INSTANCE {
            return Err(fail(format!(
                "accelerators_per_instance = {n} is outside [1, {MAX_ACCELERATORS_PER_INSTANCE}]"
            )));
        }
        check(
            &entry,
            "on_demand_usd_per_hour",
            self.on_demand_usd_per_hour,
            MAX_USD_PER_HOUR,
        )?;
        check_opt(
            &entry,
            "spot_usd_per_hour",
            self.spot_usd_per_hour,
            self.on_demand_usd_per_hour,
        )?;
        if let Some(date) = &self.date_seen
            && !is_iso_date(date)
        {
            return Err(fail(format!("date_seen = '{date}' is not YYYY-MM-DD")));
        }
        Ok(())
    }
}

/// `YYYY-MM-DD` with a month 1–12 and a day 1–31.
fn is_iso_date(s: &str) -> bool {
    let parts: Vec<&str> = s.split('-').collect();
    let num = |p: &str, len: usize| p.len() == len && p.bytes().all(|b| b.is_ascii_digit());
    match parts.as_slice() {
        [y, m, d] if num(y, 4) && num(m, 2) && num(d, 2) => {
            let (m, d) = (m.parse::<u32>().unwrap_or(0), d.parse::<u32>().unwrap_or(0));
            (1..=12).contains(&m) && (1..=31).contains(&d)
        }
        _ => false,
    }
}

impl Catalog {
    /// The accelerator called `name` (exact, then ignoring case).
    pub fn accelerator(&self, name: &str) -> Option<&Accelerator> {
        self.accelerators
            .iter()
            .find(|a| a.name == name)
            .or_else(|| {
                self.accelerators
                    .iter()
                    .find(|a| a.name.eq_ignore_ascii_case(name))
            })
    }

    /// Every entry valid, accelerator names unique, every offer's accelerator known.
    pub fn validate(&self) -> Result<(), CatalogError> {
        for (i, a) in self.accelerators.iter().enumerate() {
            a.validate()?;
            if self.accelerators[..i].iter().any(|b| b.name == a.name) {
                return Err(CatalogError {
                    entry: format!("accelerator '{}'", a.name),
                    problem: "name appears twice".into(),
                });
            }
        }
        for o in &self.offers {
            o.validate()?;
            if !self.accelerators.iter().any(|a| a.name == o.accelerator) {
                return Err(CatalogError {
                    entry: format!("offer '{}'", o.label()),
                    problem: format!("unknown accelerator '{}'", o.accelerator),
                });
            }
        }
        Ok(())
    }

    /// `other` laid over this catalog: an accelerator with a name already here replaces
    /// it in place, a new one is appended; an offer with the same provider, instance
    /// type and region replaces the old, a new one is appended.
    pub fn extend_with(&mut self, other: Catalog) {
        for a in other.accelerators {
            match self.accelerators.iter_mut().find(|b| b.name == a.name) {
                Some(slot) => *slot = a,
                None => self.accelerators.push(a),
            }
        }
        for o in other.offers {
            let same = |p: &Offer| {
                p.provider == o.provider
                    && p.instance_type == o.instance_type
                    && p.region == o.region
            };
            match self.offers.iter_mut().find(|p| same(p)) {
                Some(slot) => *slot = o,
                None => self.offers.push(o),
            }
        }
    }

    /// The entries that pass `filter`: accelerators by vendor and memory, offers by
    /// their accelerator's vendor and memory and by price.
    pub fn filtered(&self, filter: &CatalogFilter) -> Catalog {
        let keep = |a: &Accelerator| {
            filter
                .vendor
                .as_ref()
                .is_none_or(|v| a.vendor.eq_ignore_ascii_case(v))
                && filter
                    .min_memory_gb
                    .is_none_or(|m| a.memory_gb.is_some_and(|g| g >= m))
        };
        let accelerators: Vec<Accelerator> = self
            .accelerators
            .iter()
            .filter(|a| keep(a))
            .cloned()
            .collect();
        let offers = self
            .offers
            .iter()
            .filter(|o| accelerators.iter().any(|a| a.name == o.accelerator))
            .filter(|o| {
                filter
                    .max_usd_per_hour
                    .is_none_or(|x| o.on_demand_usd_per_hour <= x)
            })
            .cloned()
            .collect();
        Catalog {
            accelerators,
            offers,
        }
    }
}

/// What `costscope hardware` narrows the catalog to; `None` keeps everything.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct CatalogFilter {
    /// Only this vendor (case ignored).
    pub vendor: Option<String>,
    /// Only accelerators with at least this much memory (GB); unknown memory fails.
    pub min_memory_gb: Option<f64>,
    /// Only offers at most this on-demand price (USD per hour).
    pub max_usd_per_hour: Option<f64>,
}
