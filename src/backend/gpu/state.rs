//! The GPU's part of a [`LloydState`]: per device chunk, the buffers a run keeps on the
//! device between passes (labels, squared distances, change flags, k-means++'s minimum
//! distances), so a Lloyd pass reads nothing back but its statistics.

use super::context::GpuContext;
use super::resident::Resident;
use super::GpuBackend;
use crate::backend::LloydState;
use crate::data::Dataset;
use crate::error::{Error, Result};

/// What the nearest-centre kernel writes per row of one device chunk.
pub(super) struct LloydBuffers {
    /// Each row's label (`u32::MAX` before the first pass).
    pub labels: wgpu::Buffer,
    /// Each row's squared distance to its centre.
    pub dist2: wgpu::Buffer,
    /// 1 where the last pass changed the row's label.
    pub changed: wgpu::Buffer,
}

impl LloydBuffers {
    /// Buffers for `rows` rows, with no labels yet.
    pub fn new(ctx: &GpuContext, rows: usize) -> Self {
        LloydBuffers {
            labels: ctx.storage_init("labels", bytemuck::cast_slice(&vec![u32::MAX; rows])),
            dist2: ctx.storage("dist2", rows as u64 * 4),
            changed: ctx.storage("changed", rows as u64 * 4),
        }
    }
}

/// One device chunk's per-run buffers.
pub(super) struct ChunkState {
    pub lloyd: LloydBuffers,
    /// The device copy of the chunk's k-means++ minimum distances (the host copy in the
    /// `LloydState` is uploaded before each seeding pass).
    pub min_sq: wgpu::Buffer,
}

/// The per-run buffers of every device chunk, in device chunk order.
pub(super) struct DeviceState {
    chunks: Vec<ChunkState>,
}

impl DeviceState {
    /// The buffers of every device chunk of `resident`, checked to be laid out the same way.
    pub fn chunks(&self, resident: &Resident) -> Result<&[ChunkState]> {
        if self.chunks.len() != resident.chunks.len() {
            return Err(Error::Internal(format!(
                "a Lloyd state for {} device chunks was passed with {} device chunks",
                self.chunks.len(),
                resident.chunks.len()
            )));
        }
        Ok(&self.chunks)
    }
}

/// Fresh per-run state for `data` (uploading its rows first, which fixes the device chunks).
pub(super) fn new_state(gpu: &GpuBackend, data: &Dataset) -> Result<LloydState> {
    let guard = gpu.ensure_resident(data)?;
    let resident = guard.as_ref().expect("resident after ensure_resident");
    let ctx = &gpu.ctx;
    let chunks = ctx.checked("allocating a run's buffers", || {
        Ok(resident
            .chunks
            .iter()
            .map(|chunk| ChunkState {
                lloyd: LloydBuffers::new(ctx, chunk.rows),
                min_sq: ctx.storage("min_sq", chunk.rows as u64 * 4),
            })
            .collect())
    })?;
    Ok(LloydState::new(data, DeviceState { chunks }))
}
