//! sim layer: the fleet and its autoscaler — which servers exist, what each is doing,
//! MRU dispatch to idle servers, starting servers on demand up to a cap, stopping idle
//! ones after the timeout while keeping a warm floor, and the server-time and cost
//! integrals (clamped at the horizon).
//!
//! Idle timeouts are not events: idle servers sit in a deque in the order they went
//! idle (dispatch takes the most recent from the back), so the ones to stop are always
//! at the front, and a sweep before every decision stops them at the exact time their
//! timeout ran out, correcting the integrals for the time already counted as idle.

use std::collections::VecDeque;

use crate::model::traffic::SECONDS_PER_HOUR;

/// What a server is doing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ServerState {
    /// Not running, not billed (its slot can be reused).
    Stopped,
    /// Booting: billed, not serving.
    Booting,
    /// Serving a batch.
    Busy,
    /// Running and idle.
    Idle,
}

/// One server slot.
#[derive(Debug, Clone)]
pub struct Server {
    /// What it is doing.
    pub state: ServerState,
    /// A spot server (spot price, interruptions, checkpoint slowdown).
    pub spot: bool,
    /// Bumped by an interruption, cancelling pending completions.
    pub epoch: u32,
    /// When it last went idle, seconds.
    pub idle_since_s: f64,
    /// Arrival times (s) of the requests it is serving, or booting for.
    pub batch: Vec<f64>,
}

/// Rules of a policy for the autoscaler.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ScalingRules {
    /// Servers never stopped for idleness (always-on fleet, hybrid warm count).
    pub warm_floor: u32,
    /// Seconds an idle server above the floor is kept; infinity never stops one.
    pub idle_timeout_s: f64,
    /// Most servers alive (booting, busy or idle) at once; 0 = never start one on demand.
    pub cap: u32,
}

/// Time integrals over the simulated horizon.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
pub struct Integrals {
    /// Server-seconds busy (including work later lost to an interruption).
    pub busy_s: f64,
    /// Server-seconds idle but held.
    pub idle_s: f64,
    /// Server-seconds booting.
    pub booting_s: f64,
    /// Dollars spent on servers.
    pub cost_usd: f64,
}

/// The fleet.
#[derive(Debug, Clone)]
pub struct Fleet {
    /// All slots, stopped ones included.
    pub servers: Vec<Server>,
    free: Vec<u32>,
    idle: VecDeque<u32>,
    rules: ScalingRules,
    alive: u32,
    above_floor_since_s: f64,
    busy: u32,
    booting: u32,
    /// Integrals up to `accounted_s`.
    pub totals: Integrals,
    accounted_s: f64,
    horizon_s: f64,
    price_usd_per_s: f64,
    on_demand_usd_per_hour: f64,
    spot_usd_per_hour: f64,
}

impl Fleet {
    /// An empty fleet under `rules`, accounting until `horizon_s`.
    pub fn new(
        rules: ScalingRules,
        horizon_s: f64,
        on_demand_usd_per_hour: f64,
        spot_usd_per_hour: f64,
    ) -> Self {
        Self {
            servers: Vec::new(),
            free: Vec::new(),
            idle: VecDeque::new(),
            rules,
            alive: 0,
            above_floor_since_s: 0.0,
            busy: 0,
            booting: 0,
            totals: Integrals::default(),
            accounted_s: 0.0,
            horizon_s,
            price_usd_per_s: 0.0,
            on_demand_usd_per_hour,
            spot_usd_per_hour,
        }
    }

    fn price_per_s(&self, spot: bool) -> f64 {
        if spot {
            self.spot_usd_per_hour / SECONDS_PER_HOUR
        } else {
            self.on_demand_usd_per_hour / SECONDS_PER_HOUR
        }
    }

    /// Servers (busy, booting, idle) right now.
    pub fn counts(&self) -> (u32, u32, u32) {
        (self.busy, self.booting, self.idle.len() as u32)
    }

