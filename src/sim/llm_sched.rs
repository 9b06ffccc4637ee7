//! sim layer: one replica's iteration scheduler inside the LLM fleet — the rules of
//! [`super::llm`] (FIFO admission while `max_num_seqs` and KV blocks allow, prompts
//! prefilled together or in chunks, a token per running sequence per decode
//! iteration, KV freed at completion, preemption by recompute), with runs of uniform
//! decode iterations advanced in closed form: between scheduler changes every decode
//! iteration makes one token per running sequence and its time grows linearly with
//! the context, so k of them take k·D₀ + e·n·k(k − 1)/2 and cost one event, not k.

use std::collections::VecDeque;

use super::llm_seq::{Params, Seq};

/// What the replica is doing until its next boundary.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(super) enum Step {
    /// Nothing to run.
    Idle,
    /// One iteration processed at its start `t0`, ending at `end`.
    Single { end: f64 },
    /// `k` uniform decode iterations from `t0`: iteration m takes `base + incr·m`.
    Run {
        t0: f64,
        k: u64,
        base: f64,
        incr: f64,
    },
}

/// Time of the first `j` iterations of a run.
fn run_ms(j: u64, base: f64, incr: f64) -> f64 {
    let j = j as f64;
    j * base + incr * j * (j - 1.0) / 2.0
}

/// Measured counters of one replica (zeroed when measurement begins).
#[derive(Debug, Clone, Copy, Default)]
pub(super) struct Counters {
    pub tokens: u64,
    pub seq_ms: f64,
    pub block_ms: f64,
    pub preemptions: u64,
}

/// One replica's scheduler.
#[derive(Debug, Clone)]
pub(super) struct Sched {
    pub running: Vec<Seq>,
    pub waiting: VecDeque<Seq>,
    pub used_blocks: u64,
    /// Blocks the waiting sequences will need at admission.
    pub waiting_blocks: u64,
    pub step: Step,
    /// A single iteration's completions and counters, given at its end.
    pending_done: Vec<Seq>,
    pending: Counters,
    pub counters: Counters,
    /// Bumped whenever the pending boundary event is replaced.
    pub epoch: u32,
}

impl Sched {
    pub fn new() -> Self {
        Self {
            running: Vec::new(),
            waiting: VecDeque::new(),
            used_blocks: 0,
            waiting_blocks: 0,
            step: Step::Idle,
            pending_done: Vec::new(),
            pending: Counters::default(),
            counters: Counters::default(),
            epoch: 0,
        }
    }

    /// Sequences held (running or waiting).
    pub fn load(&self) -> usize {
        self.running.len() + self.waiting.len()
    }

    /// Whether `s` fits beside everything already running and waiting here.
    pub fn room(&self, p: &Params, s: &Seq) -> bool {
        self.load() < p.max_num_seqs
            && self.used_blocks + self.waiting_blocks + p.held(s) <= p.total_blocks
    }

    /// Queues `s` here; returns whether it is the head of the queue (it may change
    /// what the next iteration does).
    pub fn push(&mut self, p: &Params, s: Seq) -> bool {
        self.waiting_blocks += p.held(&s);
        self.waiting.push_back(s);
        self.waiting.len() == 1
    }

    /// Admits waiting sequences FIFO while slots, KV blocks and `budget` prefill tokens
    /// allow; returns the prefill tokens of this iteration.
    fn admit(&mut self, p: &Params, mut budget: u64) -> u64 {
        let mut tokens = 0;
        for s in self.running.iter_mut().filter(|s| s.to_prefill > 0) {
            let take = s.to_prefill.min(budget);
            s.to_prefill -= take;
            budget -= take;
            tokens += take;
        }
        while budget > 0 && self.running.len() < p.max_num_seqs {
            let Some(next) = self.waiting.front() else {
                break;
            };
            let need = p.held(next);
            if self.used_blocks + need > p.total_blocks {
                break;
            }
            let Some(mut s) = self.waiting.pop_front() else {
                break;
            };
            self.waiting_blocks -= need;
            self.used_blocks += need;
            let take = s.to_prefill.min(budget);
            s.to_prefill -= take;
            budget -= take;
            tokens += take;
            self.running.push(s);
        }
        tokens
    }

