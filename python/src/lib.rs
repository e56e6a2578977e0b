//! `custseg._native`: the Rust library seen from Python. The estimators in
//! `custseg/_kmeans.py` and `custseg/_mixture.py` validate their inputs the scikit-learn way and call the fits and
//! assignments here; `fit_parquet` and `customers` run the CLI's commands; `spark_*` are
//! the per-partition passes and driver merges of `custseg.spark`. Every heavy call releases
//! the GIL.

mod data;
mod errors;
mod kmeans;
mod mixture;
mod pipeline;
mod spark_init;
mod spark_kmeans;
mod spark_mixture;
mod wire;

use pyo3::prelude::*;

/// The extension module.
#[pymodule]
fn _native(m: &Bound<'_, PyModule>) -> PyResult<()> {
    m.add("CustsegError", m.py().get_type::<errors::CustsegError>())?;
    m.add_function(wrap_pyfunction!(kmeans::kmeans_fit, m)?)?;
    m.add_function(wrap_pyfunction!(kmeans::kmeans_assign, m)?)?;
    m.add_function(wrap_pyfunction!(mixture::gmm_fit, m)?)?;
    m.add_function(wrap_pyfunction!(mixture::gmm_assign, m)?)?;
    m.add_function(wrap_pyfunction!(mixture::gmm_score_samples, m)?)?;
    m.add_function(wrap_pyfunction!(pipeline::run_cli, m)?)?;
    m.add_function(wrap_pyfunction!(data::reads_in_place, m)?)?;
    m.add_function(wrap_pyfunction!(spark_kmeans::lloyd_partition, m)?)?;
    m.add_function(wrap_pyfunction!(spark_kmeans::lloyd_merge, m)?)?;
    m.add_function(wrap_pyfunction!(spark_kmeans::kmeans_init, m)?)?;
    m.add_function(wrap_pyfunction!(spark_mixture::mixture_partition, m)?)?;
    m.add_function(wrap_pyfunction!(spark_mixture::nearest_partition, m)?)?;
    m.add_function(wrap_pyfunction!(spark_mixture::mixture_merge, m)?)?;
    m.add_function(wrap_pyfunction!(spark_mixture::mean_variance, m)?)?;
    m.add_function(wrap_pyfunction!(spark_init::nearest_sq_partition, m)?)?;
    m.add_function(wrap_pyfunction!(spark_init::random_partition, m)?)?;
    Ok(())
}
