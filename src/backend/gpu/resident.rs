//! The rows on the device: split into device chunks that fit one storage binding, uploaded
//! once per dataset and reused by every pass (resident), or, beyond `--gpu-memory` or on
//! out-of-memory, streamed through two upload buffers each pass. Also the way back: device
//! chunk results regrouped into the dataset's host chunks.

use std::sync::MutexGuard;

use super::shaders::MAX_DIM;
use super::GpuBackend;
use crate::backend::AssignSink;
use crate::data::Dataset;
use crate::error::{Error, GpuError, Result};

/// Rows of one device chunk.
pub(super) struct DeviceChunk {
    /// Global index of the first row.
    pub start: usize,
    pub rows: usize,
    /// Rows and weights, when the dataset is resident (None: streamed each pass).
    x_w: Option<(wgpu::Buffer, wgpu::Buffer)>,
}

/// The dataset currently on the device: a cache of the rows keyed by dataset id (data, not
/// per-run state, which each run holds in its own `LloydState`).
pub(super) struct Resident {
    data_id: u64,
    pub chunks: Vec<DeviceChunk>,
    /// Two upload buffers (rows, weights) when the rows are streamed: chunk i uses pair i % 2,
    /// so the next chunk's upload is queued while the previous one computes.
    stream: Option<[(wgpu::Buffer, wgpu::Buffer); 2]>,
}

impl Resident {
    /// Whether the rows are streamed each pass rather than kept on the device.
    pub fn is_streamed(&self) -> bool {
        self.stream.is_some()
    }
}

/// The lock on the device's dataset, holding `Some` after [`GpuBackend::ensure_resident`].
pub(super) type ResidentGuard<'a> = MutexGuard<'a, Option<Resident>>;

impl GpuBackend {
    /// Uploads `data` unless it is already on the device; the guard holds it.
    pub(super) fn ensure_resident(&self, data: &Dataset) -> Result<ResidentGuard<'_>> {
        if data.dim() > MAX_DIM {
            return Err(Error::Gpu(GpuError::TooManyFeatures { dim: data.dim(), max: MAX_DIM }));
        }
        let mut guard = self.resident.lock().map_err(|_| Error::Internal("GPU state poisoned".into()))?;
        if guard.as_ref().is_none_or(|r| r.data_id != data.id()) {
            *guard = None; // free the old copy first
            let bytes = data.rows() as u64 * (data.dim() as u64 + 1) * 4;
            let fits = self.memory_budget.is_none_or(|budget| bytes <= budget);
            let resident = if fits {
                match self.ctx.checked("uploading the rows", || self.upload(data, true)) {
                    Ok(r) => r,
                    Err(e) => {
                        crate::warn!("{e}; streaming the rows through the GPU instead");
                        self.ctx.checked("uploading the rows", || self.upload(data, false))?
                    }
                }
            } else {
                crate::info!("rows need {bytes} bytes, above the GPU memory budget: streaming them each pass");
                self.ctx.checked("uploading the rows", || self.upload(data, false))?
            };
            *guard = Some(resident);
        }
        Ok(guard)
    }

    /// Splits the rows into device chunks; copies them to the device when `resident`,
    /// otherwise allocates the two stream buffers they are uploaded through each pass.
    fn upload(&self, data: &Dataset, resident: bool) -> Result<Resident> {
        let dim = data.dim();
        let per_chunk = self.rows_per_chunk(dim);
        let mut out = Vec::new();
        let mut values: Vec<f32> = Vec::new();
        let mut weights: Vec<f32> = Vec::new();
        let mut start = 0usize;
        let flush = |values: &mut Vec<f32>, weights: &mut Vec<f32>, start: usize, out: &mut Vec<DeviceChunk>| {
            let rows = weights.len();
            if rows == 0 {
                return;
            }
            out.push(DeviceChunk {
                start,
                rows,
                x_w: resident.then(|| {
                    (
                        self.ctx.storage_init("rows", bytemuck::cast_slice(values)),
                        self.ctx.storage_init("weights", bytemuck::cast_slice(weights)),
                    )
                }),
            });
            values.clear();
            weights.clear();
        };
        for chunk in data.chunks() {
            for (i, row) in chunk.values.chunks_exact(dim).enumerate() {
                values.extend_from_slice(row);
                weights.push(chunk.weight(i));
                if weights.len() == per_chunk {
                    let rows = weights.len();
                    flush(&mut values, &mut weights, start, &mut out);
                    start += rows;
                }
            }
            chunk.values.release();
        }
        flush(&mut values, &mut weights, start, &mut out);
        let stream = (!resident).then(|| {
            let rows = out.iter().map(|c| c.rows).max().unwrap_or(1) as u64;
            [0, 1].map(|_| {
                (self.ctx.storage("stream rows", rows * dim as u64 * 4), self.ctx.storage("stream weights", rows * 4))
            })
        });
        Ok(Resident { data_id: data.id(), chunks: out, stream })
    }

    /// Rows per device chunk for `dim` columns.
    fn rows_per_chunk(&self, dim: usize) -> usize {
        let binding = self.ctx.limits.max_storage_buffer_binding_size.min(self.ctx.limits.max_buffer_size);
        let by_limit = (binding / (dim as u64 * 4)).max(1) as usize;
        // Keep the 2-D dispatch within 65,535 × 65,535 workgroups.
        by_limit.min(self.chunk_rows).min(1 << 30)
    }

    /// The rows and weights buffers of chunk `i`, uploading them first when streaming.
    pub(super) fn rows_of<'a>(
        &self,
        data: &Dataset,
        resident: &'a Resident,
        i: usize,
    ) -> (&'a wgpu::Buffer, &'a wgpu::Buffer) {
        let chunk = &resident.chunks[i];
        if let Some((x, w)) = &chunk.x_w {
            return (x, w);
        }
        let (x, w) = &resident.stream.as_ref().expect("streamed rows have stream buffers")[i % 2];
        let (values, weights) = gather_rows(data, chunk.start, chunk.rows);
        self.ctx.queue.write_buffer(x, 0, bytemuck::cast_slice(&values));
        self.ctx.queue.write_buffer(w, 0, bytemuck::cast_slice(&weights));
        (x, w)
    }
}

