//! Gaussian mixtures on Spark, the Rust half: a task's E-step over its partition
//! ([`mixture_partition`]) or its rows' statistics under their nearest centre (the K-Means
//! initialisation, [`nearest_partition`]); the driver's merge and M-step
//! ([`mixture_merge`]) and the data's mean variance for K-Means' `tol` ([`mean_variance`]).

use custseg::backend::cpu::CpuBackend;
use custseg::backend::mixture::MixtureStats;
use custseg::backend::{Backend, Centres};
use custseg::cluster::gmm::mixture::needs_full;
use custseg::cluster::gmm::{nearest_centre_stats, Mixture};
use custseg::error::{DegenerateError, Error};
use numpy::prelude::*;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::data::{dataset, Matrix, Vector};
use crate::errors::to_py;
use crate::mixture::{covariance, prepared, MixtureParts};
use crate::wire::{merge_in_order, Reader, Writer, MIXTURE_TAG};

fn mixture_bytes<'py>(py: Python<'py>, stats: &MixtureStats) -> Bound<'py, PyBytes> {
    let mut w = Writer::new(MIXTURE_TAG);
    w.mixture(stats);
    PyBytes::new(py, &w.0)
}

/// One E-step pass over a partition's rows under `mixture`: the library's per-component
/// Σ w·r, Σ w·r·x, Σ w·r·x² (or x·xᵀ) and Σ w·ln p(x), serialised.
#[pyfunction]
pub fn mixture_partition<'py>(
    py: Python<'py>,
    x: Matrix<'py>,
    sample_weight: Option<Vector<'py>>,
    mixture: MixtureParts<'py>,
) -> PyResult<Bound<'py, PyBytes>> {
    let (data, _, pass) = prepared(&x, sample_weight.as_ref(), &mixture)?;
    let stats = py.detach(|| CpuBackend.mixture_pass(&data, &pass)).map_err(to_py)?;
    Ok(mixture_bytes(py, &stats))
}

/// Mixture statistics of a partition's rows, each given wholly to its nearest of `centres`
/// (the second moments `covariance_type` needs), serialised.
#[pyfunction]
pub fn nearest_partition<'py>(
    py: Python<'py>,
    x: Matrix<'py>,
    sample_weight: Option<Vector<'py>>,
    centres: Matrix<'py>,
    covariance_type: &str,
) -> PyResult<Bound<'py, PyBytes>> {
    let data = dataset(&x, sample_weight.as_ref())?;
    let (k, dim) = centres.shape();
    if dim != data.dim() {
        return Err(PyValueError::new_err(format!("the centres have {dim} features but the data has {}", data.dim())));
    }
    let centres = Centres::new(k, dim, centres.to_f32_rows());
    let full = needs_full(covariance(covariance_type)?);
    let stats = py.detach(|| nearest_centre_stats(&CpuBackend, &data, &centres, full)).map_err(to_py)?;
    Ok(mixture_bytes(py, &stats))
}

/// The partitions' mixture statistics merged in the order given (partition index).
fn merged(parts: &[Vec<u8>]) -> PyResult<MixtureStats> {
    let read = parts
        .iter()
        .map(|b| {
            let mut r = Reader::new(b, MIXTURE_TAG)?;
            let s = r.mixture()?;
            r.finish()?;
            Ok(s)
        })
        .collect::<PyResult<Vec<_>>>()?;
    merge_in_order(read, |s| (s.k, s.dim), MixtureStats::merge)
}

/// The driver's step: merges the partitions' statistics in order and runs the library's
/// M-step. Returns the next `weights`, `means` (k × d), flat `covariances` and the pass's
/// `lower_bound` (weighted mean ln p(x)). A component nobody is responsible for, or whose
/// covariance is not positive definite, is a `ValueError` naming it and `reg_covar`.
#[pyfunction]
pub fn mixture_merge<'py>(
    py: Python<'py>,
    parts: Vec<Vec<u8>>,
    covariance_type: &str,
    reg_covar: f64,
) -> PyResult<Bound<'py, PyDict>> {
    let stats = merged(&parts)?;
    let degenerate = |c: custseg::error::Collapsed| {
        to_py(Error::Degenerate(DegenerateError { component: c.component, cause: c.cause, reg_covar }))
    };
    let m = Mixture::from_stats(&stats, covariance(covariance_type)?, reg_covar).map_err(degenerate)?;
    m.to_pass().map_err(degenerate)?;
    let out = PyDict::new(py);
    out.set_item("lower_bound", stats.log_likelihood / stats.weight)?;
    out.set_item("weights", m.weights.into_pyarray(py))?;
    out.set_item("means", m.means.into_pyarray(py).reshape([m.k, m.dim])?)?;
    out.set_item("covariances", m.covariances.into_pyarray(py))?;
    Ok(out)
}

/// The weighted mean of the per-feature variances (K-Means' scale for `tol`) from the
/// partitions' [`nearest_partition`] statistics against one centre.
#[pyfunction]
pub fn mean_variance(parts: Vec<Vec<u8>>) -> PyResult<f64> {
    let s = merged(&parts)?;
    if s.k != 1 || s.full {
        return Err(PyValueError::new_err("mean_variance needs diagonal statistics against one centre"));
    }
    if s.weight <= 0.0 {
        return Ok(0.0);
    }
    let d = s.dim;
    let variance = |j: usize| {
        let mean = s.sum_x[j] / s.weight;
        (s.sum_xx[j] / s.weight - mean * mean).max(0.0)
    };
    Ok((0..d).map(variance).sum::<f64>() / d as f64)
}
