//! The GPU backend: the same passes as the CPU backend, as WGSL compute shaders through wgpu.
//!
//! Rows are uploaded once and stay on the device between passes, split into chunks that
//! fit one storage binding (or, beyond `--gpu-memory` or on out-of-memory, are streamed
//! through two upload buffers each pass). Per Lloyd pass only the centres go up and only
//! the k×(dim+3)+1 reduced statistics come back; labels stay on the device, in the run's
//! [`LloydState`], until the final assignment reads them back chunk by chunk. Mixture
//! passes compute responsibilities per sub-range of a chunk and reduce their moments the
//! same way. Reductions use per-block partials and a fixed-order Kahan sum (no float
//! atomics), so a pass is deterministic on a given device; chunks merge in f64 on the host
//! in order.
//!
//! Files: `context` (device and pipelines), `shaders` (the kernel registry), `dispatch`
//! (buffers, dispatch, read-back, error scopes), `resident` (the rows on the device),
//! `state` (a run's device buffers), then one file per kernel family: `lloyd`, `seeding`
//! (k-means++), `mixture`, `silhouette`, `density` (k-nearest rows and Borůvka's step). This file holds the backend and its settings and
//! delegates each pass to its family.

pub mod context;
mod density;
mod dispatch;
mod lloyd;
mod mixture;
mod resident;
mod seeding;
pub mod shaders;
mod silhouette;
mod state;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Mutex;

use self::context::GpuContext;
use self::resident::Resident;
use super::mixture::{MixturePass, MixtureStats};
use super::{AssignSink, Backend, BackendInfo, Centres, LloydState, LloydStats, MixtureSink};
use crate::data::Dataset;
use crate::error::Result;

/// Largest per-dispatch partials buffer (bytes), below every adapter's binding limit we target.
const PARTIALS_BUDGET: u64 = 64 << 20;

/// Backend running every pass on a wgpu device.
pub struct GpuBackend {
    ctx: GpuContext,
    /// The dataset whose rows are on the device (uploaded once, reused by every pass).
    resident: Mutex<Option<Resident>>,
    /// Most rows per device chunk (also bounded by the adapter's binding size).
    chunk_rows: usize,
    /// Rows each statistics thread reduces (bounded so partials fit `PARTIALS_BUDGET`).
    block_rows: usize,
    /// Device bytes the rows may occupy; beyond it they are streamed. `None`: keep them
    /// resident unless the device runs out of memory.
    memory_budget: Option<u64>,
    /// Testing hook: Lloyd passes allowed before a simulated device failure.
    fault_after: Option<usize>,
    passes: AtomicUsize,
}

impl GpuBackend {
    /// A backend on an opened context.
    pub fn new(ctx: GpuContext) -> Self {
        GpuBackend {
            ctx,
            resident: Mutex::new(None),
            chunk_rows: usize::MAX,
            block_rows: 1024,
            memory_budget: None,
            fault_after: None,
            passes: Default::default(),
        }
    }

    /// Caps the rows per device chunk (tests force several chunks with a small value).
    pub fn with_chunk_rows(mut self, rows: usize) -> Self {
        self.chunk_rows = rows.max(1);
        self
    }

    /// Sets the rows each statistics thread reduces.
    pub fn with_block_rows(mut self, rows: usize) -> Self {
        self.block_rows = rows.max(1);
        self
    }

    /// Streams the rows through two upload buffers when they need more than `bytes`.
    pub fn with_memory_budget(mut self, bytes: Option<u64>) -> Self {
        self.memory_budget = bytes;
        self
    }

    /// Testing hook: make every Lloyd pass after the first `passes` fail as a lost device would.
    #[doc(hidden)]
    pub fn with_injected_fault_after(mut self, passes: usize) -> Self {
        self.fault_after = Some(passes);
        self
    }

    /// Whether the current dataset is streamed rather than resident.
    pub fn is_streaming(&self) -> bool {
        self.resident.lock().map(|r| r.as_ref().is_some_and(Resident::is_streamed)).unwrap_or(false)
    }

    /// The opened device.
    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    /// Rows per statistics block so that `blocks × accumulators` floats fit the budget.
    fn block_rows_for(&self, rows: usize, accumulators: usize) -> usize {
        let budget = PARTIALS_BUDGET.min(self.ctx.limits.max_storage_buffer_binding_size) / 4;
        let max_blocks = (budget / accumulators as u64).max(1) as usize;
        self.block_rows.max(rows.div_ceil(max_blocks))
    }

    /// The testing hook's simulated device loss, once `fault_after` Lloyd passes have run.
    fn injected_fault(&self) -> Result<()> {
        let pass = self.passes.fetch_add(1, Ordering::Relaxed);
        if self.fault_after.is_some_and(|n| pass >= n) {
            return Err(self.ctx.no_result("a Lloyd pass", "device lost (injected fault, testing)".into()));
        }
        Ok(())
    }
}

impl Backend for GpuBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo { backend: "gpu".into(), device: self.ctx.describe() }
    }

    fn new_state(&self, data: &Dataset) -> Result<LloydState> {
        state::new_state(self, data)
    }

    fn lloyd_pass(&self, data: &Dataset, centres: &Centres, state: &mut LloydState) -> Result<LloydStats> {
        self.injected_fault()?;
        lloyd::pass(self, data, centres, state)
    }

    fn labels(&self, data: &Dataset, state: &LloydState) -> Result<Vec<u32>> {
        lloyd::labels(self, data, state)
    }

    fn assign(&self, data: &Dataset, centres: &Centres, sink: &mut AssignSink) -> Result<()> {
        lloyd::assign(self, data, centres, sink)
    }

    fn farthest_rows(&self, data: &Dataset, state: &LloydState, m: usize) -> Result<Vec<(usize, u32)>> {
        lloyd::farthest_rows(self, data, state, m)
    }

    fn update_min_sq_dist(&self, data: &Dataset, centre: &[f32], state: &mut LloydState) -> Result<()> {
        seeding::update_min_sq_dist(self, data, centre, state)
    }

    fn candidate_potentials(&self, data: &Dataset, candidates: &Centres, state: &LloydState) -> Result<Vec<f64>> {
        seeding::candidate_potentials(self, data, candidates, state)
    }

    fn mixture_pass(&self, data: &Dataset, mix: &MixturePass) -> Result<MixtureStats> {
        mixture::pass(self, data, mix)
    }

    fn mixture_assign(&self, data: &Dataset, mix: &MixturePass, sink: &mut MixtureSink) -> Result<()> {
        mixture::assign(self, data, mix, sink)
    }

    fn pair_sums(&self, points: &[f32], dim: usize, ranges: &[(usize, usize)]) -> Result<Vec<f64>> {
        silhouette::pair_sums(self, points, dim, ranges)
    }

    fn density_passes(&self) -> Option<&dyn super::density::DensityPasses> {
        Some(self)
    }
}
