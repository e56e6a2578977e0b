//! Synthetic data with known segments, for `custseg demo`, tests and benches: a customer
//! table (here) and a transaction log ([`transactions`]).
//!
//! The customer table: six segments of different sizes and spreads (champions, loyal, new, at risk, bargain
//! hunters, lost) drawn from skewed distributions like real RFM data, a categorical
//! region, a few missing values. Everything follows from the seed.

use std::path::Path;
use std::sync::Arc;

use arrow::array::{ArrayRef, Float64Array, Int64Array, RecordBatch, StringArray};
use arrow::datatypes::{DataType, Field, Schema};
use parquet::arrow::ArrowWriter;
use parquet::basic::Compression;
use parquet::file::properties::WriterProperties;

use crate::error::{Error, Result};
use crate::io::atomic::TempPath;
use crate::rng::Rng;

pub mod transactions;

/// The segment a customer was drawn from.
pub struct SegmentSpec {
    pub name: &'static str,
    share: f64,
    /// (median, log-sd) of the log-normal recency, frequency, monetary, basket size.
    recency: (f64, f64),
    frequency: (f64, f64),
    monetary: (f64, f64),
    basket: (f64, f64),
    /// (mean, sd) of tenure days and online share.
    tenure: (f64, f64),
    online: (f64, f64),
    /// Probabilities of each of [`REGIONS`].
    regions: [f64; 5],
}

/// Levels of the `region` column.
pub const REGIONS: [&str; 5] = ["north", "south", "east", "west", "online-only"];

/// The generating segments.
pub const SEGMENTS: [SegmentSpec; 6] = [
    SegmentSpec {
        name: "champions",
        share: 0.10,
        recency: (6.0, 0.6),
        frequency: (30.0, 0.3),
        monetary: (4000.0, 0.35),
        basket: (130.0, 0.25),
        tenure: (1600.0, 250.0),
        online: (0.65, 0.12),
        regions: [0.2, 0.2, 0.2, 0.2, 0.2],
    },
    SegmentSpec {
        name: "loyal",
        share: 0.18,
        recency: (25.0, 0.5),
        frequency: (12.0, 0.3),
        monetary: (1200.0, 0.35),
        basket: (95.0, 0.25),
        tenure: (1200.0, 300.0),
        online: (0.40, 0.12),
        regions: [0.3, 0.3, 0.15, 0.2, 0.05],
    },
    SegmentSpec {
        name: "new",
        share: 0.15,
        recency: (12.0, 0.5),
        frequency: (1.5, 0.3),
        monetary: (120.0, 0.5),
        basket: (75.0, 0.3),
        tenure: (45.0, 25.0),
        online: (0.75, 0.15),
        regions: [0.1, 0.1, 0.1, 0.2, 0.5],
    },
    SegmentSpec {
        name: "at risk",
        share: 0.17,
        recency: (180.0, 0.3),
        frequency: (8.0, 0.3),
        monetary: (900.0, 0.35),
        basket: (110.0, 0.25),
        tenure: (1000.0, 300.0),
        online: (0.30, 0.12),
        regions: [0.25, 0.25, 0.25, 0.2, 0.05],
    },
    SegmentSpec {
        name: "bargain hunters",
        share: 0.25,
        recency: (40.0, 0.4),
        frequency: (6.0, 0.3),
        monetary: (150.0, 0.3),
        basket: (25.0, 0.25),
        tenure: (700.0, 250.0),
        online: (0.55, 0.15),
        regions: [0.15, 0.35, 0.3, 0.15, 0.05],
    },
    SegmentSpec {
        name: "lost",
        share: 0.15,
        recency: (420.0, 0.25),
        frequency: (1.2, 0.2),
        monetary: (50.0, 0.4),
        basket: (40.0, 0.3),
        tenure: (900.0, 300.0),
        online: (0.20, 0.1),
        regions: [0.3, 0.2, 0.3, 0.15, 0.05],
    },
];

/// Numeric feature columns of the synthetic base.
pub const NUMERIC_FEATURES: [&str; 6] =
    ["recency_days", "frequency", "monetary", "tenure_days", "online_share", "basket_size"];

/// Rows per record batch written.
const BATCH: usize = 65_536;

fn schema() -> Arc<Schema> {
    let mut fields = vec![Field::new("customer_id", DataType::Int64, false)];
    fields.extend(NUMERIC_FEATURES.iter().map(|n| Field::new(*n, DataType::Float64, true)));
    fields.push(Field::new("region", DataType::Utf8, false));
    fields.push(Field::new("true_segment", DataType::Utf8, false));
    Arc::new(Schema::new(fields))
}

fn pick(rng: &mut Rng, probs: &[f64]) -> usize {
    let u = rng.uniform();
    let mut acc = 0.0;
    for (i, p) in probs.iter().enumerate() {
        acc += p;
        if u < acc {
            return i;
        }
    }
    probs.len() - 1
}

fn lognormal(rng: &mut Rng, (median, sd): (f64, f64)) -> f64 {
    median * (sd * rng.normal()).exp()
}

