//! `costscope hardware` end to end: the real binary, the shipped catalog and user files.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;
use common::costscope;

fn temp(name: &str, text: &str) -> std::path::PathBuf {
    let dir = std::env::temp_dir().join(format!("costscope-hw-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join(name);
    std::fs::write(&path, text).unwrap();
    path
}

fn json(args: &[&str]) -> serde_json::Value {
    let (code, out, err) = costscope(args);
    assert_eq!(code, 0, "{err}");
    serde_json::from_str(&out).unwrap()
}

#[test]
fn json_lists_accelerators_and_offers_with_sources() {
    let v = json(&["hardware", "--json"]);
    let accs = v["accelerators"].as_array().unwrap();
    assert!(accs.len() >= 16, "{}", accs.len());
    let h100 = accs.iter().find(|a| a["name"] == "H100-SXM").unwrap();
    assert_eq!(h100["memory_bandwidth_gbytes_per_s"], 3350.0);
    assert_eq!(h100["bf16_tflops"], 989.4);
    for a in accs {
        assert!(!a["sources"].as_array().unwrap().is_empty(), "{a}");
    }
    let offers = v["offers"].as_array().unwrap();
    let g5 = offers
        .iter()
        .find(|o| o["instance_type"] == "g5.xlarge")
        .unwrap();
    assert_eq!(g5["on_demand_usd_per_hour"], 1.006);
    assert_eq!(g5["date_seen"], "2026-06-17");
    assert!(g5["source"].as_str().unwrap().starts_with("https://"));
}

#[test]
fn filters_narrow_both_lists() {
    let v = json(&["hardware", "--json", "--vendor", "amd"]);
    let names: Vec<&str> = v["accelerators"]
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ["MI300X", "CPU-EPYC-Genoa"]);
    assert!(
        v["offers"]
            .as_array()
            .unwrap()
            .iter()
            .all(|o| o["accelerator"] == "MI300X")
    );

    let v = json(&["hardware", "--json", "--min-memory-gb", "100"]);
    for a in v["accelerators"].as_array().unwrap() {
        assert!(a["memory_gb"].as_f64().unwrap() >= 100.0, "{a}");
    }
    let v = json(&["hardware", "--json", "--max-usd-per-hour", "1.9"]);
    let prices: Vec<f64> = v["offers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|o| o["on_demand_usd_per_hour"].as_f64().unwrap())
        .collect();
    assert!(
        !prices.is_empty() && prices.iter().all(|&p| p <= 1.9),
        "{prices:?}"
    );
}

#[test]
fn the_table_shows_figures_and_sources() {
    let (code, out, err) = costscope(&["hardware"]);
    assert_eq!(code, 0, "{err}");
    assert!(out.contains("Accelerators ("), "{out}");
    assert!(out.contains("H100-SXM"), "{out}");
    assert!(out.contains("AWS         g5.xlarge"), "{out}");
    assert!(out.contains("Sources"), "{out}");
}

#[test]
fn a_user_catalog_overrides_and_extends() {
    let path = temp(
        "mine.ron",
        r#"(
            accelerators: [(name: "LabGPU", vendor: "Lab", memory_gb: 8.0,
                memory_bandwidth_gbytes_per_s: 200.0, fp32_tflops: 5.0, fp16_tflops: None,
                bf16_tflops: None, tdp_w: None, sources: ["https://example.org/lab"])],
            offers: [(provider: "Lab", instance_type: "rack-1", accelerator: "LabGPU",
                accelerators_per_instance: 4, vcpus: 32, on_demand_usd_per_hour: 0.4,
                spot_usd_per_hour: 0.1, region: "basement", date_seen: "2026-12-01",
                source: "https://example.org/price")],
        )"#,
    );
    let v = json(&[
        "hardware",
        "--json",
        "--vendor",
        "lab",
        "--catalog",
        path.to_str().unwrap(),
    ]);
    assert_eq!(v["accelerators"][0]["name"], "LabGPU");
    assert_eq!(v["offers"][0]["vcpus"], 32);
}

#[test]
fn an_unknown_accelerator_in_a_user_offer_is_one_line_naming_file_and_entry() {
    let path = temp(
        "bad.ron",
        r#"(offers: [(provider: "Lab", instance_type: "rack-2", accelerator: "Nope",
            accelerators_per_instance: 1, vcpus: None, on_demand_usd_per_hour: 1.0,
            spot_usd_per_hour: None, region: "x", date_seen: None, source: "https://x")])"#,
    );
    let (code, out, err) = costscope(&["hardware", "--catalog", path.to_str().unwrap()]);
    assert_ne!(code, 0, "{out}");
    assert_eq!(err.trim().lines().count(), 1, "{err}");
    assert!(
        err.contains("bad.ron: offer 'Lab rack-2': unknown accelerator 'Nope'"),
        "{err}"
    );
}
