//! App layer: what the Profile panel asks the profiler for — the persisted settings
//! (device, model, precisions, batches, sequence and context lengths, time per row),
//! the lists typed as text ("128, 512") checked field by field with an inline error,
//! and the [`ProfileOptions`] they make.

use std::path::PathBuf;

use eframe::egui;
use serde::{Deserialize, Serialize};

use crate::profile::workloads::Models;
use crate::profile::workloads::transformer::run::check_lengths;
use crate::profile::{
    DEFAULT_CONTEXT_LEN, DEFAULT_SEQ_LEN, DeviceChoice, Precision, ProfileError, ProfileOptions,
};

/// Shortest and longest time per measured row the panel passes on, seconds.
const BUDGET_RANGE_S: (f64, f64) = (0.01, 60.0);

/// What the user asked the profiler for (persisted). Fields added after the first
/// version default when absent, so state saved before them still loads.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ProfileSettings {
    /// Only the native CPU path (no GPU adapters).
    pub cpu_only: bool,
    /// Adapter name filter (empty = every adapter).
    pub adapter: String,
    /// The model: an MLP preset (small, distilled, bert-base), a shipped transformer
    /// config (`tiny-gpt2`, `Llama-3.2-1B`, …) or the absolute path of a `config.json`.
    pub model: String,
    /// Precisions to run: f32, f16, bf16.
    pub precisions: [bool; 3],
    /// Batch sizes, comma-separated.
    pub batches: String,
    /// Seconds per measured row.
    pub budget_s: f64,
    /// Tokens per sequence of encoder and prefill rows, comma-separated.
    #[serde(default = "default_seq_lens")]
    pub seq_lens: String,
    /// Cached tokens of decode rows, comma-separated.
    #[serde(default = "default_context_lens")]
    pub context_lens: String,
    /// The folder the "Open config.json…" dialog last chose a file in.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub config_dir: Option<PathBuf>,
    /// Where the last finished report is kept, to show it again on restart.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_report: Option<PathBuf>,
    /// The share of its per-row budget a measurement of the last finished run took,
    /// for the next run's time estimate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_share: Option<f64>,
}

fn default_seq_lens() -> String {
    DEFAULT_SEQ_LEN.to_string()
}

fn default_context_lens() -> String {
    DEFAULT_CONTEXT_LEN.to_string()
}

impl Default for ProfileSettings {
    fn default() -> Self {
        Self {
            cpu_only: false,
            adapter: String::new(),
            model: "small".into(),
            precisions: [true, true, true],
            batches: "1,2,4,8".into(),
            budget_s: 0.25,
            seq_lens: default_seq_lens(),
            context_lens: default_context_lens(),
            config_dir: None,
            last_report: None,
            budget_share: None,
        }
    }
}

/// A profiler error as the panel shows it: the message alone, without the "invalid
/// request" of a request the panel itself makes.
pub fn why(e: ProfileError) -> String {
    match e {
        ProfileError::Invalid(m) => m,
        other => other.to_string(),
    }
}

/// Whole numbers of at least 1 separated by commas or spaces ("128, 512"); `what`
/// names the list in the one-line error.
pub fn parse_list(text: &str, what: &str) -> Result<Vec<usize>, String> {
    let mut values = Vec::new();
    for token in text.split([',', ' ', '\t']).filter(|t| !t.is_empty()) {
        match token.parse::<usize>() {
            Ok(0) => return Err(format!("{what}: 0 is too small (at least 1)")),
            Ok(v) => values.push(v),
            Err(_) => return Err(format!("{what}: `{token}` is not a whole number")),
        }
    }
    if values.is_empty() {
        return Err(format!("{what}: give at least one, e.g. 1, 8"));
    }
    Ok(values)
}

/// The settings' lists parsed and checked against the model, each with its own error.
#[derive(Debug, Clone, PartialEq)]
pub struct Checked {
    /// The precisions ticked.
    pub precisions: Result<Vec<Precision>, String>,
    /// Batch sizes.
    pub batches: Result<Vec<usize>, String>,
    /// Sequence lengths; `None` when the model has none (an MLP).
    pub seq_lens: Option<Result<Vec<usize>, String>>,
    /// Context lengths; `None` unless the model is a decoder.
    pub context_lens: Option<Result<Vec<usize>, String>>,
}

impl Checked {
    /// The first thing wrong, if anything.
    pub fn first_error(&self) -> Option<&str> {
        let lists = [Some(&self.batches), self.seq_lens.as_ref()];
        let lists = lists.into_iter().chain([self.context_lens.as_ref()]);
        let list_error = lists.flatten().find_map(|r| r.as_ref().err());
        self.precisions
            .as_ref()
            .err()
            .or(list_error)
            .map(String::as_str)
    }
}

/// `text` as lengths, bounded by `models`' positions as the profiler bounds them
/// ([`check_lengths`]); `decode` checks context lengths, else sequence lengths.
fn lengths(text: &str, models: &Models, decode: bool) -> Result<Vec<usize>, String> {
    let what = if decode {
        "context lengths"
    } else {
        "sequence lengths"
    };
    let lens = parse_list(text, what)?;
    // The other list at 1 always fits, so any error is about this one.
    let mut probe = ProfileOptions::quick();
    (probe.seq_lens, probe.context_lens) = if decode {
        (vec![1], lens.clone())
    } else {
        (lens.clone(), vec![1])
    };
    check_lengths(&models.transformers, &probe).map_err(why)?;
    Ok(lens)
}

