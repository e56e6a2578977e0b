//! Principal components for the report's scatter plot: one covariance pass on the backend
//! (a one-component, full-covariance mixture pass returns exactly Σw, Σw·x and Σw·x·xᵀ)
//! and a cyclic Jacobi eigensolver in f64. Its cost grows with d³, so wide data are
//! projected on at most [`MAX_PCA_FEATURES`] chosen features.

use crate::backend::mixture::MixturePass;
use crate::backend::Backend;
use crate::data::Dataset;
use crate::error::Result;

/// The weighted mean and covariance (`dim × dim`, row-major) of the rows of `data`.
pub fn covariance(backend: &dyn Backend, data: &Dataset) -> Result<(Vec<f64>, Vec<f64>)> {
    let d = data.dim();
    let mut identity = vec![0.0; d * d];
    for j in 0..d {
        identity[j * d + j] = 1.0;
    }
    // With a single component every responsibility is 1, whatever its parameters.
    let pass = MixturePass { k: 1, dim: d, full: true, means: vec![0.0; d], prec_chol: identity, log_norm: vec![0.0] };
    let stats = backend.mixture_pass(data, &pass)?;
    let w = stats.resp[0].max(f64::MIN_POSITIVE);
    let mean: Vec<f64> = stats.sum_x.iter().map(|s| s / w).collect();
    let mut cov = vec![0.0; d * d];
    for a in 0..d {
        for b in a..d {
            // The pass fills the upper triangle only.
            let v = stats.sum_xx[a * d + b] / w - mean[a] * mean[b];
            cov[a * d + b] = v;
            cov[b * d + a] = v;
        }
    }
    Ok((mean, cov))
}

/// Eigenvalues (largest first) and unit eigenvectors (`vectors[i]` belongs to `values[i]`)
/// of the symmetric `d × d` matrix `m`. Each vector's largest-magnitude entry is made
/// positive, so the result does not depend on rounding.
pub fn symmetric_eigen(m: &[f64], d: usize) -> (Vec<f64>, Vec<Vec<f64>>) {
    assert_eq!(m.len(), d * d, "matrix must be d × d");
    let mut a = m.to_vec();
    let mut v = vec![0.0; d * d];
    for i in 0..d {
        v[i * d + i] = 1.0;
    }
    let scale = a.iter().map(|x| x * x).sum::<f64>().sqrt().max(f64::MIN_POSITIVE);
    for _sweep in 0..100 {
        let off: f64 = (0..d).flat_map(|p| (p + 1..d).map(move |q| (p, q))).map(|(p, q)| a[p * d + q].powi(2)).sum();
        if off.sqrt() <= 1e-15 * scale {
            break;
        }
        for p in 0..d {
            for q in p + 1..d {
                let apq = a[p * d + q];
                if apq == 0.0 {
                    continue;
                }
                // Rotation that zeroes a[p][q] (Golub & Van Loan, §8.5).
                let theta = (a[q * d + q] - a[p * d + p]) / (2.0 * apq);
                let t = theta.signum() / (theta.abs() + (theta * theta + 1.0).sqrt());
                let t = if theta == 0.0 { 1.0 } else { t };
                let c = 1.0 / (t * t + 1.0).sqrt();
                let s = t * c;
                for r in 0..d {
                    let (arp, arq) = (a[r * d + p], a[r * d + q]);
                    a[r * d + p] = c * arp - s * arq;
                    a[r * d + q] = s * arp + c * arq;
                }
                for r in 0..d {
                    let (apr, aqr) = (a[p * d + r], a[q * d + r]);
                    a[p * d + r] = c * apr - s * aqr;
                    a[q * d + r] = s * apr + c * aqr;
                }
                for r in 0..d {
                    let (vrp, vrq) = (v[r * d + p], v[r * d + q]);
                    v[r * d + p] = c * vrp - s * vrq;
                    v[r * d + q] = s * vrp + c * vrq;
                }
            }
        }
    }
    let mut order: Vec<usize> = (0..d).collect();
    order.sort_by(|&i, &j| a[j * d + j].total_cmp(&a[i * d + i]).then(i.cmp(&j)));
    let values = order.iter().map(|&i| a[i * d + i]).collect();
    let vectors = order
        .iter()
        .map(|&i| {
            let mut col: Vec<f64> = (0..d).map(|r| v[r * d + i]).collect();
            let lead = col.iter().copied().fold(0.0f64, |m, x| if x.abs() > m.abs() { x } else { m });
            if lead < 0.0 {
                col.iter_mut().for_each(|x| *x = -*x);
            }
            col
        })
        .collect();
    (values, vectors)
}

/// Most features the projection is computed on: wider data are projected on a subset
/// ([`Projection::fit_on`]), so the report's cost does not grow with d³.
pub const MAX_PCA_FEATURES: usize = 64;

