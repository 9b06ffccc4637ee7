//! sim layer: the LLM fleet's requests — an arrival (a cache hit, or a prompt and an
//! answer length drawn and fitted to the KV cache), its placement (the most recently
//! idle replica, else the least loaded serving or booting one with a slot and KV
//! blocks for it, else a new replica if the policy may start one, else the fleet's
//! queue), and a completed request's TTFT, TPOT, E2E and SLOs.

use super::autoscaler::ServerState;
use super::events::EventKind;
use super::llm_fleet::LlmFleetSim;
use super::llm_seq::Seq;

impl LlmFleetSim {
    pub(super) fn on_arrival(&mut self, t: f64) {
        self.c.requests += 1;
        self.c.tick_arrivals = self.c.tick_arrivals.saturating_add(1);
        self.next_arrival_ms = self.next_arrival();
        if self.any_hit > 0.0 {
            let u = self.cache_rng.uniform();
            if u < self.any_hit {
                let ms = if u < self.l1_hit {
                    self.hit_ms.0
                } else {
                    self.hit_ms.1
                };
                self.record_hit(ms);
                return;
            }
        }
        let cap = self.p.total_blocks * self.p.block;
        let prompt =
            ((self.prompt_mean * self.prompt_v.sample(&mut self.lengths)).round() as u64).max(1);
        let output =
            ((self.output_mean * self.output_v.sample(&mut self.lengths)).round() as u64).max(1);
        // A sequence the KV cache cannot hold whole would preempt itself forever.
        let prompt_fit = prompt.min(cap.saturating_sub(2 * self.p.block).max(1));
        let output_fit = output.min(cap.saturating_sub(prompt_fit + self.p.block).max(1));
        if (prompt_fit, output_fit) != (prompt, output) {
            self.c.clamped += 1;
        }
        self.c.server_requests += 1;
        self.in_system += 1;
        self.queue.push_back(Seq {
            arrival_ms: t,
            prompt: prompt_fit,
            to_prefill: (prompt_fit - self.p.cached(prompt_fit)).max(1),
            output: output_fit,
            generated: 0,
            first_token_ms: None,
            cold: false,
        });
        self.place(t);
        if !self.queue.is_empty() {
            self.c.waited += 1;
        }
        self.check_limits(t);
    }

    /// Gives the fleet's queue, head first, to replicas with room.
    pub(super) fn place(&mut self, t: f64) {
        while let Some(head) = self.queue.front().copied() {
            let Some(i) = self.choose(t, &head) else {
                break;
            };
            self.queue.pop_front();
            self.assign(i, head, t);
        }
    }

    /// The replica for `s`: the most recently idle, else the least loaded serving or
    /// booting one with room, else a new one if the policy may start it.
    fn choose(&mut self, t: f64, s: &Seq) -> Option<u32> {
        if let Some(i) = self.fleet.take_idle(t / 1000.0) {
            return Some(i);
        }
        let mut best: Option<(usize, u32)> = None;
        for (i, r) in self.reps.iter().enumerate() {
            let state = self.fleet.servers[i].state;
            if matches!(state, ServerState::Busy | ServerState::Booting)
                && r.room(&self.p, s)
                && best.is_none_or(|(load, _)| r.load() < load)
            {
                best = Some((r.load(), i as u32));
            }
        }
        if let Some((_, i)) = best {
            return Some(i);
        }
        if self.fleet.can_start() {
            let i = self.add_replica(t, false, false);
            self.c.cold_starts += 1;
            let epoch = self.fleet.servers[i as usize].epoch;
            self.push_event(i, t + self.cold_start_ms, EventKind::BootDone, epoch);
            return Some(i);
        }
        None
    }

    fn assign(&mut self, i: u32, mut s: Seq, t: f64) {
        let booting = self.fleet.servers[i as usize].state == ServerState::Booting;
        if booting && !s.cold {
            s.cold = true;
            self.c.cold_requests += 1;
        }
        let r = &mut self.reps[i as usize];
        let head = r.push(&self.p, s);
        if booting || self.holding == Some(i) {
            return;
        }
        if r.step == super::llm_sched::Step::Idle {
            self.start_step(i, t);
        } else if head && let Some(end) = r.cut(t) {
            r.epoch = r.epoch.wrapping_add(1);
            let epoch = r.epoch;
            self.push_event(i, end, EventKind::Done, epoch);
        }
    }

    pub(super) fn record_hit(&mut self, ms: f64) {
        self.ttft.record(ms);
        self.tpot.record(0.0);
        self.e2e.record(ms);
        self.c.hits += 1;
        self.c.io_tokens += self.prompt_mean + self.output_mean;
        self.count_slo(ms, 0.0, ms);
    }

    /// A completed request's TTFT, TPOT and E2E (with the cache lookup a miss pays).
    pub(super) fn record(&mut self, s: &Seq, t: f64) {
        self.in_system -= 1;
        let first = s.first_token_ms.unwrap_or(t);
        let ttft = first - s.arrival_ms + self.lookup_ms;
        let e2e = t - s.arrival_ms + self.lookup_ms;
        let tpot = if s.output > 1 {
            (t - first) / (s.output - 1) as f64
        } else {
            0.0
        };
        self.ttft.record(ttft);
        if s.output > 1 {
            self.tpot.record(tpot);
        }
        self.e2e.record(e2e);
        self.c.io_tokens += (s.prompt + s.output) as f64;
        self.count_slo(ttft, tpot, e2e);
    }

    fn count_slo(&mut self, ttft: f64, tpot: f64, e2e: f64) {
        let (ttft_slo, tpot_slo, e2e_slo) = self.slo_ms;
        let good = ttft <= ttft_slo && tpot <= tpot_slo;
        self.c.good += u64::from(good);
        self.c.slo_violations += u64::from(!good || e2e > e2e_slo);
    }
}
