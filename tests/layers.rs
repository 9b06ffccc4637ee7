//! Architecture test: the layer arrows of ARCHITECTURE.md hold. Every source file under
//! `src/` is read, every path it names (`use` trees with their braces expanded, and
//! paths written inline) is resolved against the file's own module (`super::`,
//! `self::`, sub-modules), and a path into a layer the file's layer may not import
//! fails the test with the file and line.

// A test's panic is its failure report.
#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::path::{Path, PathBuf};

/// What may not be imported from where. A path is forbidden when it equals a
/// forbidden prefix or continues it with `::`; `allowed` names the exceptions.
struct Rule {
    /// Files this rule covers: a folder (`src/model/`) or a file (`src/calibrate.rs`).
    scope: &'static str,
    forbidden: &'static [&'static str],
    allowed: &'static [&'static str],
}

/// Edge crates: only `cli/` and `main.rs` talk to the terminal and use anyhow.
const EDGE: &[&str] = &["anyhow", "clap"];
/// The window: only `app/` (and the `gui` entry of the CLI) may draw.
const WINDOW: &[&str] = &["eframe", "egui", "egui_plot", "egui_kittest", "crate::app"];

fn rules() -> Vec<Rule> {
    let below_edge = |extra: &'static [&'static str]| -> Vec<&'static str> {
        let mut v: Vec<&'static str> = EDGE.iter().chain(WINDOW).copied().collect();
        v.push("crate::cli");
        v.extend_from_slice(extra);
        v
    };
    let leak = |v: Vec<&'static str>| -> &'static [&'static str] { v.leak() };
    vec![
        Rule {
            scope: "src/model/",
            forbidden: leak(below_edge(&[
                "crate::sim",
                "crate::plan",
                "crate::profile",
                "crate::calibrate",
                "crate::files",
                "wgpu",
                "nvml_wrapper",
                "gemm",
                "safetensors",
                "ron",
                "std::fs",
                "std::io",
                "std::net",
                "std::process",
                "std::env",
            ])),
            allowed: &[],
        },
        Rule {
            scope: "src/sim/",
            forbidden: leak(below_edge(&[
                "crate::plan",
                "crate::profile",
                "crate::calibrate",
                "crate::files",
                "wgpu",
                "nvml_wrapper",
                "gemm",
                "safetensors",
                "std::fs",
                "std::net",
            ])),
            allowed: &[],
        },
        Rule {
            scope: "src/plan/",
            forbidden: leak(below_edge(&[
                "crate::sim",
                "crate::profile",
                "crate::calibrate",
                "wgpu",
                "nvml_wrapper",
                "gemm",
                "safetensors",
            ])),
            allowed: &[],
        },
        Rule {
            scope: "src/profile/",
            forbidden: leak(below_edge(&[
                "crate::sim",
                "crate::plan",
                "crate::calibrate",
            ])),
            allowed: &[],
        },
        Rule {
            scope: "src/calibrate/",
            forbidden: leak(below_edge(&["crate::sim", "wgpu"])),
            allowed: &[],
        },
        Rule {
            scope: "src/files.rs",
            forbidden: leak(below_edge(&[
                "crate::model",
                "crate::sim",
                "crate::plan",
                "crate::profile",
                "crate::calibrate",
            ])),
            allowed: &[],
        },
        Rule {
            scope: "src/app/",
            forbidden: &["anyhow", "clap", "crate::cli", "wgpu", "eframe::egui_wgpu"],
            allowed: &[],
        },
        Rule {
            scope: "src/cli/",
            forbidden: WINDOW,
            // The one `gui` entry: open the window on a panel.
            allowed: &["crate::app::run", "crate::app::state::Tab"],
        },
    ]
}

/// External crates and roots a path may start with; anything else is a local name.
const ROOTS: &[&str] = &[
    "crate",
    "super",
    "self",
    "std",
    "core",
    "alloc",
    "anyhow",
    "clap",
    "eframe",
    "egui",
    "egui_plot",
    "egui_kittest",
    "wgpu",
    "nvml_wrapper",
    "gemm",
    "ron",
    "serde",
    "serde_json",
    "thiserror",
    "half",
    "pollster",
    "bytemuck",
    "libc",
    "image",
    "safetensors",
];

/// The module path of a source file: `src/profile/gpu/mod.rs` → `crate::profile::gpu`.
fn module_of(file: &str) -> Vec<String> {
    let rel = file.trim_start_matches("src/").trim_end_matches(".rs");
    let mut parts: Vec<String> = rel.split('/').map(str::to_owned).collect();
    if matches!(
        parts.last().map(String::as_str),
        Some("mod" | "lib" | "main")
    ) {
        parts.pop();
    }
    let mut m = vec!["crate".to_owned()];
    m.extend(parts);
    m
}

