//! numpy arrays → the library's [`Dataset`]: float32 or float64, any strides, copied once
//! into row-major f32 chunks (the layout every backend pass reads).

use custseg::backend::Backend;
use custseg::data::Dataset;
use custseg::pipeline::{BackendChoice, BackendOptions, Engine};
use numpy::prelude::*;
use numpy::{PyArray1, PyReadonlyArray1, PyReadonlyArray2};
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;

/// Rows per chunk: statistics are merged per chunk in order, so results do not depend on
/// the thread count.
pub const CHUNK_ROWS: usize = 65_536;

/// Labels of every row, and the per-row values that come with them (distances or probabilities).
pub type Assignment<'py, V> = (Bound<'py, PyArray1<u32>>, Bound<'py, V>);

/// A 2-D float array from Python, in either precision.
#[derive(FromPyObject)]
pub enum Matrix<'py> {
    F32(PyReadonlyArray2<'py, f32>),
    F64(PyReadonlyArray2<'py, f64>),
}

/// A 1-D float array from Python, in either precision.
#[derive(FromPyObject)]
pub enum Vector<'py> {
    F32(PyReadonlyArray1<'py, f32>),
    F64(PyReadonlyArray1<'py, f64>),
}

impl Matrix<'_> {
    /// `(rows, columns)`.
    pub fn shape(&self) -> (usize, usize) {
        let s = match self {
            Matrix::F32(a) => a.shape().to_vec(),
            Matrix::F64(a) => a.shape().to_vec(),
        };
        (s[0], s[1])
    }

    /// The values row-major as f32, whatever the layout.
    pub fn to_f32_rows(&self) -> Vec<f32> {
        match self {
            Matrix::F32(a) => a.as_array().iter().copied().collect(),
            Matrix::F64(a) => a.as_array().iter().map(|&v| v as f32).collect(),
        }
    }

    /// The values row-major as f64, whatever the layout (parameters given by the caller).
    pub fn to_f64_rows(&self) -> Vec<f64> {
        match self {
            Matrix::F32(a) => a.as_array().iter().map(|&v| v as f64).collect(),
            Matrix::F64(a) => a.as_array().iter().copied().collect(),
        }
    }
}

impl Vector<'_> {
    /// The values as f32.
    pub fn to_f32(&self) -> Vec<f32> {
        match self {
            Vector::F32(a) => a.as_array().iter().copied().collect(),
            Vector::F64(a) => a.as_array().iter().map(|&v| v as f32).collect(),
        }
    }

    /// The values as f64.
    pub fn to_f64(&self) -> Vec<f64> {
        match self {
            Vector::F32(a) => a.as_array().iter().map(|&v| v as f64).collect(),
            Vector::F64(a) => a.as_array().iter().copied().collect(),
        }
    }
}

/// A dataset of `x`'s rows, weighted by `sample_weight` when given (one per row).
pub fn dataset(x: &Matrix, sample_weight: Option<&Vector>) -> PyResult<Dataset> {
    let (rows, dim) = x.shape();
    if dim == 0 {
        return Err(PyValueError::new_err("X has 0 features; at least one is required"));
    }
    let weights = sample_weight.map(Vector::to_f32);
    if let Some(w) = &weights {
        if w.len() != rows {
            return Err(PyValueError::new_err(format!(
                "sample_weight has {} values for {rows} rows of X; give one per row",
                w.len()
            )));
        }
    }
    Ok(Dataset::from_rows(&x.to_f32_rows(), dim, weights.as_deref(), CHUNK_ROWS))
}

/// The backend named `backend` ("cpu", "gpu" or "auto").
pub fn open_backend(backend: &str) -> PyResult<Box<dyn Backend>> {
    let choice = match backend {
        "cpu" => BackendChoice::Cpu,
        "gpu" => BackendChoice::Gpu,
        "auto" => BackendChoice::Auto,
        other => return Err(PyValueError::new_err(format!("backend '{other}' is not one of 'cpu', 'gpu', 'auto'"))),
    };
    let engine = Engine::open(&BackendOptions { choice, ..BackendOptions::default() }).map_err(crate::errors::to_py)?;
    Ok(engine.backend)
}
