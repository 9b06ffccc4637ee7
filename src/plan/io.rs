//! Plan layer: reading plans from RON text or files (with the version migration hook)
//! and writing them atomically.

use std::path::Path;

use serde::Deserialize;

use super::syntax;
use super::validate::{integer_range, locate, validate};
use super::{Location, PlanError};
use crate::model::{PLAN_VERSION, Plan};

/// Only the version, read before the whole plan so old files can be migrated. Named
/// `Plan` for serde so ron's messages about it speak of the plan.
#[derive(Deserialize)]
#[serde(rename = "Plan")]
struct Header {
    version: u32,
}

/// Brings plan text of `version` up to [`PLAN_VERSION`]. Version 1 is the first
/// format, so there is nothing to rewrite yet; a future version 2 adds its step here
/// (text or `ron::Value` rewrite) and this stays the single place that knows.
fn migrate(version: u32, text: &str, file: &str) -> Result<String, PlanError> {
    match version {
        PLAN_VERSION => Ok(text.to_owned()),
        found => Err(PlanError::Version {
            at: Location {
                file: file.to_owned(),
                line_col: locate(text, "version"),
            },
            found,
            supported: PLAN_VERSION,
        }),
    }
}

/// Deepest bracket nesting read; a plan needs five levels, and ron's parser recurses
/// once per level, so the limit keeps hostile text from exhausting the stack.
const MAX_NESTING: usize = 128;

/// Longest literal repeated in a message; a longer one is cut and its length given.
const MAX_LITERAL_CHARS: usize = 32;

/// Longest parse message kept (ron repeats names it did not expect, which may be long).
const MAX_MESSAGE_CHARS: usize = 300;

/// A ron error as a plan error: nesting and unreadable integers in the words of the
/// plan (field path, allowed range), anything else as ron describes it.
fn parse_error(file: &str, text: &str, e: &ron::error::SpannedError) -> PlanError {
    let line_col = (e.span.start.line, e.span.start.col);
    let at = |line_col| Location {
        file: file.to_owned(),
        line_col: Some(line_col),
    };
    if e.code == ron::Error::ExceededRecursionLimit {
        return PlanError::Parse {
            at: at(line_col),
            message: format!("nesting too deep (more than {MAX_NESTING} levels of brackets)"),
        };
    }
    if let Some((start, path, value, allowed)) = unreadable_integer(text, line_col) {
        return PlanError::Invalid {
            at: at(syntax::line_col_of(text, start)),
            path,
            value,
            allowed,
        };
    }
    PlanError::Parse {
        at: at(line_col),
        message: shorten(&e.code.to_string(), MAX_MESSAGE_CHARS),
    }
}

/// When ron stopped at a number written where the plan wants an integer and the
/// number is not one in range (too large, negative, a fraction, an exponent): its
/// start, the field path, the literal and the allowed range.
fn unreadable_integer(
    text: &str,
    (line, col): (usize, usize),
) -> Option<(usize, String, String, String)> {
    let offset = syntax::offset_of(text, line, col)?;
    let (start, literal) = syntax::literal_at(text, offset)?;
    let path = syntax::path_at(text, start)?;
    let range = integer_range(&syntax::key(&path))?;
    // ron does not stop at an integer in range: the error is after it (`10 10`).
    if literal.parse::<u64>().is_ok_and(|n| range.contains(&n)) {
        return None;
    }
    Some((
        start,
        syntax::display(&path),
        shorten(literal, MAX_LITERAL_CHARS),
        format!("an integer {} to {}", range.start(), range.end()),
    ))
}

/// `s` itself, or its first `max_chars` characters, "…" and its length.
fn shorten(s: &str, max_chars: usize) -> String {
    let chars = s.chars().count();
    if chars <= max_chars {
        return s.to_owned();
    }
    let head: String = s.chars().take(max_chars).collect();
    format!("{head}… ({chars} characters)")
}

/// Parses and validates plan text. `file` names it in errors (a path or a label); an
/// LLM plan's `config.json` path is read relative to the working directory.
pub fn load_str(text: &str, file: &str) -> Result<Plan, PlanError> {
    load_str_in(text, file, None)
}

/// [`load_str`] with the folder a relative `service.llm.model` path is read from.
pub fn load_str_in(text: &str, file: &str, base: Option<&Path>) -> Result<Plan, PlanError> {
    let options = ron::Options::default().with_recursion_limit(MAX_NESTING);
    let header: Header = options
        .from_str(text)
        .map_err(|e| parse_error(file, text, &e))?;
    let text = migrate(header.version, text, file)?;
    let mut plan: Plan = options
        .from_str(&text)
        .map_err(|e| parse_error(file, &text, &e))?;
    validate(&plan).map_err(|v| v.at(file, &text))?;
    super::llm_model::resolve(&mut plan, base).map_err(|message| PlanError::Model {
        at: Location {
            file: file.to_owned(),
            line_col: locate(&text, "service.llm.model"),
        },
        message,
    })?;
    Ok(plan)
}

/// Reads, parses and validates a plan file.
pub fn load_file(path: &Path) -> Result<Plan, PlanError> {
    let text = std::fs::read_to_string(path).map_err(|error| PlanError::Read {
        path: path.to_owned(),
        error,
    })?;
    load_str_in(&text, &path.display().to_string(), path.parent())
}

/// The plan as pretty RON text, in the contract's field names.
pub fn to_ron_string(plan: &Plan) -> Result<String, PlanError> {
    let config = ron::ser::PrettyConfig::new()
        .struct_names(false)
        .depth_limit(4)
        .indentor("    ".to_owned());
    let mut text = ron::ser::to_string_pretty(plan, config)
        .map_err(|e| PlanError::Serialize(e.to_string()))?;
    text.push('\n');
    Ok(text)
}

/// Writes `plan` to `path` atomically ([`crate::files::write_atomic`]), so a crash
/// never leaves a half-written plan.
pub fn save_file(plan: &Plan, path: &Path) -> Result<(), PlanError> {
    let text = to_ron_string(plan)?;
    crate::files::write_atomic(path, text.as_bytes()).map_err(|error| PlanError::Write {
        path: path.to_owned(),
        error,
    })
}