/// Source without comments; string literals are blanked so a path in a message does not
/// count. Line breaks are kept so positions still give line numbers.
fn strip(src: &str) -> String {
    let b = src.as_bytes();
    let mut out = String::with_capacity(src.len());
    let mut i = 0;
    while i < b.len() {
        if b[i..].starts_with(b"//") {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
        } else if b[i..].starts_with(b"/*") {
            while i < b.len() && !b[i..].starts_with(b"*/") {
                out.push(if b[i] == b'\n' { '\n' } else { ' ' });
                i += 1;
            }
            i += 2;
        } else if b[i] == b'"' && (i == 0 || b[i - 1] != b'\'') {
            i += 1;
            while i < b.len() && b[i] != b'"' {
                if b[i] == b'\\' {
                    i += 1;
                }
                if i < b.len() && b[i] == b'\n' {
                    out.push('\n');
                }
                i += 1;
            }
            out.push_str("\"\"");
            i += 1;
        } else {
            let ch = src[i..].chars().next().unwrap_or(' ');
            out.push(ch);
            i += ch.len_utf8();
        }
    }
    out
}

fn is_ident(c: char) -> bool {
    c.is_alphanumeric() || c == '_'
}

/// Expands a `use` tree (`a::{b, c::{d}}`) into full paths.
fn expand_tree(tree: &str, prefix: &str, out: &mut Vec<String>) {
    let tree = tree.trim();
    if tree.is_empty() {
        return;
    }
    let join = |p: &str| {
        if prefix.is_empty() {
            p.to_owned()
        } else {
            format!("{prefix}::{p}")
        }
    };
    match tree.find('{') {
        Some(open) => {
            let head = tree[..open].trim().trim_end_matches("::");
            let close = tree.rfind('}').unwrap_or(tree.len());
            let inner = &tree[open + 1..close];
            let base = if head.is_empty() {
                prefix.to_owned()
            } else {
                join(head)
            };
            let mut depth = 0;
            let mut start = 0;
            for (i, c) in inner.char_indices() {
                match c {
                    '{' => depth += 1,
                    '}' => depth -= 1,
                    ',' if depth == 0 => {
                        expand_tree(&inner[start..i], &base, out);
                        start = i + 1;
                    }
                    _ => {}
                }
            }
            expand_tree(&inner[start..], &base, out);
        }
        None => {
            let path = tree.split(" as ").next().unwrap_or(tree).trim();
            let path = path.trim_end_matches("::*");
            if path == "self" {
                out.push(prefix.to_owned());
            } else {
                out.push(join(path));
            }
        }
    }
}

/// Every path a file names, with its line: `use` trees expanded, then paths written
/// inline (`a::b::c` not inside a `use`).
fn paths_in(code: &str) -> Vec<(usize, String)> {
    let mut found = Vec::new();
    let line_of = |pos: usize| code[..pos].matches('\n').count() + 1;
    let mut rest_start = 0;
    let mut outside_use = String::with_capacity(code.len());
    let bytes = code.as_bytes();
    let mut i = 0;
    while let Some(rel) = code[i..].find("use ") {
        let at = i + rel;
        let boundary = at == 0 || !is_ident(code[..at].chars().last().unwrap_or(' '));
        if !boundary {
            i = at + 4;
            continue;
        }
        let end = code[at..].find(';').map_or(code.len(), |e| at + e);
        let mut tree_paths = Vec::new();
        expand_tree(&code[at + 4..end], "", &mut tree_paths);
        found.extend(tree_paths.into_iter().map(|p| (line_of(at), p)));
        outside_use.push_str(&code[rest_start..at]);
        outside_use.extend(
            code[at..end]
                .chars()
                .map(|c| if c == '\n' { '\n' } else { ' ' }),
        );
        rest_start = end;
        i = end.max(at + 4);
        if i >= bytes.len() {
            break;
        }
    }
    outside_use.push_str(&code[rest_start.min(code.len())..]);
    // Inline paths: identifier sequences joined by `::` with at least one `::`.
    let chars: Vec<(usize, char)> = outside_use.char_indices().collect();
    let mut k = 0;
    while k < chars.len() {
        let (pos, c) = chars[k];
        let starts =
            is_ident(c) && (k == 0 || !(is_ident(chars[k - 1].1) || chars[k - 1].1 == ':'));
        if !starts {
            k += 1;
            continue;
        }
        let mut j = k;
        let mut path = String::new();
        loop {
            while j < chars.len() && is_ident(chars[j].1) {
                path.push(chars[j].1);
                j += 1;
            }
            if j + 2 < chars.len()
                && chars[j].1 == ':'
                && chars[j + 1].1 == ':'
                && is_ident(chars[j + 2].1)
            {
                path.push_str("::");
                j += 2;
            } else {
                break;
            }
        }
        if path.contains("::") {
            found.push((outside_use[..pos].matches('\n').count() + 1, path));
        }
        k = j.max(k + 1);
    }
    found
}

