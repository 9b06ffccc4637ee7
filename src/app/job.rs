//! App layer: one background job — a named worker thread whose result comes back over
//! a channel, with optional progress messages and a cancel flag. The window only polls
//! it, so it never blocks on a worker; a worker that panics or vanishes becomes an error
//! the panel can show, never a panel left "running" forever.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{Receiver, Sender, TryRecvError, channel};
use std::thread::JoinHandle;

use eframe::egui;

/// Why a job gave no result.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum JobError {
    /// The worker panicked; the panic message, when it had one.
    #[error("the {name} worker stopped unexpectedly: {message}")]
    Panicked {
        /// The job's name, e.g. "profiler".
        name: String,
        /// What the panic said.
        message: String,
    },
    /// The worker's end of the channel went away without a result or a caught panic.
    #[error("the {name} worker stopped unexpectedly without a result")]
    Disconnected {
        /// The job's name.
        name: String,
    },
}

/// What the worker's closure gets: the cancel flag and the progress channel.
pub struct Worker<P> {
    cancel: Arc<AtomicBool>,
    progress: Sender<P>,
    repaint: egui::Context,
}

impl<P> Worker<P> {
    /// True once [`BackgroundJob::cancel`] was called.
    pub fn cancelled(&self) -> bool {
        self.cancel.load(Ordering::Relaxed)
    }

    /// The cancel flag itself, for code that polls an `Arc<AtomicBool>` of its own
    /// (the profiler's options).
    pub fn cancel_flag(&self) -> Arc<AtomicBool> {
        Arc::clone(&self.cancel)
    }

    /// Sends one progress message and wakes the window to show it.
    pub fn progress(&self, message: P) {
        // The window may have closed meanwhile; a lost progress message is harmless.
        let _ = self.progress.send(message);
        self.repaint.request_repaint();
    }
}

/// A job on a named worker thread: spawn it, then [`poll`](Self::poll) once per frame.
pub struct BackgroundJob<T, P = ()> {
    name: String,
    result: Receiver<Result<T, String>>,
    progress: Receiver<P>,
    cancel: Arc<AtomicBool>,
    handle: Option<JoinHandle<()>>,
    finished: bool,
}

impl<T, P> std::fmt::Debug for BackgroundJob<T, P> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("BackgroundJob")
            .field("name", &self.name)
            .field("running", &self.running())
            .finish_non_exhaustive()
    }
}

/// The text of a panic payload (`panic!("…")` gives a `&str` or a `String`).
fn panic_message(payload: &(dyn Any + Send)) -> String {
    payload
        .downcast_ref::<&str>()
        .map(|s| (*s).to_owned())
        .or_else(|| payload.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "a panic without a message".to_owned())
}

impl<T: Send + 'static, P: Send + 'static> BackgroundJob<T, P> {
    /// Runs `work` on a thread named `costscope-<name>`; `ctx` is asked to repaint when
    /// it finishes (result or panic), so the window polls it at once. Fails only when
    /// the OS will not start a thread.
    pub fn spawn(
        name: &str,
        ctx: &egui::Context,
        work: impl FnOnce(&Worker<P>) -> T + Send + 'static,
    ) -> std::io::Result<Self> {
        Self::spawn_with_cancel(name, ctx, Arc::new(AtomicBool::new(false)), work)
    }

    /// [`spawn`](Self::spawn) with a cancel flag made beforehand (the profiler's
    /// options carry one of their own).
    pub fn spawn_with_cancel(
        name: &str,
        ctx: &egui::Context,
        cancel: Arc<AtomicBool>,
        work: impl FnOnce(&Worker<P>) -> T + Send + 'static,
    ) -> std::io::Result<Self> {
        let (result_tx, result) = channel();
        let (progress_tx, progress) = channel();
        let worker = Worker {
            cancel: Arc::clone(&cancel),
            progress: progress_tx,
            repaint: ctx.clone(),
        };
        let handle = std::thread::Builder::new()
            .name(format!("costscope-{name}"))
            .spawn(move || {
                // A panic becomes an error message for the panel instead of a silently
                // closed channel; the default hook has already printed it to stderr.
                let outcome = catch_unwind(AssertUnwindSafe(|| work(&worker)))
                    .map_err(|payload| panic_message(payload.as_ref()));
                // The window may have closed meanwhile; then nobody needs the result.
                let _ = result_tx.send(outcome);
                worker.repaint.request_repaint();
            })?;
        Ok(Self {
            name: name.to_owned(),
            result,
            progress,
            cancel,
            handle: Some(handle),
            finished: false,
        })
    }
}

