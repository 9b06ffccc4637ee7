//! App layer: export one plot as a PNG — a title row with a "PNG" button above each
//! plot (and "Save plot as PNG" on right-click). The next frame is drawn without the
//! button, captured and cropped to the title, the legend, the plot and its axes; the
//! file is written atomically, and an existing one only after the user agrees.

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use eframe::egui;

use super::screenshot::encode_png;

/// The outcome of the last plot export, shared with the screenshot callback.
type Message = Arc<Mutex<Option<String>>>;

fn message_slot(ctx: &egui::Context) -> Message {
    ctx.data_mut(|d| {
        d.get_temp_mut_or_default::<Message>(egui::Id::unique("plot_png_message"))
            .clone()
    })
}

/// What the last plot export said ("wrote …" or why it failed), if any.
pub fn last_message(ctx: &egui::Context) -> Option<String> {
    message_slot(ctx).lock().ok()?.clone()
}

fn dir_slot() -> egui::Id {
    egui::Id::unique("plot_png_dir")
}

/// Sets the folder exports go to (the plan file's folder; `None`: the current folder).
pub fn set_export_dir(ctx: &egui::Context, dir: Option<PathBuf>) {
    ctx.data_mut(|d| d.insert_temp(dir_slot(), dir));
}

/// The folder exports go to.
pub fn export_dir(ctx: &egui::Context) -> PathBuf {
    ctx.data(|d| d.get_temp::<Option<PathBuf>>(dir_slot()))
        .flatten()
        .unwrap_or_default()
}

/// The file name a plot is written to: `costscope-plot-<key>.png`.
pub fn file_for(key: &str) -> PathBuf {
    let safe: String = key
        .chars()
        .map(|c| if c.is_ascii_alphanumeric() { c } else { '-' })
        .collect();
    PathBuf::from(format!("costscope-plot-{safe}.png"))
}

/// What the export of one plot is waiting for.
#[derive(Debug, Clone, PartialEq)]
enum Export {
    /// Capture the plot in this frame (drawn without its button) and write it;
    /// `overwrite` once the user agreed to replace the file.
    Capture { path: PathBuf, overwrite: bool },
    /// The file exists: ask before replacing it.
    Ask { path: PathBuf },
}

fn export_id(key: &str) -> egui::Id {
    egui::Id::unique(("plot_png_export", key))
}

/// Whether the plot `key` is being captured to a PNG this frame: a header may then add
/// what the image needs to stand alone (the legend a panel shares above its plots).
pub fn capturing(ctx: &egui::Context, key: &str) -> bool {
    let export = ctx.data(|d| d.get_temp::<Export>(export_id(key)));
    matches!(export, Some(Export::Capture { .. }))
}

/// Draws `title` with a "PNG" button, then the plot `add_plot` draws; a click on the
/// button (or "Save plot as PNG" in the plot's right-click menu) writes the plot, with
/// its title, legend and axes, to [`file_for`]`(key)` in the [`export_dir`] — asking
/// first when that file exists.
pub fn titled_plot(
    ui: &mut egui::Ui,
    title: &str,
    key: &str,
    add_plot: impl FnOnce(&mut egui::Ui) -> egui::Response,
) -> egui::Response {
    plot_with_header(
        ui,
        key,
        |ui| {
            ui.label(title);
        },
        add_plot,
    )
}

/// As [`titled_plot`], with a header row of the caller's own (a title and, say, a
/// picker); the "PNG" button ends the row.
pub fn plot_with_header(
    ui: &mut egui::Ui,
    key: &str,
    header: impl FnOnce(&mut egui::Ui),
    add_plot: impl FnOnce(&mut egui::Ui) -> egui::Response,
) -> egui::Response {
    let id = export_id(key);
    let export = ui.ctx().data(|d| d.get_temp::<Export>(id));
    let capturing = matches!(export, Some(Export::Capture { .. }));
    let path = export_dir(ui.ctx()).join(file_for(key));
    let hover = format!(
        "Save this plot with its title, legend and axes as {}",
        path.display()
    );
    let mut save = false;
    let group = ui.vertical(|ui| {
        ui.horizontal(|ui| {
            header(ui);
            // Left out of the frame that is captured: the image is the plot's alone.
            if !capturing {
                save = ui
                    .small_button("PNG")
                    .on_hover_text(&hover)
                    .on_hover_text("Right-click the plot for the same.")
                    .clicked();
            }
        });
        add_plot(ui)
    });
    let response = group.inner;
    response.context_menu(|ui| {
        if ui
            .button("Save plot as PNG")
            .on_hover_text(&hover)
            .clicked()
        {
            save = true;
            ui.close();
        }
    });
    let next = match export {
        Some(Export::Capture { path, overwrite }) => {
            capture(ui.ctx(), group.response.rect, path, overwrite);
            None
        }
        Some(Export::Ask { path }) => ask_ui(ui, &path),
        None => None,
    };
    let next = if save {
        Some(if path.exists() {
            Export::Ask { path }
        } else {
            Export::Capture {
                path,
                overwrite: false,
            }
        })
    } else {
        next
    };
    set_export(ui.ctx(), id, next);
    if capturing || save {
        ui.ctx().request_repaint();
    }
    response
}