    /// Stops accounting at `t_s` (an early end); later time is not counted.
    pub fn end_accounting_at(&mut self, t_s: f64) {
        self.horizon_s = self.horizon_s.min(t_s.max(self.accounted_s));
    }

    /// The accounting horizon, seconds.
    pub fn horizon_s(&self) -> f64 {
        self.horizon_s
    }

    /// Adds the time since the last call to the integrals. Call before any change of
    /// state at time `now_s`.
    #[inline]
    pub fn advance(&mut self, now_s: f64) {
        let t = now_s.min(self.horizon_s);
        if t > self.accounted_s {
            let dt = t - self.accounted_s;
            self.totals.busy_s += f64::from(self.busy) * dt;
            self.totals.booting_s += f64::from(self.booting) * dt;
            self.totals.idle_s += self.idle.len() as f64 * dt;
            self.totals.cost_usd += self.price_usd_per_s * dt;
            self.accounted_s = t;
        }
    }

    /// Stops every idle server whose timeout ran out by `now_s`, at the moment it ran
    /// out, keeping the warm floor.
    pub fn sweep(&mut self, now_s: f64) {
        while let Some(&i) = self.idle.front() {
            let s = &self.servers[i as usize];
            // An idle server spared by the warm floor becomes stoppable only once the
            // fleet grew above the floor again.
            let expiry_s =
                (s.idle_since_s + self.rules.idle_timeout_s).max(self.above_floor_since_s);
            if expiry_s > now_s || self.alive <= self.rules.warm_floor {
                break;
            }
            self.idle.pop_front();
            // That time was already counted as idle and billed: take it back.
            let overshoot_s = (self.accounted_s - expiry_s.min(self.horizon_s)).max(0.0);
            let price = self.price_per_s(s.spot);
            self.totals.idle_s -= overshoot_s;
            self.totals.cost_usd -= price * overshoot_s;
            self.price_usd_per_s -= price;
            self.alive -= 1;
            self.servers[i as usize].state = ServerState::Stopped;
            self.free.push(i);
        }
    }

    /// The most recently idle server (after stopping expired ones), marked busy.
    #[inline]
    pub fn take_idle(&mut self, now_s: f64) -> Option<u32> {
        if self.rules.idle_timeout_s.is_finite() {
            self.sweep(now_s);
        }
        let i = self.idle.pop_back()?;
        self.servers[i as usize].state = ServerState::Busy;
        self.busy += 1;
        Some(i)
    }

    /// The most servers that can be alive at once: the cap of an elastic fleet, or
    /// the fixed fleet itself.
    pub fn max_alive(&self) -> u32 {
        self.rules.cap.max(self.alive)
    }

    /// Whether the autoscaler may start another server.
    #[inline]
    pub fn can_start(&self) -> bool {
        self.alive < self.rules.cap
    }

    /// Adds a server, booting (`idle` = false) or already warm and idle, billed from
    /// `now_s`. Returns its index.
    pub fn add(&mut self, now_s: f64, spot: bool, idle: bool) -> u32 {
        if self.alive == self.rules.warm_floor {
            self.above_floor_since_s = now_s;
        }
        self.alive += 1;
        self.price_usd_per_s += self.price_per_s(spot);
        let state = if idle {
            ServerState::Idle
        } else {
            self.booting += 1;
            ServerState::Booting
        };
        let server = Server {
            state,
            spot,
            epoch: 0,
            idle_since_s: now_s,
            batch: Vec::new(),
        };
        let i = match self.free.pop() {
            Some(i) => {
                let old = &mut self.servers[i as usize];
                let epoch = old.epoch.wrapping_add(1);
                let batch = std::mem::take(&mut old.batch);
                *old = Server {
                    epoch,
                    batch,
                    ..server
                };
                i
            }
            None => {
                self.servers.push(server);
                (self.servers.len() - 1) as u32
            }
        };
        if idle {
            self.idle.push_back(i);
        }
        i
    }

