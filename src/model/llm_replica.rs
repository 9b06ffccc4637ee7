//! Model layer: one LLM replica under continuous batching in steady state — the
//! running sequences by a fixed point (Little's law with the iteration time at that
//! concurrency), the KV-cache and `max_num_seqs` caps, the admission wait, the prefill
//! and its interference on decode. The formulas and approximations are in docs/llm.md.

use super::llm_kv::kv_admission_wait;
use super::llm_shape::Footprint;
use super::llm_types::{IterationTime, LlmService, Tokens};
use super::queue::{erlang_b, erlang_c_from_b};

/// Bytes in a GB as plans state memory (10⁹).
pub const BYTES_PER_GB: f64 = 1e9;

/// Newton steps of the fixed point; it converges in one for the linear iteration model
/// and in a few with chunked prefill.
const MAX_FIXED_POINT_STEPS: usize = 200;

/// Relative change of the running sequences at which the fixed point has converged.
const FIXED_POINT_TOL: f64 = 1e-10;

/// Bisection steps of the capacity search (relative precision 2⁻⁶⁰).
const CAPACITY_STEPS: usize = 60;

/// A replica's request-independent numbers: token lengths, iteration time, memory.
#[derive(Debug, Clone, PartialEq)]
pub struct Replica {
    /// Mean prompt tokens (all of them are in the KV cache).
    pub prompt_tokens: f64,
    /// Mean prompt tokens prefilled (those not served by the prefix cache).
    pub prefill_tokens: f64,
    /// CV of the prompt length.
    pub prompt_cv: f64,
    /// Mean output tokens.
    pub output_tokens: f64,
    /// CV of the output length.
    pub output_cv: f64,
    /// CV of the inter-arrival times at the replica.
    pub arrival_cv: f64,
    /// The iteration-time model on this hardware (divided by its speed).
    pub iteration: IterationTime,
    /// Chunked prefill's token budget per iteration, if on.
    pub chunk_tokens: Option<f64>,
    /// Weights and KV bytes per token.
    pub footprint: Footprint,
    /// Tokens the KV cache holds: whole blocks of what the weights leave.
    pub kv_capacity_tokens: f64,
    /// Tokens per KV block.
    pub block_tokens: f64,
    /// Most sequences the scheduler runs at once.
    pub max_num_seqs: u32,
}

/// Why a replica cannot carry a load.
#[derive(Debug, Clone, PartialEq)]
pub enum Overload {
    /// Prefills alone take all the replica's time.
    Prefill {
        /// Share of time prefills need (≥ 1).
        share: f64,
    },
    /// Decode steps grow faster with the running sequences than they finish.
    Decode,
    /// The sequences needed exceed what the KV cache holds.
    KvBound {
        /// Sequences the load needs running.
        needed: f64,
        /// Sequences of mean context the KV cache holds.
        fit: u32,
    },
    /// The sequences needed exceed `max_num_seqs`.
    MaxSeqs {
        /// Sequences the load needs running.
        needed: f64,
        /// The scheduler's limit.
        max_num_seqs: u32,
    },
}

impl Overload {
    /// The reason in words, for an infeasible candidate.
    pub fn describe(&self) -> String {
        match *self {
            Overload::Prefill { share } => format!(
                "prefill-bound: prompts need {:.0} % of a replica's time",
                share * 100.0
            ),
            Overload::Decode => {
                "decode-bound: each added sequence slows every step more than it adds".into()
            }
            Overload::KvBound { needed, fit } => {
                format!("KV-bound: needs {needed:.1} sequences running, the KV cache holds {fit}")
            }
            Overload::MaxSeqs {
                needed,
                max_num_seqs,
            } => format!("needs {needed:.1} sequences running, max_num_seqs is {max_num_seqs}"),
        }
    }
}

/// A replica's steady state at one arrival rate.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Steady {
    /// Mean running sequences (the fixed point, below the cap).
    pub running_seqs: f64,
    /// Mean decode step at that concurrency, ms.
    pub decode_step_ms: f64,
    /// Share of the replica's time spent on prefill work.
    pub prefill_share: f64,
    /// Mean time between output tokens of a sequence (decode step stretched by the
    /// prefills between steps), ms: TPOT.
    pub tpot_ms: f64,
    /// Mean wait before the request's own prefill starts once admitted (the running
    /// iteration's remainder and other prompts' prefills), ms.
    pub before_prefill_ms: f64,
    /// Mean time of the request's own prefill, ms.
    pub prefill_ms: f64,
    /// Probability an arrival waits for admission (a free sequence slot and KV).
    pub admission_p_wait: f64,
    /// Mean admission wait of those that wait, ms.
    pub admission_wait_given_wait_ms: f64,
    /// Mean KV tokens in use.
    pub kv_used_tokens: f64,
}