/// One batch of customers `start..start + rows`; returns the batch and the true segments.
fn batch(start: usize, rows: usize, seed: u64) -> Result<(RecordBatch, Vec<u32>)> {
    let shares: Vec<f64> = SEGMENTS.iter().map(|s| s.share).collect();
    let mut rng = Rng::derive(seed, start as u64);
    let mut cols: Vec<Vec<Option<f64>>> = vec![Vec::with_capacity(rows); NUMERIC_FEATURES.len()];
    let mut region = Vec::with_capacity(rows);
    let mut truth = Vec::with_capacity(rows);
    let mut truth_names = Vec::with_capacity(rows);
    for _ in 0..rows {
        let s = pick(&mut rng, &shares);
        let spec = &SEGMENTS[s];
        let values = [
            lognormal(&mut rng, spec.recency).round().max(0.0),
            lognormal(&mut rng, spec.frequency).round().max(1.0),
            (lognormal(&mut rng, spec.monetary) * 100.0).round() / 100.0,
            (spec.tenure.0 + spec.tenure.1 * rng.normal()).round().max(1.0),
            (spec.online.0 + spec.online.1 * rng.normal()).clamp(0.0, 1.0),
            (lognormal(&mut rng, spec.basket) * 100.0).round() / 100.0,
        ];
        for (j, v) in values.into_iter().enumerate() {
            // About 1% of monetary and 0.5% of tenure values are missing, as in real exports.
            let missing = (j == 2 && rng.uniform() < 0.01) || (j == 3 && rng.uniform() < 0.005);
            cols[j].push(if missing { None } else { Some(v) });
        }
        region.push(REGIONS[pick(&mut rng, &spec.regions)]);
        truth.push(s as u32);
        truth_names.push(spec.name);
    }
    let mut arrays: Vec<ArrayRef> =
        vec![Arc::new(Int64Array::from_iter_values((start as i64 + 1)..=(start + rows) as i64))];
    arrays.extend(cols.into_iter().map(|c| Arc::new(Float64Array::from(c)) as ArrayRef));
    arrays.push(Arc::new(StringArray::from(region)));
    arrays.push(Arc::new(StringArray::from(truth_names)));
    let batch = RecordBatch::try_new(schema(), arrays).map_err(|e| Error::Internal(format!("synthetic batch: {e}")))?;
    Ok((batch, truth))
}

/// Writes `n` synthetic customers to `path` (atomically) and returns their true segments.
pub fn write_customers(path: &Path, n: usize, seed: u64) -> Result<Vec<u32>> {
    write_batches(path, schema(), n, BATCH, |start, count| batch(start, count, seed))
}

/// Batches generated at once per thread while the previous ones are written.
const BATCHES_PER_THREAD: usize = 2;

/// Writes the record batches `batch(start, count)` makes for items `0..n`, `per_batch` at a
/// time, to `path` (atomically) and returns every item's true segment. Batches are
/// generated in parallel, a window at a time, while the window before is written; each
/// batch draws from its own seeded stream, so the file does not depend on the thread count.
fn write_batches(
    path: &Path,
    schema: Arc<Schema>,
    n: usize,
    per_batch: usize,
    batch: impl Fn(usize, usize) -> Result<(RecordBatch, Vec<u32>)> + Sync,
) -> Result<Vec<u32>> {
    use rayon::prelude::*;
    let (temp, file) = TempPath::create(path)?;
    // Dictionaries only for the columns that repeat (ids, days, regions, segment names):
    // amounts and invoice numbers would fill a dictionary page and fall back to plain.
    let props = WriterProperties::builder()
        .set_compression(Compression::SNAPPY)
        .set_dictionary_enabled(false)
        .set_column_dictionary_enabled("customer_id".into(), true)
        .set_column_dictionary_enabled(transactions::DAY.into(), true)
        .set_column_dictionary_enabled("region".into(), true)
        .set_column_dictionary_enabled("true_segment".into(), true)
        .build();
    let mut writer = ArrowWriter::try_new(std::io::BufWriter::new(file), schema, Some(props))
        .map_err(|e| Error::parquet_write(path, e))?;
    let starts: Vec<usize> = (0..n).step_by(per_batch.max(1)).collect();
    let window = BATCHES_PER_THREAD * rayon::current_num_threads().max(1);
    let generate = |starts: &[usize]| -> Vec<Result<(RecordBatch, Vec<u32>)>> {
        starts.par_iter().map(|&start| batch(start, per_batch.min(n - start))).collect()
    };
    let mut truth = Vec::with_capacity(n);
    let mut windows = starts.chunks(window);
    let mut ready = windows.next().map(generate).unwrap_or_default();
    loop {
        let next = windows.next();
        let write = || -> Result<Vec<u32>> {
            let mut written = Vec::new();
            for generated in std::mem::take(&mut ready) {
                let (b, t) = generated?;
                writer.write(&b).map_err(|e| Error::parquet_write(path, e))?;
                written.extend(t);
            }
            Ok(written)
        };
        let (written, generated) = rayon::join(write, || next.map(generate));
        truth.extend(written?);
        match generated {
            Some(batches) => ready = batches,
            None => break,
        }
    }
    let buffered = writer.into_inner().map_err(|e| Error::parquet_write(path, e))?;
    let file = buffered.into_inner().map_err(|e| Error::io(path, e.into_error()))?;
    temp.commit(file)?;
    Ok(truth)
}

/// `n × d` standard-normal rows around `k` random centres (benches and tests).
pub fn blobs(n: usize, d: usize, k: usize, seed: u64) -> Vec<f32> {
    let mut rng = Rng::new(seed);
    let centres: Vec<f32> = (0..k * d).map(|_| (rng.normal() * 4.0) as f32).collect();
    let mut values = Vec::with_capacity(n * d);
    for _ in 0..n {
        let c = rng.below(k as u64) as usize;
        values.extend((0..d).map(|j| centres[c * d + j] + rng.normal() as f32));
    }
    values
}