    /// One token for every decoding sequence; a sequence crossing into a new block
    /// with none free preempts the newest running one. Returns the tokens made.
    fn decode(&mut self, p: &Params) -> u64 {
        let mut made = 0;
        let mut i = 0;
        while i < self.running.len() {
            if !self.running[i].decoding() {
                i += 1;
                continue;
            }
            let at_boundary = self.running[i].context().is_multiple_of(p.block);
            if at_boundary && self.used_blocks >= p.total_blocks {
                let Some(mut victim) = self.running.pop() else {
                    break;
                };
                self.used_blocks -= p.held(&victim);
                victim.to_prefill = victim.context() - p.cached(victim.prompt);
                self.waiting_blocks += p.held(&victim);
                self.waiting.push_front(victim);
                self.pending.preemptions += 1;
                continue;
            }
            if at_boundary {
                self.used_blocks += 1;
            }
            let s = &mut self.running[i];
            s.generated += 1;
            made += 1;
            if s.generated >= s.output {
                let s = self.running.remove(i);
                self.used_blocks -= p.held(&s);
                self.pending_done.push(s);
                continue;
            }
            i += 1;
        }
        made
    }

    /// Plans what runs from `t`: one iteration (admission, prefill, a preemption) or
    /// a run of uniform decode iterations. Returns its end, or `None` when the
    /// replica has nothing to do.
    pub fn begin(&mut self, p: &Params, t: f64) -> Option<f64> {
        if self.running.is_empty() && self.waiting.is_empty() {
            self.step = Step::Idle;
            return None;
        }
        let decoding = self.running.iter().filter(|s| s.decoding()).count();
        let prefill = match p.chunk {
            None => self.admit(p, u64::MAX),
            Some(k) => self.admit(p, k.saturating_sub(decoding as u64)),
        };
        if prefill == 0 && !self.running.is_empty() && self.running.iter().all(Seq::decoding) {
            let k = self.uniform_run(p);
            if k > 0 {
                let n = self.running.len();
                let ctx: u64 = self.running.iter().map(Seq::context).sum();
                let base = p.decode_ms(n, ctx);
                let incr = p.it.decode_ms_per_context_token * n as f64;
                self.step = Step::Run {
                    t0: t,
                    k,
                    base,
                    incr,
                };
                return Some(t + run_ms(k, base, incr));
            }
        }
        Some(self.single(p, t, prefill, decoding))
    }