/// Rows `start..start + rows` (global indices) and their weights, copied out of the chunks.
fn gather_rows(data: &Dataset, start: usize, rows: usize) -> (Vec<f32>, Vec<f32>) {
    let dim = data.dim();
    let mut values = Vec::with_capacity(rows * dim);
    let mut weights = Vec::with_capacity(rows);
    for (c, chunk) in data.chunks().iter().enumerate() {
        let offset = data.chunk_offset(c);
        let n = chunk.rows(dim);
        let lo = start.max(offset);
        let hi = (start + rows).min(offset + n);
        if lo < hi {
            values.extend_from_slice(&chunk.values[(lo - offset) * dim..(hi - offset) * dim]);
            weights.extend((lo..hi).map(|i| chunk.weight(i - offset)));
            if hi == offset + n {
                chunk.values.release();
            }
        }
    }
    (values, weights)
}

/// Regroups per-row results read back by device chunk into the dataset's host chunks, and
/// hands each complete host chunk to the sink (device and host chunk boundaries differ).
pub(super) struct HostChunks<'a> {
    data: &'a Dataset,
    next: usize,
    labels: Vec<u32>,
    values: Vec<f32>,
}

impl<'a> HostChunks<'a> {
    pub fn new(data: &'a Dataset) -> Self {
        HostChunks { data, next: 0, labels: Vec::new(), values: Vec::new() }
    }

    /// Adds one row's label and values; emits the host chunk when it is complete.
    pub fn push(&mut self, label: u32, values: &[f32], sink: &mut AssignSink) -> Result<()> {
        self.labels.push(label);
        self.values.extend_from_slice(values);
        if self.labels.len() == self.data.chunks()[self.next].rows(self.data.dim()) {
            sink(self.next, &self.labels, &self.values)?;
            self.labels.clear();
            self.values.clear();
            self.next += 1;
        }
        Ok(())
    }
}
