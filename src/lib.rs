//! custseg: batch customer segmentation.
//!
//! Parquet in → prep (impute, log1p, clip, scale, one-hot) → a [`cluster::Segmenter`]
//! (K-Means, mini-batch K-Means, Gaussian mixtures) over a pluggable [`backend::Backend`]
//! → assignments, a reusable model and a JSON summary. [`pipeline`] runs these stages with
//! plain values; the binary's `cli` and `commands` only turn arguments into them. See
//! `DESIGN.md` in the shared folder for the shape: every heavy step is one pass over
//! chunks of rows returning small, mergeable statistics.

pub mod backend;
pub mod cli;
pub mod cluster;
pub mod commands;
pub mod continuity;
pub mod customers;
pub mod data;
pub mod error;
pub mod eval;
pub mod explain;
pub mod io;
#[macro_use]
pub mod log;
pub mod model;
pub mod pipeline;
pub mod prep;
pub mod report;
pub mod resources;
pub mod rng;
pub mod signals;
pub mod synth;

pub use error::{Error, Result};
