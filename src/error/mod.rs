//! The error type every library function returns, and the exit code each kind maps to.
//!
//! Exit codes (DESIGN.md): 0 ok · 2 usage or invalid parameter · 3 invalid input data ·
//! 4 I/O error · 5 requested backend unavailable · 1 internal error.
//!
//! This module depends on nothing else in the crate, so every module can use it.

mod degenerate;
mod gpu;
mod param;

pub use degenerate::{Collapsed, DegenerateCause, DegenerateError};
pub use gpu::GpuError;
pub use param::{name_parameters_as, Param, ParamError};

use std::path::PathBuf;

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a run, grouped by who has to act on it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter is out of range or inconsistent with the data.
    #[error(transparent)]
    Param(#[from] ParamError),

    /// A mixture component collapsed during a fit.
    #[error(transparent)]
    Degenerate(#[from] DegenerateError),

    /// The input data cannot be used as they are. `path` names the file, files or column.
    #[error("{path}: {message}")]
    Data { path: String, message: String },

    /// Reading or writing a file failed.
    #[error("{}: {source}", path.display())]
    Io {
        path: PathBuf,
        #[source]
        source: std::io::Error,
    },

    /// Parquet or Arrow failed on a file, which usually means it is not a valid Parquet file.
    #[error("{}: cannot read as Parquet ({source}); check that the file is a complete, valid Parquet file", path.display())]
    Parquet {
        path: PathBuf,
        #[source]
        source: Box<dyn std::error::Error + Send + Sync>,
    },

    /// The requested compute backend cannot be used on this machine.
    #[error("backend unavailable: {0}")]
    BackendUnavailable(String),

    /// The request would need more memory than the machine has.
    #[error(
        "{what} needs about {} of memory but {} is available; use fewer rows, features or a smaller k, or a larger machine",
        human_bytes(*needed), human_bytes(*available)
    )]
    TooLarge { what: String, needed: u64, available: u64 },

    /// The GPU failed during a pass.
    #[error("GPU error: {0}")]
    Gpu(#[from] GpuError),

    /// A bug: an invariant of our own code did not hold.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The process exit code for this error (DESIGN.md).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Param(_) | Error::TooLarge { .. } | Error::Gpu(GpuError::TooManyFeatures { .. }) => 2,
            Error::Degenerate(_) | Error::Data { .. } | Error::Parquet { .. } => 3,
            Error::Io { .. } => 4,
            Error::BackendUnavailable(_) => 5,
            Error::Gpu(_) | Error::Internal(_) => 1,
        }
    }

    /// An [`ParamError::Invalid`] naming `param`.
    pub fn param(param: Param, message: impl Into<String>) -> Self {
        Error::Param(ParamError::Invalid { param, message: message.into() })
    }

    /// Shorthand for [`Error::Data`] about a file, a set of files or a column.
    pub fn data(path: impl std::fmt::Display, message: impl Into<String>) -> Self {
        Error::Data { path: path.to_string(), message: message.into() }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    /// Writing a Parquet file failed: an I/O error (disk full, quota) naming the output,
    /// never the reader's "cannot read as Parquet".
    pub fn parquet_write(path: impl Into<PathBuf>, source: parquet::errors::ParquetError) -> Self {
        let source = match source {
            parquet::errors::ParquetError::External(inner) => match inner.downcast::<std::io::Error>() {
                Ok(io) => *io,
                Err(other) => std::io::Error::other(format!("cannot write Parquet: {other}")),
            },
            other => std::io::Error::other(format!("cannot write Parquet: {other}")),
        };
        Error::Io { path: path.into(), source }
    }

    /// Shorthand for [`Error::Parquet`] (reading).
    pub fn parquet(path: impl Into<PathBuf>, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Error::Parquet { path: path.into(), source: source.into() }
    }

    /// Whether `--backend auto` may run the failed step again on the CPU.
    pub fn is_gpu_fault(&self) -> bool {
        matches!(self, Error::Gpu(e) if e.is_device_fault())
    }
}

/// Bytes in GiB (or MiB below 1 GiB), one decimal.
pub fn human_bytes(bytes: u64) -> String {
    if bytes >= 1 << 30 {
        format!("{:.1} GiB", bytes as f64 / (1u64 << 30) as f64)
    } else {
        format!("{:.1} MiB", bytes as f64 / (1u64 << 20) as f64)
    }
}
