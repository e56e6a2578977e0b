//! [`DensitySegments`]: a density fit as [`crate::cluster::Segments`] hold it. The rows the
//! fit ran on get the fit's own labels and outlier scores back (the tree decided them);
//! any other rows (predict, evaluate) are assigned by the kept rows ([`DensityAssigner`]).

use super::model::{DensityAssigner, DensityRows};
use super::{DensityFit, NOISE};
use crate::backend::Centres;
use crate::data::Dataset;
use crate::error::Result;

/// Receives one chunk's assignment: `(chunk index, labels, outlier scores)`.
pub type DensitySink<'a> = dyn FnMut(usize, &[u32], Option<&[f32]>) -> Result<()> + 'a;

/// The fit's labels and scores for the dataset it ran on.
#[derive(Debug, Clone, PartialEq)]
pub struct FittedRows {
    /// [`Dataset::id`] of the rows the fit ran on.
    pub data_id: u64,
    pub labels: Vec<u32>,
    pub outlier_scores: Option<Vec<f32>>,
}

/// Fitted density segments: the kept rows that assign new ones, the clusters' centres
/// (means of the kept rows), and the fit's own labels when there are any.
#[derive(Debug, Clone, PartialEq)]
pub struct DensitySegments {
    pub assigner: DensityAssigner,
    pub centres: Centres,
    pub fitted: Option<FittedRows>,
}

impl DensitySegments {
    /// The segments of a fit on `data` (row-major `rows` are its rows).
    pub fn from_fit(fit: &DensityFit, rows: &[f32], data: &Dataset, cap: usize) -> Self {
        let kept = DensityRows::from_fit(fit, rows, data.dim(), cap);
        let mut segments = Self::from_kept(kept, fit.k, data.dim());
        segments.fitted = Some(FittedRows {
            data_id: data.id(),
            labels: fit.labels.clone(),
            outlier_scores: fit.outlier_scores.clone(),
        });
        segments
    }

    /// Segments from kept rows (a saved model; shapes checked by the caller).
    pub fn from_kept(kept: DensityRows, k: usize, dim: usize) -> Self {
        let centres = kept.centres(k, dim);
        DensitySegments { assigner: DensityAssigner::new(kept, k, dim), centres, fitted: None }
    }

    /// Number of clusters.
    pub fn k(&self) -> usize {
        self.assigner.k
    }

    /// Whether rows get an outlier score (HDBSCAN).
    pub fn has_outlier_scores(&self) -> bool {
        self.assigner.kept.outlier_scores.is_some()
    }

    /// Calls `sink(chunk, labels, outlier scores)` per chunk of `data`, in order.
    pub fn assign(&self, data: &Dataset, sink: &mut DensitySink) -> Result<()> {
        match self.fitted.as_ref().filter(|f| f.data_id == data.id()) {
            Some(fitted) => {
                for (c, chunk) in data.chunks().iter().enumerate() {
                    let (start, rows) = (data.chunk_offset(c), chunk.rows(data.dim()));
                    let scores = fitted.outlier_scores.as_ref().map(|s| &s[start..start + rows]);
                    sink(c, &fitted.labels[start..start + rows], scores)?;
                }
            }
            None => {
                for (c, chunk) in data.stream().enumerate() {
                    let (labels, scores) = self.assigner.assign(&chunk.values);
                    sink(c, &labels, scores.as_deref())?;
                }
            }
        }
        Ok(())
    }

    /// Σ ‖x − c‖² of the clustered rows to their cluster's centre (noise rows left out).
    pub fn inertia(&self, data: &Dataset) -> Result<f64> {
        let mut inertia = 0.0f64;
        let d = data.dim();
        let chunks: Vec<&[f32]> = data.chunks().iter().map(|c| &*c.values).collect();
        self.assign(data, &mut |c, labels, _| {
            for (row, &l) in chunks[c].chunks_exact(d).zip(labels) {
                if l != NOISE {
                    let centre = self.centres.centre(l as usize);
                    inertia += row.iter().zip(centre).map(|(&x, &m)| (x as f64 - m as f64).powi(2)).sum::<f64>();
                }
            }
            Ok(())
        })?;
        Ok(inertia)
    }
}
