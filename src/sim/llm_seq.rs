//! sim layer: what the LLM fleet's replicas schedule — a request as a sequence (its
//! prompt, answer, progress and first token) and the parameters every replica of a
//! plan shares (KV blocks, `max_num_seqs`, chunking, the iteration-time model, the
//! prefix cache's share).

use crate::model::llm_types::IterationTime;

/// A request in the fleet.
#[derive(Debug, Clone, Copy)]
pub(super) struct Seq {
    pub arrival_ms: f64,
    pub prompt: u64,
    /// Tokens still to prefill (the uncached prompt, plus what a preemption lost).
    pub to_prefill: u64,
    pub output: u64,
    pub generated: u64,
    pub first_token_ms: Option<f64>,
    /// Waited for a replica's boot.
    pub cold: bool,
}

impl Seq {
    pub fn context(&self) -> u64 {
        self.prompt + self.generated
    }

    /// Prefilled and past its first token: it makes a token every decode iteration.
    pub fn decoding(&self) -> bool {
        self.to_prefill == 0 && self.first_token_ms.is_some()
    }
}

/// What every replica of a plan shares.
#[derive(Debug, Clone)]
pub(super) struct Params {
    pub block: u64,
    pub total_blocks: u64,
    pub max_num_seqs: usize,
    pub chunk: Option<u64>,
    pub it: IterationTime,
    /// Share of a prompt the prefix cache serves.
    pub cached_share: f64,
}

impl Params {
    /// Blocks a sequence holds: its prompt and generated tokens, and from admission
    /// the slot of the first token its prefill makes.
    pub fn held(&self, s: &Seq) -> u64 {
        (s.prompt + s.generated.max(1)).div_ceil(self.block)
    }

    /// Prompt tokens a prefix cache serves of a `prompt`-token prompt.
    pub fn cached(&self, prompt: u64) -> u64 {
        ((prompt as f64) * self.cached_share).floor() as u64
    }

    pub fn decode_ms(&self, n: usize, ctx: u64) -> f64 {
        self.it.decode_base_ms
            + self.it.decode_ms_per_seq * n as f64
            + self.it.decode_ms_per_context_token * ctx as f64
    }
}