/// The first two principal axes of the data and the share of variance each explains.
#[derive(Debug, Clone, PartialEq)]
pub struct Projection {
    pub mean: Vec<f64>,
    /// Two unit vectors (one when the data have a single column; the second is then zero).
    pub axes: [Vec<f64>; 2],
    pub explained: [f64; 2],
}

impl Projection {
    /// Fits the projection with one covariance pass over `data`.
    pub fn fit(backend: &dyn Backend, data: &Dataset) -> Result<Self> {
        let d = data.dim();
        let (mean, cov) = covariance(backend, data)?;
        // The total variance is the trace, whichever solver finds the leading axes.
        let total: f64 = (0..d).map(|j| cov[j * d + j].max(0.0)).sum::<f64>().max(f64::MIN_POSITIVE);
        let (values, vectors) = symmetric_eigen(&cov, d);
        let axis = |i: usize| vectors.get(i).cloned().unwrap_or_else(|| vec![0.0; d]);
        let share = |i: usize| values.get(i).map_or(0.0, |v| v.max(0.0) / total);
        Ok(Projection { mean, axes: [axis(0), axis(1)], explained: [share(0), share(1)] })
    }

    /// Fits the projection on `columns` of the rows `rows` of `data` only (for wide data);
    /// the axes are zero on the other columns, so [`Projection::project`] takes whole rows.
    pub fn fit_on(backend: &dyn Backend, data: &Dataset, rows: &[usize], columns: &[usize]) -> Result<Self> {
        let values: Vec<f32> = rows.iter().flat_map(|&i| columns.iter().map(move |&j| data.row(i)[j])).collect();
        let weights: Option<Vec<f32>> = data.is_weighted().then(|| rows.iter().map(|&i| data.weight(i)).collect());
        let sub = Dataset::from_rows(&values, columns.len(), weights.as_deref(), rows.len().max(1));
        let fitted = Projection::fit(backend, &sub)?;
        let d = data.dim();
        let embed = |v: &[f64]| {
            let mut full = vec![0.0; d];
            columns.iter().zip(v).for_each(|(&j, &x)| full[j] = x);
            full
        };
        Ok(Projection {
            mean: embed(&fitted.mean),
            axes: [embed(&fitted.axes[0]), embed(&fitted.axes[1])],
            explained: fitted.explained,
        })
    }

    /// Coordinates of `x` on the two axes.
    pub fn project(&self, x: &[f32]) -> [f64; 2] {
        let along = |axis: &[f64]| x.iter().zip(&self.mean).zip(axis).map(|((&v, m), a)| (v as f64 - m) * a).sum();
        [along(&self.axes[0]), along(&self.axes[1])]
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn eigen_reconstructs_a_symmetric_matrix() {
        let d = 4;
        let m = [4.0, 1.0, 0.5, 0.0, 1.0, 3.0, 0.2, 0.1, 0.5, 0.2, 2.0, 0.3, 0.0, 0.1, 0.3, 1.0];
        let (values, vectors) = symmetric_eigen(&m, d);
        assert!(values.windows(2).all(|w| w[0] >= w[1]), "sorted: {values:?}");
        for a in 0..d {
            for b in 0..d {
                let rebuilt: f64 = (0..d).map(|i| values[i] * vectors[i][a] * vectors[i][b]).sum();
                assert!((rebuilt - m[a * d + b]).abs() < 1e-12, "({a},{b}): {rebuilt} vs {}", m[a * d + b]);
            }
        }
        assert!((values.iter().sum::<f64>() - 10.0).abs() < 1e-12, "trace kept");
    }

    #[test]
    fn a_projection_on_some_columns_ignores_the_others() {
        // Column 1 carries the variance; column 0 is left out, column 2 is constant.
        let values: Vec<f32> = (0..50).flat_map(|i| [1e6 * (i % 2) as f32, i as f32, 3.0]).collect();
        let data = Dataset::from_rows(&values, 3, None, 16);
        let rows: Vec<usize> = (0..50).collect();
        let p = Projection::fit_on(&crate::backend::cpu::CpuBackend::new(), &data, &rows, &[1, 2]).unwrap();
        assert_eq!(p.axes[0][0], 0.0);
        assert!((p.axes[0][1].abs() - 1.0).abs() < 1e-12, "{:?}", p.axes[0]);
        assert_eq!(p.project(&[5.0, 24.5, 3.0])[0], 0.0);
    }

    #[test]
    fn eigen_of_a_diagonal_matrix_is_its_sorted_diagonal() {
        let (values, vectors) = symmetric_eigen(&[1.0, 0.0, 0.0, 0.0, 3.0, 0.0, 0.0, 0.0, 2.0], 3);
        assert_eq!(values, vec![3.0, 2.0, 1.0]);
        assert_eq!(vectors[0], vec![0.0, 1.0, 0.0]);
    }
}
