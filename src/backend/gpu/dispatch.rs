//! How every pass talks to the device: buffers, the `Params` uniform, the 2-D workgroup
//! grid, one kernel dispatch, read-back, and the error scopes that turn validation and
//! out-of-memory errors into [`Error::Gpu`].

use wgpu::util::DeviceExt;

use super::context::GpuContext;
use super::shaders::{Kernel, Params, WORKGROUP};
use crate::error::{Error, GpuError, Result};

impl GpuContext {
    /// Runs `f` inside validation and out-of-memory error scopes; an error becomes [`Error::Gpu`].
    pub(super) fn checked<T>(&self, what: &str, f: impl FnOnce() -> Result<T>) -> Result<T> {
        let oom = self.device.push_error_scope(wgpu::ErrorFilter::OutOfMemory);
        let validation = self.device.push_error_scope(wgpu::ErrorFilter::Validation);
        let result = f();
        let v = pollster::block_on(validation.pop());
        let o = pollster::block_on(oom.pop());
        let (what, device) = (what.to_string(), self.describe());
        if let Some(e) = v {
            return Err(Error::Gpu(GpuError::Validation { what, device, message: e.to_string() }));
        }
        if let Some(e) = o {
            return Err(Error::Gpu(GpuError::OutOfMemory { what, device, message: e.to_string() }));
        }
        result
    }

    /// The error of a pass that finished without a usable result.
    pub(super) fn no_result(&self, what: &str, detail: String) -> Error {
        Error::Gpu(GpuError::NoResult { what: what.into(), device: self.describe(), detail })
    }

    /// A storage buffer holding `bytes`.
    pub(super) fn storage_init(&self, label: &str, bytes: &[u8]) -> wgpu::Buffer {
        self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some(label),
            contents: bytes,
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
        })
    }

    /// A storage buffer of `bytes` bytes (at least 4).
    pub(super) fn storage(&self, label: &str, bytes: u64) -> wgpu::Buffer {
        self.device.create_buffer(&wgpu::BufferDescriptor {
            label: Some(label),
            size: bytes.max(4),
            usage: wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC | wgpu::BufferUsages::COPY_DST,
            mapped_at_creation: false,
        })
    }

    fn uniform(&self, params: &Params) -> wgpu::Buffer {
        self.device.create_buffer_init(&wgpu::util::BufferInitDescriptor {
            label: Some("params"),
            contents: bytemuck::bytes_of(params),
            usage: wgpu::BufferUsages::UNIFORM,
        })
    }

    /// 2-D workgroup counts and the thread stride for `threads` threads.
    fn grid(&self, threads: usize) -> (u32, u32, u32) {
        let groups = threads.div_ceil(WORKGROUP as usize).max(1);
        let max = self.limits.max_compute_workgroups_per_dimension.max(1) as usize;
        let x = groups.min(max);
        let y = groups.div_ceil(x);
        (x as u32, y as u32, x as u32 * WORKGROUP)
    }

    /// A command encoder for one submission.
    pub(super) fn encoder(&self) -> wgpu::CommandEncoder {
        self.device.create_command_encoder(&wgpu::CommandEncoderDescriptor { label: None })
    }

    /// Encodes `kernel` over `threads` threads: `params` (with the grid's stride) at binding
    /// 0, then `buffers` at bindings 1, 2, … in order.
    pub(super) fn dispatch(
        &self,
        encoder: &mut wgpu::CommandEncoder,
        kernel: Kernel,
        mut params: Params,
        threads: usize,
        buffers: &[&wgpu::Buffer],
    ) {
        let pipeline = self.pipeline(kernel);
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
        let bind_group = self.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: None,
            layout: &pipeline.get_bind_group_layout(0),
            entries: &entries,
        });
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor { label: None, timestamp_writes: None });
        pass.set_pipeline(pipeline);
        pass.set_bind_group(0, &bind_group, &[]);
        pass.dispatch_workgroups(gx, gy, 1);
    }

    /// Submits `encoder` and copies the first `len` values of each buffer back to the host.
    pub(super) fn read_back<T: bytemuck::Pod>(
        &self,
        mut encoder: wgpu::CommandEncoder,
        buffers: &[(&wgpu::Buffer, usize)],
    ) -> Result<Vec<Vec<T>>> {
        let size = std::mem::size_of::<T>() as u64;
        let staging: Vec<wgpu::Buffer> = buffers
            .iter()
            .map(|(buffer, len)| {
                let bytes = (*len as u64 * size).max(4);
                let s = self.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("staging"),
                    size: bytes,
                    usage: wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                });
                encoder.copy_buffer_to_buffer(buffer, 0, &s, 0, bytes);
                s
            })
            .collect();
        self.queue.submit([encoder.finish()]);
        for s in &staging {
            s.map_async(wgpu::MapMode::Read, .., |_| {});
        }
        self.device
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
}

