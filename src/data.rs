//! The prepared data the backends work on: dense row-major f32 chunks with optional weights.
//!
//! Chunk boundaries are fixed when the data are built (they follow the reader's batches),
//! never by the thread count, so every statistic merged in chunk order is reproducible.

use std::ops::Deref;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;

use ndarray::ArrayView2;

/// A process-wide counter for [`Dataset::id`].
pub fn next_id() -> u64 {
    static NEXT: AtomicU64 = AtomicU64::new(1);
    NEXT.fetch_add(1, Ordering::Relaxed)
}

/// Row-major f32 values that another owner holds (a Python caller's array), which chunks
/// read in place through [`Values::Shared`] instead of copying them.
pub trait SharedValues: Send + Sync + std::fmt::Debug {
    /// All the owner's values.
    fn values(&self) -> &[f32];
}

/// A chunk's values: in memory, a page-aligned range of the memory-mapped on-disk cache
/// (`fit` past `--memory-budget`), or a range of values another owner holds. Either way
/// they read as a `&[f32]`.
#[derive(Debug, Clone)]
pub enum Values {
    Owned(Vec<f32>),
    Mapped { map: Arc<memmap2::Mmap>, byte_offset: usize, len: usize },
    Shared { owner: Arc<dyn SharedValues>, start: usize, len: usize },
}

impl Deref for Values {
    type Target = [f32];

    fn deref(&self) -> &[f32] {
        match self {
            Values::Owned(v) => v,
            Values::Mapped { map, byte_offset, len } => {
                bytemuck::cast_slice(&map[*byte_offset..*byte_offset + len * std::mem::size_of::<f32>()])
            }
            Values::Shared { owner, start, len } => &owner.values()[*start..*start + *len],
        }
    }
}

impl From<Vec<f32>> for Values {
    fn from(v: Vec<f32>) -> Self {
        Values::Owned(v)
    }
}

impl PartialEq for Values {
    fn eq(&self, other: &Self) -> bool {
        **self == **other
    }
}

impl Values {
    /// Hands a mapped chunk's pages back to the kernel once a pass is done with them, so
    /// resident memory stays bounded by the chunks in flight, not by the data (the pages
    /// stay in the page cache and cost a read, not a fault, next time). No-op in memory.
    pub fn release(&self) {
        #[cfg(unix)]
        if let Values::Mapped { map, byte_offset, len } = self {
            let bytes = len * std::mem::size_of::<f32>();
            // SAFETY: the map is a read-only, shared file mapping: after MADV_DONTNEED its
            // pages read back from the file unchanged, so no reference sees other data.
            let _ = unsafe { map.unchecked_advise_range(memmap2::UncheckedAdvice::DontNeed, *byte_offset, bytes) };
        }
    }
}

/// A block of prepared rows.
#[derive(Debug, Clone, PartialEq)]
pub struct Chunk {
    /// Row-major values, `rows × dim`.
    pub values: Values,
    /// One non-negative weight per row, or `None` when every row weighs 1.
    pub weights: Option<Vec<f32>>,
}

impl Chunk {
    /// A chunk held in memory.
    pub fn new(values: Vec<f32>, weights: Option<Vec<f32>>) -> Self {
        Chunk { values: Values::Owned(values), weights }
    }

    /// A chunk of `len` values from `start` of `owner`'s, read in place.
    pub fn shared(owner: Arc<dyn SharedValues>, start: usize, len: usize, weights: Option<Vec<f32>>) -> Self {
        assert!(start + len <= owner.values().len(), "a shared chunk must lie within its owner's values");
        Chunk { values: Values::Shared { owner, start, len }, weights }
    }

    /// Number of rows in this chunk, given the dataset's dimension.
    pub fn rows(&self, dim: usize) -> usize {
        self.values.len().checked_div(dim).unwrap_or(0)
    }

    /// Weight of row `i` (1 when unweighted).
    pub fn weight(&self, i: usize) -> f32 {
        self.weights.as_ref().map_or(1.0, |w| w[i])
    }
}

/// Prepared rows split into chunks; the unit every backend pass iterates over.
#[derive(Debug, Clone, PartialEq)]
pub struct Dataset {
    /// Identity for backends that keep a copy (the GPU keeps rows resident between passes).
    id: u64,
    dim: usize,
    chunks: Vec<Chunk>,
    /// Global index of the first row of each chunk, plus the total at the end.
    offsets: Vec<usize>,
}

