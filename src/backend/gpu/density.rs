//! The density pipeline's kernels (`density_knn.wgsl`, `density_boruvka.wgsl`): the rows go
//! up once per pass, queries run a tile per dispatch (short submissions), and only each
//! query's list (k indices and distances) or nearest other-component row comes back.

use super::shaders::{Kernel, Params};
use super::GpuBackend;
use crate::backend::density::{DensityPasses, NearestOther, NearestRows, MAX_DENSITY_DIM, MAX_NEIGHBOURS};
use crate::error::Result;

/// Query rows per dispatch.
const QUERY_TILE: usize = 16_384;

impl GpuBackend {
    /// The rows as one storage buffer, or an error naming the pass when they exceed a binding.
    fn density_rows(&self, what: &str, rows: &[f32]) -> Result<wgpu::Buffer> {
        let bytes = std::mem::size_of_val(rows) as u64;
        if bytes > self.ctx.limits.max_storage_buffer_binding_size {
            return Err(self.ctx.no_result(
                what,
                format!(
                    "the rows ({}) exceed one storage binding; use --sample or --backend cpu",
                    crate::error::human_bytes(bytes)
                ),
            ));
        }
        Ok(self.ctx.storage_init("density rows", bytemuck::cast_slice(rows)))
    }
}

impl DensityPasses for GpuBackend {
    fn supports(&self, dim: usize, k: usize) -> bool {
        dim <= MAX_DENSITY_DIM && (1..=MAX_NEIGHBOURS).contains(&k)
    }

    fn nearest_rows(&self, rows: &[f32], dim: usize, k: usize) -> Result<NearestRows> {
        let what = "the density k-nearest-rows pass";
        let n = rows.len() / dim;
        let (mut index, mut squared) = (Vec::with_capacity(n * k), Vec::with_capacity(n * k));
        self.ctx.checked(what, || {
            let x = self.density_rows(what, rows)?;
            for start in (0..n).step_by(QUERY_TILE) {
                let tile = QUERY_TILE.min(n - start);
                let params = Params {
                    rows: n as u32,
                    dim: dim as u32,
                    k: k as u32,
                    n_blocks: tile as u32,
                    row_offset: start as u32,
                    ..Params::default()
                };
                let out_index = self.ctx.storage("nearest rows", (tile * k) as u64 * 4);
                let out_squared = self.ctx.storage("nearest squared distances", (tile * k) as u64 * 4);
                let mut encoder = self.ctx.encoder();
                self.ctx.dispatch(&mut encoder, Kernel::DensityKnn, params, tile, &[&x, &out_index, &out_squared]);
                let mut back =
                    self.ctx.read_back::<u32>(encoder, &[(&out_index, tile * k), (&out_squared, tile * k)])?;
                squared.extend(back.pop().unwrap_or_default().into_iter().map(f32::from_bits));
                index.extend(back.pop().unwrap_or_default());
            }
            Ok(())
        })?;
        Ok(NearestRows { k, index, squared })
    }

    fn nearest_other_component(
        &self,
        rows: &[f32],
        dim: usize,
        core: &[f32],
        component: &[u32],
    ) -> Result<NearestOther> {
        let what = "the density Borůvka pass";
        let n = rows.len() / dim;
        let (mut weight, mut row) = (Vec::with_capacity(n), Vec::with_capacity(n));
        self.ctx.checked(what, || {
            let x = self.density_rows(what, rows)?;
            let core = self.ctx.storage_init("core distances", bytemuck::cast_slice(core));
            let component = self.ctx.storage_init("components", bytemuck::cast_slice(component));
            for start in (0..n).step_by(QUERY_TILE) {
                let tile = QUERY_TILE.min(n - start);
                let params = Params {
                    rows: n as u32,
                    dim: dim as u32,
                    n_blocks: tile as u32,
                    row_offset: start as u32,
                    ..Params::default()
                };
                let out_weight = self.ctx.storage("nearest other weights", tile as u64 * 4);
                let out_row = self.ctx.storage("nearest other rows", tile as u64 * 4);
                let mut encoder = self.ctx.encoder();
                let buffers = [&x, &core, &component, &out_weight, &out_row];
                self.ctx.dispatch(&mut encoder, Kernel::DensityBoruvka, params, tile, &buffers);
                let mut back = self.ctx.read_back::<u32>(encoder, &[(&out_weight, tile), (&out_row, tile)])?;
                row.extend(back.pop().unwrap_or_default());
                weight.extend(back.pop().unwrap_or_default().into_iter().map(f32::from_bits));
            }
            Ok(())
        })?;
        Ok(NearestOther { weight, row })
    }
}