/// One query pass run a tile of query rows per submission (short submissions keep
/// watchdogs quiet and the outputs small).
pub(super) struct TiledQueries<'a> {
    pub kernel: Kernel,
    /// `rows`, `dim`, `k`, …; each tile sets `n_blocks` (its query rows) and `row_offset`.
    pub params: Params,
    /// Query rows in all.
    pub queries: usize,
    /// Query rows per submission.
    pub tile: usize,
    /// Threads per query row.
    pub threads_per_query: usize,
    /// The buffers bound before the outputs.
    pub inputs: &'a [&'a wgpu::Buffer],
    /// Each output's label and its 32-bit words per query row, bound after the inputs.
    pub outputs: &'a [(&'a str, usize)],
}

impl GpuContext {
    /// `rows` as one storage buffer, or an error naming `what` and what to do when they
    /// exceed one binding.
    pub(super) fn storage_rows(&self, what: &str, rows: &[f32], advice: &str) -> Result<wgpu::Buffer> {
        let bytes = std::mem::size_of_val(rows) as u64;
        if bytes > self.limits.max_storage_buffer_binding_size {
            let size = crate::error::human_bytes(bytes);
            return Err(self.no_result(what, format!("the rows ({size}) exceed one storage binding; {advice}")));
        }
        Ok(self.storage_init(what, bytemuck::cast_slice(rows)))
    }

    /// Runs `pass` a tile at a time; `take(start, tile, outputs)` gets each tile's outputs
    /// as 32-bit words, in the order of `pass.outputs`.
    pub(super) fn tiled_queries(
        &self,
        pass: &TiledQueries,
        mut take: impl FnMut(usize, usize, Vec<Vec<u32>>),
    ) -> Result<()> {
        for start in (0..pass.queries).step_by(pass.tile.max(1)) {
            let tile = pass.tile.min(pass.queries - start);
            let params = Params { n_blocks: tile as u32, row_offset: start as u32, ..pass.params };
            let outputs: Vec<wgpu::Buffer> =
                pass.outputs.iter().map(|(label, words)| self.storage(label, (tile * words) as u64 * 4)).collect();
            let mut encoder = self.encoder();
            let buffers: Vec<&wgpu::Buffer> = pass.inputs.iter().copied().chain(&outputs).collect();
            self.dispatch(&mut encoder, pass.kernel, params, tile * pass.threads_per_query, &buffers);
            let lengths: Vec<(&wgpu::Buffer, usize)> =
                outputs.iter().zip(pass.outputs).map(|(b, (_, words))| (b, tile * words)).collect();
            take(start, tile, self.read_back::<u32>(encoder, &lengths)?);
        }
        Ok(())
    }
}

/// A reduced accumulator as the reduce kernel writes it, a Kahan pair (sum, compensation),
/// as f64.
pub(super) fn compensated(pair: &[f32]) -> f64 {
    pair[0] as f64 - pair[1] as f64
}
