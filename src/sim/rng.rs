//! sim layer: a small seeded PRNG (xoshiro256++ seeded by SplitMix64) and the
//! unit-mean variates the engine draws from — deterministic for a seed, no dependencies.

/// xoshiro256++ (Blackman & Vigna): fast, 256-bit state, passes BigCrush. Its state is
/// filled from a SplitMix64 stream so that nearby seeds give unrelated streams.
#[derive(Debug, Clone)]
pub struct Rng {
    s: [u64; 4],
}

/// One step of SplitMix64: advances `state` and returns the next output.
fn splitmix64(state: &mut u64) -> u64 {
    *state = state.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *state;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator for `seed`; the same seed always gives the same stream.
    pub fn new(seed: u64) -> Self {
        let mut sm = seed;
        let mut s = [0u64; 4];
        for x in &mut s {
            *x = splitmix64(&mut sm);
        }
        // SplitMix64 never yields four zeros in a row, but keep the invariant explicit:
        // an all-zero state would make xoshiro output zeros forever.
        if s == [0; 4] {
            s[0] = 1;
        }
        Self { s }
    }

    /// A generator for an independent sub-stream `stream` of `seed` (e.g. one per
    /// spot server), so adding a stream never shifts the others.
    pub fn substream(seed: u64, stream: u64) -> Self {
        let mut sm = seed ^ stream.wrapping_mul(0xD1B5_4A32_D192_ED03);
        Self::new(splitmix64(&mut sm))
    }

    /// The next 64 random bits.
    #[inline]
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.s;
        let result = s[0].wrapping_add(s[3]).rotate_left(23).wrapping_add(s[0]);
        let t = s[1] << 17;
        s[2] ^= s[0];
        s[3] ^= s[1];
        s[1] ^= s[2];
        s[0] ^= s[3];
        s[2] ^= t;
        s[3] = s[3].rotate_left(45);
        result
    }

    /// Uniform on [0, 1) with 53 random bits.
    #[inline]
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform on (0, 1]: safe to take the logarithm of.
    #[inline]
    pub fn uniform_open0(&mut self) -> f64 {
        ((self.next_u64() >> 11) + 1) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Exponential with mean 1, by Marsaglia & Tsang's ziggurat (256 layers): about
    /// 99 % of draws cost one random number, a multiply and a compare — no logarithm,
    /// which dominated the engine's profile.
    #[inline]
    pub fn exp1(&mut self) -> f64 {
        let z = zig_tables();
        let r = self.next_u64();
        // Separate bits pick the layer and the position, so they are independent.
        let layer = (r & 0xFF) as usize;
        let j = r >> 32;
        if j < z.k[layer] {
            return j as f64 * z.w[layer];
        }
        self.exp1_slow(layer, j)
    }

    /// The ziggurat's rare cases: the base strip's tail, and the wedges.
    #[cold]
    fn exp1_slow(&mut self, mut layer: usize, mut j: u64) -> f64 {
        let z = zig_tables();
        loop {
            if layer == 0 {
                // The tail beyond r is again exponential (memorylessness).
                return ZIG_R - self.uniform_open0().ln();
            }
            let x = j as f64 * z.w[layer];
            if z.f[layer] + self.uniform() * (z.f[layer - 1] - z.f[layer]) < (-x).exp() {
                return x;
            }
            let r = self.next_u64();
            layer = (r & 0xFF) as usize;
            j = r >> 32;
            if j < z.k[layer] {
                return j as f64 * z.w[layer];
            }
        }
    }

    /// Standard normal (Marsaglia's polar method; the spare value is dropped to keep
    /// the generator state small and the stream easy to reason about).
    pub fn normal(&mut self) -> f64 {
        loop {
            let u = 2.0 * self.uniform() - 1.0;
            let v = 2.0 * self.uniform() - 1.0;
            let s = u * u + v * v;
            if s > 0.0 && s < 1.0 {
                return u * (-2.0 * s.ln() / s).sqrt();
            }
        }
    }

    /// Gamma(shape, 1) by Marsaglia & Tsang (2000); shape < 1 uses the boost
    /// Gamma(shape + 1)·U^{1/shape}. `shape` must be positive.
    pub fn gamma(&mut self, shape: f64) -> f64 {
        if shape < 1.0 {
            let boost = self.uniform_open0().powf(1.0 / shape);
            return self.gamma(shape + 1.0) * boost;
        }
        let d = shape - 1.0 / 3.0;
        let c = 1.0 / (9.0 * d).sqrt();
        loop {
            let x = self.normal();
            let v = 1.0 + c * x;
            if v <= 0.0 {
                continue;
            }
            let v = v * v * v;
            let u = self.uniform_open0();
            let x2 = x * x;
            if u < 1.0 - 0.0331 * x2 * x2 || u.ln() < 0.5 * x2 + d * (1.0 - v + v.ln()) {
                return d * v;
            }
        }
    }
}

/// Right edge of the exponential ziggurat's base layer (Marsaglia & Tsang, 256 layers).
const ZIG_R: f64 = 7.697_117_470_131_487;
/// Area of each layer.
const ZIG_V: f64 = 3.949_659_822_581_572e-3;

