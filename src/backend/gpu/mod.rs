//! The GPU backend: the same passes as the CPU backend, as WGSL compute shaders through wgpu.
//!
//! Rows are uploaded once and stay on the device between passes, split into chunks that
//! fit one storage binding (or, beyond `--gpu-memory` or on out-of-memory, are streamed
//! through two upload buffers each pass). Per Lloyd pass only the centres go up and only
//! the k×(dim+3)+1 reduced statistics come back; labels stay on the device until the final
//! assignment reads them back chunk by chunk. Mixture passes compute responsibilities per
//! sub-range of a chunk and reduce their moments the same way. Reductions use per-block
//! partials and a fixed-order Kahan sum (no float atomics), so a pass is deterministic on a
//! given device; chunks merge in f64 on the host in order.

pub mod context;
pub mod shaders;

use std::sync::Mutex;

use wgpu::util::DeviceExt;

use self::context::GpuContext;
use self::shaders::{Params, MAX_DIM, WORKGROUP};
use super::mixture::{MixturePass, MixtureStats};
use super::{AssignSink, Backend, BackendInfo, Centres, Labels, LloydStats, MixtureSink, RowValues};
use crate::backend::cpu::keep_farthest;
use crate::data::Dataset;
use crate::error::{Error, GpuError, Param, Result};

/// Largest per-dispatch partials buffer (bytes), below every adapter's binding limit we target.
const PARTIALS_BUDGET: u64 = 64 << 20;

/// Rows of one device chunk and their buffers.
struct DeviceChunk {
    /// Global index of the first row.
    start: usize,
    rows: usize,
    /// Rows and weights, when the dataset is resident (None: streamed each pass).
    x_w: Option<(wgpu::Buffer, wgpu::Buffer)>,
    labels: wgpu::Buffer,
    dist2: wgpu::Buffer,
    changed: wgpu::Buffer,
    min_sq: wgpu::Buffer,
}

/// The dataset currently on the device.
struct Resident {
    data_id: u64,
    labels_id: u64,
    chunks: Vec<DeviceChunk>,
    /// Two upload buffers (rows, weights) when the rows are streamed: chunk i uses pair i % 2,
    /// so the next chunk's upload is queued while the previous one computes.
    stream: Option<[(wgpu::Buffer, wgpu::Buffer); 2]>,
}

/// Points per dispatch of the silhouette's pairwise pass.
const PAIR_TILE: usize = 4096;

