//! The CPU Lloyd pass over one chunk: label a block of rows, then add its statistics while
//! its rows are still in cache. With bounds (`bounds.rs`), rows whose label is proved
//! unchanged keep it and only the others go through the kernel (gathered, so the kernel
//! computes the same bits for them as in a full pass); the statistics are then added for
//! every row in row order exactly as without bounds, so labels, sums, counts, inertia and
//! changed labels are the same bits.

use super::bounds::{Drift, RowBounds};
use super::nearest::{nearest_labels_with, nearest_two_with, Kernel, PackedCentres};
use super::stats;
use crate::backend::{Centres, LloydStats};
use crate::data::Chunk;

/// Rows labelled before their statistics are added (64 KiB at 32 features: in L2).
const STATS_ROWS: usize = 512;

/// When the CPU's Lloyd pass keeps Hamerly bounds to skip rows (same results either way).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Bounds {
    /// Where they pay: k·dim ≥ [`super::bounds::MIN_WORK`] (measured, BENCHMARKS.md).
    #[default]
    Auto,
    Always,
    Never,
}

impl Bounds {
    /// Whether a pass with `k` centres of `dim` features keeps bounds.
    pub fn applies(self, k: usize, dim: usize) -> bool {
        match self {
            Bounds::Auto => super::bounds::pays(k, dim),
            Bounds::Always => true,
            Bounds::Never => false,
        }
    }
}

/// How one pass labels rows.
pub(super) enum Mode<'a> {
    /// Every row through the kernel, no bounds kept.
    Plain,
    /// Every row through the kernel, bounds set against these centres (`Drift` of no move).
    Start(&'a Drift),
    /// Rows whose bounds hold keep their label; the centres moved by this drift.
    Skip(&'a Drift),
}

/// One chunk's per-row state: labels and squared distances of the previous pass (updated),
/// and its bounds (unused in [`Mode::Plain`]).
pub(super) struct ChunkState<'a> {
    pub previous: &'a mut [u32],
    pub dist2: &'a mut [f32],
    pub bounds: &'a mut RowBounds,
}

/// Block-sized buffers for the rows the bounds could not keep.
struct Scratch {
    labels: Vec<u32>,
    second: Vec<f32>,
    todo: Vec<usize>,
    rows: Vec<f32>,
}

/// Labels and statistics of one chunk; `state` is updated in place.
pub(super) fn lloyd_chunk(
    chunk: &Chunk,
    centres: &Centres,
    packed: &PackedCentres,
    mode: &Mode,
    state: ChunkState,
) -> LloydStats {
    let (kernel, dim) = (Kernel::detect(), centres.dim);
    let mut stats = LloydStats::zeros(centres.k, dim);
    let mut labels = [0u32; STATS_ROWS];
    let mut scratch = Scratch {
        labels: vec![0; STATS_ROWS],
        second: vec![0.0; STATS_ROWS],
        todo: Vec::with_capacity(STATS_ROWS),
        rows: Vec::with_capacity(STATS_ROWS * dim),
    };
    let ChunkState { previous, dist2, bounds } = state;
    for start in (0..chunk.rows(dim)).step_by(STATS_ROWS) {
        let end = (start + STATS_ROWS).min(chunk.rows(dim));
        let labels = &mut labels[..end - start];
        let values = &chunk.values[start * dim..end * dim];
        match mode {
            Mode::Plain => nearest_labels_with(kernel, values, packed, labels),
            Mode::Start(drift) => {
                let second = &mut scratch.second[..end - start];
                nearest_two_with(kernel, values, packed, labels, second);
                for (i, (x, &s)) in values.chunks_exact(dim).zip(second.iter()).enumerate() {
                    bounds.reset(start + i, x, s, drift);
                }
            }
            Mode::Skip(drift) => {
                let block = Block { kernel, drift, centres, packed, values, start };
                stats.skipped += block.label_unless_kept(previous, bounds, &mut scratch, labels);
            }
        }
        let rows = stats::Rows {
            values,
            weights: chunk.weights.as_ref().map(|w| &w[start..end]),
            labels,
            previous: &mut previous[start..end],
            dist2: &mut dist2[start..end],
        };
        stats::add_stats(kernel, rows, centres, &mut stats);
        // Rows scored by the kernel take their upper bound from their exact new distance.
        match mode {
            Mode::Plain => {}
            Mode::Start(drift) => (start..end).for_each(|r| bounds.set_upper(r, dist2[r], drift)),
            Mode::Skip(drift) => {
                scratch.todo.iter().for_each(|&i| bounds.set_upper(start + i, dist2[start + i], drift))
            }
        }
    }
    stats
}

/// The rows `start..` of a chunk (`values`) in a pass with bounds.
struct Block<'a> {
    kernel: Kernel,
    drift: &'a Drift,
    centres: &'a Centres,
    packed: &'a PackedCentres,
    values: &'a [f32],
    start: usize,
}

impl Block<'_> {
    /// Labels the block into `labels`: rows whose bounds hold keep their previous label, the
    /// others go through the kernel together and get new bounds. Returns the rows kept.
    fn label_unless_kept(
        &self,
        previous: &[u32],
        bounds: &mut RowBounds,
        scratch: &mut Scratch,
        labels: &mut [u32],
    ) -> u64 {
        let dim = self.centres.dim;
        scratch.todo.clear();
        scratch.rows.clear();
        for (i, x) in self.values.chunks_exact(dim).enumerate() {
            let r = self.start + i;
            if self.drift.keeps(x, previous[r], bounds, r, self.centres) {
                labels[i] = previous[r];
            } else {
                scratch.todo.push(i);
                scratch.rows.extend_from_slice(x);
            }
        }
        let m = scratch.todo.len();
        if m > 0 {
            let (new_labels, second) = (&mut scratch.labels[..m], &mut scratch.second[..m]);
            nearest_two_with(self.kernel, &scratch.rows, self.packed, new_labels, second);
            for (j, &i) in scratch.todo.iter().enumerate() {
                labels[i] = new_labels[j];
                let x = &self.values[i * dim..(i + 1) * dim];
                bounds.reset(self.start + i, x, second[j], self.drift);
            }
        }
        (labels.len() - m) as u64
    }
}
