//! Fitted Ward segments: how rows are assigned once the tree is cut.
//!
//! The rows a fit was built on keep the tree's own labels (exact mode) or their nearest
//! micro-cluster's segment (two-level mode). New rows (`predict`, bootstrap refits) go to
//! the nearest segment centroid in exact mode, or through the nearest micro-cluster centre
//! in two-level mode. Either way each row's value is its exact Euclidean distance to its
//! segment's centroid.

use std::sync::Arc;

use crate::backend::{AssignSink, Backend, Centres};
use crate::data::Dataset;
use crate::error::Result;

/// Two-level mode: micro-cluster centres and the segment each belongs to.
#[derive(Debug, Clone, PartialEq)]
pub struct MicroClusters {
    pub centres: Centres,
    pub segments: Vec<u32>,
}

/// The tree's labels of the rows a fit was built on, per chunk, for the dataset with this id.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedLabels {
    pub data_id: u64,
    pub labels: Arc<Vec<Vec<u32>>>,
}

/// Ward segments, ready to assign rows.
#[derive(Debug, Clone, PartialEq)]
pub struct WardSegments {
    /// Each segment's centroid (the weighted mean of its rows), `k × dim`.
    pub centroids: Centres,
    /// Two-level mode: rows go to their nearest micro-cluster's segment.
    pub micro: Option<MicroClusters>,
    /// Exact mode, on the fitted rows: the cut's labels (nearest-centroid assignment may
    /// differ from them at segment borders).
    pub fitted: Option<FittedLabels>,
}

impl WardSegments {
    /// Assigns every row of `data`: `sink(chunk, labels, distances to the segment centroid)`
    /// once per chunk, in order.
    pub fn assign(&self, backend: &dyn Backend, data: &Dataset, sink: &mut AssignSink) -> Result<()> {
        if let Some(fitted) = self.fitted.as_ref().filter(|f| f.data_id == data.id()) {
            for (c, (chunk, labels)) in data.stream().zip(fitted.labels.iter()).enumerate() {
                sink(c, labels, &self.distances(&chunk.values, labels))?;
            }
            return Ok(());
        }
        match &self.micro {
            Some(micro) => backend.assign(data, &micro.centres, &mut |c, nearest, _| {
                let labels: Vec<u32> = nearest.iter().map(|&m| micro.segments[m as usize]).collect();
                // The pass has handed the chunk's cached pages back; reading them again
                // here maps them in, so they are handed back again (else a streamed fit
                // would end this pass with the whole cache resident).
                let chunk = &data.chunks()[c];
                let distances = self.distances(&chunk.values, &labels);
                chunk.values.release();
                sink(c, &labels, &distances)
            }),
            None => backend.assign(data, &self.centroids, sink),
        }
    }

    /// The exact Euclidean distance of every row of `values` to its segment's centroid.
    fn distances(&self, values: &[f32], labels: &[u32]) -> Vec<f32> {
        let dim = self.centroids.dim;
        values
            .chunks_exact(dim)
            .zip(labels)
            .map(|(row, &l)| {
                let centre = self.centroids.centre(l as usize);
                let sq: f64 = row.iter().zip(centre).map(|(&x, &c)| (x as f64 - c as f64).powi(2)).sum();
                sq.sqrt() as f32
            })
            .collect()
    }
}