impl Steady {
    /// Mean time to first token on a warm replica, ms.
    pub fn ttft_mean_ms(&self) -> f64 {
        self.admission_p_wait * self.admission_wait_given_wait_ms
            + self.before_prefill_ms
            + self.prefill_ms
    }
}

impl Replica {
    /// A replica of `llm` serving `tokens`, `speed` times as fast as the iteration
    /// model says; `Err` (why, in words) when the weights leave no room for one
    /// sequence's KV cache.
    pub fn new(
        tokens: &Tokens,
        llm: &LlmService,
        footprint: Footprint,
        speed: f64,
        arrival_cv: f64,
    ) -> Result<Self, String> {
        let it = &llm.iteration;
        let speed = speed.max(f64::MIN_POSITIVE);
        let usable_bytes = llm.gpu_memory_gb * BYTES_PER_GB * llm.gpu_memory_utilization;
        let block_tokens = f64::from(llm.kv_block_tokens.max(1));
        let block_bytes = block_tokens * footprint.kv_bytes_per_token;
        let blocks = ((usable_bytes - footprint.weights_bytes) / block_bytes).floor();
        let replica = Self {
            prompt_tokens: tokens.prompt_mean,
            prefill_tokens: tokens.prompt_mean * (1.0 - tokens.prefix_cache_hit),
            prompt_cv: tokens.prompt_cv,
            output_tokens: tokens.output_mean.max(1.0),
            output_cv: tokens.output_cv,
            arrival_cv,
            iteration: IterationTime {
                prefill_base_ms: it.prefill_base_ms / speed,
                prefill_ms_per_token: it.prefill_ms_per_token / speed,
                decode_base_ms: it.decode_base_ms / speed,
                decode_ms_per_seq: it.decode_ms_per_seq / speed,
                decode_ms_per_context_token: it.decode_ms_per_context_token / speed,
            },
            chunk_tokens: llm.chunked_prefill_tokens.map(f64::from),
            footprint,
            kv_capacity_tokens: (blocks.max(0.0) * block_tokens),
            block_tokens,
            max_num_seqs: llm.max_num_seqs,
        };
        if replica.seqs_fit() == 0 {
            let gb = |b: f64| b / BYTES_PER_GB;
            return Err(format!(
                "KV-bound: {} weights of {:.1} GB leave {:.2} GB of {:.0} GB × {} for the KV cache, \
                 less than one sequence of {:.0} tokens ({:.2} GB)",
                llm.model,
                gb(footprint.weights_bytes),
                gb((usable_bytes - footprint.weights_bytes).max(0.0)),
                llm.gpu_memory_gb,
                llm.gpu_memory_utilization,
                replica.kv_tokens_per_seq(),
                gb(replica.kv_tokens_per_seq() * footprint.kv_bytes_per_token),
            ));
        }
        Ok(replica)
    }

    /// Mean context of a running sequence: the whole prompt (cached prefix included)
    /// and the output so far. A sequence runs for a time proportional to its output,
    /// so the running ones are length-biased: the time-average of the output so far is
    /// E[O²]/(2E[O]) = O·(1 + CV²)/2, not O/2.
    pub fn context_tokens_per_seq(&self) -> f64 {
        self.prompt_tokens + self.output_tokens * (1.0 + self.output_cv * self.output_cv) / 2.0
    }

    /// Mean KV tokens a running sequence holds: its context rounded up to whole blocks
    /// (half a block on average).
    pub fn kv_tokens_per_seq(&self) -> f64 {
        self.context_tokens_per_seq() + self.block_tokens / 2.0
    }

    /// Sequences of mean context the KV cache holds.
    pub fn seqs_fit(&self) -> u32 {
        let fit = (self.kv_capacity_tokens / self.kv_tokens_per_seq()).floor();
        fit.clamp(0.0, f64::from(u32::MAX)) as u32
    }

    /// Most sequences running at once: `max_num_seqs` or what the KV cache holds.
    pub fn seq_cap(&self) -> u32 {
        self.max_num_seqs.min(self.seqs_fit())
    }

