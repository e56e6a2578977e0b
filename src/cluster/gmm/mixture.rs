//! Mixture parameters, the M-step that produces them from pass statistics, and the
//! precision Cholesky factors the E-step uses. All in f64.

use crate::error::{Collapsed, DegenerateCause};
use serde::{Deserialize, Serialize};

use super::CovarianceType;
use crate::backend::mixture::{MixturePass, MixtureStats};

/// scikit-learn adds 10·ε to every component's mass so empty components stay finite.
const MASS_EPS: f64 = 10.0 * f64::EPSILON;

/// Weights, means and covariances of a fitted (or given) mixture, prepared space.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Mixture {
    pub covariance: CovarianceType,
    pub k: usize,
    pub dim: usize,
    pub weights: Vec<f64>,
    /// `k × dim`.
    pub means: Vec<f64>,
    /// Full: `k × dim × dim`; diag: `k × dim`; spherical: `k`; tied: `dim × dim`.
    pub covariances: Vec<f64>,
}

/// Whether the E-step must accumulate full second moments for this covariance type.
pub fn needs_full(covariance: CovarianceType) -> bool {
    matches!(covariance, CovarianceType::Full | CovarianceType::Tied)
}

impl Mixture {
    /// The M-step: parameters from pass statistics, as scikit-learn's
    /// `_estimate_gaussian_parameters` computes them, with `reg` added to the diagonals.
    pub fn from_stats(stats: &MixtureStats, covariance: CovarianceType, reg: f64) -> Result<Mixture, Collapsed> {
        let (k, d) = (stats.k, stats.dim);
        if let Some(c) = (0..k).find(|&c| stats.resp[c] <= 0.0) {
            return Err(Collapsed { component: c, cause: DegenerateCause::NoResponsibility });
        }
        let nk: Vec<f64> = stats.resp.iter().map(|r| r + MASS_EPS).collect();
        let total: f64 = nk.iter().sum();
        let weights = nk.iter().map(|n| n / total).collect();
        let mut means = vec![0.0; k * d];
        for c in 0..k {
            for j in 0..d {
                means[c * d + j] = stats.sum_x[c * d + j] / nk[c];
            }
        }
        let full_cov = |c: usize| -> Vec<f64> {
            // Σ r (x − μ)(x − μ)ᵀ = Sxx − μ·Sxᵀ − Sx·μᵀ + R·μ·μᵀ, from the upper triangle of Sxx.
            let (m, sx, sxx) =
                (&means[c * d..(c + 1) * d], &stats.sum_x[c * d..(c + 1) * d], &stats.sum_xx[c * d * d..]);
            let mut cov = vec![0.0; d * d];
            for a in 0..d {
                for b in a..d {
                    let v = sxx[a * d + b] - m[a] * sx[b] - sx[a] * m[b] + stats.resp[c] * m[a] * m[b];
                    cov[a * d + b] = v;
                    cov[b * d + a] = v;
                }
            }
            cov
        };
        let diag_cov = |c: usize| -> Vec<f64> {
            (0..d)
                .map(|j| {
                    let m = means[c * d + j];
                    stats.sum_xx[c * d + j] / nk[c] - 2.0 * m * stats.sum_x[c * d + j] / nk[c] + m * m + reg
                })
                .collect()
        };
        let covariances = match covariance {
            CovarianceType::Full => (0..k)
                .flat_map(|c| {
                    let mut cov = full_cov(c);
                    cov.iter_mut().for_each(|v| *v /= nk[c]);
                    (0..d).for_each(|j| cov[j * d + j] += reg);
                    cov
                })
                .collect(),
            CovarianceType::Diag => (0..k).flat_map(diag_cov).collect(),
            CovarianceType::Spherical => (0..k).map(|c| diag_cov(c).iter().sum::<f64>() / d as f64).collect(),
            CovarianceType::Tied => {
                let mut cov = vec![0.0; d * d];
                for c in 0..k {
                    let sxx = &stats.sum_xx[c * d * d..(c + 1) * d * d];
                    let m = &means[c * d..(c + 1) * d];
                    for a in 0..d {
                        for b in a..d {
                            let v = sxx[a * d + b] - nk[c] * m[a] * m[b];
                            cov[a * d + b] += v;
                            if a != b {
                                cov[b * d + a] += v;
                            }
                        }
                    }
                }
                cov.iter_mut().for_each(|v| *v /= total);
                (0..d).for_each(|j| cov[j * d + j] += reg);
                cov
            }
        };
        Ok(Mixture { covariance, k, dim: d, weights, means, covariances })
    }

