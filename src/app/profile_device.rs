//! App layer: the Profile panel's device picker — every wgpu adapter (listed once, on a
//! worker thread, so the window never waits on a driver), every adapter at once, or the
//! native CPU path alone.

use eframe::egui;

use super::job::BackgroundJob;
use super::profile_ui::ProfileSettings;

/// The adapters this machine offers, as the profiler labels them (runtime only).
#[derive(Debug, Default)]
pub enum AdapterList {
    /// Not asked yet.
    #[default]
    NotAsked,
    /// A worker is enumerating them.
    Listing(BackgroundJob<Vec<String>>),
    /// The labels, e.g. `llvmpipe (LLVM 15.0.6, 256 bits) [vulkan]`.
    Ready(Vec<String>),
    /// The worker died before answering; the picker still offers "every adapter" and
    /// the CPU, and shows why the list is missing.
    Failed(String),
}

impl AdapterList {
    /// Starts listing on first use and takes the worker's answer when it arrives.
    pub fn poll(&mut self, ctx: &egui::Context) {
        match self {
            AdapterList::NotAsked => {
                let spawned = BackgroundJob::spawn("adapters", ctx, |_| {
                    let instance = crate::profile::gpu::instance();
                    crate::profile::gpu::adapters(&instance)
                        .iter()
                        .map(crate::profile::gpu::adapter_label)
                        .collect::<Vec<_>>()
                });
                *self = match spawned {
                    Ok(job) => AdapterList::Listing(job),
                    // Without a thread the picker still offers "every adapter" and CPU.
                    Err(_) => AdapterList::Ready(Vec::new()),
                };
            }
            AdapterList::Listing(job) => match job.poll() {
                Some(Ok(labels)) => *self = AdapterList::Ready(labels),
                Some(Err(died)) => *self = AdapterList::Failed(died.to_string()),
                None => {}
            },
            AdapterList::Ready(_) | AdapterList::Failed(_) => {}
        }
    }

    /// The labels once known.
    pub fn labels(&self) -> &[String] {
        match self {
            AdapterList::Ready(l) => l,
            _ => &[],
        }
    }
}

/// What the settings select, in words.
pub fn selected_text(s: &ProfileSettings) -> String {
    if s.cpu_only {
        "CPU only".into()
    } else if s.adapter.trim().is_empty() {
        "every adapter + CPU".into()
    } else {
        s.adapter.clone()
    }
}

/// The device combo box: every adapter and the CPU, one adapter, or the CPU alone.
pub fn device_picker_ui(ui: &mut egui::Ui, s: &mut ProfileSettings, list: &mut AdapterList) {
    list.poll(ui.ctx());
    egui::ComboBox::from_label("device")
        .selected_text(selected_text(s))
        .width(250.0)
        .show_ui(ui, |ui| {
            let all = !s.cpu_only && s.adapter.trim().is_empty();
            if ui
                .selectable_label(all, "every adapter + CPU")
                .on_hover_text("Each GPU adapter once (non-GL preferred), then the CPU path.")
                .clicked()
            {
                s.cpu_only = false;
                s.adapter.clear();
            }
            for label in list.labels() {
                let on = !s.cpu_only && s.adapter == *label;
                if ui
                    .selectable_label(on, label)
                    .on_hover_text("Only this adapter (no CPU rows).")
                    .clicked()
                {
                    s.cpu_only = false;
                    s.adapter = label.clone();
                }
            }
            if matches!(list, AdapterList::Listing(_)) {
                ui.label("listing adapters…");
            }
            if ui
                .selectable_label(s.cpu_only, "CPU only")
                .on_hover_text("Only the native CPU path: the gemm crate on all cores.")
                .clicked()
            {
                s.cpu_only = true;
            }
        })
        .response
        .on_hover_text("Where to measure: GPU adapters found by wgpu, or the CPU.");
    if let AdapterList::Failed(why) = list {
        ui.colored_label(ui.visuals().error_fg_color, why.as_str());
    }
}