impl Dataset {
    /// Builds a dataset from chunks that all have `dim` columns.
    pub fn from_chunks(dim: usize, chunks: Vec<Chunk>) -> Self {
        assert!(dim > 0, "a dataset needs at least one column");
        for c in &chunks {
            assert_eq!(c.values.len() % dim, 0, "chunk length is not a multiple of dim");
            if let Some(w) = &c.weights {
                assert_eq!(w.len(), c.values.len() / dim, "one weight per row");
            }
        }
        let chunks = chunks.into_iter().filter(|c| !c.values.is_empty()).collect::<Vec<_>>();
        let mut offsets = Vec::with_capacity(chunks.len() + 1);
        let mut total = 0;
        for c in &chunks {
            offsets.push(total);
            total += c.values.len() / dim;
        }
        offsets.push(total);
        Dataset { id: next_id(), dim, chunks, offsets }
    }

    /// Splits one row-major matrix into chunks of `chunk_rows` rows (tests, benches).
    pub fn from_rows(values: &[f32], dim: usize, weights: Option<&[f32]>, chunk_rows: usize) -> Self {
        let chunk_rows = chunk_rows.max(1);
        let n = values.len() / dim;
        let chunks = (0..n)
            .step_by(chunk_rows)
            .map(|start| {
                let end = (start + chunk_rows).min(n);
                Chunk::new(values[start * dim..end * dim].to_vec(), weights.map(|w| w[start..end].to_vec()))
            })
            .collect();
        Dataset::from_chunks(dim, chunks)
    }

    /// A number unique to this dataset within the process (clones share it: same rows).
    pub fn id(&self) -> u64 {
        self.id
    }

    /// Number of columns.
    pub fn dim(&self) -> usize {
        self.dim
    }

    /// Total number of rows.
    pub fn rows(&self) -> usize {
        *self.offsets.last().unwrap_or(&0)
    }

    /// The chunks, in row order.
    pub fn chunks(&self) -> &[Chunk] {
        &self.chunks
    }

