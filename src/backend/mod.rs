//! Backends run the heavy passes; algorithms drive iterations over them.
//!
//! Every pass goes once over every chunk of a [`Dataset`] and returns small statistics
//! that merge in f64, in chunk order, so results never depend on the thread count and a
//! future GPU or distributed backend can produce the same numbers chunk by chunk.
//!
//! Here: the [`Backend`] trait and the values its passes take and return, the per-run
//! [`LloydState`] handle, and the distance helpers both backends share. The backends
//! themselves are `cpu/` (rayon) and `gpu/` (wgpu), each split by kernel family.

pub mod cpu;
pub mod density;
pub mod distance;
pub mod gpu;
pub mod mixture;
pub mod pairwise;
pub mod state;

pub use state::LloydState;

use crate::data::Dataset;
use crate::error::Result;

/// Centres in the prepared space, row-major `k × dim`, as the kernels read them.
#[derive(Debug, Clone, PartialEq)]
pub struct Centres {
    pub k: usize,
    pub dim: usize,
    pub values: Vec<f32>,
}

impl Centres {
    /// Wraps `k × dim` row-major values.
    pub fn new(k: usize, dim: usize, values: Vec<f32>) -> Self {
        assert_eq!(values.len(), k * dim, "centres must be k × dim");
        Centres { k, dim, values }
    }

    /// Centre `c` as a slice.
    pub fn centre(&self, c: usize) -> &[f32] {
        &self.values[c * self.dim..(c + 1) * self.dim]
    }
}

/// Per-cluster sufficient statistics of one Lloyd pass (assignment + accumulation).
#[derive(Debug, Clone, PartialEq)]
pub struct LloydStats {
    pub k: usize,
    pub dim: usize,
    /// Σ w·x per cluster, `k × dim`.
    pub sums: Vec<f64>,
    /// Σ w per cluster.
    pub weights: Vec<f64>,
    /// Number of rows per cluster.
    pub counts: Vec<u64>,
    /// Σ w·‖x − c‖² against the centres the pass assigned to.
    pub inertia: f64,
    /// Rows whose label differs from the previous pass.
    pub changed: u64,
    /// Rows whose label bounds proved unchanged, so the pass did not score them against
    /// every centre (the CPU's bounds; 0 elsewhere). The rest of the statistics are the same.
    pub skipped: u64,
}

impl LloydStats {
    /// Empty statistics for `k` clusters in `dim` dimensions.
    pub fn zeros(k: usize, dim: usize) -> Self {
        LloydStats {
            k,
            dim,
            sums: vec![0.0; k * dim],
            weights: vec![0.0; k],
            counts: vec![0; k],
            inertia: 0.0,
            changed: 0,
            skipped: 0,
        }
    }

    /// Adds `other` into `self` (chunk statistics → totals).
    pub fn merge(&mut self, other: &LloydStats) {
        debug_assert_eq!((self.k, self.dim), (other.k, other.dim));
        for (a, b) in self.sums.iter_mut().zip(&other.sums) {
            *a += b;
        }
        for (a, b) in self.weights.iter_mut().zip(&other.weights) {
            *a += b;
        }
        for (a, b) in self.counts.iter_mut().zip(&other.counts) {
            *a += b;
        }
        self.inertia += other.inertia;
        self.changed += other.changed;
        self.skipped += other.skipped;
    }
}

/// One value per row, kept per chunk (e.g. k-means++'s distance to the nearest chosen centre).
pub type RowValues = Vec<Vec<f32>>;

/// Receives the final assignment of one chunk: `(chunk index, labels, distances)`.
pub type AssignSink<'a> = dyn FnMut(usize, &[u32], &[f32]) -> Result<()> + 'a;

/// Receives the mixture assignment of one chunk: `(chunk index, labels, probabilities)`,
/// probabilities row-major `rows × k` (the same shape of callback as [`AssignSink`]).
pub type MixtureSink<'a> = AssignSink<'a>;

/// Name and device of a backend, for logs and the JSON summary.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct BackendInfo {
    pub backend: String,
    pub device: String,
}

/// The backend for small samples already in host memory (mini-batches, k-means||'s
/// candidates): the CPU, whichever backend runs the passes over the whole dataset. Uploading
/// a sample to a GPU would evict the resident dataset and cost more than the pass saves, and
/// a sample's result is then the same whatever backend the run uses.
pub fn sample_backend() -> &'static dyn Backend {
    &cpu::CpuBackend
}

/// Index of the lowest potential, the first one on ties: which k-means++ candidate wins.
pub fn lowest_potential(potentials: &[f64]) -> usize {
    (0..potentials.len()).fold(0, |b, i| if potentials[i] < potentials[b] { i } else { b })
}