    /// Precision Cholesky factors and log normalisers for the E-step.
    pub fn to_pass(&self) -> Result<MixturePass, Collapsed> {
        let (k, d) = (self.k, self.dim);
        let full = needs_full(self.covariance);
        let mut prec_chol = Vec::with_capacity(if full { k * d * d } else { k * d });
        let mut log_det: Vec<f64> = Vec::with_capacity(k);
        for c in 0..k {
            match self.covariance {
                CovarianceType::Full | CovarianceType::Tied => {
                    let cov = if self.covariance == CovarianceType::Full {
                        &self.covariances[c * d * d..(c + 1) * d * d]
                    } else {
                        &self.covariances[..]
                    };
                    let p = precision_cholesky(cov, d)
                        .ok_or(Collapsed { component: c, cause: DegenerateCause::NotPositiveDefinite })?;
                    log_det.push((0..d).map(|j| p[j * d + j].ln()).sum());
                    prec_chol.extend(p);
                }
                CovarianceType::Diag | CovarianceType::Spherical => {
                    let variances: Vec<f64> = if self.covariance == CovarianceType::Diag {
                        self.covariances[c * d..(c + 1) * d].to_vec()
                    } else {
                        vec![self.covariances[c]; d]
                    };
                    if let Some(j) = variances.iter().position(|v| !(v.is_finite() && *v > 0.0)) {
                        return Err(Collapsed {
                            component: c,
                            cause: DegenerateCause::BadVariance { feature: j, value: variances[j] },
                        });
                    }
                    let p: Vec<f64> = variances.iter().map(|v| 1.0 / v.sqrt()).collect();
                    log_det.push(p.iter().map(|v| v.ln()).sum());
                    prec_chol.extend(p);
                }
            }
        }
        let half_log_2pi = 0.5 * d as f64 * (2.0 * std::f64::consts::PI).ln();
        let log_norm = (0..k).map(|c| self.weights[c].ln() + log_det[c] - half_log_2pi).collect();
        Ok(MixturePass { k, dim: d, full, means: self.means.clone(), prec_chol, log_norm })
    }

    /// How many covariance values a mixture of this shape holds.
    pub fn covariance_len(&self) -> usize {
        let (k, d) = (self.k, self.dim);
        match self.covariance {
            CovarianceType::Full => k * d * d,
            CovarianceType::Diag => k * d,
            CovarianceType::Tied => d * d,
            CovarianceType::Spherical => k,
        }
    }

    /// Free parameters (scikit-learn's `_n_parameters`), for BIC and AIC.
    pub fn n_parameters(&self) -> usize {
        let (k, d) = (self.k, self.dim);
        let cov = match self.covariance {
            CovarianceType::Full => k * d * (d + 1) / 2,
            CovarianceType::Diag => k * d,
            CovarianceType::Tied => d * (d + 1) / 2,
            CovarianceType::Spherical => k,
        };
        cov + k * d + k - 1
    }

    /// The covariance matrix of component `c` as a full `dim × dim` matrix.
    pub fn covariance_matrix(&self, c: usize) -> Vec<f64> {
        let d = self.dim;
        match self.covariance {
            CovarianceType::Full => self.covariances[c * d * d..(c + 1) * d * d].to_vec(),
            CovarianceType::Tied => self.covariances.clone(),
            CovarianceType::Diag => {
                let mut m = vec![0.0; d * d];
                (0..d).for_each(|j| m[j * d + j] = self.covariances[c * d + j]);
                m
            }
            CovarianceType::Spherical => {
                let mut m = vec![0.0; d * d];
                (0..d).for_each(|j| m[j * d + j] = self.covariances[c]);
                m
            }
        }
    }
}

/// Lower Cholesky factor of a symmetric `d × d` matrix, or None if not positive definite.
pub fn cholesky(a: &[f64], d: usize) -> Option<Vec<f64>> {
    let mut l = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..=i {
            let mut s = a[i * d + j];
            for p in 0..j {
                s -= l[i * d + p] * l[j * d + p];
            }
            if i == j {
                if !(s > 0.0 && s.is_finite()) {
                    return None;
                }
                l[i * d + i] = s.sqrt();
            } else {
                l[i * d + j] = s / l[j * d + j];
            }
        }
    }
    Some(l)
}

/// `P = (L⁻¹)ᵀ` (upper triangular) for `covariance = L·Lᵀ`, so `covariance⁻¹ = P·Pᵀ`.
pub fn precision_cholesky(cov: &[f64], d: usize) -> Option<Vec<f64>> {
    let l = cholesky(cov, d)?;
    // Forward substitution column by column: L · inv = I.
    let mut inv = vec![0.0; d * d];
    for col in 0..d {
        for i in col..d {
            let mut s = if i == col { 1.0 } else { 0.0 };
            for p in col..i {
                s -= l[i * d + p] * inv[p * d + col];
            }
            inv[i * d + col] = s / l[i * d + i];
        }
    }
    let mut p = vec![0.0; d * d];
    for i in 0..d {
        for j in 0..d {
            p[i * d + j] = inv[j * d + i];
        }
    }
    Some(p)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn precision_cholesky_inverts_the_covariance() {
        let cov = [4.0, 2.0, 0.5, 2.0, 3.0, 0.25, 0.5, 0.25, 2.0];
        let p = precision_cholesky(&cov, 3).unwrap();
        // cov · (P Pᵀ) = I
        for i in 0..3 {
            for j in 0..3 {
                let mut v = 0.0;
                for m in 0..3 {
                    let ppt: f64 = (0..3).map(|n| p[m * 3 + n] * p[j * 3 + n]).sum();
                    v += cov[i * 3 + m] * ppt;
                }
                assert!((v - if i == j { 1.0 } else { 0.0 }).abs() < 1e-12, "({i},{j}) = {v}");
            }
        }
        assert!(p[3] == 0.0 && p[6] == 0.0 && p[7] == 0.0, "upper triangular: {p:?}");
    }

    #[test]
    fn a_singular_covariance_has_no_cholesky() {
        assert!(cholesky(&[1.0, 1.0, 1.0, 1.0], 2).is_none());
        assert!(cholesky(&[f64::NAN], 1).is_none());
    }
}
