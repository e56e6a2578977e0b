//! K-Means and mini-batch K-Means fits, and the nearest-centre assignment, for
//! `custseg.KMeans` and `custseg.MiniBatchKMeans`.

use custseg::backend::Centres;
use custseg::cluster::kmeans::{Init, KMeansParams};
use custseg::cluster::{AlgorithmFit, Segmenter};
use numpy::prelude::*;
use numpy::{PyArray1, PyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyDict;

use crate::data::{dataset, open_backend, Assignment, Matrix, Vector};
use crate::errors::to_py;

/// The initialisation named by scikit-learn's `init` (an array arrives as `centres`).
fn init(name: &str, centres: Option<&Matrix>) -> PyResult<Init> {
    match (name, centres) {
        (_, Some(c)) => {
            let (k, dim) = c.shape();
            Ok(Init::Centres(Centres::new(k, dim, c.to_f32_rows())))
        }
        ("k-means++", None) => Ok(Init::KMeansPlusPlus),
        ("random", None) => Ok(Init::Random),
        ("k-means||", None) => Ok(Init::Parallel { rounds: 5, oversampling: 2.0 }),
        (other, None) => Err(PyValueError::new_err(format!(
            "init '{other}' is not one of 'k-means++', 'random', 'k-means||' or an array of shape (n_clusters, n_features)"
        ))),
    }
}

/// Fits K-Means (mini-batch when `batch_size` is given) and returns `cluster_centers_`
/// (float32, row-major), `labels_`, `inertia_` and `n_iter_` in a dict.
#[pyfunction]
#[pyo3(signature = (x, sample_weight, n_clusters, init_name, init_centres, n_init, max_iter, tol, seed, batch_size=None, backend="cpu"))]
#[allow(clippy::too_many_arguments)]
pub fn kmeans_fit<'py>(
    py: Python<'py>,
    x: Matrix<'py>,
    sample_weight: Option<Vector<'py>>,
    n_clusters: usize,
    init_name: &str,
    init_centres: Option<Matrix<'py>>,
    n_init: usize,
    max_iter: usize,
    tol: f64,
    seed: u64,
    batch_size: Option<usize>,
    backend: &str,
) -> PyResult<Bound<'py, PyDict>> {
    let data = dataset(&x, sample_weight.as_ref())?;
    let init = init(init_name, init_centres.as_ref())?;
    let params =
        KMeansParams { k: n_clusters, init, n_init, max_iter, tol, seed }.check().map_err(|e| to_py(e.into()))?;
    let segmenter = match batch_size {
        Some(b) => Segmenter::minibatch(params, b).map_err(|e| to_py(e.into()))?,
        None => Segmenter::KMeans(params),
    };
    let backend = open_backend(backend)?;
    let (fit, labels) = py
        .detach(|| {
            let outcome = segmenter.fit(backend.as_ref(), &data, &mut |_| {})?;
            let labels = outcome.segments.labels(backend.as_ref(), &data)?.concat();
            Ok::<_, custseg::Error>((outcome.fit, labels))
        })
        .map_err(to_py)?;
    let AlgorithmFit::KMeans(fit) = fit else {
        return Err(PyValueError::new_err("a K-Means request returned another algorithm's fit"));
    };
    let out = PyDict::new(py);
    out.set_item("cluster_centers", centres_array(py, &fit.centres)?)?;
    out.set_item("labels", labels.into_pyarray(py))?;
    out.set_item("inertia", fit.inertia)?;
    out.set_item("n_iter", fit.iterations)?;
    out.set_item("converged", fit.converged)?;
    Ok(out)
}

/// The nearest of `centres` for every row of `x`, and the distance to it.
#[pyfunction]
#[pyo3(signature = (x, centres, backend="cpu"))]
pub fn kmeans_assign<'py>(
    py: Python<'py>,
    x: Matrix<'py>,
    centres: Matrix<'py>,
    backend: &str,
) -> PyResult<Assignment<'py, PyArray1<f32>>> {
    let data = dataset(&x, None)?;
    let (k, dim) = centres.shape();
    if dim != data.dim() {
        return Err(PyValueError::new_err(format!(
            "X has {} features, but the model was fitted with {dim}",
            data.dim()
        )));
    }
    let centres = Centres::new(k, dim, centres.to_f32_rows());
    let backend = open_backend(backend)?;
    let (labels, distances) = py
        .detach(|| {
            let (mut labels, mut distances) = (Vec::new(), Vec::new());
            backend.assign(&data, &centres, &mut |_, l, d| {
                labels.extend_from_slice(l);
                distances.extend_from_slice(d);
                Ok(())
            })?;
            Ok::<_, custseg::Error>((labels, distances))
        })
        .map_err(to_py)?;
    Ok((labels.into_pyarray(py), distances.into_pyarray(py)))
}

/// Centres as a `(k, dim)` float32 array.
fn centres_array<'py>(py: Python<'py>, centres: &Centres) -> PyResult<Bound<'py, PyArray2<f32>>> {
    centres.values.clone().into_pyarray(py).reshape([centres.k, centres.dim])
}
