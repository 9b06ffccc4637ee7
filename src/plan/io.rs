//! Plan layer: reading plans from RON text or files (with the version migration hook)
//! and writing them atomically.

use std::path::Path;

use serde::Deserialize;

use super::validate::{locate, validate};
use super::{Location, PlanError};
use crate::model::{PLAN_VERSION, Plan};

/// Only the version, read before the whole plan so old files can be migrated.
#[derive(Deserialize)]
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

fn parse_error(file: &str, e: &ron::error::SpannedError) -> PlanError {
    PlanError::Parse {
        at: Location {
            file: file.to_owned(),
            line_col: Some((e.span.start.line, e.span.start.col)),
        },
        message: e.code.to_string(),
    }
}

/// Parses and validates plan text. `file` names it in errors (a path or a label).
pub fn load_str(text: &str, file: &str) -> Result<Plan, PlanError> {
    let options = ron::Options::default();
    let header: Header = options.from_str(text).map_err(|e| parse_error(file, &e))?;
    let text = migrate(header.version, text, file)?;
    let plan: Plan = options.from_str(&text).map_err(|e| parse_error(file, &e))?;
    validate(&plan).map_err(|v| v.at(file, &text))?;
    Ok(plan)
}

/// Reads, parses and validates a plan file.
pub fn load_file(path: &Path) -> Result<Plan, PlanError> {
    let text = std::fs::read_to_string(path).map_err(|error| PlanError::Read {
        path: path.to_owned(),
        error,
    })?;
    load_str(&text, &path.display().to_string())
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
