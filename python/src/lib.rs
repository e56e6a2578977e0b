//! `custseg._native`: the Rust library seen from Python. The estimators in
//! `custseg/_estimators.py` validate their inputs the scikit-learn way and call the fits and
//! assignments here; `fit_parquet` and `customers` run the CLI's commands. Every heavy call
//! releases the GIL.

mod data;
mod errors;
mod kmeans;
mod mixture;
mod pipeline;

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
    Ok(())
}
