//! Model layer tests: a plan's hardware name matched to a catalog accelerator.

use super::*;
use crate::model::catalog::{Accelerator, Catalog};

fn acc(name: &str, bw: f64, fp32: f64, mem: f64) -> Accelerator {
    Accelerator {
        name: name.into(),
        vendor: "NVIDIA".into(),
        memory_gb: Some(mem),
        memory_bandwidth_gbytes_per_s: bw,
        fp32_tflops: Some(fp32),
        fp16_tflops: None,
        bf16_tflops: None,
        tdp_w: Some(100.0),
        sources: vec!["x".into()],
        note: String::new(),
    }
}

fn catalog() -> Catalog {
    Catalog {
        accelerators: vec![
            acc("L4", 300.0, 30.0, 24.0),
            acc("L40S", 864.0, 91.6, 48.0),
            acc("A100-40GB", 1555.0, 19.5, 40.0),
            acc("RTX-4090", 1008.0, 82.6, 24.0),
        ],
        offers: Vec::new(),
    }
}

#[test]
fn a_plan_hardware_name_finds_its_catalog_accelerator_by_whole_words() {
    let c = catalog();
    let name = |s: &str| stated_accelerator(&c, s).map(|a| a.name.clone());
    assert_eq!(name("L4 (g6.xlarge)").as_deref(), Some("L4"));
    assert_eq!(name("serverless L4").as_deref(), Some("L4"));
    assert_eq!(name("L40S box").as_deref(), Some("L40S"));
    assert_eq!(
        name("A100 40GB (a2-highgpu-1g)").as_deref(),
        Some("A100-40GB")
    );
    assert_eq!(name("RTX 4090 workstation").as_deref(), Some("RTX-4090"));
    assert_eq!(name("generic server"), None);
    // "L40" is not "L4": words are matched whole.
    assert_eq!(name("L40 card"), None);
}
