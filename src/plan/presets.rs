//! Plan layer: the presets shipped with costscope, embedded in the binary so they
//! work from any directory. `healthcare-triage` is the default plan.

use super::{PlanError, load_str};
use crate::model::Plan;

/// A shipped preset: its name (the file stem) and RON text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Preset {
    /// Name used on the command line, e.g. `startup-chatbot`.
    pub name: &'static str,
    /// The RON text, comments included.
    pub text: &'static str,
}

/// Name of the preset the app opens with.
pub const DEFAULT_PRESET: &str = "healthcare-triage";

/// Every shipped preset, default first.
pub const PRESETS: &[Preset] = &[
    Preset {
        name: "healthcare-triage",
        text: include_str!("../../presets/healthcare-triage.ron"),
    },
    Preset {
        name: "nightly-batch-etl",
        text: include_str!("../../presets/nightly-batch-etl.ron"),
    },
    Preset {
        name: "startup-chatbot",
        text: include_str!("../../presets/startup-chatbot.ron"),
    },
    Preset {
        name: "startup-transcribe",
        text: include_str!("../../presets/startup-transcribe.ron"),
    },
    Preset {
        name: "embedding-cache",
        text: include_str!("../../presets/embedding-cache.ron"),
    },
    Preset {
        name: "spot-sweep",
        text: include_str!("../../presets/spot-sweep.ron"),
    },
    Preset {
        name: "workstation-vs-cloud",
        text: include_str!("../../presets/workstation-vs-cloud.ron"),
    },
    Preset {
        name: "textbook-mmc",
        text: include_str!("../../presets/textbook-mmc.ron"),
    },
    Preset {
        name: "llm-chatbot",
        text: include_str!("../../presets/llm-chatbot.ron"),
    },
    Preset {
        name: "llm-rag",
        text: include_str!("../../presets/llm-rag.ron"),
    },
    Preset {
        name: "llm-batch-summarize",
        text: include_str!("../../presets/llm-batch-summarize.ron"),
    },
    Preset {
        name: "llm-chatbot-gpus",
        text: include_str!("../../presets/llm-chatbot-gpus.ron"),
    },
];

/// The preset called `name`.
pub fn find(name: &str) -> Result<&'static Preset, PlanError> {
    PRESETS
        .iter()
        .find(|p| p.name == name)
        .ok_or_else(|| PlanError::UnknownPreset(name.to_owned()))
}

/// Loads and validates the preset called `name`.
pub fn load(name: &str) -> Result<Plan, PlanError> {
    let preset = find(name)?;
    load_str(preset.text, &format!("<preset {}>", preset.name))
}

/// The default plan (the first preset).
pub fn default_plan() -> Result<Plan, PlanError> {
    load(DEFAULT_PRESET)
}
