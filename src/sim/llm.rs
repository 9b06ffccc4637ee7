//! sim layer: one LLM replica iteration by iteration, the reference the analytic
//! replica ([`crate::model::llm_replica`]) is checked against — a vLLM-like scheduler:
//! FIFO admission while KV blocks and `max_num_seqs` allow, prompts prefilled together
//! in one iteration (or in chunks within a token budget), one token per running
//! sequence per decode iteration, KV freed at completion, and preemption by recompute
//! (the newest running sequence goes back to the head of the queue) when a sequence
//! needs a block and none is free. Seeded: the same seed gives the same run.

use std::collections::VecDeque;

use serde::Serialize;

use super::rng::{Rng, UnitVariate};
use super::stats::{Histogram, SimLatency};
use crate::model::llm_replica::Replica;

/// What to simulate: a constant rate on one replica.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct LlmSimOptions {
    /// Arrivals per second (Poisson when the replica's arrival CV is 1).
    pub rate_rps: f64,
    /// Simulated seconds measured, after the warm-up.
    pub measure_s: f64,
    /// Simulated seconds before measuring (the empty start is not steady).
    pub warmup_s: f64,
    /// Seed of the random streams.
    pub seed: u64,
}

/// What the simulated replica did in the measured window.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct LlmSimResult {
    /// Requests that arrived in the window and completed.
    pub completed: u64,
    /// Time to first token, ms.
    pub ttft_ms: Option<SimLatency>,
    /// Per request, the mean time between its output tokens, ms.
    pub tpot_ms: Option<SimLatency>,
    /// Whole request, ms.
    pub e2e_ms: Option<SimLatency>,
    /// Output tokens generated per second in the window.
    pub output_tokens_per_s: f64,
    /// Time-average running sequences.
    pub mean_running_seqs: f64,
    /// Time-average share of KV blocks in use.
    pub kv_utilization: f64,
    /// Sequences preempted (KV exhausted) in the window.
    pub preemptions: u64,
    /// Requests still waiting or running when the window closed.
    pub unfinished: usize,
}

/// A request in the replica.
#[derive(Debug, Clone, Copy)]
struct Seq {
    arrival_ms: f64,
    prompt: u64,
    /// Tokens still to prefill (the uncached prompt, plus what a preemption lost).
    to_prefill: u64,
    output: u64,
    generated: u64,
    first_token_ms: Option<f64>,
}

impl Seq {
    fn context(&self) -> u64 {
        self.prompt + self.generated
    }

    /// Prefilled and past its first token: it makes a token every decode iteration.
    fn decoding(&self) -> bool {
        self.to_prefill == 0 && self.first_token_ms.is_some()
    }
}

/// The replica's state between iterations.
struct Replica1<'a> {
    r: &'a Replica,
    block: u64,
    total_blocks: u64,
    used_blocks: u64,
    waiting: VecDeque<Seq>,
    running: Vec<Seq>,
    preemptions: u64,
}

fn blocks_for(tokens: u64, block: u64) -> u64 {
    tokens.div_ceil(block)
}

/// Blocks a sequence holds: its prompt and generated tokens, and from admission the
/// slot of the first token its prefill makes.
fn held(s: &Seq, block: u64) -> u64 {
    blocks_for(s.prompt + s.generated.max(1), block)
}

impl Replica1<'_> {
    /// Admits waiting sequences FIFO while slots, KV blocks and `budget` prefill tokens
    /// allow; returns the prefill tokens of this iteration (the admitted and those
    /// already running but not yet prefilled).
    fn admit(&mut self, mut budget: u64) -> u64 {
        let mut tokens = 0;
        for s in self.running.iter_mut().filter(|s| s.to_prefill > 0) {
            let take = s.to_prefill.min(budget);
            s.to_prefill -= take;
            budget -= take;
            tokens += take;
        }
        while budget > 0 && self.running.len() < self.r.max_num_seqs as usize {
            let Some(next) = self.waiting.front() else {
                break;
            };
            let need = held(next, self.block);
            if self.used_blocks + need > self.total_blocks {
                break;
            }
            let Some(mut s) = self.waiting.pop_front() else {
                break;
            };
            self.used_blocks += need;
            let take = s.to_prefill.min(budget);
            s.to_prefill -= take;
            budget -= take;
            tokens += take;
            self.running.push(s);
        }
        tokens
    }

    /// One token for every prefilled running sequence; a sequence crossing into a new
    /// block with none free preempts the newest running one. Returns the tokens made.
    fn decode(&mut self, done: &mut Vec<Seq>) -> u64 {
        let mut made = 0;
        let mut i = 0;
        while i < self.running.len() {
            if !self.running[i].decoding() {
                i += 1;
                continue;
            }
            let ctx = self.running[i].context();
            if ctx.is_multiple_of(self.block) && self.used_blocks >= self.total_blocks {
                // Recompute: the newest goes back to the queue's head with its blocks freed.
                let Some(mut victim) = self.running.pop() else {
                    break;
                };
                self.used_blocks -= held(&victim, self.block);
                victim.to_prefill = victim.context() - self.cached(victim.prompt);
                self.waiting.push_front(victim);
                self.preemptions += 1;
                continue;
            }
            if ctx.is_multiple_of(self.block) {
                self.used_blocks += 1;
            }
            let s = &mut self.running[i];
            s.generated += 1;
            made += 1;
            if s.generated >= s.output {
                let s = self.running.remove(i);
                self.used_blocks -= held(&s, self.block);
                done.push(s);
                continue;
            }
            i += 1;
        }
        made
    }

    /// Prompt tokens a prefix cache serves of a `prompt`-token prompt.
    fn cached(&self, prompt: u64) -> u64 {
        let share = 1.0 - self.r.prefill_tokens / self.r.prompt_tokens;
        ((prompt as f64) * share).floor() as u64
    }
}