impl ProfileSettings {
    /// The device choice in the profiler's terms.
    fn device(&self) -> DeviceChoice {
        if self.cpu_only {
            DeviceChoice::Cpu
        } else if self.adapter.trim().is_empty() {
            DeviceChoice::All
        } else {
            DeviceChoice::Adapter(self.adapter.trim().to_owned())
        }
    }

    /// Every list checked against `models` (the selected model, resolved).
    pub fn check(&self, models: &Models) -> Checked {
        let precisions: Vec<Precision> = (Precision::ALL.iter().zip(self.precisions))
            .filter_map(|(p, on)| on.then_some(*p))
            .collect();
        let transformer = !models.transformers.is_empty();
        let decoder = models.transformers.iter().any(|c| c.family.is_decoder());
        Checked {
            precisions: if precisions.is_empty() {
                Err("precisions: tick at least one".into())
            } else {
                Ok(precisions)
            },
            batches: parse_list(&self.batches, "batches"),
            seq_lens: transformer.then(|| lengths(&self.seq_lens, models, false)),
            context_lens: decoder.then(|| lengths(&self.context_lens, models, true)),
        }
    }

    /// The profiler's options: the quick preset narrowed to what was picked, with the
    /// model read afresh (a config file may have changed); else the first thing wrong,
    /// in one line.
    pub fn options(&self) -> Result<ProfileOptions, String> {
        let models = Models::resolve(std::slice::from_ref(&self.model));
        self.options_for(&models.map_err(why)?)
    }

    /// As [`ProfileSettings::options`] for `models` already resolved.
    pub fn options_for(&self, models: &Models) -> Result<ProfileOptions, String> {
        let checked = self.check(models);
        if let Some(e) = checked.first_error() {
            return Err(e.to_owned());
        }
        let mut opts = ProfileOptions::quick();
        opts.device = self.device();
        opts.models = vec![self.model.clone()];
        // `first_error` found none: every list is Ok (or absent, keeping the defaults).
        opts.precisions = checked.precisions.unwrap_or_default();
        opts.batches = checked.batches.unwrap_or_default();
        if let Some(Ok(seq)) = checked.seq_lens {
            opts.seq_lens = seq;
        }
        if let Some(Ok(ctx)) = checked.context_lens {
            opts.context_lens = ctx;
        }
        let (lo, hi) = BUDGET_RANGE_S;
        opts.budget_per_row = std::time::Duration::from_secs_f64(self.budget_s.clamp(lo, hi));
        Ok(opts)
    }
}

