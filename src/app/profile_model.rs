//! App layer: the Profile panel's model picker — the MLP micro-benchmarks and the
//! transformer configs shipped in `models/` (by family, each with its parameter
//! count), or a `config.json` of the user's opened through the in-app file dialog. The
//! selection is resolved once per change, not per frame; a file that cannot be used is
//! one line in the panel and the selection stays as it was.

use std::path::Path;
use std::sync::OnceLock;

use eframe::egui;

use super::file_dialog::{DialogMode, FileDialog, FileKind, Outcome};
use super::profile_settings::{ProfileSettings, why};
use crate::profile::workloads::Models;
use crate::profile::workloads::mlp::{MlpPreset, PRESETS};
use crate::profile::workloads::transformer::accounting::total_params;
use crate::profile::workloads::transformer::config::SHIPPED;
use crate::profile::workloads::transformer::{Family, TransformerConfig};

/// The families in the order the picker lists them, with their headings.
const FAMILIES: [(Family, &str); 3] = [
    (Family::Encoder, "Encoders (BERT-style)"),
    (Family::Gpt2, "GPT-2"),
    (Family::Llama, "Llama-style (Llama, Qwen2, Mistral)"),
];

/// The shipped configs, parsed once (they are embedded in the binary; the profiler's
/// own tests parse every one, so none is expected to fail, and one that did would be
/// left out of the list rather than stop the window).
fn shipped() -> &'static [TransformerConfig] {
    static CONFIGS: OnceLock<Vec<TransformerConfig>> = OnceLock::new();
    CONFIGS.get_or_init(|| {
        (SHIPPED.iter())
            .filter_map(|(name, _)| TransformerConfig::lookup(name).ok())
            .collect()
    })
}

/// A parameter count in words: `110.1 M params`, `1.24 B params`, `92.3 k params`.
pub fn params_text(params: u64) -> String {
    let p = params as f64;
    match params {
        1_000_000_000.. => format!("{:.2} B params", p / 1e9),
        1_000_000.. => format!("{:.1} M params", p / 1e6),
        1_000.. => format!("{:.1} k params", p / 1e3),
        _ => format!("{params} params"),
    }
}

/// One line on a transformer's shape: family, blocks, width, heads, positions, size.
pub fn describe(c: &TransformerConfig) -> String {
    let family = match c.family {
        Family::Encoder => "encoder",
        Family::Gpt2 => "GPT-2 decoder",
        Family::Llama => "Llama-style decoder",
    };
    let kv = if c.num_kv_heads == c.num_heads {
        String::new()
    } else {
        format!(" ({} KV)", c.num_kv_heads)
    };
    format!(
        "{family} · {} layers · d {} · {} heads{kv} · {} positions · {}",
        c.num_layers,
        c.hidden_size,
        c.num_heads,
        c.max_positions,
        params_text(total_params(c))
    )
}

fn describe_mlp(m: &MlpPreset) -> String {
    let (d, h, l) = (m.d_model, m.d_hidden, m.layers);
    // Plain ASCII dashes: the window's font has no arrow glyph.
    format!("MLP micro-benchmark: {l} layers of {d}-{h}-{d} (GEMM + bias + GELU)")
}

/// The picker's runtime part: the config dialog while open, the selection resolved,
/// and why the last file opened was refused.
#[derive(Debug, Default)]
pub struct ModelPicker {
    /// The "Open config.json…" dialog, while it is open.
    pub dialog: Option<FileDialog>,
    /// The model name last resolved and what it resolved to (or why not).
    resolved: Option<(String, Result<Models, String>)>,
    /// Why the last file chosen in the dialog cannot be profiled.
    pub open_error: Option<String>,
}

impl ModelPicker {
    /// `name` resolved (read from disk only when it differs from the last name).
    pub fn models(&mut self, name: &str) -> &Result<Models, String> {
        if self.resolved.as_ref().is_some_and(|(n, _)| n != name) {
            self.resolved = None;
        }
        let (_, models) = self.resolved.get_or_insert_with(|| {
            let models = Models::resolve(&[name.to_owned()]).map_err(why);
            (name.to_owned(), models)
        });
        models
    }