    /// The chunks in order for a sequential pass outside the backends: each chunk read from
    /// the on-disk cache is handed back (see [`Values::release`]) once the next is taken.
    pub fn stream(&self) -> impl Iterator<Item = &Chunk> + '_ {
        let mut previous: Option<&Chunk> = None;
        self.chunks.iter().inspect(move |chunk| {
            if let Some(done) = previous.replace(chunk) {
                done.values.release();
            }
        })
    }

    /// `size` rows (fewer than the rows) drawn uniformly with `seed` by Algorithm S, in row
    /// order: their values row-major and their weights (1 where unweighted). Reads the data
    /// once, chunk by chunk (a streamed dataset hands each chunk back).
    pub fn uniform_sample(&self, size: usize, seed: u64) -> (Vec<f32>, Vec<f32>) {
        let (dim, n) = (self.dim(), self.rows());
        let mut rng = crate::rng::Rng::new(seed);
        let (mut seen, mut values, mut weights) = (0usize, Vec::with_capacity(size * dim), Vec::with_capacity(size));
        for chunk in self.stream() {
            for (i, row) in chunk.values.chunks_exact(dim).enumerate() {
                // Keep this row with probability (still needed) / (still left).
                let needed = size - weights.len();
                if needed > 0 && (rng.uniform() * (n - seen) as f64) < needed as f64 {
                    values.extend_from_slice(row);
                    weights.push(chunk.weight(i));
                }
                seen += 1;
            }
        }
        (values, weights)
    }

    /// Hands every mapped chunk's pages back (after random reads such as a sample's rows).
    pub fn release_all(&self) {
        self.chunks.iter().for_each(|c| c.values.release());
    }

    /// Global index of the first row of chunk `c`.
    pub fn chunk_offset(&self, c: usize) -> usize {
        self.offsets[c]
    }

    /// Whether the rows are read from the on-disk cache (data past `--memory-budget`):
    /// passes then keep no optional per-row scratch, so memory stays within the budget.
    pub fn is_on_disk(&self) -> bool {
        self.chunks.iter().any(|c| matches!(c.values, Values::Mapped { .. }))
    }

    /// Whether any chunk carries weights.
    pub fn is_weighted(&self) -> bool {
        self.chunks.iter().any(|c| c.weights.is_some())
    }

    /// The chunk holding row `i` (global index) and the row's index within it; also finds
    /// per-chunk values kept beside the data (labels, distances) for that row.
    pub fn locate(&self, i: usize) -> (usize, usize) {
        let c = self.offsets.partition_point(|&o| o <= i) - 1;
        (c, i - self.offsets[c])
    }

    /// Row `i` (global index) as a slice.
    pub fn row(&self, i: usize) -> &[f32] {
        let (c, local) = self.locate(i);
        &self.chunks[c].values[local * self.dim..(local + 1) * self.dim]
    }

    /// Weight of row `i` (global index).
    pub fn weight(&self, i: usize) -> f32 {
        let (c, local) = self.locate(i);
        self.chunks[c].weight(local)
    }

    /// Chunk `c` as an ndarray view (`rows × dim`).
    pub fn chunk_view(&self, c: usize) -> ArrayView2<'_, f32> {
        let chunk = &self.chunks[c];
        ArrayView2::from_shape((chunk.rows(self.dim), self.dim), &chunk.values)
            .expect("chunk shape checked at construction")
    }

    /// Sum of the weights (the number of rows when unweighted), in f64.
    pub fn total_weight(&self) -> f64 {
        self.chunks
            .iter()
            .map(|c| match &c.weights {
                Some(w) => w.iter().map(|&x| x as f64).sum::<f64>(),
                None => c.rows(self.dim) as f64,
            })
            .sum()
    }

    /// Weighted mean of the per-column variances: scikit-learn's scale for `tol`.
    pub fn mean_variance(&self) -> f64 {
        let d = self.dim;
        let mut sum = vec![0.0f64; d];
        let mut sum_sq = vec![0.0f64; d];
        let mut total = 0.0f64;
        for chunk in self.stream() {
            for (i, row) in chunk.values.chunks_exact(d).enumerate() {
                let w = chunk.weight(i) as f64;
                total += w;
                for j in 0..d {
                    let x = row[j] as f64;
                    sum[j] += w * x;
                    sum_sq[j] += w * x * x;
                }
            }
        }
        if total <= 0.0 {
            return 0.0;
        }
        (0..d)
            .map(|j| {
                let mean = sum[j] / total;
                (sum_sq[j] / total - mean * mean).max(0.0)
            })
            .sum::<f64>()
            / d as f64
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rows_are_found_across_chunk_boundaries() {
        let values: Vec<f32> = (0..20).map(|x| x as f32).collect();
        let data = Dataset::from_rows(&values, 2, None, 3);
        assert_eq!(data.rows(), 10);
        assert_eq!(data.chunks().len(), 4);
        assert_eq!(data.row(0), &[0.0, 1.0]);
        assert_eq!(data.row(3), &[6.0, 7.0]);
        assert_eq!(data.row(9), &[18.0, 19.0]);
        assert_eq!(data.chunk_view(3).shape(), &[1, 2]);
    }

    #[derive(Debug)]
    struct Held(Vec<f32>);

    impl SharedValues for Held {
        fn values(&self) -> &[f32] {
            &self.0
        }
    }

    #[test]
    fn shared_chunks_read_their_owners_values_in_place() {
        let owner: Arc<dyn SharedValues> = Arc::new(Held((0..6).map(|x| x as f32).collect()));
        let data = Dataset::from_chunks(
            2,
            vec![Chunk::shared(owner.clone(), 0, 4, None), Chunk::shared(owner.clone(), 4, 2, None)],
        );
        assert_eq!(data.row(2), &[4.0, 5.0]);
        assert_eq!(data.chunks()[1].values.as_ptr(), owner.values()[4..].as_ptr());
    }

    #[test]
    fn empty_chunks_are_skipped() {
        let data = Dataset::from_chunks(1, vec![Chunk::new(vec![], None), Chunk::new(vec![1.0, 2.0], None)]);
        assert_eq!(data.chunks().len(), 1);
        assert_eq!(data.row(1), &[2.0]);
    }

    #[test]
    fn mean_variance_is_weighted() {
        let data = Dataset::from_rows(&[0.0, 2.0], 1, Some(&[1.0, 1.0]), 8);
        assert!((data.mean_variance() - 1.0).abs() < 1e-12);
        let data = Dataset::from_rows(&[0.0, 2.0], 1, Some(&[3.0, 1.0]), 8);
        assert!((data.mean_variance() - 0.75).abs() < 1e-12);
    }
}