    /// One decode step with `n` sequences running, ms.
    pub fn decode_ms(&self, n: f64) -> f64 {
        let it = &self.iteration;
        it.decode_base_ms
            + it.decode_ms_per_seq * n
            + it.decode_ms_per_context_token * n * self.context_tokens_per_seq()
    }

    /// Replica time one request's prefill takes from decoding, ms: its own iteration
    /// (base + tokens) without chunking, only its tokens' share with chunking (they
    /// ride in decode iterations).
    fn prefill_cost_ms(&self) -> f64 {
        let tokens_ms = self.iteration.prefill_ms_per_token * self.prefill_tokens;
        match self.chunk_tokens {
            Some(_) => tokens_ms,
            None => self.iteration.prefill_base_ms + tokens_ms,
        }
    }

    /// Iterations a prompt's prefill spans with chunking, at `n` running (continuous:
    /// the fixed point needs a smooth function). At least one.
    fn chunks(&self, budget: f64, n: f64) -> f64 {
        (self.prefill_tokens / (budget - n).max(1.0)).max(1.0)
    }

    /// Sequences in the decode steps a running sequence takes part in, `n` running on
    /// average: itself and the others, which it finds as an arrival does — `n` on
    /// average (Poisson arrivals see time averages; an M/G/∞ occupancy is independent
    /// of a tagged customer's presence) — never more than the cap. Without the `+ 1`
    /// a lone request's TPOT would be a fraction of a one-sequence step.
    fn seen_seqs(&self, n: f64) -> f64 {
        (n + 1.0).min(f64::from(self.seq_cap()))
    }

    /// A sequence's time in the running set at `n` running, ms, and its derivative.
    fn residence_ms(&self, n: f64, f: f64) -> (f64, f64) {
        self.residence_seen_ms(n, self.seen_seqs(n), f)
    }

    /// A sequence's time in the running set at `n` running whose decode steps carry
    /// `seen` sequences, ms, and its derivative in `n`.
    fn residence_seen_ms(&self, n: f64, seen: f64, f: f64) -> (f64, f64) {
        let stretch = 1.0 / (1.0 - f);
        let t = self.decode_ms(seen) * stretch;
        let slope = if seen < f64::from(self.seq_cap()) {
            1.0
        } else {
            0.0
        };
        let dt = (self.decode_ms(seen + 1.0) - self.decode_ms(seen)) * stretch * slope;
        let decode_steps = self.output_tokens - 1.0;
        let (pf, dpf) = match self.chunk_tokens {
            None => (self.prefill_cost_ms(), 0.0),
            Some(k) => {
                let c = self.chunks(k, n);
                let dc = if self.prefill_tokens / (k - n).max(1.0) > 1.0 && k - n > 1.0 {
                    self.prefill_tokens / ((k - n) * (k - n))
                } else {
                    0.0
                };
                (c * t + self.prefill_cost_ms(), dc * t + c * dt)
            }
        };
        (pf + decode_steps * t, dpf + decode_steps * dt)
    }

    /// The steady state at `rate_rps` arriving requests per second, or why there is
    /// none.
    pub fn steady(&self, rate_rps: f64) -> Result<Steady, Overload> {
        let lambda = rate_rps.max(0.0) / 1000.0; // per ms
        let f = lambda * self.prefill_cost_ms();
        if f >= 1.0 {
            return Err(Overload::Prefill { share: f });
        }
        let n = self.fixed_point(lambda, f)?;
        let cap = self.seq_cap();
        if n >= f64::from(cap) {
            return Err(if self.seqs_fit() < self.max_num_seqs {
                Overload::KvBound {
                    needed: n,
                    fit: self.seqs_fit(),
                }
            } else {
                Overload::MaxSeqs {
                    needed: n,
                    max_num_seqs: self.max_num_seqs,
                }
            });
        }
        Ok(self.state_at(lambda, f, n))
    }

    /// n = λ·R(n) by Newton's method from n = 0. h(n) = λR(n) − n is convex (linear
    /// without chunking), positive at 0, so the iterates rise monotonically to its
    /// least root; a non-negative slope before it means there is none.
    fn fixed_point(&self, lambda: f64, f: f64) -> Result<f64, Overload> {
        let mut n = 0.0;
        for _ in 0..MAX_FIXED_POINT_STEPS {
            let (r, dr) = self.residence_ms(n, f);
            let h = lambda * r - n;
            let dh = lambda * dr - 1.0;
            if h.abs() <= FIXED_POINT_TOL * n.max(1.0) {
                return Ok(n);
            }
            if dh >= 0.0 || !h.is_finite() {
                return Err(Overload::Decode);
            }
            n -= h / dh;
            if self.chunk_tokens.is_some_and(|k| n >= k - 1.0) {
                // Decode tokens alone fill the chunk budget: prefill never progresses.
                return Err(Overload::Decode);
            }
        }
        Ok(n)
    }