impl<T, P> BackgroundJob<T, P> {
    /// True until [`poll`](Self::poll) has handed out the outcome.
    pub fn running(&self) -> bool {
        !self.finished
    }

    /// The job's name, e.g. "profiler".
    pub fn name(&self) -> &str {
        &self.name
    }

    /// Asks the worker to stop; it sees the flag the next time it looks.
    pub fn cancel(&self) {
        self.cancel.store(true, Ordering::Relaxed);
    }

    /// The progress messages sent since the last call.
    pub fn progress(&self) -> Vec<P> {
        self.progress.try_iter().collect()
    }

    /// The outcome, once: `None` while the worker runs and after the outcome was taken.
    pub fn poll(&mut self) -> Option<Result<T, JobError>> {
        if self.finished {
            return None;
        }
        let outcome = match self.result.try_recv() {
            Err(TryRecvError::Empty) => return None,
            Ok(Ok(value)) => Ok(value),
            Ok(Err(message)) => Err(self.panicked(message)),
            Err(TryRecvError::Disconnected) => Err(self.disconnected()),
        };
        self.finished = true;
        // The thread has sent its last message; joining only reaps it.
        if let Some(handle) = self.handle.take() {
            let _ = handle.join();
        }
        Some(outcome)
    }

    fn panicked(&self, message: String) -> JobError {
        JobError::Panicked {
            name: self.name.clone(),
            message,
        }
    }

    /// The channel closed without a message: the thread ended past `catch_unwind` (a
    /// panic while sending, say). Joining it gives the panic's payload when there is one.
    fn disconnected(&mut self) -> JobError {
        match self.handle.take().map(JoinHandle::join) {
            Some(Err(payload)) => self.panicked(panic_message(payload.as_ref())),
            _ => JobError::Disconnected {
                name: self.name.clone(),
            },
        }
    }
}

