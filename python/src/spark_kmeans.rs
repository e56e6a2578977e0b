//! K-Means on Spark, the Rust half: what a task computes over its partition
//! ([`lloyd_partition`]), what the driver does with every partition's bytes
//! ([`lloyd_merge`]), and the initial centres from a sample ([`kmeans_init`]). Each is the
//! library's own pass or update, so a Spark fit is the single-machine fit split by partition.

use custseg::backend::cpu::CpuBackend;
use custseg::backend::distance::sq_dist;
use custseg::backend::{Backend, Centres, LloydStats};
use custseg::cluster::kmeans::{self, Init, Reseed};
use custseg::rng::Rng;
use numpy::prelude::*;
use pyo3::exceptions::PyValueError;
use pyo3::prelude::*;
use pyo3::types::{PyBytes, PyDict};

use crate::data::{dataset, Matrix, Vector};
use crate::errors::to_py;
use crate::wire::{merge_in_order, Reader, Writer, LLOYD_TAG};

/// Centres from a `(k, dim)` array, refused when their width is not the data's.
fn centres_of(m: &Matrix, dim: usize) -> PyResult<Centres> {
    let (k, d) = m.shape();
    if d != dim {
        return Err(PyValueError::new_err(format!("the centres have {d} features but the data has {dim}")));
    }
    Ok(Centres::new(k, d, m.to_f32_rows()))
}

/// One Lloyd pass over a partition's rows: the library's per-cluster sums, weights, counts,
/// inertia and changed labels, then its `farthest` rows (squared distance, row within the
/// partition, label, weight, values) for re-seeding empty clusters. With `previous`, a pass
/// against those centres runs first, so `changed` counts the rows whose label moved between
/// the two (as a single machine's state does); without it every row counts as changed.
#[pyfunction]
#[pyo3(signature = (x, sample_weight, centres, previous=None, farthest=0))]
pub fn lloyd_partition<'py>(
    py: Python<'py>,
    x: Matrix<'py>,
    sample_weight: Option<Vector<'py>>,
    centres: Matrix<'py>,
    previous: Option<Matrix<'py>>,
    farthest: usize,
) -> PyResult<Bound<'py, PyBytes>> {
    let data = dataset(&x, sample_weight.as_ref())?;
    let centres = centres_of(&centres, data.dim())?;
    let previous = previous.map(|p| centres_of(&p, data.dim())).transpose()?;
    let bytes = py
        .detach(|| {
            let backend = CpuBackend;
            let mut state = backend.new_state(&data)?;
            if let Some(p) = &previous {
                backend.lloyd_pass(&data, p, &mut state)?;
            }
            let stats = backend.lloyd_pass(&data, &centres, &mut state)?;
            let far = if farthest > 0 { backend.farthest_rows(&data, &state, farthest)? } else { Vec::new() };
            let mut w = Writer::new(LLOYD_TAG);
            w.lloyd(&stats);
            w.u64(far.len() as u64);
            for (row, label) in far {
                let x = data.row(row);
                w.f32s(&[sq_dist(x, centres.centre(label as usize))]);
                w.u64(row as u64);
                w.u64(label as u64);
                w.f64s(&[data.weight(row) as f64]);
                w.f32s(x);
            }
            Ok::<_, custseg::Error>(w.0)
        })
        .map_err(to_py)?;
    Ok(PyBytes::new(py, &bytes))
}

/// A row a partition offers for re-seeding.
struct FarRow {
    dist2: f32,
    part: usize,
    row: u64,
    label: u32,
    weight: f64,
    values: Vec<f32>,
}

/// One partition's statistics and offered rows.
fn read_partition(bytes: &[u8], part: usize) -> PyResult<(LloydStats, Vec<FarRow>)> {
    let mut r = Reader::new(bytes, LLOYD_TAG)?;
    let stats = r.lloyd()?;
    let n = r.usize()?;
    let mut far = Vec::with_capacity(n);
    for _ in 0..n {
        let dist2 = r.f32s(1)?[0];
        let row = r.u64()?;
        let label = u32::try_from(r.u64()?).map_err(|_| PyValueError::new_err("a label out of range"))?;
        let weight = r.f64s(1)?[0];
        far.push(FarRow { dist2, part, row, label, weight, values: r.f32s(stats.dim)? });
    }
    r.finish()?;
    Ok((stats, far))
}

