//! The fit of a [`Dataset`], exact or sampled. Exact: the tree on every row. Sampled
//! (`--sample N`, for customer bases past about a million rows): the tree on `N` rows drawn
//! with the seed (selection sampling, Knuth's algorithm S: one pass, rows kept in order,
//! O(N) memory), then every row of the data in one chunked pass joins the cluster of the
//! nearest clustered sample row whose reach covers it, else it is noise
//! ([`DensityAssigner`](super::DensityAssigner)). The model keeps all the sample's clustered
//! rows with their labels, reach and core distances, so predict assigns new customers the
//! same way.

use super::algorithm::{fit_rows_on, DensityFit, MstAlgorithm};
use super::hyperparams::{DensityParams, Sample};
use super::model::{DensityRows, MODEL_ROWS};
use super::segments::{DensitySegments, FittedRows};
use super::NOISE;
use crate::backend::density::DensityPasses;
use crate::data::Dataset;
use crate::error::Result;

/// Fits `params` on `data`: the fit (labels of every row) and the segments that assign rows.
/// `passes`: a backend's density passes (the GPU kernels), if it has them.
pub fn fit_dataset(
    data: &Dataset,
    params: &DensityParams,
    passes: Option<&dyn DensityPasses>,
) -> Result<(DensityFit, DensitySegments)> {
    let dim = data.dim();
    match params.sample().filter(|s| s.size < data.rows()) {
        None => {
            let rows: Vec<f32> = data.stream().flat_map(|c| c.values.iter().copied()).collect();
            let fit = fit_rows_on(passes, &rows, dim, params, MstAlgorithm::Auto)?;
            let segments = DensitySegments::from_fit(&fit, &rows, data, MODEL_ROWS);
            Ok((fit, segments))
        }
        Some(sample) => {
            let rows = draw(data, sample);
            let mut fit = fit_rows_on(passes, &rows, dim, params, MstAlgorithm::Auto)?;
            let kept = DensityRows::from_fit(&fit, &rows, dim, usize::MAX);
            let mut segments = DensitySegments::from_kept(kept, fit.k, dim);
            let (mut labels, mut scores) = (Vec::with_capacity(data.rows()), Vec::new());
            segments.assign(data, &mut |_, l, s| {
                labels.extend_from_slice(l);
                scores.extend_from_slice(s.unwrap_or(&[]));
                Ok(())
            })?;
            let outlier_scores = fit.outlier_scores.is_some().then_some(scores);
            fit.noise = labels.iter().filter(|&&l| l == NOISE).count();
            fit.sample = Some(sample.size);
            segments.fitted =
                Some(FittedRows { data_id: data.id(), labels: labels.clone(), outlier_scores: outlier_scores.clone() });
            fit.labels = labels;
            fit.outlier_scores = outlier_scores;
            Ok((fit, segments))
        }
    }
}

/// `sample.size` rows of `data` (fewer than its rows) drawn with `sample.seed`, in row
/// order, row-major.
pub fn draw(data: &Dataset, sample: Sample) -> Vec<f32> {
    data.uniform_sample(sample.size, sample.seed).0
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cluster::density::HdbscanParams;
    use crate::rng::Rng;

    fn blobs(n: usize) -> Dataset {
        let mut rng = Rng::new(3);
        let rows: Vec<f32> = (0..n)
            .flat_map(|i| {
                let centre = if i % 2 == 0 { 0.0 } else { 20.0 };
                [centre + rng.normal() as f32, centre + rng.normal() as f32]
            })
            .collect();
        Dataset::from_rows(&rows, 2, None, 1000)
    }

    #[test]
    fn a_sample_is_its_size_in_row_order_and_depends_on_the_seed() {
        let data = blobs(5000);
        let a = draw(&data, Sample { size: 700, seed: 1 });
        assert_eq!(a.len(), 700 * 2);
        assert_eq!(a, draw(&data, Sample { size: 700, seed: 1 }));
        assert_ne!(a, draw(&data, Sample { size: 700, seed: 2 }));
    }

    #[test]
    fn a_sampled_fit_labels_every_row_by_the_samples_clusters() {
        let data = blobs(6000);
        let exact = HdbscanParams::new(30).check().unwrap();
        let sampled = exact.sampled(Some(Sample { size: 1500, seed: 9 })).unwrap();
        let (fit, segments) = fit_dataset(&data, &sampled, None).unwrap();
        assert_eq!((fit.k, fit.sample, fit.labels.len()), (2, Some(1500), 6000));
        assert_eq!(fit.outlier_scores.as_ref().map(Vec::len), Some(6000));
        assert!(segments.assigner.kept.core_distances.is_some());
        // Rows alternate blobs: the two blobs get two different labels, few rows are noise.
        let (even, odd) = (fit.labels[0], fit.labels[1]);
        assert_ne!(even, odd);
        let wrong = (0..6000).filter(|&i| fit.labels[i] != if i % 2 == 0 { even } else { odd }).count();
        assert!(wrong < 300 && fit.noise == wrong, "{wrong} rows off their blob, noise {}", fit.noise);
        // A sample as large as the data is the exact fit.
        let whole = exact.sampled(Some(Sample { size: 6000, seed: 9 })).unwrap();
        assert_eq!(
            fit_dataset(&data, &whole, None).unwrap().0.labels,
            fit_dataset(&data, &exact, None).unwrap().0.labels
        );
    }
}
