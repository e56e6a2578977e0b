//! Checks of a saved mixture: its shapes by covariance type, weights on the simplex, means
//! equal to the model's centres, symmetric positive-definite covariances, and an E-step
//! form whose factors fit f32.

use super::{damage, length, num, same, Checked, WEIGHT_SUM_TOLERANCE};
use crate::cluster::gmm::mixture::cholesky;
use crate::cluster::gmm::{CovarianceType, Mixture};
use crate::prep::magnitude_limit;

/// Relative asymmetry a full or tied covariance may have (it is written symmetric).
const SYMMETRY_TOLERANCE: f64 = 1e-9;
/// Checks a saved mixture against the model's `k`, feature count and centres.
pub(super) fn mixture(m: &Mixture, k: usize, dim: usize, centres: &[Vec<f32>]) -> Checked {
    const F: &str = "gmm.mixture";
    if m.k != k {
        return Err(damage(format!("{F}.k"), format!("is {} but the model's k is {k}", m.k)));
    }
    if m.dim != dim {
        return Err(damage(format!("{F}.dim"), format!("is {} but the model has {dim} features", m.dim)));
    }
    length(format!("{F}.weights"), m.weights.len(), k, format!("k = {k}"))?;
    for (c, &w) in m.weights.iter().enumerate() {
        if !(w.is_finite() && w >= 0.0) {
            return Err(damage(
                format!("{F}.weights[{c}]"),
                format!("is {}; weights must be ≥ 0 and sum to 1", num(w)),
            ));
        }
    }
    let sum: f64 = m.weights.iter().sum();
    if (sum - 1.0).abs() > WEIGHT_SUM_TOLERANCE {
        return Err(damage(
            format!("{F}.weights"),
            format!("sum to {}; weights must be ≥ 0 and sum to 1 (within {WEIGHT_SUM_TOLERANCE:e})", num(sum)),
        ));
    }
    length(format!("{F}.means"), m.means.len(), k * dim, format!("k × features = {k} × {dim}"))?;
    let limit = magnitude_limit(dim) as f64;
    for (i, &v) in m.means.iter().enumerate() {
        if !(v.is_finite() && v.abs() <= limit) {
            return Err(damage(
                format!("{F}.means[{i}]"),
                format!("is {}; prepared values are finite and within ±{}", num(v), num(limit)),
            ));
        }
        let (c, j) = (i / dim, i % dim);
        let centre = centres.get(c).and_then(|r| r.get(j)).copied().unwrap_or(f32::NAN) as f64;
        if !same(v, centre) {
            return Err(damage(
                format!("{F}.means[{i}]"),
                format!("is {} but centres[{c}][{j}] is {}", num(v), num(centre)),
            ));
        }
    }
    let shape = match m.covariance {
        CovarianceType::Full => format!("k × features × features = {k} × {dim} × {dim} (full)"),
        CovarianceType::Diag => format!("k × features = {k} × {dim} (diag)"),
        CovarianceType::Tied => format!("features × features = {dim} × {dim} (tied)"),
        CovarianceType::Spherical => format!("k = {k} (spherical)"),
    };
    length(format!("{F}.covariances"), m.covariances.len(), m.covariance_len(), shape)?;
    if let Some(i) = m.covariances.iter().position(|v| !v.is_finite()) {
        return Err(damage(
            format!("{F}.covariances[{i}]"),
            format!("is {}; it must be a finite number", num(m.covariances[i])),
        ));
    }
    match m.covariance {
        CovarianceType::Diag | CovarianceType::Spherical => {
            if let Some(i) = m.covariances.iter().position(|&v| v <= 0.0) {
                return Err(damage(
                    format!("{F}.covariances[{i}]"),
                    format!("is {}; a variance must be > 0", num(m.covariances[i])),
                ));
            }
        }
        CovarianceType::Full | CovarianceType::Tied => {
            let matrices = if m.covariance == CovarianceType::Full { k } else { 1 };
            for c in 0..matrices {
                let cov = &m.covariances[c * dim * dim..(c + 1) * dim * dim];
                for a in 0..dim {
                    for b in a + 1..dim {
                        let (x, y) = (cov[a * dim + b], cov[b * dim + a]);
                        if (x - y).abs() > SYMMETRY_TOLERANCE * x.abs().max(y.abs()).max(f64::MIN_POSITIVE) {
                            return Err(damage(
                                format!("{F}.covariances[{}]", c * dim * dim + a * dim + b),
                                format!(
                                    "is {} but its mirror [{}] is {}; a covariance is symmetric",
                                    num(x),
                                    c * dim * dim + b * dim + a,
                                    num(y)
                                ),
                            ));
                        }
                    }
                }
                if cholesky(cov, dim).is_none() {
                    let what = if m.covariance == CovarianceType::Full {
                        format!("component {c}'s covariance")
                    } else {
                        "the tied covariance".into()
                    };
                    return Err(damage(
                        format!("{F}.covariances[{}..{}]", c * dim * dim, (c + 1) * dim * dim),
                        format!("({what}) is not positive definite"),
                    ));
                }
            }
        }
    }
    // The E-step form runs in f32 on the GPU: its factors and normalisers must fit.
    let pass = m.to_pass().map_err(|c| damage(F, format!("component {} is unusable ({})", c.component, c.cause)))?;
    let fits = |v: f64| v.is_finite() && v.abs() <= f32::MAX as f64;
    if let Some(i) = pass.prec_chol.iter().position(|&v| !fits(v)) {
        let c = i / if pass.full { dim * dim } else { dim };
        return Err(damage(
            format!("{F}.covariances"),
            format!("of component {c} are so small that their precision ({}) overflows f32", num(pass.prec_chol[i])),
        ));
    }
    if let Some(c) =
        (0..k).find(|&c| !(fits(pass.log_norm[c]) || (m.weights[c] == 0.0 && pass.log_norm[c] == f64::NEG_INFINITY)))
    {
        return Err(damage(
            format!("{F}.covariances"),
            format!("of component {c} give a log normaliser of {}, outside f32", num(pass.log_norm[c])),
        ));
    }
    Ok(())
}