    /// Decode iterations that can run unchanged: to the next completion, and while
    /// the blocks the sequences cross into are free (0: the next one preempts).
    fn uniform_run(&self, p: &Params) -> u64 {
        let k_max = self
            .running
            .iter()
            .map(|s| s.output.saturating_sub(s.generated))
            .min()
            .unwrap_or(0);
        let need = |k: u64| -> u64 {
            self.running
                .iter()
                .map(|s| {
                    let c = s.context();
                    (c + k - 1) / p.block - (c - 1) / p.block
                })
                .sum()
        };
        let free = p.total_blocks.saturating_sub(self.used_blocks);
        if k_max == 0 || need(k_max) <= free {
            return k_max;
        }
        // The largest k whose new blocks fit (need grows with k).
        let (mut lo, mut hi) = (0, k_max);
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if need(mid) <= free {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        lo
    }

    /// One iteration from `t`, as [`super::llm`] runs it; returns its end.
    fn single(&mut self, p: &Params, t: f64, prefill: u64, decoding: usize) -> f64 {
        let it = &p.it;
        let (dt, mut made) = match p.chunk {
            None if prefill > 0 => (
                it.prefill_base_ms + it.prefill_ms_per_token * prefill as f64,
                0,
            ),
            None => {
                let ctx: u64 = self.running.iter().map(Seq::context).sum();
                (p.decode_ms(self.running.len(), ctx), self.decode(p))
            }
            Some(_) => {
                let ctx: u64 = self
                    .running
                    .iter()
                    .filter(|s| s.decoding())
                    .map(Seq::context)
                    .sum();
                let dt = p.decode_ms(decoding, ctx) + it.prefill_ms_per_token * prefill as f64;
                (dt, self.decode(p))
            }
        };
        let end = t + dt;
        for s in self.running.iter_mut() {
            if s.to_prefill == 0 && s.first_token_ms.is_none() {
                s.first_token_ms = Some(end);
                s.generated = s.generated.max(1);
                made += 1;
            }
        }
        let mut i = 0;
        while i < self.running.len() {
            if self.running[i].generated >= self.running[i].output {
                let s = self.running.remove(i);
                self.used_blocks -= p.held(&s);
                self.pending_done.push(s);
            } else {
                i += 1;
            }
        }
        self.pending.tokens += made;
        self.pending.seq_ms += self.running.len() as f64 * dt;
        self.pending.block_ms += self.used_blocks as f64 * dt;
        self.step = Step::Single { end };
        end
    }

    /// The boundary at `t`: the step's tokens counted (when `measure`), and the
    /// sequences it completed moved to `done`.
    pub fn finish(&mut self, p: &Params, t: f64, measure: bool, done: &mut Vec<Seq>) {
        match self.step {
            Step::Idle => {}
            Step::Single { .. } => done.append(&mut self.pending_done),
            Step::Run { k, .. } => self.advance_run(p, k, t, done),
        }
        let c = std::mem::take(&mut self.pending);
        if measure {
            self.counters.tokens += c.tokens;
            self.counters.seq_ms += c.seq_ms;
            self.counters.block_ms += c.block_ms;
            self.counters.preemptions += c.preemptions;
        }
        self.step = Step::Idle;
    }

    /// Applies `k` iterations of the pending run ending at `t`.
    fn advance_run(&mut self, p: &Params, k: u64, t: f64, done: &mut Vec<Seq>) {
        let Step::Run { t0, .. } = self.step else {
            return;
        };
        let blocks_before = self.used_blocks as f64;
        let mut grown = 0;
        let n = self.running.len();
        let mut i = 0;
        while i < self.running.len() {
            let s = &mut self.running[i];
            let c = s.context();
            let more = (c + k).saturating_sub(1) / p.block - (c - 1) / p.block;
            self.used_blocks += more;
            grown += more;
            s.generated += k;
            if s.generated >= s.output {
                let s = self.running.remove(i);
                self.used_blocks -= p.held(&s);
                done.push(s);
            } else {
                i += 1;
            }
        }
        let dt = t - t0;
        self.pending.tokens += n as u64 * k;
        self.pending.seq_ms += n as f64 * dt;
        // Blocks grow through the run (those completing are held to its end); their
        // time-average is close to the midpoint.
        self.pending.block_ms += (blocks_before + grown as f64 / 2.0) * dt;
    }

    /// A sequence queued here at `a`: a run in progress stops at the end of the
    /// iteration running at `a` (the next admission sees it). Returns the new end
    /// when it changed.
    pub fn cut(&mut self, a: f64) -> Option<f64> {
        let Step::Run { t0, k, base, incr } = self.step else {
            return None;
        };
        // Iterations that started before a (the iteration starting at a sees it).
        let (mut lo, mut hi) = (0, k);
        while lo < hi {
            let mid = (lo + hi).div_ceil(2);
            if t0 + run_ms(mid - 1, base, incr) < a {
                lo = mid;
            } else {
                hi = mid - 1;
            }
        }
        if lo >= k {
            return None;
        }
        self.step = Step::Run {
            t0,
            k: lo,
            base,
            incr,
        };
        Some(t0 + run_ms(lo, base, incr))
    }

    /// The replica is lost at `t` (a spot interruption): every sequence it held, in
    /// admission order then queue order, to be prefilled again elsewhere (prompt and
    /// generated tokens, less the cached prefix); tokens it had not delivered by `t`
    /// are lost with it.
    pub fn lose(&mut self, p: &Params, t: f64, measure: bool) -> Vec<Seq> {
        if let Step::Run { t0, k, base, incr } = self.step {
            // Iterations that ended by t delivered their tokens.
            let done_k = (0..=k)
                .rev()
                .find(|&j| t0 + run_ms(j, base, incr) <= t)
                .unwrap_or(0);
            let mut none = Vec::new();
            self.advance_run(p, done_k.min(k.saturating_sub(1)), t, &mut none);
            debug_assert!(none.is_empty());
            if measure {
                self.counters.tokens += self.pending.tokens;
                self.counters.seq_ms += self.pending.seq_ms;
                self.counters.block_ms += self.pending.block_ms;
            }
        }
        let mut lost: Vec<Seq> = self.running.drain(..).collect();
        lost.append(&mut self.pending_done);
        lost.extend(self.waiting.drain(..));
        for s in &mut lost {
            if s.first_token_ms.is_some_and(|f| f > t) {
                s.first_token_ms = None;
                s.generated = 0;
            }
            s.to_prefill = (s.context() - p.cached(s.prompt)).max(1);
        }
        self.used_blocks = 0;
        self.waiting_blocks = 0;
        self.pending = Counters::default();
        self.step = Step::Idle;
        lost
    }
}
