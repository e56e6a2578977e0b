//! What a backend needs for the Gaussian-mixture passes, and what they return.

/// Component parameters in the form the E-step uses, shared by every covariance type:
/// `Diag` (diag and spherical: per-component precision Cholesky diagonals) or `Full`
/// (full and tied: per-component upper-triangular precision Cholesky factors).
#[derive(Debug, Clone, PartialEq)]
pub struct MixturePass {
    pub k: usize,
    pub dim: usize,
    pub full: bool,
    /// `k × dim`.
    pub means: Vec<f64>,
    /// Diag: `k × dim` (1/σ). Full: `k × dim × dim`, row-major, upper triangular, with
    /// `covariance⁻¹ = P Pᵀ`.
    pub prec_chol: Vec<f64>,
    /// ln π_c + ln det P_c − (dim/2)·ln 2π per component.
    pub log_norm: Vec<f64>,
}

/// Sufficient statistics of one E-step pass, merged over chunks in order.
#[derive(Debug, Clone, PartialEq)]
pub struct MixtureStats {
    pub k: usize,
    pub dim: usize,
    pub full: bool,
    /// Σ w·r per component.
    pub resp: Vec<f64>,
    /// Σ w·r·x, `k × dim`.
    pub sum_x: Vec<f64>,
    /// Σ w·r·x² (`k × dim`) when diagonal, Σ w·r·x·xᵀ (`k × dim × dim`) when full.
    pub sum_xx: Vec<f64>,
    /// Σ w·ln p(x).
    pub log_likelihood: f64,
    /// Σ w.
    pub weight: f64,
}

impl MixtureStats {
    /// Empty statistics.
    pub fn zeros(k: usize, dim: usize, full: bool) -> Self {
        MixtureStats {
            k,
            dim,
            full,
            resp: vec![0.0; k],
            sum_x: vec![0.0; k * dim],
            sum_xx: vec![0.0; if full { k * dim * dim } else { k * dim }],
            log_likelihood: 0.0,
            weight: 0.0,
        }
    }

    /// Adds row `x` to component `c` with mass `wr` (weight × responsibility).
    #[inline(always)]
    pub fn add(&mut self, c: usize, x: &[f32], wr: f64) {
        let d = self.dim;
        self.resp[c] += wr;
        for (s, &v) in self.sum_x[c * d..(c + 1) * d].iter_mut().zip(x) {
            *s += wr * v as f64;
        }
        if self.full {
            // Upper triangle only; the M-step mirrors it.
            let sxx = &mut self.sum_xx[c * d * d..(c + 1) * d * d];
            for (a, &xa) in x.iter().enumerate() {
                let ra = wr * xa as f64;
                for (s, &xb) in sxx[a * d + a..(a + 1) * d].iter_mut().zip(&x[a..]) {
                    *s += ra * xb as f64;
                }
            }
        } else {
            for (s, &v) in self.sum_xx[c * d..(c + 1) * d].iter_mut().zip(x) {
                *s += wr * (v as f64) * (v as f64);
            }
        }
    }

    /// Adds `other` into `self`.
    pub fn merge(&mut self, other: &MixtureStats) {
        for (a, b) in self.resp.iter_mut().zip(&other.resp) {
            *a += b;
        }
        for (a, b) in self.sum_x.iter_mut().zip(&other.sum_x) {
            *a += b;
        }
        for (a, b) in self.sum_xx.iter_mut().zip(&other.sum_xx) {
            *a += b;
        }
        self.log_likelihood += other.log_likelihood;
        self.weight += other.weight;
    }
}

/// Per-row log p(x, c) of every component under one mixture, with its scratch space.
/// Diagonal precisions are kept transposed (`[feature][component]`) so all components'
/// densities are computed together, component-parallel; full precisions use the
/// upper-triangular factor row by row. The E-step pass and the final assignment both use
/// it, so they agree to the last bit.
pub struct LogDensity<'a> {
    mix: &'a MixturePass,
    means_t: Vec<f64>,
    prec_sq_t: Vec<f64>,
    diff: Vec<f64>,
}

impl<'a> LogDensity<'a> {
    /// Prepares `mix` for row-by-row evaluation.
    pub fn new(mix: &'a MixturePass) -> Self {
        let (k, d) = (mix.k, mix.dim);
        let transposed = |v: &[f64]| (0..d * k).map(|i| v[(i % k) * d + i / k]).collect::<Vec<f64>>();
        let (means_t, prec_sq_t) = if mix.full {
            (Vec::new(), Vec::new())
        } else {
            (transposed(&mix.means), transposed(&mix.prec_chol.iter().map(|p| p * p).collect::<Vec<_>>()))
        };
        LogDensity { mix, means_t, prec_sq_t, diff: vec![0.0; d] }
    }

    /// ln π_c + ln N(x | c) for every component, into `out` (length k).
    #[inline(always)]
    pub fn log_probs(&mut self, x: &[f32], out: &mut [f64]) {
        let (mix, k, d) = (self.mix, self.mix.k, self.mix.dim);
        if mix.full {
            for (c, out_c) in out.iter_mut().enumerate().take(k) {
                let mean = &mix.means[c * d..(c + 1) * d];
                for j in 0..d {
                    self.diff[j] = x[j] as f64 - mean[j];
                }
                let p = &mix.prec_chol[c * d * d..(c + 1) * d * d];
                let mut q = 0.0;
                for j in 0..d {
                    let mut y = 0.0;
                    for i in 0..=j {
                        y += self.diff[i] * p[i * d + j];
                    }
                    q += y * y;
                }
                *out_c = mix.log_norm[c] - 0.5 * q;
            }
            return;
        }
        let out = &mut out[..k];
        out.fill(0.0);
        for ((&xj, m), p) in x.iter().zip(self.means_t.chunks_exact(k)).zip(self.prec_sq_t.chunks_exact(k)) {
            for ((o, &mc), &pc) in out.iter_mut().zip(m).zip(p) {
                let t = xj as f64 - mc;
                *o += t * t * pc;
            }
        }
        for (l, &norm) in out.iter_mut().zip(&mix.log_norm) {
            *l = norm - 0.5 * *l;
        }
    }
}

/// ln Σ exp(v), stable.
pub fn log_sum_exp(v: &[f64]) -> f64 {
    let max = v.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    if !max.is_finite() {
        return max;
    }
    max + v.iter().map(|&x| (x - max).exp()).sum::<f64>().ln()
}
