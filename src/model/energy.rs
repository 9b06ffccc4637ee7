//! Model layer: energy use and its cost for owned hardware.

/// Electricity used per hour, kWh, by `held_servers` servers of which `busy_servers`
/// are busy on average: idle power for every held server, the rest while busy.
pub fn kwh_per_hour(held_servers: f64, busy_servers: f64, power_w: f64, idle_power_w: f64) -> f64 {
    let idle_w = idle_power_w.min(power_w).max(0.0);
    let busy = busy_servers.clamp(0.0, held_servers.max(0.0));
    (held_servers.max(0.0) * idle_w + busy * (power_w - idle_w).max(0.0)) / 1000.0
}

/// Cost of that electricity, dollars per hour.
pub fn usd_per_hour(kwh_per_hour: f64, usd_per_kwh: f64) -> f64 {
    kwh_per_hour * usd_per_kwh
}

#[cfg(test)]
mod tests {
    #[test]
    fn half_busy_server() {
        // 1 server, half busy, 300 W busy / 100 W idle: 100 + 0.5·200 = 200 W = 0.2 kWh/h.
        let kwh = super::kwh_per_hour(1.0, 0.5, 300.0, 100.0);
        assert!((kwh - 0.2).abs() < 1e-12);
        assert!((super::usd_per_hour(kwh, 0.30) - 0.06).abs() < 1e-12);
    }
}
