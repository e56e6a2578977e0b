//! Density fits leave outliers unsegmented ([`NOISE`]). Metrics, profiles and the report
//! describe segments, so they run on the clustered rows only: this copies them out.

use crate::cluster::density::NOISE;
use crate::data::{Chunk, Dataset};

/// The clustered rows of a labelling and their labels, chunk for chunk.
pub struct Clustered {
    pub data: Dataset,
    pub labels: Vec<Vec<u32>>,
}

/// The rows of `data` whose label is not [`NOISE`], or `None` when every row has a segment
/// (callers then use `data` itself).
pub fn clustered_rows(data: &Dataset, labels: &[Vec<u32>]) -> Option<Clustered> {
    if !labels.iter().flatten().any(|&l| l == NOISE) {
        return None;
    }
    let d = data.dim();
    let (mut chunks, mut kept_labels) = (Vec::new(), Vec::new());
    for (chunk, chunk_labels) in data.stream().zip(labels) {
        let keep: Vec<usize> = (0..chunk_labels.len()).filter(|&i| chunk_labels[i] != NOISE).collect();
        let values = keep.iter().flat_map(|&i| chunk.values[i * d..(i + 1) * d].iter().copied()).collect();
        let weights = chunk.weights.as_ref().map(|w| keep.iter().map(|&i| w[i]).collect());
        chunks.push(Chunk::new(values, weights));
        kept_labels.push(keep.iter().map(|&i| chunk_labels[i]).collect::<Vec<u32>>());
    }
    let data = Dataset::from_chunks(d, chunks);
    // from_chunks drops empty chunks: drop their (empty) label lists too.
    kept_labels.retain(|l| !l.is_empty());
    Some(Clustered { data, labels: kept_labels })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn noise_rows_are_left_out_and_chunks_stay_aligned_with_labels() {
        let data = Dataset::from_rows(&[0.0, 1.0, 2.0, 3.0, 4.0], 1, None, 2);
        assert!(clustered_rows(&data, &[vec![0, 0], vec![1, 1], vec![0]]).is_none());
        let c = clustered_rows(&data, &[vec![NOISE, NOISE], vec![1, NOISE], vec![0]]).unwrap();
        assert_eq!(c.labels, vec![vec![1], vec![0]]);
        assert_eq!((c.data.rows(), c.data.row(0), c.data.row(1)), (2, &[2.0f32][..], &[4.0f32][..]));
    }
}
