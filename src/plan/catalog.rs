//! Plan layer: the hardware catalog's RON files — the shipped `catalog/*.ron`
//! (embedded in the binary) and a user file that extends or overrides them by name —
//! read into the model's [`Catalog`] and checked, errors naming the file and entry.

use std::path::Path;

use serde::Deserialize;

use crate::model::catalog::{Accelerator, Catalog, Offer};

/// The shipped accelerators (the file's own label in errors).
const ACCELERATORS: (&str, &str) = (
    "catalog/accelerators.ron",
    include_str!("../../catalog/accelerators.ron"),
);
/// The shipped offers.
const OFFERS: (&str, &str) = (
    "catalog/offers.ron",
    include_str!("../../catalog/offers.ron"),
);

/// A catalog file that cannot be used: one line naming the file and what is wrong.
#[derive(Debug, thiserror::Error)]
pub enum CatalogFileError {
    /// The file could not be read.
    #[error("{file}: cannot read: {source}")]
    Read {
        /// The path as given.
        file: String,
        /// The OS error.
        source: std::io::Error,
    },
    /// The RON does not parse into catalog entries.
    #[error("{file}:{line}:{col}: {message}")]
    Parse {
        /// The path as given.
        file: String,
        /// 1-based line of the error.
        line: usize,
        /// 1-based column of the error.
        col: usize,
        /// ron's message.
        message: String,
    },
    /// An entry fails its checks (or an offer names an unknown accelerator).
    #[error("{file}: {error}")]
    Invalid {
        /// The file the entry came from.
        file: String,
        /// The entry and problem.
        error: crate::model::catalog::CatalogError,
    },
}

/// A user catalog file: either list may be left out.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct UserFile {
    #[serde(default)]
    accelerators: Vec<Accelerator>,
    #[serde(default)]
    offers: Vec<Offer>,
}

fn parse<T: serde::de::DeserializeOwned>(file: &str, text: &str) -> Result<T, CatalogFileError> {
    ron::Options::default()
        .with_default_extension(ron::extensions::Extensions::IMPLICIT_SOME)
        .from_str(text)
        .map_err(|e| CatalogFileError::Parse {
            file: file.to_owned(),
            line: e.span.start.line,
            col: e.span.start.col,
            message: e.code.to_string(),
        })
}

/// The catalog shipped with costscope, checked.
pub fn shipped() -> Result<Catalog, CatalogFileError> {
    let catalog = Catalog {
        accelerators: parse(ACCELERATORS.0, ACCELERATORS.1)?,
        offers: parse(OFFERS.0, OFFERS.1)?,
    };
    catalog
        .validate()
        .map_err(|error| CatalogFileError::Invalid {
            file: "catalog/".into(),
            error,
        })?;
    Ok(catalog)
}

/// The shipped catalog with a user file's text laid over it (see
/// [`Catalog::extend_with`]); `file` labels errors. The user's own entries are checked
/// first so an error names the user's file, then the merged whole.
pub fn with_user_text(file: &str, text: &str) -> Result<Catalog, CatalogFileError> {
    let mut catalog = shipped()?;
    let user: UserFile = parse(file, text)?;
    let invalid = |error| CatalogFileError::Invalid {
        file: file.to_owned(),
        error,
    };
    for a in &user.accelerators {
        a.validate().map_err(invalid)?;
    }
    catalog.extend_with(Catalog {
        accelerators: user.accelerators,
        offers: user.offers,
    });
    catalog.validate().map_err(invalid)?;
    Ok(catalog)
}

