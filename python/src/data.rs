//! numpy arrays → the library's [`Dataset`]: C-contiguous float32 read in place; float64 or
//! any other strides copied once into row-major f32 chunks (the layout every pass reads).

use custseg::backend::Backend;
use std::sync::Arc;

use custseg::data::{Chunk, Dataset, SharedValues};
use custseg::pipeline::{BackendChoice, BackendOptions, Engine};
use numpy::ndarray::s;
use numpy::prelude::*;
use numpy::{PyArray1, PyArray2, PyReadonlyArray1, PyReadonlyArray2};
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

    /// Rows `start..end` row-major as f32, whatever the layout.
    pub fn rows_f32(&self, start: usize, end: usize) -> Vec<f32> {
        match self {
            Matrix::F32(a) => a.as_array().slice(s![start..end, ..]).iter().copied().collect(),
            Matrix::F64(a) => a.as_array().slice(s![start..end, ..]).iter().map(|&v| v as f32).collect(),
        }
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

/// A dataset of `x`'s rows, weighted by `sample_weight` when given (one per row): a
/// C-contiguous float32 array is read in place; any other layout or precision is copied
/// once, chunk by chunk, into row-major f32.
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
    let in_place = match x {
        Matrix::F32(a) => ArrayRows::of(a),
        Matrix::F64(_) => None,
    };
    let chunks = (0..rows)
        .step_by(CHUNK_ROWS)
        .map(|start| {
            let end = (start + CHUNK_ROWS).min(rows);
            let weights = weights.as_ref().map(|w| w[start..end].to_vec());
            match &in_place {
                Some(owner) => Chunk::shared(owner.clone(), start * dim, (end - start) * dim, weights),
                None => Chunk::new(x.rows_f32(start, end), weights),
            }
        })
        .collect();
    Ok(Dataset::from_chunks(dim, chunks))
}

/// A C-contiguous float32 array that chunks read in place: the reference keeps the array
/// (and so its buffer) alive, and the pointer lets passes read it with the GIL released.
#[derive(Debug)]
struct ArrayRows {
    _array: Py<PyArray2<f32>>,
    ptr: *const f32,
    len: usize,
}

// SAFETY: `ptr..ptr + len` is the buffer of `_array`, which the reference keeps alive and
// which numpy never moves or frees while referenced; it is only ever read.
unsafe impl Send for ArrayRows {}
unsafe impl Sync for ArrayRows {}

impl ArrayRows {
    /// `a`'s buffer when it is C-contiguous, else None (copied instead).
    fn of(a: &PyReadonlyArray2<f32>) -> Option<Arc<dyn SharedValues>> {
        if !a.is_c_contiguous() {
            return None; // numpy's `as_slice` also accepts Fortran order
        }
        let values = a.as_slice().ok()?;
        let (ptr, len) = (values.as_ptr(), values.len());
        Some(Arc::new(ArrayRows { _array: (**a).clone().unbind(), ptr, len }))
    }
}

impl SharedValues for ArrayRows {
    fn values(&self) -> &[f32] {
        // SAFETY: see the `Send`/`Sync` impls above.
        unsafe { std::slice::from_raw_parts(self.ptr, self.len) }
    }
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

/// Whether the dataset made of `x` reads `x`'s own buffer (C-contiguous float32) rather
/// than a copy: for the tests of the no-copy promise.
#[pyfunction]
pub fn reads_in_place(x: Matrix) -> PyResult<bool> {
    let data = dataset(&x, None)?;
    Ok(match (&x, data.chunks().first()) {
        (Matrix::F32(a), Some(chunk)) => a.as_slice().is_ok_and(|v| std::ptr::eq(v.as_ptr(), chunk.values.as_ptr())),
        _ => false,
    })
}
