//! The CPU backend with an explicit bounds policy for its Lloyd passes, so tests and
//! benchmarks can compare the pass with and without bounds; [`CpuBackend`] is `Auto`.

use super::{Bounds, CpuBackend};
use crate::backend::mixture::{MixturePass, MixtureStats};
use crate::backend::{AssignSink, Backend, BackendInfo, Centres, LloydState, LloydStats, MixtureSink};
use crate::data::Dataset;
use crate::error::Result;

/// [`CpuBackend`] whose Lloyd states keep bounds as `bounds` says; every other pass is the
/// same. The results are the same bits for every policy; only the time differs.
#[derive(Debug, Default, Clone, Copy)]
pub struct CpuBackendWith {
    pub bounds: Bounds,
}

impl Backend for CpuBackendWith {
    fn info(&self) -> BackendInfo {
        CpuBackend.info()
    }

    fn new_state(&self, data: &Dataset) -> Result<LloydState> {
        CpuBackend.new_state_with(data, self.bounds)
    }

    fn lloyd_pass(&self, data: &Dataset, centres: &Centres, state: &mut LloydState) -> Result<LloydStats> {
        CpuBackend.lloyd_pass(data, centres, state)
    }

    fn labels(&self, data: &Dataset, state: &LloydState) -> Result<Vec<u32>> {
        CpuBackend.labels(data, state)
    }

    fn assign(&self, data: &Dataset, centres: &Centres, sink: &mut AssignSink) -> Result<()> {
        CpuBackend.assign(data, centres, sink)
    }

    fn farthest_rows(&self, data: &Dataset, state: &LloydState, m: usize) -> Result<Vec<(usize, u32)>> {
        CpuBackend.farthest_rows(data, state, m)
    }

    fn update_min_sq_dist(&self, data: &Dataset, centre: &[f32], state: &mut LloydState) -> Result<()> {
        CpuBackend.update_min_sq_dist(data, centre, state)
    }

    fn candidate_potentials(&self, data: &Dataset, candidates: &Centres, state: &LloydState) -> Result<Vec<f64>> {
        CpuBackend.candidate_potentials(data, candidates, state)
    }

    fn choose_candidate(&self, data: &Dataset, candidates: &Centres, state: &mut LloydState) -> Result<(usize, f64)> {
        CpuBackend.choose_candidate(data, candidates, state)
    }

    fn mixture_pass(&self, data: &Dataset, mix: &MixturePass) -> Result<MixtureStats> {
        CpuBackend.mixture_pass(data, mix)
    }

    fn mixture_assign(&self, data: &Dataset, mix: &MixturePass, sink: &mut MixtureSink) -> Result<()> {
        CpuBackend.mixture_assign(data, mix, sink)
    }

    fn pair_sums(&self, points: &[f32], dim: usize, ranges: &[(usize, usize)]) -> Result<Vec<f64>> {
        CpuBackend.pair_sums(points, dim, ranges)
    }
}