/// Backend running every pass on a wgpu device.
pub struct GpuBackend {
    ctx: GpuContext,
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
    passes: std::sync::atomic::AtomicUsize,
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
        self.resident.lock().map(|r| r.as_ref().is_some_and(|r| r.stream.is_some())).unwrap_or(false)
    }

    /// The opened device.
    pub fn context(&self) -> &GpuContext {
        &self.ctx
    }

    fn device(&self) -> &wgpu::Device {
        &self.ctx.device
    }

    /// Rows per device chunk for `dim` columns.
    fn rows_per_chunk(&self, dim: usize) -> usize {
        let binding = self.ctx.limits.max_storage_buffer_binding_size.min(self.ctx.limits.max_buffer_size);
        let by_limit = (binding / (dim as u64 * 4)).max(1) as usize;
        // Keep the 2-D dispatch within 65,535 × 65,535 workgroups.
        by_limit.min(self.chunk_rows).min(1 << 30)
    }

    /// Runs `f` inside validation and out-of-memory error scopes; an error becomes [`Error::Gpu`].
    fn checked<T>(&self, what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let oom = self.device().push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device().push_error_scope(wgpu::ErrorFilter::Validation);
        let result = f();
        let v = pollster::block_on(validation.pop());
        let o = pollster::block_on(oom.pop());
        let (what, device) = (what.to_string(), self.ctx.describe());
        if let Some(e) = v {
            return Err(Error::Gpu(GpuError::Validation { what, device, message: e.to_string() }));
        }
        if let Some(e) = o {
            return Err(Error::Gpu(GpuError::OutOfMemory { what, device, message: e.to_string() }));
        }
        result
    }

    /// The error of a pass that finished without a usable result.
    fn no_result(&self, what: &str, detail: String) -> Error {
        Error::Gpu(GpuError::NoResult { what: what.into(), device: self.ctx.describe(), detail })
    }

    fn storage_init(&self, label: &str, bytes: &[u8]) -> wgpu::Buffer {
        self.device().create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
        })
    }

    fn storage(&self, label: &str, bytes: u64) -> wgpu::Buffer {
        self.device().create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes.max(4),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    fn uniform(&self, params: &Params) -> wgpu::Buffer {
        self.device().create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("params"),
            contents: bytemuck::bytes_of(params),
            usage: wgpu::BufferUsages::UNIFORM,
        })
    }

    /// Uploads `data` unless it is already on the device; starts fresh labels when
    /// `labels_id` differs from the last run's.
    fn ensure_resident(
        &self,
        data: &Dataset,
        labels_id: Option<u64>,
    ) -> Result<std::sync::MutexGuard<'_, Option<Resident>>> {
        if data.dim() > MAX_DIM {
            return Err(Error::Gpu(GpuError::TooManyFeatures { dim: data.dim(), max: MAX_DIM }));
        }
        let mut guard = self.resident.lock().map_err(|_| Error::Internal("GPU state poisoned".into()))?;
        if guard.as_ref().is_none_or(|r| r.data_id != data.id()) {
            *guard = None; // free the old copy first
            let bytes = data.rows() as u64 * (data.dim() as u64 + 1) * 4;
            let fits = self.memory_budget.is_none_or(|budget| bytes <= budget);
            let resident = if fits {
                match self.checked("uploading the rows", || self.upload(data, true)) {
                    Ok(r) => r,
                    Err(e) => {
                        crate::warn!("{e}; streaming the rows through the GPU instead");
                        self.checked("uploading the rows", || self.upload(data, false))?
                    }
                }
            } else {
                crate::info!("rows need {bytes} bytes, above the GPU memory budget: streaming them each pass");
                self.checked("uploading the rows", || self.upload(data, false))?
            };
            *guard = Some(resident);
        }
        if let (Some(id), Some(resident)) = (labels_id, guard.as_mut()) {
            if resident.labels_id != id {
                for chunk in &resident.chunks {
                    let none = vec![u32::MAX; chunk.rows];
                    self.ctx.queue.write_buffer(&chunk.labels, 0, bytemuck::cast_slice(&none));
                }
                resident.labels_id = id;
            }
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
                        self.storage_init("rows", bytemuck::cast_slice(values)),
                        self.storage_init("weights", bytemuck::cast_slice(weights)),
                    )
                }),
                labels: self.storage_init("labels", bytemuck::cast_slice(&vec![u32::MAX; rows])),
                dist2: self.storage("dist2", rows as u64 * 4),
                changed: self.storage("changed", rows as u64 * 4),
                min_sq: self.storage("min_sq", rows as u64 * 4),
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
            [0, 1]
                .map(|_| (self.storage("stream rows", rows * dim as u64 * 4), self.storage("stream weights", rows * 4)))
        });
        Ok(Resident { data_id: data.id(), labels_id: 0, chunks: out, stream })
    }

    /// The rows and weights buffers of chunk `i`, uploading them first when streaming.
    fn rows_of<'a>(&self, data: &Dataset, resident: &'a Resident, i: usize) -> (&'a wgpu::Buffer, &'a wgpu::Buffer) {
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

    /// 2-D workgroup counts and the thread stride for `threads` threads.
    fn grid(&self, threads: usize) -> (u32, u32, u32) {
        let groups = threads.div_ceil(WORKGROUP as usize).max(1);
        let max = self.ctx.limits.max_compute_workgroups_per_dimension.max(1) as usize;
        let x = groups.min(max);
        let y = groups.div_ceil(x);
        (x as u32, y as u32, x as u32 * WORKGROUP)
    }

    fn dispatch(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        pipeline: &wgpu::ComputePipeline,
        mut params: Params,
        threads: usize,
        buffers: &[&wgpu::Buffer],
    ) {
        let (gx, gy, stride) = self.grid(threads);
        params.stride = stride;
        let uniform = self.uniform(&params);
        let mut entries = vec![wgpu::BindGroupEntry { binding: 0, resource: uniform.as_entire_binding() }];
        entries.extend(
            buffers
                .iter()
                .enumerate()
                .map(|(i, b)| wgpu::BindGroupEntry { binding: i as u32 + 1, resource: b.as_entire_binding() }),
        );
        let bind_group = self.device().create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes: None });
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(gx, gy, 1);
    }

    /// Copies `len` values of `buffer` (after the work in `encoder`) back to the host.
    fn read_back<T: bytemuck::Pod>(
        &self,
        mut encoder: wgpu::CommandEncoder,
        buffers: &[(&wgpu::Buffer, usize)],
    ) -> Result<Vec<Vec<T>>> {
        let size = std::mem::size_of::<T>() as u64;
        let staging: Vec<wgpu::Buffer> = buffers
            .iter()
            .map(|(buffer, len)| {
                let bytes = (*len as u64 * size).max(4);
                let s = self.device().create_buffer(&wgpu::BufferDescriptor {
                    label: Some("staging"),
                    size: bytes,
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                encoder.copy_buffer_to_buffer(buffer, 0, &s, 0, bytes);
                s
            })
            .collect();
        self.ctx.queue.submit([encoder.finish()]);
        for s in &staging {
            s.map_async(wgpu::MapMode::Read, .., |_| {});
        }
        self.device()
            .poll(wgpu::PollType::wait_indefinitely())
            .map_err(|e| self.no_result("waiting for the device", e.to_string()))?;
        let mut out = Vec::with_capacity(buffers.len());
        for (s, (_, len)) in staging.iter().zip(buffers) {
            let view = s.get_mapped_range(..).map_err(|e| self.no_result("reading back", e.to_string()))?;
            out.push(bytemuck::cast_slice::<u8, T>(&view)[..*len].to_vec());
            drop(view);
            s.unmap();
        }
        Ok(out)
    }

    fn encoder(&self) -> wgpu::CommandEncoder {
        self.device().create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None })
    }

    fn centre_buffers(&self, centres: &Centres) -> (wgpu::Buffer, wgpu::Buffer) {
        let norms: Vec<f32> =
            (0..centres.k).map(|c| super::cpu::sq_dist(centres.centre(c), &vec![0.0; centres.dim])).collect();
        (
            self.storage_init("centres", bytemuck::cast_slice(&centres.values)),
            self.storage_init("norms", bytemuck::cast_slice(&norms)),
        )
    }

    /// Means, precision factors and log normalisers of a mixture as f32 device buffers.
    fn mixture_buffers(&self, mix: &MixturePass) -> (wgpu::Buffer, wgpu::Buffer, wgpu::Buffer) {
        let f32s = |v: &[f64]| v.iter().map(|&x| x as f32).collect::<Vec<f32>>();
        (
            self.storage_init("means", bytemuck::cast_slice(&f32s(&mix.means))),
            self.storage_init("precision factors", bytemuck::cast_slice(&f32s(&mix.prec_chol))),
            self.storage_init("log normalisers", bytemuck::cast_slice(&f32s(&mix.log_norm))),
        )
    }

    /// Rows per mixture sub-range, so the sub-range's responsibilities fit one binding.
    fn mixture_sub_rows(&self, rows: usize, k: usize) -> usize {
        let binding = self.ctx.limits.max_storage_buffer_binding_size.min(PARTIALS_BUDGET);
        rows.min((binding / (k as u64 * 4)).max(1) as usize).clamp(1, 1 << 18)
    }

    /// Rows per statistics block so that `blocks × accumulators` floats fit the budget.
    fn block_rows_for(&self, rows: usize, accumulators: usize) -> usize {
        let budget = PARTIALS_BUDGET.min(self.ctx.limits.max_storage_buffer_binding_size) / 4;
        let max_blocks = (budget / accumulators as u64).max(1) as usize;
        self.block_rows.max(rows.div_ceil(max_blocks))
    }

    /// Encodes assign + partials + reduce for one chunk; returns the reduced buffer and its length.
    fn encode_lloyd(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        chunk: &DeviceChunk,
        (x, w): (&wgpu::Buffer, &wgpu::Buffer),
        centres: &Centres,
        bufs: &(wgpu::Buffer, wgpu::Buffer),
    ) -> (wgpu::Buffer, usize) {
        let (dim, k) = (centres.dim, centres.k);
        let n_acc = k * (dim + 3) + 1;
        let block_rows = self.block_rows_for(chunk.rows, n_acc);
        let n_blocks = chunk.rows.div_ceil(block_rows);
        let params = Params {
            rows: chunk.rows as u32,
            dim: dim as u32,
            k: k as u32,
            rows_per_block: block_rows as u32,
            n_blocks: n_blocks as u32,
            stride: 0,
            n_acc: n_acc as u32,
            ..Params::default()
        };
        let p = &self.ctx.pipelines;
        self.dispatch(
            encoder,
            &p.assign,
            params,
            chunk.rows,
            &[x, &bufs.0, &bufs.1, &chunk.labels, &chunk.dist2, &chunk.changed],
        );
        let partial = self.storage("partials", (n_blocks * n_acc) as u64 * 4);
        self.dispatch(
            encoder,
            &p.partials,
            params,
            n_blocks * n_acc,
            &[x, w, &chunk.labels, &chunk.dist2, &chunk.changed, &partial],
        );
        let reduced = self.storage("reduced", (2 * n_acc) as u64 * 4);
        self.dispatch(encoder, &p.reduce, params, n_acc, &[&partial, &reduced]);
        (reduced, n_acc)
    }
}

