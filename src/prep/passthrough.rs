//! The prep that changes nothing (`--scale none`, no log1p, clip or categorical column):
//! the reader's row-major values already are the prepared rows, so they are moved into the
//! chunk instead of copied value by value.

use arrow::array::ArrayRef;

use super::Applier;
use crate::data::Chunk;
use crate::error::Result;
use crate::io::reader::RawBatch;

impl Applier<'_> {
    /// [`Applier::apply`] on an owned batch, with the same result: when the prep passes every
    /// raw numeric column through unchanged and in order, keeps every row and no value is
    /// missing, the batch's values (and weights) become the chunk without a copy.
    pub fn apply_owned(&self, mut batch: RawBatch, keep: &[bool]) -> Result<Option<(Chunk, ArrayRef)>> {
        let unchanged = self.passes_through()
            && batch.rows() > 0
            && keep.iter().all(|&k| k)
            && !batch.numeric.iter().any(|v| v.is_nan());
        if !unchanged {
            return self.apply(&batch, keep);
        }
        let values = std::mem::take(&mut batch.numeric);
        Ok(Some((Chunk::new(values, batch.weights.take()), batch.ids)))
    }

    /// Whether the prepared row is the raw numeric row as it is (missing values aside).
    fn passes_through(&self) -> bool {
        let prep = self.prep;
        self.d_cat == 0
            && prep.categorical.is_empty()
            && self.d_num == prep.numeric.len()
            && prep.numeric.iter().all(|c| c.is_identity())
            && self.numeric_index.iter().enumerate().all(|(i, &j)| i == j)
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use arrow::array::UInt64Array;

    use crate::io::reader::{InputFile, RawBatch, RawTable};
    use crate::prep::{row_masks, Duplicates, Impute, Prep, PrepParams, ScaleKind};

    fn batch(numeric: Vec<f32>) -> RawBatch {
        let rows = numeric.len() / 2;
        RawBatch {
            first_row: 0,
            file: 0,
            ids: Arc::new(UInt64Array::from((0..rows as u64).collect::<Vec<_>>())),
            numeric,
            codes: Vec::new(),
            weights: Some((0..rows).map(|i| i as f32 + 0.5).collect()),
        }
    }

    #[test]
    fn moving_the_values_gives_what_copying_them_gives() {
        let table = |numeric: Vec<f32>| RawTable {
            files: vec![InputFile { path: "t.parquet".into(), bytes: 0, rows: numeric.len() as u64 / 2 }],
            schema: Vec::new(),
            id: None,
            numeric: vec!["a".into(), "b".into()],
            categorical: Vec::new(),
            levels: Vec::new(),
            batches: vec![batch(numeric)],
        };
        let plain = vec![1.5, -0.0, 2.0, 7.25, -3.0, 1e-30];
        let missing = vec![1.5, f32::NAN, 2.0, 7.25, -3.0, 1e-30];
        for values in [plain, missing] {
            for scale in [ScaleKind::None, ScaleKind::Zscore] {
                let t = table(values.clone());
                let params = PrepParams { impute: Impute::Mean, scale, log1p: vec![], clip: None, dedup: false };
                let masks = row_masks(&t, params.impute, Duplicates::Allow).unwrap();
                let prep = Prep::fit(&t, &params, &masks, &mut |_| {}).unwrap();
                let applier = prep.applier(&t).unwrap();
                for keep in [vec![true; 3], vec![true, false, true]] {
                    let copied = applier.apply(&t.batches[0], &keep).unwrap().unwrap();
                    let moved = applier.apply_owned(batch(values.clone()), &keep).unwrap().unwrap();
                    assert_eq!(moved.0, copied.0, "{scale:?}, keep {keep:?}");
                    assert_eq!(&moved.1, &copied.1);
                }
            }
        }
    }
}
