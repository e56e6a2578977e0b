//! Density-based segmentation: HDBSCAN and DBSCAN, exact, from one pipeline.
//!
//! 1. A kd-tree partitions the rows ([`kdtree`]); its nodes of at most 128 rows are the
//!    cells (`cells`) that prune every search below, a cell against a cell.
//! 2. Core distances: each row's distance to its `min_samples`-th nearest row, counting
//!    itself, as scikit-learn ([`core`]); an exact k-nearest-neighbour pass ([`knn`]),
//!    O(n·S) memory.
//! 3. The minimum spanning tree of the mutual-reachability graph: Prim ([`prim`], O(n²)
//!    time, scikit-learn's order on tied weights) up to 20,000 rows, Borůvka on the cells
//!    ([`mst`]) beyond.
//! 4. HDBSCAN: the single-linkage dendrogram, the condensed tree ([`hierarchy`]), excess of
//!    mass or leaf selection and GLOSH outlier scores ([`selection`]); or DBSCAN at `eps`
//!    straight from the same tree ([`dbscan`]).
//!
//! [`sampled`] fits a dataset exactly or, past about a million rows, on a seeded sample whose
//! clustered rows then assign every row. A backend's density passes (the GPU kernels) may
//! do the k-nearest-rows and Borůvka work; [`accelerated`] makes their f32 answers exact, so
//! the fit is the same. No step stores neighbourhoods or the n × n
//! distances. Outliers get the label [`NOISE`].
//! [`model`] keeps what assigns new rows.

pub mod accelerated;
pub mod algorithm;
mod boruvka;
mod cells;
pub mod core;
pub mod dbscan;
pub mod hierarchy;
pub mod hyperparams;
pub mod kdtree;
pub mod knn;
pub mod model;
pub mod mst;
pub mod numpy_order;
pub mod prim;
pub mod sampled;
pub mod segments;
pub mod selection;

pub use algorithm::{fit_rows, fit_rows_on, fit_rows_with, DensityFit, MstAlgorithm, PassSeconds};
pub use hyperparams::{ClusterSelection, DbscanParams, DensityParams, HdbscanParams, Sample};
pub use model::{DensityAssigner, DensityRows, MODEL_ROWS};
pub use sampled::fit_dataset;
pub use segments::{DensitySegments, FittedRows};

/// The label of a row no cluster takes (written as segment −1).
pub const NOISE: u32 = u32::MAX;
