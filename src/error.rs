//! The error type every library function returns, and the exit code each kind maps to.
//!
//! Exit codes (DESIGN.md): 0 ok · 2 usage or invalid parameter · 3 invalid input data ·
//! 4 I/O error · 5 requested backend unavailable · 1 internal error.

use std::path::PathBuf;

/// Result alias used across the library.
pub type Result<T, E = Error> = std::result::Result<T, E>;

/// Everything that can go wrong in a run, grouped by who has to act on it.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// A parameter is out of range or inconsistent with the data.
    #[error("invalid parameter --{name}: {message}")]
    Param { name: &'static str, message: String },

    /// K-Means was asked for something it cannot do.
    #[error(transparent)]
    KMeans(#[from] crate::cluster::kmeans::KMeansError),

    /// A Gaussian-mixture request was invalid or its fit degenerated.
    #[error(transparent)]
    Gmm(#[from] crate::cluster::gmm::GmmError),

    /// The input data cannot be used as it is.
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
        crate::resources::human(*needed), crate::resources::human(*available)
    )]
    TooLarge { what: String, needed: u64, available: u64 },

    /// The GPU failed during a pass (validation error, out of memory, device lost).
    #[error("GPU error: {0}")]
    Gpu(String),

    /// A bug: an invariant of our own code did not hold.
    #[error("internal error: {0}")]
    Internal(String),
}

impl Error {
    /// The process exit code for this error (DESIGN.md).
    pub fn exit_code(&self) -> i32 {
        match self {
            Error::Param { .. } | Error::KMeans(_) | Error::TooLarge { .. } => 2,
            Error::Gmm(crate::cluster::gmm::GmmError::Degenerate { .. }) => 3,
            Error::Gmm(_) => 2,
            Error::Data { .. } | Error::Parquet { .. } => 3,
            Error::Io { .. } => 4,
            Error::BackendUnavailable(_) => 5,
            Error::Gpu(_) | Error::Internal(_) => 1,
        }
    }

    /// Shorthand for [`Error::Param`].
    pub fn param(name: &'static str, message: impl Into<String>) -> Self {
        Error::Param { name, message: message.into() }
    }

    /// Shorthand for [`Error::Data`] about a file (or a set of files).
    pub fn data(path: impl std::fmt::Display, message: impl Into<String>) -> Self {
        Error::Data { path: path.to_string(), message: message.into() }
    }

    /// Shorthand for [`Error::Io`].
    pub fn io(path: impl Into<PathBuf>, source: std::io::Error) -> Self {
        Error::Io { path: path.into(), source }
    }

    /// Shorthand for [`Error::Parquet`].
    pub fn parquet(path: impl Into<PathBuf>, source: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Error::Parquet { path: path.into(), source: source.into() }
    }
}