/// Simulates one replica at `options.rate_rps`.
pub fn simulate_replica(r: &Replica, options: &LlmSimOptions) -> LlmSimResult {
    let mut rng = Rng::substream(options.seed, 0);
    let mut lengths = Rng::substream(options.seed, 1);
    let gap = UnitVariate::with_cv(r.arrival_cv);
    let (prompt_v, output_v) = (
        UnitVariate::with_cv(r.prompt_cv),
        UnitVariate::with_cv(r.output_cv),
    );
    let block = r.block_tokens.max(1.0) as u64;
    let mut rep = Replica1 {
        r,
        block,
        total_blocks: (r.kv_capacity_tokens / r.block_tokens).floor() as u64,
        used_blocks: 0,
        waiting: VecDeque::new(),
        running: Vec::new(),
        preemptions: 0,
    };
    let mean_gap_ms = 1000.0 / options.rate_rps.max(f64::MIN_POSITIVE);
    let (start_ms, end_ms) = (
        options.warmup_s * 1000.0,
        (options.warmup_s + options.measure_s) * 1000.0,
    );
    let mut next_arrival_ms = gap.sample(&mut rng) * mean_gap_ms;
    let (mut ttft, mut tpot, mut e2e) = (Histogram::new(), Histogram::new(), Histogram::new());
    let (mut t, mut completed, mut tokens) = (0.0, 0u64, 0u64);
    let (mut seq_ms, mut block_ms) = (0.0, 0.0);
    let mut done = Vec::new();
    let mut preempted_before = 0;
    while t < end_ms {
        while next_arrival_ms <= t {
            let prompt = ((r.prompt_tokens * prompt_v.sample(&mut lengths)).round() as u64).max(1);
            let output = ((r.output_tokens * output_v.sample(&mut lengths)).round() as u64).max(1);
            rep.waiting.push_back(Seq {
                arrival_ms: next_arrival_ms,
                prompt,
                to_prefill: (prompt - rep.cached(prompt)).max(1),
                output,
                generated: 0,
                first_token_ms: None,
            });
            next_arrival_ms += gap.sample(&mut rng) * mean_gap_ms;
        }
        if rep.running.is_empty() && rep.waiting.is_empty() {
            t = next_arrival_ms;
            continue;
        }
        if t < start_ms {
            preempted_before = rep.preemptions;
        }
        let it = &r.iteration;
        let (dt, mut made) = match r.chunk_tokens {
            None => {
                let prefill = rep.admit(u64::MAX);
                if prefill > 0 {
                    (
                        it.prefill_base_ms + it.prefill_ms_per_token * prefill as f64,
                        0,
                    )
                } else {
                    let n = rep.running.len() as f64;
                    let ctx: u64 = rep.running.iter().map(Seq::context).sum();
                    let dt = it.decode_base_ms
                        + it.decode_ms_per_seq * n
                        + it.decode_ms_per_context_token * ctx as f64;
                    (dt, rep.decode(&mut done))
                }
            }
            Some(k) => {
                let decoding: Vec<u64> = rep
                    .running
                    .iter()
                    .filter(|s| s.decoding())
                    .map(Seq::context)
                    .collect();
                let n = decoding.len() as u64;
                let prefill = rep.admit((k as u64).saturating_sub(n));
                let dt = it.decode_base_ms
                    + it.decode_ms_per_seq * n as f64
                    + it.decode_ms_per_context_token * decoding.iter().sum::<u64>() as f64
                    + it.prefill_ms_per_token * prefill as f64;
                (dt, rep.decode(&mut done))
            }
        };
        let end = t + dt;
        // Sequences whose prefill finished produce their first token at the end.
        for s in rep.running.iter_mut() {
            if s.to_prefill == 0 && s.first_token_ms.is_none() {
                s.first_token_ms = Some(end);
                s.generated = s.generated.max(1);
                made += 1;
            }
        }
        let finished_by_prefill: Vec<usize> = (0..rep.running.len())
            .filter(|&i| rep.running[i].generated >= rep.running[i].output)
            .collect();
        for i in finished_by_prefill.into_iter().rev() {
            let s = rep.running.remove(i);
            rep.used_blocks -= held(&s, block);
            done.push(s);
        }
        if t >= start_ms {
            seq_ms += rep.running.len() as f64 * dt;
            block_ms += rep.used_blocks as f64 * dt;
            tokens += made;
        }
        for s in done.drain(..) {
            if s.arrival_ms < start_ms {
                continue;
            }
            let first = s.first_token_ms.unwrap_or(end);
            ttft.record(first - s.arrival_ms);
            e2e.record(end - s.arrival_ms);
            if s.output > 1 {
                tpot.record((end - first) / (s.output - 1) as f64);
            }
            completed += 1;
        }
        t = end;
    }
    let window_ms = (t - start_ms).max(f64::MIN_POSITIVE);
    LlmSimResult {
        completed,
        ttft_ms: ttft.summary(),
        tpot_ms: tpot.summary(),
        e2e_ms: e2e.summary(),
        output_tokens_per_s: tokens as f64 / window_ms * 1000.0,
        mean_running_seqs: seq_ms / window_ms,
        kv_utilization: block_ms / window_ms / rep.total_blocks.max(1) as f64,
        preemptions: rep.preemptions - preempted_before,
        unfinished: rep.waiting.len() + rep.running.len(),
    }
}
