//! Plan layer: a plan named on the command line or in the app — a file path, or the
//! name of a shipped preset when no such file exists.

use std::path::Path;

use super::{PlanError, load_file, presets};
use crate::model::Plan;

/// Loads a plan from a file, or from a shipped preset when no such file exists.
/// Returns the plan and a label for messages: the path as given, or `preset NAME`.
pub fn load(file: &str) -> Result<(Plan, String), PlanError> {
    let path = Path::new(file);
    if !path.exists()
        && let Ok(preset) = presets::find(file)
    {
        return Ok((
            presets::load(preset.name)?,
            format!("preset {}", preset.name),
        ));
    }
    Ok((load_file(path)?, file.to_owned()))
}
