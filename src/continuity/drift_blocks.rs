//! The drift passes' blocks of rows: each block's numeric features mapped back to original
//! units column by column, so a pass runs one tight loop per feature (the values of a
//! feature are visited in row order, as a row-by-row pass would).

use rayon::prelude::*;

use crate::data::Dataset;
use crate::prep::Prep;

/// Rows per block of a parallel pass (each block folds into its own accumulator).
const BLOCK_ROWS: usize = 8192;
/// Rows a block maps back to original units at a time (their rows and columns stay in
/// the core's cache).
const TILE_ROWS: usize = 512;

/// One block of prepared rows: numeric features in original units, column by column, and
/// the one-hot columns as they are.
pub(super) struct Block<'a> {
    rows: usize,
    /// Numeric feature `j`'s values are `numeric[j * rows..(j + 1) * rows]`.
    numeric: Vec<f64>,
    /// The block's prepared rows, row-major.
    values: &'a [f32],
    dim: usize,
    n_numeric: usize,
}

impl<'a> Block<'a> {
    fn empty(prep: &Prep, dim: usize) -> Block<'a> {
        Block { rows: 0, numeric: Vec::new(), values: &[], dim, n_numeric: prep.numeric.len() }
    }

    /// Makes the block hold the rows `values` (reusing its buffer).
    fn fill(&mut self, prep: &Prep, values: &'a [f32]) {
        let (dim, rows) = (self.dim, values.len().checked_div(self.dim).unwrap_or(0));
        self.numeric.resize(self.n_numeric * rows, 0.0);
        if rows > 0 {
            for (j, (col, out)) in prep.numeric.iter().zip(self.numeric.chunks_exact_mut(rows)).enumerate() {
                for (o, x) in out.iter_mut().zip(values.chunks_exact(dim)) {
                    *o = col.inverse(x[j] as f64);
                }
            }
        }
        (self.rows, self.values) = (rows, values);
    }

    /// Rows in the block.
    pub(super) fn rows(&self) -> usize {
        self.rows
    }

    /// Numeric feature `j` (the prep's order) of every row, in original units, in row order.
    pub(super) fn column(&self, j: usize) -> &[f64] {
        &self.numeric[j * self.rows..(j + 1) * self.rows]
    }

    /// Each row's one-hot columns, in row order.
    pub(super) fn onehot(&self) -> impl Iterator<Item = &'a [f32]> + '_ {
        let n_numeric = self.n_numeric;
        self.values.chunks_exact(self.dim.max(1)).map(move |x| &x[n_numeric..])
    }
}

/// One pass over the rows of `data` (prepared by `prep`): blocks of rows fold in parallel
/// into copies of `empty` and `merge` adds them up in row order. The accumulators hold
/// counts and extremes, so neither the blocks nor the threads can change the result.
pub(super) fn fold_blocks<A: Clone + Send + Sync>(
    prep: &Prep,
    data: &Dataset,
    empty: &A,
    fold: impl Fn(&mut A, &Block) + Sync,
    merge: impl Fn(&mut A, A),
) -> A {
    let d = data.dim();
    let mut total = empty.clone();
    for chunk in data.stream() {
        let blocks: Vec<A> = chunk
            .values
            .par_chunks(d.max(1) * BLOCK_ROWS)
            .map(|values| {
                let mut acc = empty.clone();
                let mut block = Block::empty(prep, d);
                for tile in values.chunks(d.max(1) * TILE_ROWS) {
                    block.fill(prep, tile);
                    fold(&mut acc, &block);
                }
                acc
            })
            .collect();
        for block in blocks {
            merge(&mut total, block);
        }
    }
    data.release_all();
    total
}