/// Ziggurat tables: `k` acceptance thresholds (32-bit), `w` scale per unit of the
/// 32-bit draw, `f` the density at each layer's edge.
struct ZigTables {
    k: [u64; 256],
    w: [f64; 256],
    f: [f64; 256],
}

/// The tables, built once (Marsaglia & Tsang 2000, `zigset` for the exponential).
fn zig_tables() -> &'static ZigTables {
    static TABLES: std::sync::OnceLock<ZigTables> = std::sync::OnceLock::new();
    TABLES.get_or_init(|| {
        let m = 4_294_967_296.0; // 2³²
        let mut t = ZigTables {
            k: [0; 256],
            w: [0.0; 256],
            f: [0.0; 256],
        };
        let mut de = ZIG_R;
        let mut tde = de;
        let q = ZIG_V / (-de).exp();
        t.k[0] = ((de / q) * m) as u64;
        t.k[1] = 0;
        t.w[0] = q / m;
        t.w[255] = de / m;
        t.f[0] = 1.0;
        t.f[255] = (-de).exp();
        for i in (1..=254).rev() {
            de = -(ZIG_V / de + (-de).exp()).ln();
            t.k[i + 1] = ((de / tde) * m) as u64;
            tde = de;
            t.f[i] = (-de).exp();
            t.w[i] = de / m;
        }
        t
    })
}

/// A positive random variable with mean 1 and a given coefficient of variation:
/// deterministic at CV 0, exponential at CV 1, gamma (shape 1/CV²) otherwise.
/// Scaled by a mean it gives service times and inter-arrival gaps.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum UnitVariate {
    /// Always 1.
    Constant,
    /// Exponential, mean 1.
    Exponential,
    /// Gamma with this shape k and scale 1/k (mean 1, CV 1/√k).
    Gamma(f64),
}

impl UnitVariate {
    /// The variate with coefficient of variation `cv` (negative or NaN counts as 0).
    pub fn with_cv(cv: f64) -> Self {
        if cv.is_nan() || cv <= 1e-12 {
            Self::Constant
        } else if (cv - 1.0).abs() < 1e-12 {
            Self::Exponential
        } else {
            Self::Gamma(1.0 / (cv * cv))
        }
    }

    /// One draw.
    #[inline]
    pub fn sample(&self, rng: &mut Rng) -> f64 {
        match *self {
            Self::Constant => 1.0,
            Self::Exponential => rng.exp1(),
            Self::Gamma(k) => rng.gamma(k) / k,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn moments(v: UnitVariate, n: usize) -> (f64, f64) {
        let mut rng = Rng::new(7);
        let (mut s, mut s2) = (0.0, 0.0);
        for _ in 0..n {
            let x = v.sample(&mut rng);
            s += x;
            s2 += x * x;
        }
        let mean = s / n as f64;
        let var = s2 / n as f64 - mean * mean;
        (mean, var.max(0.0).sqrt() / mean)
    }

    #[test]
    fn variates_match_mean_and_cv() {
        for cv in [0.0, 0.2, 0.6, 1.0, 2.0] {
            let (mean, got_cv) = moments(UnitVariate::with_cv(cv), 400_000);
            assert!((mean - 1.0).abs() < 0.01, "cv {cv}: mean {mean}");
            assert!(
                (got_cv - cv).abs() < 0.02 * cv.max(1.0),
                "cv {cv}: got {got_cv}"
            );
        }
    }

    #[test]
    fn ziggurat_exponential_has_the_exponential_tail() {
        let mut rng = Rng::new(11);
        let n = 2_000_000;
        let (mut s, mut s2) = (0.0, 0.0);
        let mut above = [0u32; 4]; // P(X > 0.5), P(X > 2), P(X > 5), P(X > 9)
        for _ in 0..n {
            let x = rng.exp1();
            assert!(x >= 0.0 && x.is_finite());
            s += x;
            s2 += x * x;
            for (count, edge) in above.iter_mut().zip([0.5, 2.0, 5.0, 9.0]) {
                *count += u32::from(x > edge);
            }
        }
        let mean = s / f64::from(n);
        assert!((mean - 1.0).abs() < 0.003, "{mean}");
        assert!(
            (s2 / f64::from(n) - 2.0).abs() < 0.02,
            "E[X²] {}",
            s2 / f64::from(n)
        );
        for (count, edge) in above.iter().zip([0.5f64, 2.0, 5.0, 9.0]) {
            let want = (-edge).exp() * f64::from(n);
            let sd = want.sqrt();
            assert!(
                (f64::from(*count) - want).abs() < 5.0 * sd + 1.0,
                "P(X > {edge}): {count} vs {want}"
            );
        }
    }

    #[test]
    fn same_seed_same_stream_and_substreams_differ() {
        let a: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::new(42);
                move |_| r.next_u64()
            })
            .collect();
        let b: Vec<u64> = (0..5)
            .map({
                let mut r = Rng::new(42);
                move |_| r.next_u64()
            })
            .collect();
        assert_eq!(a, b);
        assert_ne!(
            Rng::substream(42, 1).next_u64(),
            Rng::substream(42, 2).next_u64()
        );
        let u = Rng::new(1).uniform();
        assert!((0.0..1.0).contains(&u));
    }
}