/// Regroups per-row results read back by device chunk into the dataset's host chunks, and
/// hands each complete host chunk to the sink (device and host chunk boundaries differ).
struct HostChunks<'a> {
    data: &'a Dataset,
    next: usize,
    labels: Vec<u32>,
    values: Vec<f32>,
}

impl<'a> HostChunks<'a> {
    fn new(data: &'a Dataset) -> Self {
        HostChunks { data, next: 0, labels: Vec::new(), values: Vec::new() }
    }

    /// Adds one row's label and values; emits the host chunk when it is complete.
    fn push(&mut self, label: u32, values: &[f32], sink: &mut AssignSink) -> Result<()> {
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

/// Kahan pair (sum, compensation) → f64.
fn compensated(pair: &[f32]) -> f64 {
    pair[0] as f64 - pair[1] as f64
}

impl Backend for GpuBackend {
    fn info(&self) -> BackendInfo {
        BackendInfo { backend: "gpu".into(), device: self.ctx.describe() }
    }

    fn lloyd_pass(&self, data: &Dataset, centres: &Centres, labels: &mut Labels) -> Result<LloydStats> {
        let pass = self.passes.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        if self.fault_after.is_some_and(|n| pass >= n) {
            return Err(self.no_result("a Lloyd pass", "device lost (injected fault, testing)".into()));
        }
        let guard = self.ensure_resident(data, Some(labels.id))?;
        let resident = guard.as_ref().expect("resident after ensure_resident");
        let (k, dim) = (centres.k, centres.dim);
        let width = dim + 3;
        let mut total = LloydStats::zeros(k, dim);
        self.checked("a Lloyd pass", || {
            let bufs = self.centre_buffers(centres);
            for (i, chunk) in resident.chunks.iter().enumerate() {
                let rows = self.rows_of(data, resident, i);
                let mut encoder = self.encoder();
                let (reduced, n_acc) = self.encode_lloyd(&mut encoder, chunk, rows, centres, &bufs);
                let values = self.read_back::<f32>(encoder, &[(&reduced, 2 * n_acc)])?.remove(0);
                let mut part = LloydStats::zeros(k, dim);
                for c in 0..k {
                    let acc = |j: usize| compensated(&values[2 * (c * width + j)..]);
                    for j in 0..dim {
                        part.sums[c * dim + j] = acc(j);
                    }
                    part.weights[c] = acc(dim);
                    part.inertia += acc(dim + 1);
                    part.counts[c] = acc(dim + 2).round() as u64;
                }
                part.changed = compensated(&values[2 * k * width..]).round() as u64;
                if part.counts.iter().sum::<u64>() != chunk.rows as u64 {
                    return Err(self.no_result(
                        "a Lloyd pass",
                        format!("counts for {} of {} rows", part.counts.iter().sum::<u64>(), chunk.rows),
                    ));
                }
                total.merge(&part);
            }
            Ok(())
        })?;
        Ok(total)
    }

    fn assign(&self, data: &Dataset, centres: &Centres, sink: &mut AssignSink) -> Result<()> {
        let guard = self.ensure_resident(data, None)?;
        let resident = guard.as_ref().expect("resident after ensure_resident");
        let dim = data.dim();
        let mut out = HostChunks::new(data);
        let bufs = self.centre_buffers(centres);
        for (i, chunk) in resident.chunks.iter().enumerate() {
            let (x, _) = self.rows_of(data, resident, i);
            let (labels, dist2) = self.checked("the assignment pass", || {
                // NaN sentinels: a kernel that did not run cannot pass for a result.
                self.ctx.queue.write_buffer(&chunk.dist2, 0, bytemuck::cast_slice(&vec![f32::NAN; chunk.rows]));
                let mut encoder = self.encoder();
                let params =
                    Params { rows: chunk.rows as u32, dim: dim as u32, k: centres.k as u32, ..Params::default() };
                self.dispatch(
                    &mut encoder,
                    &self.ctx.pipelines.assign,
                    params,
                    chunk.rows,
                    &[x, &bufs.0, &bufs.1, &chunk.labels, &chunk.dist2, &chunk.changed],
                );
                let mut out =
                    self.read_back::<u32>(encoder, &[(&chunk.labels, chunk.rows), (&chunk.dist2, chunk.rows)])?;
                let dist2: Vec<f32> = bytemuck::cast_slice(&out.pop().expect("two buffers")).to_vec();
                Ok((out.pop().expect("two buffers"), dist2))
            })?;
            if labels.iter().any(|&l| l as usize >= centres.k) || dist2.iter().any(|d| d.is_nan()) {
                return Err(self.no_result("the assignment pass", "labels out of range or NaN distances".into()));
            }
            for (l, d) in labels.into_iter().zip(dist2) {
                out.push(l, &[d.max(0.0).sqrt()], sink)?;
            }
        }
        Ok(())
    }

    fn farthest_rows(
        &self,
        data: &Dataset,
        _centres: &Centres,
        _labels: &Labels,
        m: usize,
    ) -> Result<Vec<(usize, u32)>> {
        let guard = self.ensure_resident(data, None)?;
        let resident = guard.as_ref().expect("resident after ensure_resident");
        let mut candidates = Vec::new();
        for chunk in &resident.chunks {
            let mut out = self.checked("reading distances", || {
                self.read_back::<u32>(self.encoder(), &[(&chunk.labels, chunk.rows), (&chunk.dist2, chunk.rows)])
            })?;
            let dist2: Vec<f32> = bytemuck::cast_slice(&out.pop().expect("two buffers")).to_vec();
            let labels = out.pop().expect("two buffers");
            let mut local: Vec<(f32, usize, u32)> =
                dist2.into_iter().zip(labels).enumerate().map(|(i, (d, l))| (d, chunk.start + i, l)).collect();
            keep_farthest(&mut local, m);
            candidates.extend(local);
        }
        keep_farthest(&mut candidates, m);
        Ok(candidates.into_iter().map(|(_, row, label)| (row, label)).collect())
    }

    fn update_min_sq_dist(&self, data: &Dataset, centre: &[f32], min_sq: &mut RowValues) -> Result<()> {
        let guard = self.ensure_resident(data, None)?;
        let resident = guard.as_ref().expect("resident after ensure_resident");
        let flat: Vec<f32> = min_sq.concat();
        let mut updated = Vec::with_capacity(flat.len());
        self.checked("the k-means++ distance pass", || {
            let centre_buf = self.storage_init("centre", bytemuck::cast_slice(centre));
            for (i, chunk) in resident.chunks.iter().enumerate() {
                let (x, _) = self.rows_of(data, resident, i);
                self.ctx.queue.write_buffer(
                    &chunk.min_sq,
                    0,
                    bytemuck::cast_slice(&flat[chunk.start..chunk.start + chunk.rows]),
                );
                let mut encoder = self.encoder();
                let params = Params { rows: chunk.rows as u32, dim: data.dim() as u32, ..Params::default() };
                self.dispatch(
                    &mut encoder,
                    &self.ctx.pipelines.min_dist,
                    params,
                    chunk.rows,
                    &[x, &centre_buf, &chunk.min_sq],
                );
                updated.extend(self.read_back::<f32>(encoder, &[(&chunk.min_sq, chunk.rows)])?.remove(0));
            }
            Ok(())
        })?;
        let mut offset = 0;
        for values in min_sq.iter_mut() {
            let len = values.len();
            values.copy_from_slice(&updated[offset..offset + len]);
            offset += len;
        }
        Ok(())
    }

    fn mixture_pass(&self, data: &Dataset, mix: &MixturePass) -> Result<MixtureStats> {
        let guard = self.ensure_resident(data, None)?;
        let resident = guard.as_ref().expect("resident after ensure_resident");
        let (k, d) = (mix.k, mix.dim);
        let m = if mix.full { d * (d + 1) / 2 } else { d };
        let width = 1 + d + m;
        let n_acc = k * width + 2;
        let mut total = MixtureStats::zeros(k, d, mix.full);
        self.checked("a mixture pass", || {
            let bufs = self.mixture_buffers(mix);
            for (i, chunk) in resident.chunks.iter().enumerate() {
                let (x, w) = self.rows_of(data, resident, i);
                let sub = self.mixture_sub_rows(chunk.rows, k);
                let resp = self.storage("resp", (sub * k) as u64 * 4);
                let lse = self.storage("lse", sub as u64 * 4);
                for start in (0..chunk.rows).step_by(sub) {
                    let rows = sub.min(chunk.rows - start);
                    let block_rows = self.block_rows_for(rows, n_acc);
                    let n_blocks = rows.div_ceil(block_rows);
                    let params = Params {
                        rows: rows as u32,
                        dim: d as u32,
                        k: k as u32,
                        rows_per_block: block_rows as u32,
                        n_blocks: n_blocks as u32,
                        n_acc: n_acc as u32,
                        full: mix.full as u32,
                        row_offset: start as u32,
                        ..Params::default()
                    };
                    let p = &self.ctx.pipelines;
                    let mut encoder = self.encoder();
                    self.dispatch(
                        &mut encoder,
                        &p.mixture_resp,
                        params,
                        rows,
                        &[x, &bufs.0, &bufs.1, &bufs.2, &resp, &lse],
                    );
                    let partial = self.storage("partials", (n_blocks * n_acc) as u64 * 4);
                    self.dispatch(
                        &mut encoder,
                        &p.mixture_partials,
                        params,
                        n_blocks * n_acc,
                        &[x, w, &resp, &lse, &partial],
                    );
                    let reduced = self.storage("reduced", (2 * n_acc) as u64 * 4);
                    self.dispatch(&mut encoder, &p.reduce, params, n_acc, &[&partial, &reduced]);
                    let values = self.read_back::<f32>(encoder, &[(&reduced, 2 * n_acc)])?.remove(0);
                    let acc = |a: usize| compensated(&values[2 * a..]);
                    let mut part = MixtureStats::zeros(k, d, mix.full);
                    for c in 0..k {
                        part.resp[c] = acc(c * width);
                        for j in 0..d {
                            part.sum_x[c * d + j] = acc(c * width + 1 + j);
                        }
                        let mut t = 0;
                        for s0 in 0..d {
                            for s1 in if mix.full { s0..d } else { s0..s0 + 1 } {
                                let v = acc(c * width + 1 + d + t);
                                if mix.full {
                                    part.sum_xx[c * d * d + s0 * d + s1] = v;
                                } else {
                                    part.sum_xx[c * d + s0] = v;
                                }
                                t += 1;
                            }
                        }
                    }
                    part.log_likelihood = acc(k * width);
                    part.weight = acc(k * width + 1);
                    total.merge(&part);
                }
            }
            Ok(())
        })?;
        if !total.log_likelihood.is_finite()
            || (total.weight - data.total_weight()).abs() > 1e-3 * data.total_weight().max(1.0)
        {
            return Err(self.no_result(
                "a mixture pass",
                format!("weight {} for rows weighing {}", total.weight, data.total_weight()),
            ));
        }
        Ok(total)
    }

    fn mixture_assign(&self, data: &Dataset, mix: &MixturePass, sink: &mut MixtureSink) -> Result<()> {
        let guard = self.ensure_resident(data, None)?;
        let resident = guard.as_ref().expect("resident after ensure_resident");
        let (k, d) = (mix.k, mix.dim);
        let mut out = HostChunks::new(data);
        let bufs = self.mixture_buffers(mix);
        for (i, chunk) in resident.chunks.iter().enumerate() {
            let (x, _) = self.rows_of(data, resident, i);
            let sub = self.mixture_sub_rows(chunk.rows, k);
            let resp = self.storage("resp", (sub * k) as u64 * 4);
            let lse = self.storage("lse", sub as u64 * 4);
            for start in (0..chunk.rows).step_by(sub) {
                let rows = sub.min(chunk.rows - start);
                let probs = self.checked("the mixture assignment pass", || {
                    self.ctx.queue.write_buffer(&resp, 0, bytemuck::cast_slice(&vec![f32::NAN; rows * k]));
                    let params = Params {
                        rows: rows as u32,
                        dim: d as u32,
                        k: k as u32,
                        full: mix.full as u32,
                        row_offset: start as u32,
                        ..Params::default()
                    };
                    let mut encoder = self.encoder();
                    self.dispatch(
                        &mut encoder,
                        &self.ctx.pipelines.mixture_resp,
                        params,
                        rows,
                        &[x, &bufs.0, &bufs.1, &bufs.2, &resp, &lse],
                    );
                    Ok(self.read_back::<f32>(encoder, &[(&resp, rows * k)])?.remove(0))
                })?;
                if probs.iter().any(|p| p.is_nan()) {
                    return Err(self.no_result("the mixture assignment pass", "NaN probabilities".into()));
                }
                for row in probs.chunks_exact(k) {
                    let best = (0..k).fold(0, |b, c| if row[c] > row[b] { c } else { b });
                    out.push(best as u32, row, sink)?;
                }
            }
        }
        Ok(())
    }

    fn pair_sums(&self, points: &[f32], dim: usize, ranges: &[(usize, usize)]) -> Result<Vec<f64>> {
        let (m, k) = (points.len() / dim, ranges.len());
        let bytes = std::mem::size_of_val(points) as u64;
        if bytes > self.ctx.limits.max_storage_buffer_binding_size {
            return Err(self.no_result(
                "the silhouette's pairwise pass",
                format!(
                    "its {m} points × {dim} features ({}) exceed one storage binding; lower {}",
                    crate::error::human_bytes(bytes),
                    Param::SilhouetteSample
                ),
            ));
        }
        let mut sums = vec![0.0f64; m * k];
        self.checked("the silhouette's pairwise pass", || {
            let x = self.storage_init("points", bytemuck::cast_slice(points));
            let flat: Vec<u32> = ranges.iter().flat_map(|&(a, b)| [a as u32, b as u32]).collect();
            let ranges = self.storage_init("ranges", bytemuck::cast_slice(&flat));
            // Tiles of points per dispatch keep each submission short (watchdogs) and the
            // output small.
            for start in (0..m).step_by(PAIR_TILE) {
                let tile = PAIR_TILE.min(m - start);
                let params = Params {
                    rows: m as u32,
                    dim: dim as u32,
                    k: k as u32,
                    n_blocks: tile as u32,
                    row_offset: start as u32,
                    ..Params::default()
                };
                let out = self.storage("pair sums", (tile * k) as u64 * 4);
                let mut encoder = self.encoder();
                self.dispatch(&mut encoder, &self.ctx.pipelines.pair_sums, params, tile * k, &[&x, &ranges, &out]);
                let values = self.read_back::<f32>(encoder, &[(&out, tile * k)])?.remove(0);
                for c in 0..k {
                    for t in 0..tile {
                        sums[(start + t) * k + c] = values[c * tile + t] as f64;
                    }
                }
            }
            Ok(())
        })?;
        Ok(sums)
    }

    fn candidate_potentials(&self, data: &Dataset, candidates: &Centres, min_sq: &RowValues) -> Result<Vec<f64>> {
        let guard = self.ensure_resident(data, None)?;
        let resident = guard.as_ref().expect("resident after ensure_resident");
        let flat: Vec<f32> = min_sq.concat();
        let l = candidates.k;
        let mut total = vec![0.0f64; l];
        self.checked("the k-means++ potential pass", || {
            let cand = self.storage_init("candidates", bytemuck::cast_slice(&candidates.values));
            for (i, chunk) in resident.chunks.iter().enumerate() {
                let (x, w) = self.rows_of(data, resident, i);
                self.ctx.queue.write_buffer(
                    &chunk.min_sq,
                    0,
                    bytemuck::cast_slice(&flat[chunk.start..chunk.start + chunk.rows]),
                );
                let block_rows = self.block_rows_for(chunk.rows, l);
                let n_blocks = chunk.rows.div_ceil(block_rows);
                let params = Params {
                    rows: chunk.rows as u32,
                    dim: data.dim() as u32,
                    k: l as u32,
                    rows_per_block: block_rows as u32,
                    n_blocks: n_blocks as u32,
                    stride: 0,
                    n_acc: l as u32,
                    ..Params::default()
                };
                let partial = self.storage("partials", (n_blocks * l) as u64 * 4);
                let reduced = self.storage("reduced", (2 * l) as u64 * 4);
                let mut encoder = self.encoder();
                self.dispatch(
                    &mut encoder,
                    &self.ctx.pipelines.potentials,
                    params,
                    n_blocks * l,
                    &[x, w, &cand, &chunk.min_sq, &partial],
                );
                self.dispatch(&mut encoder, &self.ctx.pipelines.reduce, params, l, &[&partial, &reduced]);
                let values = self.read_back::<f32>(encoder, &[(&reduced, 2 * l)])?.remove(0);
                for (i, t) in total.iter_mut().enumerate() {
                    *t += compensated(&values[2 * i..]);
                }
            }
            Ok(())
        })?;
        Ok(total)
    }
}
