//! The density pipeline's kernels (`density_knn.wgsl`, `density_boruvka.wgsl`): the rows go
//! up once per pass, queries run a tile per dispatch (short submissions), and only each
//! query's list (k indices and distances) or nearest other-component row comes back.

use super::dispatch::TiledQueries;
use super::shaders::{Kernel, Params};
use super::GpuBackend;
use crate::backend::density::{DensityPasses, NearestOther, NearestRows, MAX_DENSITY_DIM, MAX_NEIGHBOURS};
use crate::error::Result;

/// Query rows per dispatch.
const QUERY_TILE: usize = 16_384;
/// What to do when the rows exceed one storage binding.
const TOO_LARGE: &str = "use --sample or --backend cpu";

impl DensityPasses for GpuBackend {
    fn supports(&self, dim: usize, k: usize) -> bool {
        dim <= MAX_DENSITY_DIM && (1..=MAX_NEIGHBOURS).contains(&k)
    }

    fn nearest_rows(&self, rows: &[f32], dim: usize, k: usize) -> Result<NearestRows> {
        let what = "the density k-nearest-rows pass";
        let n = rows.len() / dim;
        let (mut index, mut squared) = (Vec::with_capacity(n * k), Vec::with_capacity(n * k));
        self.ctx.checked(what, || {
            let x = self.ctx.storage_rows(what, rows, TOO_LARGE)?;
            let pass = TiledQueries {
                kernel: Kernel::DensityKnn,
                params: Params { rows: n as u32, dim: dim as u32, k: k as u32, ..Params::default() },
                queries: n,
                tile: QUERY_TILE,
                threads_per_query: 1,
                inputs: &[&x],
                outputs: &[("nearest rows", k), ("nearest squared distances", k)],
            };
            self.ctx.tiled_queries(&pass, |_, _, back| {
                index.extend_from_slice(&back[0]);
                squared.extend(back[1].iter().map(|&b| f32::from_bits(b)));
            })
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
            let x = self.ctx.storage_rows(what, rows, TOO_LARGE)?;
            let core = self.ctx.storage_init("core distances", bytemuck::cast_slice(core));
            let component = self.ctx.storage_init("components", bytemuck::cast_slice(component));
            let pass = TiledQueries {
                kernel: Kernel::DensityBoruvka,
                params: Params { rows: n as u32, dim: dim as u32, ..Params::default() },
                queries: n,
                tile: QUERY_TILE,
                threads_per_query: 1,
                inputs: &[&x, &core, &component],
                outputs: &[("nearest other weights", 1), ("nearest other rows", 1)],
            };
            self.ctx.tiled_queries(&pass, |_, _, back| {
                weight.extend(back[0].iter().map(|&b| f32::from_bits(b)));
                row.extend_from_slice(&back[1]);
            })
        })?;
        Ok(NearestOther { weight, row })
    }
}