/// The passes an algorithm needs. Implementations: [`cpu::CpuBackend`] (rayon) and
/// [`gpu::GpuBackend`] (wgpu), with the same passes as WGSL kernels.
pub trait Backend: Send + Sync {
    /// Which backend and device this is.
    fn info(&self) -> BackendInfo;

    /// Fresh per-run state for `data`: no labels yet, minimum distances +∞. Pass it to every
    /// Lloyd and k-means++ pass of one run over `data`.
    fn new_state(&self, data: &Dataset) -> Result<LloydState>;

    /// A state like [`Backend::new_state`]'s whose Lloyd passes score every row against
    /// every centre (no bounds that skip rows): what `custseg bench` times, so its GFLOP/s
    /// count work done. Backends without bounds return their usual state.
    fn new_full_state(&self, data: &Dataset) -> Result<LloydState> {
        self.new_state(data)
    }

    /// Assigns every row to its nearest centre (lowest index on exact ties), stores each
    /// row's label and squared distance in `state`, and returns per-cluster sums, weights,
    /// counts, inertia and how many labels differ from those `state` held before.
    fn lloyd_pass(&self, data: &Dataset, centres: &Centres, state: &mut LloydState) -> Result<LloydStats>;

    /// The labels the last [`Backend::lloyd_pass`] stored in `state`, in row order (read back
    /// from the device on the GPU).
    fn labels(&self, data: &Dataset, state: &LloydState) -> Result<Vec<u32>>;

    /// Final assignment: calls `sink(chunk_index, labels, distances)` once per chunk in
    /// order, with the exact Euclidean distance to the nearest centre.
    fn assign(&self, data: &Dataset, centres: &Centres, sink: &mut AssignSink) -> Result<()>;

    /// The `m` rows farthest (squared distance, largest first, lowest index on ties) from
    /// the centre the last [`Backend::lloyd_pass`] assigned them to, with that label, as
    /// `state` holds them: where empty clusters are re-seeded.
    fn farthest_rows(&self, data: &Dataset, state: &LloydState, m: usize) -> Result<Vec<(usize, u32)>>;

    /// `min_sq[i] = min(min_sq[i], ‖x_i − centre‖²)` for every row, in `state`.
    fn update_min_sq_dist(&self, data: &Dataset, centre: &[f32], state: &mut LloydState) -> Result<()>;

    /// For each candidate centre, Σ w·min(min_sq, ‖x − candidate‖²) with `state`'s minimum
    /// distances: the k-means++ potential if that candidate were chosen.
    fn candidate_potentials(&self, data: &Dataset, candidates: &Centres, state: &LloydState) -> Result<Vec<f64>>;

    /// One greedy k-means++ step: the candidate with the lowest potential (as
    /// [`Backend::candidate_potentials`], lowest index on ties) and that potential, with
    /// `state`'s minimum distances updated by it. The CPU does this in one pass over the data.
    fn choose_candidate(&self, data: &Dataset, candidates: &Centres, state: &mut LloydState) -> Result<(usize, f64)> {
        let potentials = self.candidate_potentials(data, candidates, state)?;
        let best = lowest_potential(&potentials);
        self.update_min_sq_dist(data, candidates.centre(best), state)?;
        Ok((best, potentials[best]))
    }

    /// One EM pass: component responsibilities of every row under `mix`, reduced into
    /// per-component Σ w·r, Σ w·r·x, Σ w·r·x² (or x·xᵀ) and Σ w·ln p(x).
    fn mixture_pass(&self, data: &Dataset, mix: &mixture::MixturePass) -> Result<mixture::MixtureStats>;

    /// Final soft assignment: calls `sink(chunk, labels, probabilities)` per chunk in order.
    fn mixture_assign(&self, data: &Dataset, mix: &mixture::MixturePass, sink: &mut MixtureSink) -> Result<()>;

    /// The silhouette's pairwise pass over `points` (row-major `m × dim`, grouped by label:
    /// label c's points are `ranges[c].0..ranges[c].1`): for every point i and label c,
    /// Σ ‖x_i − x_j‖ over label c's points j ≠ i, as `sums[i · k + c]`. O(m²·dim) work in
    /// O(m·k) memory: the m × m distances are never stored.
    fn pair_sums(&self, points: &[f32], dim: usize, ranges: &[(usize, usize)]) -> Result<Vec<f64>>;

    /// The density pipeline's device passes, where the backend has kernels for them (the
    /// CPU's density pipeline searches its kd-tree instead).
    fn density_passes(&self) -> Option<&dyn density::DensityPasses> {
        None
    }
}
