//! Plan layer: RON plan presets — load (with version migration), validate with
//! `file:line:col` errors, save atomically, and the presets shipped with costscope.

pub mod catalog;
pub mod io;
pub mod llm_model;
pub mod load;
pub mod overrides;
pub mod presets;
pub mod syntax;
pub mod validate;
mod validate_llm;

pub use io::{load_file, load_str, save_file, to_ron_string};
pub use load::load;
pub use overrides::{Overrides, apply_overrides};
pub use validate::validate;

use std::path::PathBuf;

/// Where a plan error is: a file (or "<text>") and, when known, line and column.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Location {
    /// File name as given, or a label such as "<preset>".
    pub file: String,
    /// 1-based line and column, when they could be found.
    pub line_col: Option<(usize, usize)>,
}

impl std::fmt::Display for Location {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.line_col {
            Some((l, c)) => write!(f, "{}:{l}:{c}", self.file),
            None => write!(f, "{}", self.file),
        }
    }
}

/// Everything that can go wrong with a plan file. Each message is one line naming the
/// file, position, field and problem.
#[derive(Debug, thiserror::Error)]
pub enum PlanError {
    /// The file could not be read.
    #[error("cannot read plan {path}: {error}", path = path.display())]
    Read {
        /// The file.
        path: PathBuf,
        /// The OS error (part of the message, not a separate cause, so it is said once).
        error: std::io::Error,
    },
    /// The file could not be written.
    #[error("cannot write plan {path}: {error}", path = path.display())]
    Write {
        /// The file.
        path: PathBuf,
        /// The OS error (part of the message, not a separate cause, so it is said once).
        error: std::io::Error,
    },
    /// The text is not a valid plan (syntax, unknown or missing field, wrong type).
    #[error("{at}: {message}")]
    Parse {
        /// Where.
        at: Location,
        /// RON's description.
        message: String,
    },
    /// A value is out of its allowed range.
    #[error("{at}: {path} = {value} is out of range (allowed: {allowed})")]
    Invalid {
        /// Where.
        at: Location,
        /// Field path, e.g. `workload.arrival_cv`.
        path: String,
        /// The value found.
        value: String,
        /// The allowed range in words.
        allowed: String,
    },
    /// A value given outside the file (a command-line flag) put the plan out of range.
    #[error("command-line override: {path} = {value} is out of range (allowed: {allowed})")]
    Override {
        /// Field path, e.g. `batching.max_batch`.
        path: String,
        /// The value it took.
        value: String,
        /// The allowed range in words.
        allowed: String,
    },
    /// The plan's version is not one this build reads.
    #[error(
        "{at}: plan version {found} is not supported (this costscope reads versions 1 to {supported})"
    )]
    Version {
        /// Where.
        at: Location,
        /// The version in the file.
        found: u32,
        /// The newest version this build reads.
        supported: u32,
    },
    /// A plan could not be serialised (should not happen for valid plans).
    #[error("cannot serialise plan: {0}")]
    Serialize(String),
    /// `service.llm.model` names no config costscope can read.
    #[error("{at}: service.llm.model: {message}")]
    Model {
        /// Where.
        at: Location,
        /// What is wrong with the model, naming it.
        message: String,
    },
    /// No preset has that name.
    #[error("no preset named '{0}' (see `costscope presets`)")]
    UnknownPreset(String),
}
