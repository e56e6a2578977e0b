//! The per-run state of the Lloyd and k-means++ passes: a handle the caller owns and passes
//! to every pass, so no pass depends on what another call left behind.

use std::any::Any;

use super::RowValues;
use crate::data::Dataset;
use crate::error::{Error, Result};

/// What the Lloyd and k-means++ passes keep per row of one dataset between calls: each row's
/// label and its squared distance to that centre after the last [`lloyd_pass`], and
/// k-means++'s squared distance to the nearest centre chosen so far.
///
/// Made by [`Backend::new_state`] (labels "none yet", minimum distances +∞) for one dataset
/// and usable only with it and that backend. Labels and distances stay where the backend
/// computes them: host vectors on the CPU, device buffers on the GPU (a Lloyd pass reads
/// nothing back but its statistics). The minimum distances are on the host, where
/// k-means++ draws rows from them.
///
/// [`lloyd_pass`]: super::Backend::lloyd_pass
/// [`Backend::new_state`]: super::Backend::new_state
pub struct LloydState {
    data_id: u64,
    min_sq: RowValues,
    /// The backend's labels and distances; only the backend that made it knows the type.
    held: Box<dyn Any + Send + Sync>,
}

impl LloydState {
    /// State for `data` whose labels and distances are `held` by the backend making it.
    pub fn new(data: &Dataset, held: impl Any + Send + Sync) -> Self {
        let min_sq = data.chunks().iter().map(|c| vec![f32::INFINITY; c.rows(data.dim())]).collect();
        LloydState { data_id: data.id(), min_sq, held: Box::new(held) }
    }

    /// k-means++'s squared distance of every row to the nearest chosen centre, per chunk.
    pub fn min_sq(&self) -> &RowValues {
        &self.min_sq
    }

    /// The minimum distances, for passes (and host code) that lower them.
    pub fn min_sq_mut(&mut self) -> &mut RowValues {
        &mut self.min_sq
    }

    /// The backend's part, after checking that the state belongs to `data` and to a backend
    /// holding a `T`.
    pub fn held<T: Any>(&self, data: &Dataset) -> Result<&T> {
        self.check(data)?;
        self.held.downcast_ref().ok_or_else(Self::other_backend)
    }

    /// The backend's part, mutably (see [`LloydState::held`]).
    pub fn held_mut<T: Any>(&mut self, data: &Dataset) -> Result<&mut T> {
        self.check(data)?;
        self.held.downcast_mut().ok_or_else(Self::other_backend)
    }

    fn check(&self, data: &Dataset) -> Result<()> {
        if self.data_id != data.id() {
            return Err(Error::Internal("a Lloyd state was passed with a dataset it was not made for".into()));
        }
        Ok(())
    }

    fn other_backend() -> Error {
        Error::Internal("a Lloyd state was passed to a backend that did not make it".into())
    }
}

impl std::fmt::Debug for LloydState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LloydState").field("data_id", &self.data_id).finish_non_exhaustive()
    }
}
