//! CLI layer: the `costscope profile` progress bar on stderr — redrawn in place on a
//! terminal with the live telemetry, plain `[ 42 %]` lines when stderr is a file or pipe.

use std::io::{IsTerminal, Write};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use crate::profile::progress::{ProgressMeter, clock, render_line};

/// Cells of the bar itself; the rest of the line holds times, step and telemetry.
const BAR_CELLS: usize = 24;

/// How often the bar is redrawn on a terminal.
const REDRAW: Duration = Duration::from_millis(200);

/// Draws a run's progress on stderr until dropped.
pub struct StderrBar {
    meter: Arc<ProgressMeter>,
    /// Serialises writes so a progress line never lands in the middle of the bar.
    out: Arc<Mutex<()>>,
    tty: bool,
    stop: Arc<AtomicBool>,
    ticker: Option<JoinHandle<()>>,
}

impl StderrBar {
    /// Starts drawing `meter`; on a terminal a thread redraws it every 200 ms.
    pub fn start(meter: Arc<ProgressMeter>) -> Self {
        let tty = std::io::stderr().is_terminal();
        let out = Arc::new(Mutex::new(()));
        let stop = Arc::new(AtomicBool::new(false));
        let ticker = tty
            .then(|| {
                let (meter, out, stop) = (meter.clone(), out.clone(), stop.clone());
                std::thread::Builder::new()
                    .name("costscope-progress".into())
                    .spawn(move || {
                        while !stop.load(Ordering::Relaxed) {
                            redraw(&meter, &out);
                            std::thread::sleep(REDRAW);
                        }
                    })
                    .ok()
            })
            .flatten();
        StderrBar {
            meter,
            out,
            tty,
            stop,
            ticker,
        }
    }

    /// Prints one progress line above the bar (or with its percentage, off a terminal).
    pub fn line(&self, text: &str) {
        let _guard = self.out.lock().unwrap_or_else(|p| p.into_inner());
        let mut err = std::io::stderr().lock();
        // A closed stderr is not worth failing a measurement over.
        if self.tty {
            let _ = writeln!(err, "\r\x1b[2Kcostscope: {text}");
        } else {
            let pct = 100.0 * self.meter.snapshot().fraction;
            let _ = writeln!(err, "costscope: [{pct:>3.0} %] {text}");
        }
    }
}

impl Drop for StderrBar {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.ticker.take() {
            let _ = t.join();
            // Leave the final state of the bar on its own line.
            redraw(&self.meter, &self.out);
            let _ = writeln!(std::io::stderr());
        } else if !self.tty {
            // A log gets the closing share and time too.
            let p = self.meter.snapshot();
            let how = if p.fraction >= 1.0 { "done" } else { "stopped" };
            let _ = writeln!(
                std::io::stderr(),
                "costscope: [{:>3.0} %] {how} after {}",
                100.0 * p.fraction,
                clock(p.elapsed_s)
            );
        }
    }
}

fn redraw(meter: &ProgressMeter, out: &Mutex<()>) {
    let line = render_line(&meter.snapshot(), BAR_CELLS);
    let width = terminal_columns().unwrap_or(120).max(BAR_CELLS + 10);
    let line: String = line.chars().take(width - 1).collect();
    let _guard = out.lock().unwrap_or_else(|p| p.into_inner());
    let mut err = std::io::stderr().lock();
    let _ = write!(err, "\r\x1b[2K{line}");
    let _ = err.flush();
}

/// Columns of the terminal on stderr, so the bar never wraps.
fn terminal_columns() -> Option<usize> {
    #[cfg(unix)]
    {
        let mut size = libc::winsize {
            ws_row: 0,
            ws_col: 0,
            ws_xpixel: 0,
            ws_ypixel: 0,
        };
        // SAFETY: TIOCGWINSZ writes one `winsize` into the struct we pass.
        let ok = unsafe { libc::ioctl(libc::STDERR_FILENO, libc::TIOCGWINSZ, &mut size) } == 0;
        (ok && size.ws_col > 0).then_some(usize::from(size.ws_col))
    }
    #[cfg(not(unix))]
    {
        None
    }
}
