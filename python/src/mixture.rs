//! Gaussian-mixture fits, assignments and per-row log-likelihoods for
//! `custseg.GaussianMixture`. Covariances travel flat, in the library's layout (full:
//! `k × d × d`, diag: `k × d`, spherical: `k`, tied: `d × d`).

use custseg::backend::mixture::{log_sum_exp, LogDensity, MixturePass};
use custseg::cluster::gmm::{self, CovarianceType, GmmInit, GmmParams, Mixture, OnDegenerate};
use custseg::data::Dataset;
use custseg::error::{DegenerateError, Error};
use numpy::prelude::*;
use numpy::{PyArray1, PyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::data::{dataset, open_backend, Assignment, Matrix, Vector};
use crate::errors::to_py;

/// scikit-learn's `covariance_type`.
pub fn covariance(name: &str) -> PyResult<CovarianceType> {
    match name {
        "full" => Ok(CovarianceType::Full),
        "diag" => Ok(CovarianceType::Diag),
        "spherical" => Ok(CovarianceType::Spherical),
        "tied" => Ok(CovarianceType::Tied),
        other => Err(PyValueError::new_err(format!(
            "covariance_type '{other}' is not one of 'full', 'diag', 'spherical', 'tied'"
        ))),
    }
}

/// A mixture from its parts, shapes checked.
fn mixture(covariance_type: &str, weights: &Vector, means: &Matrix, covariances: &Vector) -> PyResult<Mixture> {
    let (k, dim) = means.shape();
    let mixture = Mixture {
        covariance: covariance(covariance_type)?,
        k,
        dim,
        weights: weights.to_f64(),
        means: means.to_f64_rows(),
        covariances: covariances.to_f64(),
    };
    if mixture.weights.len() != k || mixture.covariances.len() != mixture.covariance_len() {
        return Err(PyValueError::new_err(format!(
            "the mixture's weights ({}) or covariances ({} values) do not match {k} components of {dim} features",
            mixture.weights.len(),
            mixture.covariances.len()
        )));
    }
    Ok(mixture)
}

/// A mixture as Python passes it: `(covariance_type, weights, means (k × d), flat covariances)`.
#[derive(FromPyObject)]
pub struct MixtureParts<'py>(String, Vector<'py>, Matrix<'py>, Vector<'py>);

/// `x` (weighted by `sample_weight`) as a dataset, with the mixture `parts` and its E-step
/// form; refused when the widths differ or a component is unusable.
pub fn prepared(
    x: &Matrix,
    sample_weight: Option<&Vector>,
    parts: &MixtureParts,
) -> PyResult<(Dataset, Mixture, MixturePass)> {
    let MixtureParts(covariance_type, weights, means, covariances) = parts;
    let mix = mixture(covariance_type, weights, means, covariances)?;
    let data = dataset(x, sample_weight)?;
    if data.dim() != mix.dim {
        return Err(PyValueError::new_err(format!(
            "X has {} features, but the model was fitted with {}",
            data.dim(),
            mix.dim
        )));
    }
    let pass = pass(&mix)?;
    Ok((data, mix, pass))
}

/// E-step form of a mixture; an unusable component is a `ValueError` naming it.
pub fn pass(mixture: &Mixture) -> PyResult<MixturePass> {
    mixture.to_pass().map_err(|c| {
        to_py(Error::Degenerate(DegenerateError { component: c.component, cause: c.cause, reg_covar: 0.0 }))
    })
}

