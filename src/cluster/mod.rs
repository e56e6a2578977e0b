//! Clustering algorithms. Each drives iterations over the [`crate::backend::Backend`]
//! passes; one folder per algorithm with the same files in each.

pub mod gmm;
pub mod kmeans;
