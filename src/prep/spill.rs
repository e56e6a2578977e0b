//! Prep for data larger than the memory budget, in two streaming passes over the input:
//! 1. fit the prep on a seeded Bernoulli sample of about [`PREP_SAMPLE_ROWS`] rows (every
//!    row when there are fewer, and then the prep is exactly the in-memory one);
//! 2. apply it batch by batch (windows of batches in parallel) and write the prepared
//!    chunks to the on-disk cache, which later passes stream from.
//!
//! Only the ids stay in memory. Duplicate ids are not checked (that needs every id in a
//! hash set); `--dedup` is refused before reading.

use std::path::Path;

use arrow::array::{ArrayRef, UInt32Array};
use rayon::prelude::*;

use super::{has_missing, row_masks, Duplicates, Impute, Magnitude, Prep, PrepParams, Prepared};
use crate::data::{Chunk, Dataset};
use crate::error::{Error, Param, Result};
use crate::io::cache::{CacheFile, CacheWriter};
use crate::io::reader::{self, RawBatch, RawTable, ReadSpec};
use crate::rng::Rng;

/// Most rows the prep is fitted on when the data are streamed (means, deviations, medians
/// and quantiles then carry a sampling error of about 1/√this of a standard deviation).
pub const PREP_SAMPLE_ROWS: u64 = 1_000_000;
/// Fewest rows the streamed prep is fitted on, however small the memory budget.
pub const MIN_PREP_SAMPLE_ROWS: u64 = 100_000;

/// Rows the streamed prep is fitted on under a memory `budget` in bytes: as many sampled
/// rows of `columns` values as the budget holds (about 4 bytes a value and 16 for the id and
/// weight), between [`MIN_PREP_SAMPLE_ROWS`] and [`PREP_SAMPLE_ROWS`]. The sample is the
/// only part of the prep pass that grows with the data, so a small budget keeps it small.
pub fn prep_sample_rows(budget: u64, columns: u64) -> u64 {
    let row_bytes = columns.saturating_mul(4).saturating_add(16);
    (budget / row_bytes).clamp(MIN_PREP_SAMPLE_ROWS, PREP_SAMPLE_ROWS)
}

/// What the streamed prep produced.
pub struct Spilled {
    pub prep: Prep,
    pub prepared: Prepared,
    /// The input's description (files, columns, levels), without batches.
    pub table: RawTable,
    pub cache: CacheFile,
    /// Seconds of the sampling pass and of the prep pass.
    pub t_sample: f64,
    pub t_prep: f64,
}

/// Rows `picks` of `batch`.
fn subset(batch: &RawBatch, picks: &[usize]) -> Result<RawBatch> {
    fn rows_of<T: Copy>(values: &[T], width: usize, picks: &[usize]) -> Vec<T> {
        picks.iter().flat_map(|&i| values[i * width..(i + 1) * width].iter().copied()).collect()
    }
    let d_num = batch.numeric.len().checked_div(batch.rows()).unwrap_or(0);
    let d_cat = batch.codes.len().checked_div(batch.rows()).unwrap_or(0);
    let indices = UInt32Array::from(picks.iter().map(|&i| i as u32).collect::<Vec<_>>());
    let ids: ArrayRef =
        arrow::compute::take(&batch.ids, &indices, None).map_err(|e| Error::Internal(format!("sampling ids: {e}")))?;
    Ok(RawBatch {
        first_row: batch.first_row,
        file: batch.file,
        ids,
        numeric: rows_of(&batch.numeric, d_num, picks),
        codes: rows_of(&batch.codes, d_cat, picks),
        weights: batch.weights.as_ref().map(|w| rows_of(w, 1, picks)),
    })
}

