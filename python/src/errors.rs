//! Library errors as Python exceptions: parameter and data errors are `ValueError`s (what
//! scikit-learn's checks expect); the rest are `CustsegError`s carrying the CLI's exit code.

use pyo3::create_exception;
use pyo3::exceptions::{PyRuntimeError, PyValueError};
use pyo3::PyErr;

create_exception!(custseg, CustsegError, PyRuntimeError, "A custseg failure that is not about a parameter or the data (I/O, backend, internal); `args[1]` is the CLI's exit code.");

/// Converts a library error, keeping its message (which names the parameter, file or column).
pub fn to_py(error: custseg::Error) -> PyErr {
    match error.exit_code() {
        2 | 3 => PyValueError::new_err(error.to_string()),
        code => CustsegError::new_err((error.to_string(), code)),
    }
}