/// An error under the field it is about, in the theme's error colour.
fn error_line(ui: &mut egui::Ui, result: Option<&Result<Vec<usize>, String>>) {
    if let Some(Err(e)) = result {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
}

/// Width of a list field, points: the left panel's width less its longest label.
const FIELD_WIDTH_PX: f32 = 200.0;

/// A labelled one-line list field, as one row of the lists' grid.
fn list_field(ui: &mut egui::Ui, label: &str, text: &mut String, hover: &str) {
    let label = ui.label(label);
    let field = egui::TextEdit::singleline(text)
        .desired_width(FIELD_WIDTH_PX)
        .min_size(egui::vec2(FIELD_WIDTH_PX, 0.0));
    ui.add(field).labelled_by(label.id).on_hover_text(hover);
    ui.end_row();
}

/// Precisions, batches, the lengths `models` has (sequence lengths for transformers,
/// context lengths for decoders) with the errors of the lists under them, and the time
/// per row. Returns the lists as checked after this frame's edits.
pub fn settings_ui(ui: &mut egui::Ui, s: &mut ProfileSettings, models: &Models) -> Checked {
    ui.horizontal(|ui| {
        let tips = [
            "32-bit float storage and math.",
            "Half-precision storage, f32 accumulate (needs SHADER_F16 on a GPU).",
            "bfloat16 storage packed in u32, f32 math (any adapter; not on the CPU path).",
        ];
        for ((on, name), tip) in (s.precisions.iter_mut())
            .zip(["f32", "f16", "bf16"])
            .zip(tips)
        {
            ui.checkbox(on, name).on_hover_text(tip);
        }
    });
    let positions = models.transformers.iter().map(|c| c.max_positions).min();
    let limit = positions.map_or_else(String::new, |p| format!(" (this model: {p} positions)"));
    egui::Grid::new("profile_lists").show(ui, |ui| {
        let hover = "Batch sizes to sweep, comma-separated, e.g. 1,2,4,8.";
        list_field(ui, "batches:", &mut s.batches, hover);
        if !models.transformers.is_empty() {
            let hover = format!(
                "Tokens per sequence of the encoder or prefill pass, comma-separated, e.g. 128, 512; at most the model's positions{limit}."
            );
            list_field(ui, "sequence lengths:", &mut s.seq_lens, &hover);
        }
        if models.transformers.iter().any(|c| c.family.is_decoder()) {
            let hover = format!(
                "Cached tokens each decoded token attends to, comma-separated, e.g. 512; the new token needs one more position{limit}."
            );
            list_field(ui, "context lengths:", &mut s.context_lens, &hover);
        }
    });
    let checked = s.check(models);
    if let Err(e) = &checked.precisions {
        ui.colored_label(ui.visuals().error_fg_color, e);
    }
    error_line(ui, Some(&checked.batches));
    error_line(ui, checked.seq_lens.as_ref());
    error_line(ui, checked.context_lens.as_ref());
    ui.add(
        egui::Slider::new(&mut s.budget_s, 0.05..=10.0)
            .logarithmic(true)
            .text("seconds per row"),
    )
    .on_hover_text("Time budget of one measurement; sampling stops earlier once the CV is ≤ 2 %.");
    checked
}

#[cfg(test)]
mod tests {
    use super::*;

    fn models(name: &str) -> Models {
        Models::resolve(&[name.to_owned()]).unwrap()
    }

    #[test]
    fn lists_parse_with_commas_or_spaces_and_say_what_is_wrong() {
        assert_eq!(parse_list("128, 512", "x"), Ok(vec![128, 512]));
        assert_eq!(parse_list(" 1 2,,8 ", "x"), Ok(vec![1, 2, 8]));
        assert_eq!(
            parse_list("16, abc", "sequence lengths"),
            Err("sequence lengths: `abc` is not a whole number".into())
        );
        assert_eq!(
            parse_list("-4", "batches"),
            Err("batches: `-4` is not a whole number".into())
        );
        assert_eq!(
            parse_list("0", "batches"),
            Err("batches: 0 is too small (at least 1)".into())
        );
        assert_eq!(
            parse_list(" , ", "batches"),
            Err("batches: give at least one, e.g. 1, 8".into())
        );
    }

    #[test]
    fn lengths_are_bounded_by_the_models_positions_as_the_profiler_bounds_them() {
        // tiny-gpt2 has 128 positions: a prompt may fill them, a decode step needs one more.
        let gpt = models("tiny-gpt2");
        let s = ProfileSettings {
            model: "tiny-gpt2".into(),
            seq_lens: "16, 128".into(),
            context_lens: "127".into(),
            ..ProfileSettings::default()
        };
        let c = s.check(&gpt);
        assert_eq!(c.seq_lens, Some(Ok(vec![16, 128])));
        assert_eq!(c.context_lens, Some(Ok(vec![127])));
        let s = ProfileSettings {
            seq_lens: "129".into(),
            context_lens: "128".into(),
            ..s
        };
        let c = s.check(&gpt);
        let seq = c.seq_lens.unwrap().unwrap_err();
        assert_eq!(
            seq,
            "sequence length 129 is longer than tiny-gpt2's 128 positions"
        );
        let ctx = c.context_lens.unwrap().unwrap_err();
        assert!(
            ctx.contains("context length 128 leaves no position"),
            "{ctx}"
        );
        assert_eq!(s.options_for(&gpt).unwrap_err(), seq);
    }

    #[test]
    fn lengths_are_asked_only_where_the_model_has_them() {
        let s = ProfileSettings {
            seq_lens: "oops".into(),
            context_lens: "oops".into(),
            ..ProfileSettings::default()
        };
        let mlp = s.check(&models("small"));
        assert_eq!((mlp.seq_lens, mlp.context_lens), (None, None));
        assert!(s.options_for(&models("small")).is_ok());
        let encoder = s.check(&models("tiny-bert"));
        assert!(encoder.seq_lens.is_some_and(|r| r.is_err()));
        assert_eq!(encoder.context_lens, None, "an encoder has no decode rows");
    }

    #[test]
    fn options_carry_the_model_lengths_batches_and_precisions_picked() {
        let s = ProfileSettings {
            cpu_only: true,
            model: "tiny-llama".into(),
            precisions: [true, true, false],
            batches: "1, 4".into(),
            seq_lens: "16 32".into(),
            context_lens: "64".into(),
            budget_s: 1e-6,
            ..ProfileSettings::default()
        };
        let o = s.options().unwrap();
        assert_eq!(o.device, DeviceChoice::Cpu);
        assert_eq!(o.models, ["tiny-llama"]);
        assert_eq!(o.precisions, [Precision::F32, Precision::F16]);
        assert_eq!(o.batches, [1, 4]);
        assert_eq!(o.seq_lens, [16, 32]);
        assert_eq!(o.context_lens, [64]);
        assert_eq!(o.budget_per_row.as_secs_f64(), BUDGET_RANGE_S.0);
        let none = ProfileSettings {
            precisions: [false; 3],
            ..s.clone()
        };
        assert_eq!(none.options().unwrap_err(), "precisions: tick at least one");
        let missing = ProfileSettings {
            model: "/no/such/dir/config.json".into(),
            ..s
        };
        let err = missing.options().unwrap_err();
        assert!(err.starts_with("/no/such/dir/config.json: "), "{err}");
    }
}