    /// The name the report gives the selected model's rows (a config file's stem), for
    /// "Use in plan"; `None` until it resolves.
    pub fn report_name(&mut self, name: &str) -> Option<String> {
        let models = self.models(name).as_ref().ok()?;
        let mlp = models.mlps.first().map(|m| m.name.to_owned());
        mlp.or_else(|| models.transformers.first().map(|c| c.name.clone()))
    }

    /// `path` from the dialog as the selected model: kept when it parses as a config,
    /// else the one-line reason in the panel and the dialog (the selection unchanged).
    pub fn choose_file(&mut self, s: &mut ProfileSettings, path: &Path) -> Result<(), String> {
        let outcome = match path.to_str() {
            None => Err(format!("{}: the path is not UTF-8", path.display())),
            // The profiler tells a config file from a shipped name by this ending.
            Some(p) if !p.ends_with(".json") => Err(format!(
                "{p}: not a .json file (a model config is a Hugging Face config.json)"
            )),
            Some(p) => TransformerConfig::lookup(p).map(drop).map_err(why),
        };
        if let Some(dir) = path.parent() {
            s.config_dir = Some(dir.to_path_buf());
        }
        match outcome {
            Ok(()) => {
                s.model = path.display().to_string();
                self.open_error = None;
                self.resolved = None;
                Ok(())
            }
            Err(e) => {
                self.open_error = Some(e.clone());
                Err(e)
            }
        }
    }

    /// The combo, "Open config.json…", a line on the selection (or why it cannot be
    /// used) and the dialog while open.
    pub fn ui(&mut self, ui: &mut egui::Ui, s: &mut ProfileSettings) {
        combo_ui(ui, s);
        ui.horizontal(|ui| {
            if ui
                .button("Open config.json…")
                .on_hover_text(
                    "Profile a model of your own: a Hugging Face config.json (BERT, \
                     DistilBERT, RoBERTa, GPT-2, Llama, Qwen2 or Mistral); its shape is \
                     what is timed.",
                )
                .clicked()
                && self.dialog.is_none()
            {
                let dir = s.config_dir.clone().unwrap_or_else(|| ".".into());
                let open = FileDialog::new(DialogMode::Open, &dir, String::new());
                self.dialog = Some(FileDialog {
                    kind: FileKind::ModelConfig,
                    ..open
                });
            }
        });
        let model = s.model.clone();
        let line = match self.models(&model) {
            Ok(m) => Ok(match (m.mlps.first(), m.transformers.first()) {
                (Some(mlp), _) => describe_mlp(mlp),
                (None, Some(c)) if model.ends_with(".json") => {
                    format!("{} · from {model}", describe(c))
                }
                (None, Some(c)) => describe(c),
                (None, None) => String::new(),
            }),
            Err(e) => Err(e.clone()),
        };
        match line {
            Ok(text) => _ = ui.weak(text),
            Err(e) => _ = ui.colored_label(ui.visuals().error_fg_color, e),
        }
        if let Some(e) = &self.open_error {
            ui.colored_label(ui.visuals().error_fg_color, e);
        }
        self.dialog_ui(ui.ctx(), s);
    }

    /// The config dialog while open: a chosen file that cannot be used keeps it open
    /// with the reason, so another can be picked.
    fn dialog_ui(&mut self, ctx: &egui::Context, s: &mut ProfileSettings) {
        let Some(mut dialog) = self.dialog.take() else {
            return;
        };
        match dialog.ui(ctx, false) {
            None => self.dialog = Some(dialog),
            Some(Outcome::Open(path)) => {
                if let Err(e) = self.choose_file(s, &path) {
                    dialog.error = Some(e);
                    self.dialog = Some(dialog);
                }
            }
            Some(Outcome::Cancel | Outcome::Save(_)) => {}
        }
    }
}

