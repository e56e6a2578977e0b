//! The seeded random number generator: xoshiro256++ (Blackman & Vigna, 2019) whose state
//! is filled from the seed by SplitMix64, as its authors recommend.
//!
//! Written here rather than taken from a crate so the stream is fixed forever: a model
//! fitted with `--seed 7` today gives the same segments after any dependency upgrade.

/// xoshiro256++ generator.
#[derive(Debug, Clone)]
pub struct Rng {
    state: [u64; 4],
}

fn splitmix64(x: &mut u64) -> u64 {
    *x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    let mut z = *x;
    z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    z ^ (z >> 31)
}

impl Rng {
    /// A generator whose whole stream is determined by `seed`.
    pub fn new(seed: u64) -> Self {
        let mut s = seed;
        let state = [splitmix64(&mut s), splitmix64(&mut s), splitmix64(&mut s), splitmix64(&mut s)];
        Rng { state }
    }

    /// An independent generator for sub-task `index` (e.g. the i-th of `--n-init` runs).
    pub fn derive(seed: u64, index: u64) -> Self {
        let mut s = seed ^ index.wrapping_mul(0xD1B5_4A32_D192_ED03);
        Rng::new(splitmix64(&mut s))
    }

    /// The next 64 random bits.
    pub fn next_u64(&mut self) -> u64 {
        let s = &mut self.state;
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

    /// Uniform in [0, 1) with 53 random bits.
    pub fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 * (1.0 / (1u64 << 53) as f64)
    }

    /// Uniform integer in [0, n), n > 0 (Lemire's multiply-shift; bias < 2^-64·n).
    pub fn below(&mut self, n: u64) -> u64 {
        ((self.next_u64() as u128 * n as u128) >> 64) as u64
    }

    /// Standard normal deviate (Box–Muller, one of the pair).
    pub fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform(); // (0, 1]
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// min(n, `m`) distinct row numbers below `n`, in order, drawn with Floyd's algorithm from a
/// seeded generator (every subset of that size equally likely).
pub fn distinct_rows(n: usize, m: usize, seed: u64) -> Vec<usize> {
    if n <= m {
        return (0..n).collect();
    }
    let mut rng = Rng::derive(seed, 0x7265_706f_7274);
    let mut picked = rustc_hash::FxHashSet::default();
    for j in n - m..n {
        let t = rng.below(j as u64 + 1) as usize;
        if !picked.insert(t) {
            picked.insert(j);
        }
    }
    let mut rows: Vec<usize> = picked.into_iter().collect();
    rows.sort_unstable();
    rows
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_seed_gives_same_stream() {
        let a: Vec<u64> = (0..5).scan(Rng::new(42), |r, _| Some(r.next_u64())).collect();
        let b: Vec<u64> = (0..5).scan(Rng::new(42), |r, _| Some(r.next_u64())).collect();
        assert_eq!(a, b);
        assert_ne!(a, (0..5).scan(Rng::new(43), |r, _| Some(r.next_u64())).collect::<Vec<_>>());
    }

    #[test]
    fn uniform_stays_in_unit_interval_and_has_mean_one_half() {
        let mut r = Rng::new(1);
        let xs: Vec<f64> = (0..100_000).map(|_| r.uniform()).collect();
        assert!(xs.iter().all(|&x| (0.0..1.0).contains(&x)));
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        assert!((mean - 0.5).abs() < 0.01, "mean {mean}");
    }

    #[test]
    fn normal_has_unit_variance() {
        let mut r = Rng::new(3);
        let xs: Vec<f64> = (0..100_000).map(|_| r.normal()).collect();
        let mean = xs.iter().sum::<f64>() / xs.len() as f64;
        let var = xs.iter().map(|x| (x - mean).powi(2)).sum::<f64>() / xs.len() as f64;
        assert!(mean.abs() < 0.02 && (var - 1.0).abs() < 0.02, "mean {mean} var {var}");
    }

    #[test]
    fn the_scatter_sample_holds_exactly_m_distinct_rows() {
        let rows = super::distinct_rows(3616, 3000, 7);
        assert_eq!(rows.len(), 3000);
        assert!(rows.windows(2).all(|w| w[0] < w[1]) && rows[2999] < 3616);
        assert_eq!(rows, super::distinct_rows(3616, 3000, 7), "seeded");
        assert_eq!(super::distinct_rows(10, 3000, 7), (0..10).collect::<Vec<_>>());
    }
}