/// A job dropped while its worker runs (the window closing, a panel's state replaced)
/// asks the worker to stop and waits for it: a worker still inside the GPU driver while
/// the process exits runs into the driver's own teardown (Mesa's, seen as heap
/// corruption at exit), so no worker outlives its job.
impl<T, P> Drop for BackgroundJob<T, P> {
    fn drop(&mut self) {
        if let Some(handle) = self.handle.take() {
            self.cancel.store(true, Ordering::Relaxed);
            let _ = handle.join();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::{Duration, Instant};

    /// Polls until the job finishes (or fails the test after ten seconds).
    fn wait<T, P>(job: &mut BackgroundJob<T, P>) -> Result<T, JobError> {
        let start = Instant::now();
        loop {
            if let Some(outcome) = job.poll() {
                return outcome;
            }
            assert!(start.elapsed() < Duration::from_secs(10), "the job hung");
            std::thread::sleep(Duration::from_millis(5));
        }
    }

    #[test]
    fn a_job_that_returns_gives_its_value_once() {
        let ctx = egui::Context::default();
        let mut job: BackgroundJob<u32> = BackgroundJob::spawn("adder", &ctx, |_| 2 + 2).unwrap();
        assert_eq!(wait(&mut job), Ok(4));
        assert!(!job.running());
        assert_eq!(job.poll(), None, "the outcome is handed out once");
    }

    #[test]
    fn a_dropped_job_cancels_its_worker_and_waits_for_it() {
        let ctx = egui::Context::default();
        let ended = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&ended);
        let job: BackgroundJob<u32> = BackgroundJob::spawn("sleeper", &ctx, move |w| {
            let start = Instant::now();
            while !w.cancelled() && start.elapsed() < Duration::from_secs(10) {
                std::thread::sleep(Duration::from_millis(1));
            }
            std::thread::sleep(Duration::from_millis(20));
            flag.store(true, Ordering::SeqCst);
            1
        })
        .unwrap();
        let start = Instant::now();
        drop(job);
        assert!(ended.load(Ordering::SeqCst), "the worker outlived its job");
        assert!(
            start.elapsed() < Duration::from_secs(5),
            "the drop did not cancel"
        );
    }

    #[test]
    fn a_job_that_panics_gives_an_error_with_the_message() {
        let ctx = egui::Context::default();
        let mut job: BackgroundJob<u32> =
            BackgroundJob::spawn("doomed", &ctx, |_| panic!("out of cheese")).unwrap();
        let err = wait(&mut job).unwrap_err();
        assert!(!job.running());
        assert_eq!(
            err.to_string(),
            "the doomed worker stopped unexpectedly: out of cheese"
        );
        let mut job: BackgroundJob<u32> =
            BackgroundJob::spawn("formatted", &ctx, |_| panic!("row {} of {}", 3, 4)).unwrap();
        let err = wait(&mut job).unwrap_err();
        assert!(err.to_string().ends_with(": row 3 of 4"), "{err}");
    }

    #[test]
    fn a_vanished_worker_is_an_error_too() {
        let (tx, result) = channel::<Result<u32, String>>();
        drop(tx);
        let mut job: BackgroundJob<u32> = BackgroundJob {
            name: "ghost".into(),
            result,
            progress: channel().1,
            cancel: Arc::default(),
            handle: Some(std::thread::spawn(|| {
                std::panic::resume_unwind(Box::new("gone"))
            })),
            finished: false,
        };
        let err = wait(&mut job).unwrap_err();
        assert_eq!(
            err.to_string(),
            "the ghost worker stopped unexpectedly: gone"
        );
        assert!(!job.running());
    }

    #[test]
    fn the_cancel_flag_and_progress_reach_across() {
        let ctx = egui::Context::default();
        let mut job: BackgroundJob<u32, u32> = BackgroundJob::spawn("counter", &ctx, |w| {
            let mut n = 0;
            while !w.cancelled() {
                w.progress(n);
                n += 1;
                std::thread::sleep(Duration::from_millis(1));
            }
            n
        })
        .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        assert!(job.running());
        job.cancel();
        let n = wait(&mut job).unwrap();
        let seen = job.progress();
        assert_eq!(
            seen,
            (0..n).collect::<Vec<_>>(),
            "every progress message, in order"
        );
    }

    #[test]
    fn threads_the_worker_starts_share_its_progress_and_cancel() {
        let ctx = egui::Context::default();
        let mut job: BackgroundJob<Vec<u32>, (usize, u32)> =
            BackgroundJob::spawn("fleets", &ctx, |w| {
                std::thread::scope(|scope| {
                    let hs: Vec<_> = (0..3)
                        .map(|i| {
                            scope.spawn(move || {
                                let mut n = 0;
                                while !w.cancelled() {
                                    w.progress((i, n));
                                    n += 1;
                                    std::thread::sleep(Duration::from_millis(1));
                                }
                                n
                            })
                        })
                        .collect();
                    hs.into_iter().map(|h| h.join().unwrap()).collect()
                })
            })
            .unwrap();
        std::thread::sleep(Duration::from_millis(20));
        job.cancel();
        let counts = wait(&mut job).unwrap();
        let seen = job.progress();
        for (i, n) in counts.into_iter().enumerate() {
            let mine: Vec<u32> = seen.iter().filter(|p| p.0 == i).map(|p| p.1).collect();
            assert_eq!(
                mine,
                (0..n).collect::<Vec<_>>(),
                "thread {i}'s messages, in order"
            );
        }
    }

    #[test]
    fn an_outside_cancel_flag_is_the_one_the_worker_sees() {
        let ctx = egui::Context::default();
        let flag = Arc::new(AtomicBool::new(false));
        let mut job: BackgroundJob<bool> =
            BackgroundJob::spawn_with_cancel("flagged", &ctx, Arc::clone(&flag), |w| {
                while !w.cancelled() {
                    std::thread::sleep(Duration::from_millis(1));
                }
                w.cancel_flag().load(Ordering::Relaxed)
            })
            .unwrap();
        flag.store(true, Ordering::Relaxed);
        assert_eq!(wait(&mut job), Ok(true));
    }
}