/// Fits a mixture by EM; returns `weights`, `means` (k × d), flat `covariances`,
/// `lower_bound`, `lower_bounds` (one per iteration of the winning run), `n_iter` and
/// `converged` in a dict. `given` = (weights, means, flat covariances) starts from them.
#[pyfunction]
#[pyo3(signature = (x, sample_weight, n_components, covariance_type, reg_covar, init_name, given, n_init, max_iter, tol, seed, backend="cpu"))]
#[allow(clippy::too_many_arguments)]
pub fn gmm_fit<'py>(
    py: Python<'py>,
    x: Matrix<'py>,
    sample_weight: Option<Vector<'py>>,
    n_components: usize,
    covariance_type: &str,
    reg_covar: f64,
    init_name: &str,
    given: Option<(Vector<'py>, Matrix<'py>, Vector<'py>)>,
    n_init: usize,
    max_iter: usize,
    tol: f64,
    seed: u64,
    backend: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let data = dataset(&x, sample_weight.as_ref())?;
    let init = match (init_name, &given) {
        (_, Some((w, m, c))) => GmmInit::Given(mixture(covariance_type, w, m, c)?),
        ("kmeans", None) => GmmInit::KMeans,
        ("k-means++", None) => GmmInit::KMeansPlusPlus,
        ("random", None) => GmmInit::Random,
        (other, None) => {
            return Err(PyValueError::new_err(format!(
                "init_params '{other}' is not one of 'kmeans', 'k-means++', 'random'"
            )))
        }
    };
    let params = GmmParams {
        k: n_components,
        covariance: covariance(covariance_type)?,
        reg_covar,
        init,
        n_init,
        max_iter,
        tol,
        seed,
        on_degenerate: OnDegenerate::Error,
    }
    .check()
    .map_err(|e| to_py(e.into()))?;
    let backend = open_backend(backend)?;
    let fit = py.detach(|| gmm::fit(backend.as_ref(), &data, &params, &mut |_| {})).map_err(to_py)?;
    let m = &fit.mixture;
    let out = PyDict::new(py);
    out.set_item("weights", m.weights.clone().into_pyarray(py))?;
    out.set_item("means", m.means.clone().into_pyarray(py).reshape([m.k, m.dim])?)?;
    out.set_item("covariances", m.covariances.clone().into_pyarray(py))?;
    out.set_item("lower_bound", fit.lower_bound)?;
    out.set_item("lower_bounds", fit.lower_bounds.clone().into_pyarray(py))?;
    out.set_item("n_iter", fit.iterations)?;
    out.set_item("converged", fit.converged)?;
    Ok(out)
}

/// The most probable component of every row and every component's probability (n × k).
#[pyfunction]
#[pyo3(signature = (x, mixture, backend="cpu"))]
pub fn gmm_assign<'py>(
    py: Python<'py>,
    x: Matrix<'py>,
    mixture: MixtureParts<'py>,
    backend: &str,
) -> PyResult<Assignment<'py, PyArray2<f32>>> {
    let (data, mix, pass) = prepared(&x, None, &mixture)?;
    let backend = open_backend(backend)?;
    let (labels, probs) = py
        .detach(|| {
            let (mut labels, mut probs) = (Vec::new(), Vec::new());
            backend.mixture_assign(&data, &pass, &mut |_, l, p| {
                labels.extend_from_slice(l);
                probs.extend_from_slice(p);
                Ok(())
            })?;
            Ok::<_, custseg::Error>((labels, probs))
        })
        .map_err(to_py)?;
    let rows = labels.len();
    Ok((labels.into_pyarray(py), probs.into_pyarray(py).reshape([rows, mix.k])?))
}

/// ln p(x) of every row under the mixture (scikit-learn's `score_samples`).
#[pyfunction]
pub fn gmm_score_samples<'py>(
    py: Python<'py>,
    x: Matrix<'py>,
    mixture: MixtureParts<'py>,
) -> PyResult<Bound<'py, PyArray1<f64>>> {
    let (data, _, pass) = prepared(&x, None, &mixture)?;
    let scores = py.detach(|| {
        let mut density = LogDensity::new(&pass);
        let mut log_probs = vec![0.0; pass.k];
        let mut scores = Vec::with_capacity(data.rows());
        for chunk in data.chunks() {
            for row in chunk.values.chunks_exact(pass.dim) {
                density.log_probs(row, &mut log_probs);
                scores.push(log_sum_exp(&log_probs));
            }
        }
        scores
    });
    Ok(scores.into_pyarray(py))
}
