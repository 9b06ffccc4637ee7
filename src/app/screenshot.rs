//! App layer: `costscope gui --screenshot OUT.png --panel P` — open the window on a
//! panel, wait until its content is ready (a simulated day, a profile run), capture
//! the window as a PNG and close. README screenshots are made with it.

use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Instant;

use eframe::egui;

use super::state::Tab;

/// Frames drawn after the content is ready, so layout and plots have settled.
const SETTLE_FRAMES: u32 = 10;

/// A screenshot to take, and how far it has got.
#[derive(Debug)]
pub struct ScreenshotJob {
    /// Where to write the PNG.
    pub path: PathBuf,
    /// The panel to show.
    pub panel: Tab,
    started: Instant,
    first_frame_ms: Option<f64>,
    settled_frames: u32,
    requested: bool,
    outcome: Arc<Mutex<Option<Result<(), String>>>>,
    /// Why no PNG was written, read by whoever opened the window once it closes.
    failure: Arc<Mutex<Option<String>>>,
}

impl ScreenshotJob {
    /// A job for `panel` written to `path`; `started` is when the process began; a
    /// failure is left in `failure` for the caller to report after the window closes.
    pub fn new(
        path: PathBuf,
        panel: Tab,
        started: Instant,
        failure: Arc<Mutex<Option<String>>>,
    ) -> Self {
        Self {
            path,
            panel,
            started,
            first_frame_ms: None,
            settled_frames: 0,
            requested: false,
            outcome: Arc::new(Mutex::new(None)),
            failure,
        }
    }

    /// Records why the screenshot was not written (the window then closes).
    pub fn fail(&mut self, why: String) {
        if let Ok(mut slot) = self.failure.lock() {
            *slot = Some(why);
        }
    }

    /// Milliseconds from start to the first frame, once drawn.
    pub fn first_frame_ms(&self) -> Option<f64> {
        self.first_frame_ms
    }

    /// Called every frame with whether the panel's content is ready. Returns the
    /// outcome once the PNG is written (or failed); the caller then closes the window.
    pub fn frame(&mut self, ctx: &egui::Context, ready: bool) -> Option<Result<(), String>> {
        if self.first_frame_ms.is_none() {
            let ms = self.started.elapsed().as_secs_f64() * 1000.0;
            self.first_frame_ms = Some(ms);
            eprintln!("costscope: first frame after {ms:.0} ms");
        }
        if let Ok(mut done) = self.outcome.lock()
            && let Some(outcome) = done.take()
        {
            return Some(outcome);
        }
        ctx.request_repaint();
        if !ready {
            return None;
        }
        self.settled_frames += 1;
        if self.settled_frames >= SETTLE_FRAMES && !self.requested {
            self.requested = true;
            let path = self.path.clone();
            let outcome = self.outcome.clone();
            let repaint = ctx.clone();
            ctx.request_screenshot(move |image| {
                let result = write_png(&path, &image);
                if let Ok(mut slot) = outcome.lock() {
                    *slot = Some(result);
                }
                repaint.request_repaint();
            });
        }
        None
    }
}

/// Writes an egui image as PNG.
pub fn write_png(path: &std::path::Path, image: &egui::ColorImage) -> Result<(), String> {
    let png = encode_png(path, image)?;
    // Encoded in memory, then written atomically: a crash never leaves half a PNG.
    crate::files::write_atomic(path, &png)
        .map_err(|e| format!("cannot write {}: {e}", path.display()))
}

/// An egui image as PNG bytes; `path` names it in an error.
pub fn encode_png(path: &std::path::Path, image: &egui::ColorImage) -> Result<Vec<u8>, String> {
    let [w, h] = image.size;
    let bytes: Vec<u8> = image.pixels.iter().flat_map(|c| c.to_array()).collect();
    let (Ok(w), Ok(h)) = (u32::try_from(w), u32::try_from(h)) else {
        return Err("screenshot too large".into());
    };
    let rgba = image::RgbaImage::from_raw(w, h, bytes).ok_or("screenshot has the wrong size")?;
    let mut png = std::io::Cursor::new(Vec::new());
    rgba.write_to(&mut png, image::ImageFormat::Png)
        .map_err(|e| format!("cannot encode {}: {e}", path.display()))?;
    Ok(png.into_inner())
}