/// The shipped catalog, extended by `path` when given.
pub fn load(path: Option<&Path>) -> Result<Catalog, CatalogFileError> {
    let Some(path) = path else {
        return shipped();
    };
    let file = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| CatalogFileError::Read {
        file: file.clone(),
        source,
    })?;
    with_user_text(&file, &text)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]
    use super::*;
    use crate::model::Precision;

    #[test]
    fn the_shipped_catalog_has_the_issue_list_with_sources() {
        let c = shipped().unwrap();
        for name in [
            "T4",
            "L4",
            "A10G",
            "L40S",
            "A100-40GB",
            "A100-80GB",
            "H100-SXM",
            "H100-PCIe",
            "H200",
            "B200",
            "RTX-4090",
            "RTX-6000-Ada",
            "MI300X",
            "M2-Ultra",
            "M4-Max",
            "CPU-EPYC-Genoa",
        ] {
            let a = c
                .accelerator(name)
                .unwrap_or_else(|| panic!("{name} missing"));
            assert!(
                a.sources.iter().all(|s| s.starts_with("https://")),
                "{name}"
            );
        }
        let h100 = c.accelerator("h100-sxm").unwrap();
        assert_eq!(h100.tflops(Precision::Bf16), Some(989.4));
        assert!(
            c.offers
                .iter()
                .all(|o| c.accelerator(&o.accelerator).is_some())
        );
    }

    #[test]
    fn a_user_file_overrides_by_name_and_adds() {
        let text = r#"(
            accelerators: [(name: "L4", vendor: "NVIDIA", memory_gb: 24.0,
                memory_bandwidth_gbytes_per_s: 250.0, fp32_tflops: None, fp16_tflops: None,
                bf16_tflops: None, tdp_w: None, sources: ["https://example.org/l4"])],
            offers: [(provider: "Lab", instance_type: "box", accelerator: "L4",
                accelerators_per_instance: 2, vcpus: 16, on_demand_usd_per_hour: 0.5,
                spot_usd_per_hour: None, region: "home", date_seen: None,
                source: "https://example.org/box")],
        )"#;
        let c = with_user_text("mine.ron", text).unwrap();
        let shipped = shipped().unwrap();
        assert_eq!(c.accelerators.len(), shipped.accelerators.len());
        assert_eq!(
            c.accelerator("L4").unwrap().memory_bandwidth_gbytes_per_s,
            250.0
        );
        assert_eq!(c.offers.len(), shipped.offers.len() + 1);
    }

    #[test]
    fn an_offer_of_an_unknown_accelerator_names_file_and_entry() {
        let text = r#"(offers: [(provider: "Lab", instance_type: "box", accelerator: "Z9",
            accelerators_per_instance: 1, vcpus: None, on_demand_usd_per_hour: 0.5,
            spot_usd_per_hour: None, region: "home", date_seen: None, source: "https://x")])"#;
        let e = with_user_text("mine.ron", text).unwrap_err().to_string();
        assert_eq!(e, "mine.ron: offer 'Lab box': unknown accelerator 'Z9'");
    }

    #[test]
    fn a_negative_bandwidth_and_a_bad_date_are_refused() {
        let acc = r#"(accelerators: [(name: "X", vendor: "V", memory_gb: None,
            memory_bandwidth_gbytes_per_s: -1.0, fp32_tflops: None, fp16_tflops: None,
            bf16_tflops: None, tdp_w: None, sources: ["https://x"])])"#;
        let e = with_user_text("a.ron", acc).unwrap_err().to_string();
        assert!(
            e.contains("a.ron: accelerator 'X': memory_bandwidth_gbytes_per_s = -1"),
            "{e}"
        );
        let offer = r#"(offers: [(provider: "P", instance_type: "i", accelerator: "L4",
            accelerators_per_instance: 1, vcpus: None, on_demand_usd_per_hour: 1.0,
            spot_usd_per_hour: Some(2.0), region: "r", date_seen: "2026-13-01", source: "https://x")])"#;
        let e = with_user_text("o.ron", offer).unwrap_err().to_string();
        assert!(e.contains("spot_usd_per_hour = 2 is outside (0, 1]"), "{e}");
    }

    #[test]
    fn a_syntax_error_names_line_and_column() {
        let e = with_user_text("s.ron", "(accelerators: [ (name: ) ])")
            .unwrap_err()
            .to_string();
        assert!(e.starts_with("s.ron:1:"), "{e}");
    }
}
