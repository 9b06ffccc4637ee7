//! profile layer: the CPU pass's worker threads, started once and kept. A bert-base
//! pass runs ~100 parallel operators; starting and joining a thread for each
//! (`std::thread::scope`) costs ~50 µs median on a 2-vCPU VM, a few % of a 100 ms pass,
//! while a kept worker that spins briefly before it parks picks the next operator up
//! within a microsecond.

use std::any::Any;
use std::panic::{AssertUnwindSafe, catch_unwind, resume_unwind};
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Condvar, Mutex, MutexGuard, OnceLock};
use std::time::{Duration, Instant};

/// A job: called once with each part index.
type Job = dyn Fn(usize) + Sync;

/// How long an idle worker spins for the next job before it parks: longer than the gap
/// between two operators of a pass, short enough not to hold a core between passes.
const SPIN: Duration = Duration::from_micros(200);

/// The job being run, as the workers see it.
#[derive(Clone, Copy)]
struct Posted {
    /// Bumped once per job.
    generation: u64,
    /// The caller's closure, lifetime erased; valid while its job's parts run (the
    /// caller returns only once `pending` is zero).
    job: Option<*const Job>,
    /// Parts of the job: workers 1..parts take one each.
    parts: usize,
}

// SAFETY: the pointer is only dereferenced by the workers that run a part of its job,
// all of which finish before the caller (which owns the closure) returns; the closure
// is `Sync`.
unsafe impl Send for Posted {}

/// State shared by the caller and the workers.
struct Shared {
    posted: Mutex<Posted>,
    /// Signalled when a job is posted, for parked workers.
    wake: Condvar,
    /// The generation workers spin on (a copy of `posted.generation`).
    generation: AtomicU64,
    /// Parts of the current job still running on workers.
    pending: AtomicUsize,
    /// The first panic of a worker's part, rethrown by the caller.
    panic: Mutex<Option<Box<dyn Any + Send>>>,
}

/// The process's pool: `threads() - 1` workers and the lock one caller at a time holds.
struct Pool {
    shared: &'static Shared,
    workers: usize,
    caller: Mutex<()>,
}

fn pool() -> &'static Pool {
    static POOL: OnceLock<Pool> = OnceLock::new();
    POOL.get_or_init(|| {
        let shared: &'static Shared = Box::leak(Box::new(Shared {
            posted: Mutex::new(Posted {
                generation: 0,
                job: None,
                parts: 0,
            }),
            wake: Condvar::new(),
            generation: AtomicU64::new(0),
            pending: AtomicUsize::new(0),
            panic: Mutex::new(None),
        }));
        let want = super::threads().saturating_sub(1);
        let workers = (1..=want)
            .filter(|&index| {
                std::thread::Builder::new()
                    .name(format!("costscope-cpu-{index}"))
                    .spawn(move || work(shared, index))
                    .is_ok()
            })
            .count();
        Pool {
            shared,
            workers,
            caller: Mutex::new(()),
        }
    })
}

/// Locks `m`, taking the data of a lock poisoned by a panic (the state stays valid:
/// every write to it is a whole value).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

/// A worker: waits for each job, runs its part when the job has one for it.
fn work(shared: &'static Shared, index: usize) {
    let mut seen = 0u64;
    loop {
        let start = Instant::now();
        let mut spins = 0u32;
        while shared.generation.load(Ordering::Acquire) == seen {
            std::hint::spin_loop();
            spins += 1;
            if spins.is_multiple_of(64) && start.elapsed() > SPIN {
                break;
            }
        }
        let mut posted = lock(&shared.posted);
        while posted.generation == seen {
            posted = shared.wake.wait(posted).unwrap_or_else(|e| e.into_inner());
        }
        let now = *posted;
        drop(posted);
        seen = now.generation;
        let (Some(job), true) = (now.job, index < now.parts) else {
            continue;
        };
        // SAFETY: this worker has a part of the job, so the caller is still waiting
        // on `pending` and the closure is alive.
        let result = catch_unwind(AssertUnwindSafe(|| unsafe { (*job)(index) }));
        if let Err(payload) = result {
            lock(&shared.panic).get_or_insert(payload);
        }
        shared.pending.fetch_sub(1, Ordering::AcqRel);
    }
}

/// Runs `f(0)`, …, `f(parts − 1)` at once and returns when all have returned: part 0
/// on the calling thread, the others on the pool's workers. With fewer workers than
/// `parts − 1`, or while another thread (or this one, from inside a job) holds the
/// pool, the parts run on threads started for this call instead. A part's panic is
/// rethrown here after every part has finished.
pub fn run(parts: usize, f: &(dyn Fn(usize) + Sync)) {
    if parts <= 1 {
        if parts == 1 {
            f(0);
        }
        return;
    }
    let p = pool();
    let held = (parts - 1 <= p.workers)
        .then(|| p.caller.try_lock().ok())
        .flatten();
    let Some(_held) = held else {
        std::thread::scope(|s| {
            for i in 1..parts {
                s.spawn(move || f(i));
            }
            f(0);
        });
        return;
    };
    let shared = p.shared;
    shared.pending.store(parts - 1, Ordering::Release);
    {
        let mut posted = lock(&shared.posted);
        // SAFETY (of the erased lifetime): this function returns only after `pending`
        // is zero, i.e. after every worker that dereferences the pointer is done.
        let job =
            unsafe { std::mem::transmute::<*const (dyn Fn(usize) + Sync + '_), *const Job>(f) };
        *posted = Posted {
            generation: posted.generation + 1,
            job: Some(job),
            parts,
        };
        shared
            .generation
            .store(posted.generation, Ordering::Release);
    }
    shared.wake.notify_all();
    let mine = catch_unwind(AssertUnwindSafe(|| f(0)));
    while shared.pending.load(Ordering::Acquire) != 0 {
        std::hint::spin_loop();
    }
    if let Err(payload) = mine {
        resume_unwind(payload);
    }
    if let Some(payload) = lock(&shared.panic).take() {
        resume_unwind(payload);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_runs_once_per_call() {
        let counts: Vec<AtomicUsize> = (0..8).map(|_| AtomicUsize::new(0)).collect();
        for _ in 0..500 {
            run(super::super::threads().min(8), &|i| {
                counts[i].fetch_add(1, Ordering::Relaxed);
            });
        }
        let parts = super::super::threads().min(8);
        for (i, c) in counts.iter().enumerate() {
            let want = if i < parts { 500 } else { 0 };
            assert_eq!(c.load(Ordering::Relaxed), want, "part {i}");
        }
    }

    #[test]
    fn more_parts_than_workers_and_nested_calls_still_run() {
        let total = AtomicUsize::new(0);
        run(5, &|_| {
            run(3, &|_| {
                total.fetch_add(1, Ordering::Relaxed);
            });
        });
        assert_eq!(total.load(Ordering::Relaxed), 15);
    }

    #[test]
    fn a_part_that_panics_panics_the_caller_after_all_parts() {
        let done = AtomicUsize::new(0);
        let parts = super::super::threads().max(2);
        let r = catch_unwind(AssertUnwindSafe(|| {
            run(parts, &|i| {
                done.fetch_add(1, Ordering::Relaxed);
                assert!(i != parts - 1, "part {i} fails");
            })
        }));
        assert!(r.is_err(), "the panic reached the caller");
        assert_eq!(done.load(Ordering::Relaxed), parts);
        // The pool still works afterwards.
        let after = AtomicUsize::new(0);
        run(parts, &|_| {
            after.fetch_add(1, Ordering::Relaxed);
        });
        assert_eq!(after.load(Ordering::Relaxed), parts);
    }
}