/// A path resolved against module `module`: `super`/`self` replaced, local names
/// prefixed with the module. `None` for names that are not paths into anything we rule
/// on (a type's associated item such as `Vec::new`).
fn resolve(path: &str, module: &[String], local_roots: &[String]) -> Option<String> {
    let mut segs: Vec<&str> = path.split("::").collect();
    let first = *segs.first()?;
    let mut base: Vec<String> = match first {
        "super" | "self" => {
            let mut m = module.to_vec();
            while segs.first() == Some(&"super") {
                m.pop();
                segs.remove(0);
            }
            if segs.first() == Some(&"self") {
                segs.remove(0);
            }
            m
        }
        _ if ROOTS.contains(&first) => Vec::new(),
        _ if local_roots.iter().any(|r| r == first) => module.to_vec(),
        _ => return None,
    };
    base.extend(segs.iter().map(|s| (*s).to_owned()));
    Some(base.join("::"))
}

/// Sub-modules a file declares (`mod x;` / `pub mod x;`), which its own paths may name
/// without `self::`.
fn declared_modules(code: &str) -> Vec<String> {
    code.lines()
        .filter_map(|l| {
            let l = l.trim();
            let l = l
                .strip_prefix("pub(crate) ")
                .or_else(|| l.strip_prefix("pub "))
                .unwrap_or(l);
            let name = l.strip_prefix("mod ")?.trim_end_matches(';').trim();
            name.chars().all(is_ident).then(|| name.to_owned())
        })
        .collect()
}

/// The violations of `rules` in one file's source, as `file:line: path`.
fn violations(file: &str, src: &str, rules: &[Rule]) -> Vec<String> {
    let code = strip(src);
    let module = module_of(file);
    let locals = declared_modules(&code);
    let mut out = Vec::new();
    for rule in rules.iter().filter(|r| file.starts_with(r.scope)) {
        for (line, path) in paths_in(&code) {
            let Some(full) = resolve(&path, &module, &locals) else {
                continue;
            };
            let hits = |prefix: &str| full == prefix || full.starts_with(&format!("{prefix}::"));
            if rule.forbidden.iter().any(|f| hits(f)) && !rule.allowed.iter().any(|a| hits(a)) {
                out.push(format!(
                    "{file}:{line}: {path} (= {full}) is not allowed in {}",
                    rule.scope
                ));
            }
        }
    }
    out
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rust_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

#[test]
fn every_layer_imports_only_what_it_may() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut files = Vec::new();
    rust_files(&root.join("src"), &mut files);
    assert!(files.len() > 50, "found only {} source files", files.len());
    let rules = rules();
    let mut bad = Vec::new();
    let mut checked = 0;
    for f in &files {
        let rel = f
            .strip_prefix(root)
            .unwrap()
            .to_string_lossy()
            .replace('\\', "/");
        let src = std::fs::read_to_string(f).unwrap();
        checked += usize::from(rules.iter().any(|r| rel.starts_with(r.scope)));
        bad.extend(violations(&rel, &src, &rules));
    }
    assert!(checked > 50, "the rules covered only {checked} files");
    assert!(bad.is_empty(), "layer violations:\n{}", bad.join("\n"));
}

#[test]
fn a_forbidden_import_is_caught_however_it_is_written() {
    let rules = rules();
    let cases = [
        ("src/model/x.rs", "use crate::cli::run;"),
        (
            "src/model/x.rs",
            "use crate::{types::Plan, app::state::Tab};",
        ),
        ("src/model/x.rs", "fn f() { let _ = std::fs::read(\"x\"); }"),
        ("src/sim/engine.rs", "use super::super::plan::load;"),
        (
            "src/profile/gpu/buffers.rs",
            "use super::super::super::cli::bar;",
        ),
        ("src/profile/gpu/mod.rs", "use eframe::egui_wgpu::wgpu;"),
        ("src/plan/io.rs", "fn f() -> anyhow::Result<()> { Ok(()) }"),
        ("src/app/state.rs", "use crate::cli::PanelArg;"),
        ("src/app/plots.rs", "use wgpu::Device;"),
        ("src/cli/table.rs", "use crate::app::plots::pareto_plot_ui;"),
        ("src/calibrate/mod.rs", "use crate::{model::Plan, cli};"),
    ];
    for (file, src) in cases {
        assert!(
            !violations(file, src, &rules).is_empty(),
            "{file}: `{src}` was not caught"
        );
    }
    let fine = [
        (
            "src/model/x.rs",
            "use super::types::Plan; // crate::cli in a comment",
        ),
        (
            "src/model/x.rs",
            "fn f() -> String { \"crate::app\".into() }",
        ),
        (
            "src/model/objective.rs",
            "let n = std::thread::available_parallelism();",
        ),
        ("src/profile/gpu/mod.rs", "use wgpu::util::DeviceExt;"),
        ("src/cli/mod.rs", "fn g() { crate::app::run(None, None); }"),
        (
            "src/cli/mod.rs",
            "impl From<PanelArg> for crate::app::state::Tab {}",
        ),
    ];
    for (file, src) in fine {
        let v = violations(file, src, &rules);
        assert!(v.is_empty(), "{file}: `{src}` flagged: {v:?}");
    }
}