/// What the closed combo shows: the model's name, or a config file's name.
fn selected_text(model: &str) -> String {
    match Path::new(model).file_name() {
        Some(file) if model.ends_with(".json") => file.to_string_lossy().into_owned(),
        _ => model.to_owned(),
    }
}

/// The combo: the MLP micro-benchmarks, then the shipped configs under their family.
fn combo_ui(ui: &mut egui::Ui, s: &mut ProfileSettings) {
    egui::ComboBox::from_label("model")
        .selected_text(selected_text(&s.model))
        .width(200.0)
        .height(600.0)
        .show_ui(ui, |ui| {
            ui.strong("MLP micro-benchmarks");
            for m in PRESETS.iter().rev() {
                ui.selectable_value(&mut s.model, m.name.to_owned(), m.name)
                    .on_hover_text(describe_mlp(m));
            }
            for (family, heading) in FAMILIES {
                ui.separator();
                ui.strong(heading);
                for c in shipped().iter().filter(|c| c.family == family) {
                    let text = format!("{} ({})", c.name, params_text(total_params(c)));
                    ui.selectable_value(&mut s.model, c.name.clone(), text)
                        .on_hover_text(describe(c));
                }
            }
        })
        .response
        .on_hover_text(
            "What is timed at each batch size: an MLP micro-benchmark, or a real \
             transformer's forward pass (encoders; prefill and decode for decoders).",
        );
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_shipped_config_is_listed_under_its_family() {
        assert_eq!(shipped().len(), SHIPPED.len());
        let gpt2: Vec<&str> = (shipped().iter())
            .filter(|c| c.family == Family::Gpt2)
            .map(|c| c.name.as_str())
            .collect();
        assert_eq!(gpt2, ["gpt2", "tiny-gpt2"]);
    }

    #[test]
    fn parameter_counts_read_in_their_unit() {
        assert_eq!(params_text(999), "999 params");
        assert_eq!(params_text(92_345), "92.3 k params");
        assert_eq!(params_text(124_439_808), "124.4 M params");
        assert_eq!(params_text(1_235_814_400), "1.24 B params");
        // GPT-2 small: 124,439,808 parameters with the LM head tied to the embedding.
        let gpt2 = TransformerConfig::lookup("gpt2").unwrap();
        assert_eq!(total_params(&gpt2), 124_439_808);
        assert!(describe(&gpt2).ends_with("1024 positions · 124.4 M params"));
    }

    #[test]
    fn a_bad_file_is_refused_with_its_reason_and_the_selection_stays() {
        let dir = std::env::temp_dir().join(format!("costscope-picker-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let bad = dir.join("bad.json");
        std::fs::write(&bad, r#"{"model_type": "gpt2", "n_embd": 64}"#).unwrap();
        let mut s = ProfileSettings::default();
        let mut picker = ModelPicker::default();
        let err = picker.choose_file(&mut s, &bad).unwrap_err();
        assert_eq!(err, format!("{}: key `n_head` is missing", bad.display()));
        assert_eq!(s.model, "small");
        assert_eq!(picker.open_error.as_deref(), Some(err.as_str()));
        let txt = dir.join("notes.txt");
        let err = picker.choose_file(&mut s, &txt).unwrap_err();
        assert!(err.ends_with("not a .json file (a model config is a Hugging Face config.json)"));
        let good = dir.join("mine.json");
        let tiny = SHIPPED.iter().find(|(n, _)| *n == "tiny-gpt2").unwrap();
        std::fs::write(&good, tiny.1).unwrap();
        picker.choose_file(&mut s, &good).unwrap();
        assert_eq!(s.model, good.display().to_string());
        assert_eq!(s.config_dir.as_deref(), Some(dir.as_path()));
        assert_eq!(picker.open_error, None);
        assert_eq!(picker.report_name(&s.model).as_deref(), Some("mine"));
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