fn set_export(ctx: &egui::Context, id: egui::Id, export: Option<Export>) {
    ctx.data_mut(|d| match export {
        Some(e) => {
            d.insert_temp(id, e);
        }
        None => d.remove::<Export>(id),
    });
}

/// The top bar's "Save PNG" of the whole window to `name` in the [`export_dir`]:
/// asked first when that file exists, written atomically.
pub fn window_png_ui(ui: &mut egui::Ui, name: &str, tip: &str) {
    let id = export_id("\u{0}window");
    let ctx = ui.ctx().clone();
    let path = export_dir(&ctx).join(name);
    let next = match ctx.data(|d| d.get_temp::<Export>(id)) {
        Some(Export::Capture { path, overwrite }) => {
            capture(&ctx, ctx.viewport_rect(), path, overwrite);
            None
        }
        Some(Export::Ask { path }) => ask_ui(ui, &path),
        None => {
            let clicked = ui.button("Save PNG").on_hover_text(tip).clicked();
            if clicked && path.exists() {
                Some(Export::Ask { path })
            } else if clicked {
                // The whole window is the largest "plot": same capture, same message.
                capture(&ctx, ctx.viewport_rect(), path, false);
                None
            } else {
                None
            }
        }
    };
    set_export(&ctx, id, next);
}

/// "FILE exists: Overwrite / Cancel"; what the export waits for next.
fn ask_ui(ui: &mut egui::Ui, path: &Path) -> Option<Export> {
    let mut next = Some(Export::Ask {
        path: path.to_owned(),
    });
    ui.horizontal_wrapped(|ui| {
        ui.colored_label(
            ui.visuals().warn_fg_color,
            format!("{} exists.", shown(path)),
        );
        if ui
            .button("Overwrite")
            .on_hover_text("Replace that file with this plot.")
            .clicked()
        {
            next = Some(Export::Capture {
                path: path.to_owned(),
                overwrite: true,
            });
        }
        if ui
            .button("Cancel")
            .on_hover_text("Keep the file; write nothing.")
            .clicked()
        {
            next = None;
        }
    });
    next
}

/// Captures the next frame and writes the part inside `rect` (in points) to `path`:
/// replacing a file there only with `overwrite`, else failing if one appeared.
pub fn capture(ctx: &egui::Context, rect: egui::Rect, path: PathBuf, overwrite: bool) {
    let slot = message_slot(ctx);
    let pixels_per_point = ctx.pixels_per_point();
    let repaint = ctx.clone();
    ctx.request_screenshot(move |image| {
        let written = crop(&image, rect, pixels_per_point)
            .and_then(|plot| encode_png(&path, &plot))
            .and_then(|png| {
                let write = if overwrite {
                    crate::files::write_atomic
                } else {
                    crate::files::write_new
                };
                write(&path, &png).map_err(|e| format!("cannot write {}: {e}", path.display()))
            });
        let text = match written {
            Ok(()) => format!("wrote {}", shown(&path)),
            Err(e) => format!("plot not saved: {e}"),
        };
        if let Ok(mut m) = slot.lock() {
            *m = Some(text);
        }
        repaint.request_repaint();
    });
}

/// The absolute path when it can be known, so the user finds the file.
fn shown(path: &Path) -> String {
    std::path::absolute(path)
        .unwrap_or_else(|_| path.to_path_buf())
        .display()
        .to_string()
}

/// The pixels of `image` inside `rect` (points × `pixels_per_point`), clamped to the
/// image; an error when nothing of the rectangle is on screen.
pub fn crop(
    image: &egui::ColorImage,
    rect: egui::Rect,
    pixels_per_point: f32,
) -> Result<egui::ColorImage, String> {
    let [w, h] = image.size;
    let px = |v: f32, max: usize| ((v * pixels_per_point).round().max(0.0) as usize).min(max);
    let (x0, x1) = (px(rect.min.x, w), px(rect.max.x, w));
    let (y0, y1) = (px(rect.min.y, h), px(rect.max.y, h));
    if x1 <= x0 || y1 <= y0 {
        return Err("the plot is not on screen".into());
    }
    Ok(image.region_by_pixels([x0, y0], [x1 - x0, y1 - y0]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crops_to_the_rect_in_pixels_and_clamps() {
        let mut image = egui::ColorImage::filled([10, 8], egui::Color32::BLACK);
        image[(4, 2)] = egui::Color32::RED;
        let rect = egui::Rect::from_min_max(egui::pos2(1.0, 0.5), egui::pos2(3.0, 2.0));
        let part = crop(&image, rect, 2.0).expect("on screen");
        assert_eq!(part.size, [4, 3]);
        assert_eq!(part[(2, 1)], egui::Color32::RED);
        let half_off = egui::Rect::from_min_max(egui::pos2(-5.0, 6.0), egui::pos2(4.0, 20.0));
        assert_eq!(crop(&image, half_off, 1.0).expect("partly").size, [4, 2]);
        let off = egui::Rect::from_min_max(egui::pos2(20.0, 0.0), egui::pos2(30.0, 5.0));
        assert!(crop(&image, off, 1.0).is_err());
    }

    #[test]
    fn file_names_are_safe() {
        assert_eq!(
            file_for("latency vs/batch"),
            PathBuf::from("costscope-plot-latency-vs-batch.png")
        );
    }
}