/// Reads `spec` twice: fits the prep on about `sample_rows` of its `total_rows` rows
/// ([`PREP_SAMPLE_ROWS`] in `fit`) unless a `given` prep is applied as it is, then writes
/// the prepared rows to a chunk cache in `cache_dir`.
pub fn prepare_to_cache(
    spec: &ReadSpec,
    params: &PrepParams,
    (total_rows, sample_rows): (u64, u64),
    seed: u64,
    cache_dir: &Path,
    given: Option<&Prep>,
    warn: &mut dyn FnMut(String),
) -> Result<Spilled> {
    let started = std::time::Instant::now();
    let p = if given.is_some() { 0.0 } else { (sample_rows as f64 / total_rows.max(1) as f64).min(1.0) };
    let mut rng = Rng::derive(seed, 0x7072_6570);
    let mut sample = Vec::new();
    let mut table = reader::stream(spec, &mut |batch| {
        if p >= 1.0 {
            sample.push(batch);
        } else {
            let picks: Vec<usize> = (0..batch.rows()).filter(|_| rng.uniform() < p).collect();
            if !picks.is_empty() {
                sample.push(subset(&batch, &picks)?);
            }
        }
        Ok(())
    })?;
    table.batches = sample;
    let sampled = table.rows();
    let inputs = || table.files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>().join(", ");
    let prep = match given {
        Some(prep) => prep.clone(),
        None => {
            let masks = row_masks(&table, params.impute, Duplicates::Allow)?;
            if masks.keep.iter().all(|k| !k.contains(&true)) {
                return Err(Error::data(
                    inputs(),
                    format!("no sampled row is complete; set {} to mean or median", Param::Impute),
                ));
            }
            Prep::fit(&table, params, &masks, warn)?
        }
    };
    table.batches = Vec::new();
    let t_sample = started.elapsed().as_secs_f64();
    crate::info!("fitted the prep on {sampled} sampled rows in {t_sample:.2}s; writing the prepared rows to the cache");

    let applier = prep.applier(&table)?;
    let names = prep.feature_names();
    let mut magnitude = Magnitude::new(prep.dim());
    let mut cache = CacheWriter::create(cache_dir)?;
    let mut ids = Vec::new();
    let (mut rows_read, mut dropped_missing) = (0usize, 0usize);
    let window_len = 2 * rayon::current_num_threads();
    let mut window: Vec<RawBatch> = Vec::with_capacity(window_len);
    let d_num = table.numeric.len();
    let mut flush = |window: &mut Vec<RawBatch>| -> Result<()> {
        let done: Vec<(Option<(Chunk, ArrayRef)>, usize)> = window
            .par_iter()
            .map(|batch| {
                let drop_missing = params.impute == Impute::Drop;
                let keep: Vec<bool> =
                    (0..batch.rows()).map(|i| !(drop_missing && has_missing(batch, d_num, i))).collect();
                let dropped = keep.iter().filter(|&&k| !k).count();
                Ok((applier.apply(batch, &keep)?, dropped))
            })
            .collect::<Result<_>>()?;
        for (batch, (prepared, dropped)) in window.drain(..).zip(done) {
            rows_read += batch.rows();
            dropped_missing += dropped;
            if let Some((chunk, chunk_ids)) = prepared {
                magnitude.check(&chunk.values, &names)?;
                cache.push(&chunk)?;
                ids.push(chunk_ids);
            }
        }
        Ok(())
    };
    reader::stream(spec, &mut |batch| {
        window.push(batch);
        if window.len() == window_len {
            flush(&mut window)?;
        }
        Ok(())
    })?;
    flush(&mut window)?;
    if ids.is_empty() {
        return Err(Error::data(
            inputs(),
            format!("no rows left after dropping rows with missing values; set {} to mean or median", Param::Impute),
        ));
    }
    let (chunks, cache) = cache.finish()?;
    let data = Dataset::from_chunks(prep.dim(), chunks);
    let prepared = Prepared { data, ids, rows_read, dropped_missing, dropped_duplicate: 0 };
    let t_prep = started.elapsed().as_secs_f64() - t_sample;
    Ok(Spilled { prep, prepared, table, cache, t_sample, t_prep })
}
