//! Initialisation on Spark, the Rust half of what a task computes over its partition:
//! each row's squared distance to the nearest candidate (k-means||'s sampling weights,
//! [`nearest_sq_partition`]) and the statistics of seeded random responsibilities (a
//! mixture's `init_params='random'`, [`random_partition`]).

use custseg::backend::cpu::CpuBackend;
use custseg::backend::{Backend, Centres};
use custseg::cluster::gmm::mixture::needs_full;
use custseg::cluster::gmm::random_stats;
use custseg::rng::Rng;
use numpy::prelude::*;
use numpy::PyArray1;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::PyBytes;

use crate::data::{dataset, Matrix, Vector};
use crate::errors::to_py;
use crate::mixture::covariance;
use crate::wire::{Writer, MIXTURE_TAG};

/// Every row's squared distance to the nearest of `centres` (float32, row order), from the
/// library's assignment pass (as its own k-means|| computes them).
#[pyfunction]
pub fn nearest_sq_partition<'py>(
    py: Python<'py>,
    x: Matrix<'py>,
    centres: Matrix<'py>,
) -> PyResult<Bound<'py, PyArray1<f32>>> {
    let data = dataset(&x, None)?;
    let (k, dim) = centres.shape();
    if dim != data.dim() {
        return Err(PyValueError::new_err(format!("the centres have {dim} features but the data has {}", data.dim())));
    }
    let centres = Centres::new(k, dim, centres.to_f32_rows());
    let mut per_chunk: Vec<Vec<f32>> = vec![Vec::new(); data.chunks().len()];
    py.detach(|| {
        CpuBackend.assign(&data, &centres, &mut |c, _, distances| {
            per_chunk[c] = distances.iter().map(|d| d * d).collect();
            Ok(())
        })
    })
    .map_err(to_py)?;
    Ok(per_chunk.concat().into_pyarray(py))
}

/// Mixture statistics of a partition whose first row is row `first_row` of the whole data,
/// under random responsibilities drawn as a single machine's run `run` of seed `seed` draws
/// them for those rows (`init_params='random'`), serialised.
#[pyfunction]
#[pyo3(signature = (x, sample_weight, k, covariance_type, seed, run, first_row))]
#[allow(clippy::too_many_arguments)]
pub fn random_partition<'py>(
    py: Python<'py>,
    x: Matrix<'py>,
    sample_weight: Option<Vector<'py>>,
    k: usize,
    covariance_type: &str,
    seed: u64,
    run: u64,
    first_row: u64,
) -> PyResult<Bound<'py, PyBytes>> {
    let data = dataset(&x, sample_weight.as_ref())?;
    let full = needs_full(covariance(covariance_type)?);
    let draw_seed = Rng::derive(seed, run).next_u64();
    let stats = py.detach(|| random_stats(&data, k, full, draw_seed, first_row));
    let mut w = Writer::new(MIXTURE_TAG);
    w.mixture(&stats);
    Ok(PyBytes::new(py, &w.0))
}