    /// A booting server finished booting and starts serving.
    #[inline]
    pub fn boot_to_busy(&mut self, i: u32) {
        self.booting -= 1;
        self.busy += 1;
        self.servers[i as usize].state = ServerState::Busy;
    }

    /// A booting server finished booting with nothing to do.
    pub fn boot_to_idle(&mut self, i: u32, now_s: f64) {
        self.booting -= 1;
        self.busy += 1;
        self.busy_to_idle(i, now_s);
    }

    /// A busy server has nothing more to do and goes idle.
    #[inline]
    pub fn busy_to_idle(&mut self, i: u32, now_s: f64) {
        self.busy -= 1;
        let s = &mut self.servers[i as usize];
        s.state = ServerState::Idle;
        s.idle_since_s = now_s;
        self.idle.push_back(i);
    }

    /// A spot server is interrupted: whatever it was doing is lost and a replacement
    /// boots in its place (same slot, same bill). Its epoch is bumped; the requests it
    /// held are left in its `batch` for the caller to re-queue.
    pub fn interrupt(&mut self, i: u32) {
        let state = self.servers[i as usize].state;
        match state {
            ServerState::Busy => {
                self.busy -= 1;
                self.booting += 1;
            }
            ServerState::Idle => {
                if let Some(pos) = self.idle.iter().position(|&j| j == i) {
                    self.idle.remove(pos);
                }
                self.booting += 1;
            }
            ServerState::Booting | ServerState::Stopped => {}
        }
        if state != ServerState::Stopped {
            let s = &mut self.servers[i as usize];
            s.state = ServerState::Booting;
            s.epoch = s.epoch.wrapping_add(1);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn idle_servers_stop_at_their_timeout_and_the_bill_is_corrected() {
        let rules = ScalingRules {
            warm_floor: 0,
            idle_timeout_s: 10.0,
            cap: 4,
        };
        let mut f = Fleet::new(rules, 1_000.0, 3600.0, 0.0); // 1 $/s
        let a = f.add(0.0, false, false);
        f.advance(2.0);
        f.boot_to_busy(a);
        f.advance(5.0);
        f.busy_to_idle(a, 5.0);
        // Nothing happens until t = 100: the server should have stopped at 15.
        f.advance(100.0);
        f.sweep(100.0);
        assert_eq!(f.counts(), (0, 0, 0));
        assert!((f.totals.booting_s - 2.0).abs() < 1e-12);
        assert!((f.totals.busy_s - 3.0).abs() < 1e-12);
        assert!((f.totals.idle_s - 10.0).abs() < 1e-12);
        assert!((f.totals.cost_usd - 15.0).abs() < 1e-9);
    }

    #[test]
    fn warm_floor_is_kept_and_mru_is_dispatched() {
        let rules = ScalingRules {
            warm_floor: 1,
            idle_timeout_s: 10.0,
            cap: 4,
        };
        let mut f = Fleet::new(rules, 1_000.0, 3600.0, 0.0);
        let warm = f.add(0.0, false, true);
        f.advance(1.0);
        let burst = f.add(1.0, false, false);
        f.advance(2.0);
        f.boot_to_idle(burst, 2.0);
        // The burst server went idle last: MRU dispatch picks it.
        f.advance(3.0);
        assert_eq!(f.take_idle(3.0), Some(burst));
        f.busy_to_idle(burst, 4.0);
        f.advance(500.0);
        f.sweep(500.0);
        // The warm one has been idle longest and would go first, but the floor keeps
        // one: the oldest idle stops (at max(0 + 10, 1) = 10 s), the other stays.
        assert_eq!(f.counts(), (0, 0, 1));
        assert!(f.servers[warm as usize].state == ServerState::Stopped);
        assert!(
            (f.totals.cost_usd - (10.0 + 499.0)).abs() < 1e-9,
            "{}",
            f.totals.cost_usd
        );
    }
}