/// The driver's step: merges the partitions' statistics in the order given (partition
/// index), moves the globally farthest rows (largest distance, then lowest partition and
/// row: a single machine's row order) into empty clusters, and returns the next `centres`
/// (float32), the `shift` to them, and the pass's `inertia`, `changed`, `sizes`, `weights`
/// and `reseeded`, in a dict.
#[pyfunction]
pub fn lloyd_merge<'py>(py: Python<'py>, parts: Vec<Vec<u8>>, centres: Matrix<'py>) -> PyResult<Bound<'py, PyDict>> {
    let (k, dim) = centres.shape();
    let centres = centres_of(&centres, dim)?;
    let mut far = Vec::new();
    let mut read = Vec::with_capacity(parts.len());
    for (part, bytes) in parts.iter().enumerate() {
        let (stats, rows) = read_partition(bytes, part)?;
        far.extend(rows);
        read.push(stats);
    }
    let mut stats = merge_in_order(read, |s| (s.k, s.dim), LloydStats::merge)?;
    if (stats.k, stats.dim) != (k, dim) {
        return Err(PyValueError::new_err("the partitions' statistics are not for these centres"));
    }
    let out = PyDict::new(py);
    out.set_item("inertia", stats.inertia)?;
    out.set_item("changed", stats.changed)?;
    far.sort_by(|a, b| b.dist2.total_cmp(&a.dist2).then(a.part.cmp(&b.part)).then(a.row.cmp(&b.row)));
    let empty = kmeans::empty_clusters(&stats);
    let mut fallback = centres.clone();
    let moves = far.iter().map(|f| Reseed { row: &f.values, weight: f.weight, from: f.label });
    let reseeded = kmeans::apply_reseeds(&mut stats, &empty, moves, &mut fallback);
    let next = kmeans::weighted_means(&stats, &fallback);
    out.set_item("shift", kmeans::squared_shift(&centres, &next))?;
    out.set_item("centres", next.values.into_pyarray(py).reshape([k, dim])?)?;
    out.set_item("sizes", stats.counts.into_pyarray(py))?;
    out.set_item("weights", stats.weights.into_pyarray(py))?;
    out.set_item("reseeded", reseeded)?;
    Ok(out)
}

/// Initial centres of run `run` computed on a sample's rows, as a single machine's run
/// `run` computes them on all rows: `init` is 'k-means++', 'random' or 'k-means||', seeded
/// from `(seed, run)`.
#[pyfunction]
#[pyo3(signature = (x, sample_weight, k, init, seed, run))]
pub fn kmeans_init<'py>(
    py: Python<'py>,
    x: Matrix<'py>,
    sample_weight: Option<Vector<'py>>,
    k: usize,
    init: &str,
    seed: u64,
    run: u64,
) -> PyResult<Bound<'py, numpy::PyArray2<f32>>> {
    let data = dataset(&x, sample_weight.as_ref())?;
    if data.rows() < k {
        return Err(PyValueError::new_err(format!(
            "the initialisation sample has {} rows for k = {k}; raise init_sample_size",
            data.rows()
        )));
    }
    let init = match init {
        "k-means++" => Init::KMeansPlusPlus,
        "random" => Init::Random,
        "k-means||" => Init::Parallel { rounds: 5, oversampling: 2.0 },
        other => {
            return Err(PyValueError::new_err(format!(
                "init '{other}' is not one of 'k-means++', 'random', 'k-means||' or an array of shape (k, n_features)"
            )))
        }
    };
    let centres = py
        .detach(|| {
            custseg::cluster::ensure_positive_weight(&data)?;
            let mut rng = Rng::derive(seed, run);
            match init {
                Init::Random => Ok(kmeans::random_rows(&data, k, &mut rng)),
                Init::Parallel { rounds, oversampling } => {
                    kmeans::kmeans_parallel(&CpuBackend, &data, k, rounds, oversampling, &mut rng)
                }
                _ => kmeans::kmeans_plus_plus(&CpuBackend, &data, k, &mut rng),
            }
        })
        .map_err(to_py)?;
    centres.values.into_pyarray(py).reshape([k, data.dim()])
}
