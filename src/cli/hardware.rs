//! CLI layer: `costscope hardware` — the hardware catalog (shipped, or extended by
//! `--catalog FILE`) as tables or JSON, filtered by vendor, memory and price.

use std::io::Write;
use std::path::PathBuf;

use anyhow::Context as _;

use crate::model::catalog::{Accelerator, Catalog, CatalogFilter, Offer};
use crate::plan::catalog;

/// `costscope hardware`.
#[derive(Debug, Clone, clap::Args)]
pub struct HardwareArgs {
    /// Print the catalog as JSON (`accelerators`, `offers`).
    #[arg(long)]
    pub json: bool,
    /// Only this vendor (NVIDIA, AMD, Apple; case ignored).
    #[arg(long)]
    pub vendor: Option<String>,
    /// Only accelerators with at least this much memory, GB.
    #[arg(long, value_name = "GB")]
    pub min_memory_gb: Option<f64>,
    /// Only offers at most this on-demand price, USD per hour.
    #[arg(long, value_name = "USD")]
    pub max_usd_per_hour: Option<f64>,
    /// A RON file of `accelerators` and/or `offers` that extends the shipped catalog
    /// (an entry with a shipped name replaces it).
    #[arg(long, value_name = "FILE")]
    pub catalog: Option<PathBuf>,
}

/// Loads, filters and prints the catalog.
pub fn run(args: &HardwareArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    for (flag, v) in [
        ("--min-memory-gb", args.min_memory_gb),
        ("--max-usd-per-hour", args.max_usd_per_hour),
    ] {
        if let Some(v) = v
            && !(v.is_finite() && v >= 0.0)
        {
            anyhow::bail!("{flag} = {v} must be a finite number at least 0");
        }
    }
    let full = catalog::load(args.catalog.as_deref()).context("hardware catalog")?;
    let filter = CatalogFilter {
        vendor: args.vendor.clone(),
        min_memory_gb: args.min_memory_gb,
        max_usd_per_hour: args.max_usd_per_hour,
    };
    let shown = full.filtered(&filter);
    if args.json {
        serde_json::to_writer_pretty(&mut *out, &shown)?;
        writeln!(out)?;
        return Ok(());
    }
    write_tables(out, &shown)?;
    Ok(())
}

fn opt(v: Option<f64>, decimals: usize) -> String {
    v.map_or_else(|| "-".into(), |x| format!("{x:.decimals$}"))
}

fn write_accelerators(out: &mut dyn Write, list: &[Accelerator]) -> std::io::Result<()> {
    writeln!(out, "Accelerators ({}), dense TFLOP/s", list.len())?;
    writeln!(
        out,
        "  {:<15} {:<7} {:>7} {:>9} {:>8} {:>8} {:>8} {:>6}",
        "name", "vendor", "mem GB", "GB/s", "fp32", "fp16", "bf16", "TDP W"
    )?;
    for a in list {
        writeln!(
            out,
            "  {:<15} {:<7} {:>7} {:>9.1} {:>8} {:>8} {:>8} {:>6}",
            a.name,
            a.vendor,
            opt(a.memory_gb, 0),
            a.memory_bandwidth_gbytes_per_s,
            opt(a.fp32_tflops, 1),
            opt(a.fp16_tflops, 1),
            opt(a.bf16_tflops, 1),
            opt(a.tdp_w, 0),
        )?;
    }
    Ok(())
}

fn write_offers(out: &mut dyn Write, list: &[Offer]) -> std::io::Result<()> {
    writeln!(out, "Offers ({})", list.len())?;
    writeln!(
        out,
        "  {:<11} {:<19} {:<12} {:>2} {:>6} {:>9} {:>7} {:<10} {:<10}",
        "provider", "instance", "accelerator", "n", "vCPUs", "$/h", "spot", "region", "seen"
    )?;
    for o in list {
        writeln!(
            out,
            "  {:<11} {:<19} {:<12} {:>2} {:>6} {:>9.3} {:>7} {:<10} {:<10}",
            o.provider,
            o.instance_type,
            o.accelerator,
            o.accelerators_per_instance,
            o.vcpus.map_or_else(|| "-".into(), |v| v.to_string()),
            o.on_demand_usd_per_hour,
            opt(o.spot_usd_per_hour, 3),
            o.region,
            o.date_seen.as_deref().unwrap_or("-"),
        )?;
    }
    Ok(())
}

/// Both tables, then where each figure came from.
fn write_tables(out: &mut dyn Write, c: &Catalog) -> std::io::Result<()> {
    write_accelerators(out, &c.accelerators)?;
    writeln!(out)?;
    write_offers(out, &c.offers)?;
    writeln!(out)?;
    writeln!(out, "Sources")?;
    for a in &c.accelerators {
        writeln!(out, "  {}: {}", a.name, a.sources.join(" "))?;
    }
    for o in &c.offers {
        writeln!(out, "  {}: {}", o.label(), o.source)?;
    }
    writeln!(
        out,
        "(- = not stated by the cited page; see docs/hardware.md)"
    )
}