    fn state_at(&self, lambda: f64, f: f64, n: f64) -> Steady {
        let decode_step_ms = self.decode_ms(n);
        let tpot_ms = self.decode_ms(self.seen_seqs(n)) / (1.0 - f);
        // Admission waits for a sequence slot (an M/G/c queue with c = max_num_seqs,
        // offered n) or for KV blocks (the cache as a pool of tokens, Hayward's
        // equivalent servers, docs/llm.md); the binding one sets the wait. Those that
        // wait drain at what a full replica completes less the arrivals (its decode
        // step is that of the full running set), times Allen–Cunneen's factor with the
        // residence's CV (that of the output length).
        let ca2 = self.arrival_cv * self.arrival_cv;
        let cs2 = self.output_cv * self.output_cv;
        // A full replica's sequences each share their steps with exactly `full`.
        let drain_per_ms = |full: f64| full / self.residence_seen_ms(full, full, f).0 - lambda;
        let slots = self.max_num_seqs;
        let slot_c = erlang_b(slots, n)
            .and_then(|b| erlang_c_from_b(slots, n, b))
            .unwrap_or(0.0);
        let slot_drain = drain_per_ms(f64::from(slots));
        let slot_wait_ms = if slot_drain > 0.0 {
            slot_c / slot_drain * (ca2 + cs2) / 2.0
        } else {
            0.0
        };
        let kv_full = self.kv_capacity_tokens / self.kv_tokens_per_seq();
        let (kv_c, kv_wait_ms) = kv_admission_wait(self, n, drain_per_ms(kv_full), ca2 + cs2);
        let (c, mean_wait_ms) = if kv_wait_ms > slot_wait_ms {
            (kv_c, kv_wait_ms)
        } else {
            (slot_c, slot_wait_ms)
        };
        let (before_prefill_ms, prefill_ms) = match self.chunk_tokens {
            None => {
                // The running iteration's remainder (half an iteration), then the
                // prompts ahead in an M/G/1 prefill queue (Pollaczek–Khinchine).
                let it = &self.iteration;
                let s = self.prefill_cost_ms();
                let sd = it.prefill_ms_per_token * self.prefill_tokens * self.prompt_cv;
                let second_moment = s * s + sd * sd;
                let queue_ms = lambda * second_moment / (2.0 * (1.0 - f));
                (decode_step_ms / 2.0 + queue_ms, s)
            }
            // The iterations carrying its chunks are average ones plus its own tokens.
            Some(k) => (
                tpot_ms / 2.0,
                self.chunks(k, n) * tpot_ms
                    + self.iteration.prefill_ms_per_token * self.prefill_tokens,
            ),
        };
        Steady {
            running_seqs: n,
            decode_step_ms,
            prefill_share: f,
            tpot_ms,
            before_prefill_ms,
            prefill_ms,
            admission_p_wait: c,
            admission_wait_given_wait_ms: if c > 0.0 { mean_wait_ms / c } else { 0.0 },
            kv_used_tokens: n * self.kv_tokens_per_seq(),
        }
    }

    /// The most requests per second the replica carries with a steady state
    /// (bisection on the rate; the running sequences grow with it).
    pub fn capacity_rps(&self) -> f64 {
        let prefill_ms = self.prefill_cost_ms();
        let mut hi = if prefill_ms > 0.0 {
            1000.0 / prefill_ms
        } else {
            // No prefill cost (validation refuses it): the cap over the shortest
            // residence, one decode base per output token, bounds the rate.
            1000.0 * f64::from(self.seq_cap())
                / (self.iteration.decode_base_ms * self.output_tokens).max(f64::MIN_POSITIVE)
        };
        let mut lo = 0.0;
        for _ in 0..CAPACITY_STEPS {
            let mid = 0.5 * (lo + hi);
            if self.steady(mid).is_ok() {
                lo = mid;
            } else {
                hi = mid;
            }
        }
        lo
    }
}
