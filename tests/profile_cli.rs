//! profile layer tests: `costscope profile` arguments map onto profile options, and bad
//! values are refused with a clear message.

use clap::Parser;
use costscope::profile::cli::{ProfileArgs, list_table};
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
