//! The WGSL kernels, compiled into the binary. Each file in `shaders/` is one kernel with
//! entry point `main`; `common.wgsl` (the `Params` struct and helpers) is prepended.

const COMMON: &str = include_str!("../../../shaders/common.wgsl");

/// Every kernel: (name, source without the common prelude).
pub const KERNELS: [(&str, &str); 8] = [
    ("assign", include_str!("../../../shaders/assign.wgsl")),
    ("partials", include_str!("../../../shaders/partials.wgsl")),
    ("reduce", include_str!("../../../shaders/reduce.wgsl")),
    ("min_dist", include_str!("../../../shaders/min_dist.wgsl")),
    ("potentials", include_str!("../../../shaders/potentials.wgsl")),
    ("mixture_resp", include_str!("../../../shaders/mixture_resp.wgsl")),
    ("mixture_partials", include_str!("../../../shaders/mixture_partials.wgsl")),
    ("pair_sums", include_str!("../../../shaders/pair_sums.wgsl")),
];

/// The complete WGSL source of kernel `name` (prelude + body).
pub fn source(name: &str) -> String {
    let body =
        KERNELS.iter().find(|(n, _)| *n == name).map(|(_, s)| *s).unwrap_or_else(|| panic!("no kernel named {name}"));
    format!("{COMMON}\n{body}")
}

/// The `Params` uniform every kernel reads (must match `common.wgsl`).
#[repr(C)]
#[derive(Debug, Clone, Copy, Default, bytemuck::Pod, bytemuck::Zeroable)]
pub struct Params {
    pub rows: u32,
    pub dim: u32,
    pub k: u32,
    pub rows_per_block: u32,
    pub n_blocks: u32,
    pub stride: u32,
    pub n_acc: u32,
    pub full: u32,
    pub row_offset: u32,
    pub _pad: [u32; 3],
}

/// Threads per workgroup in every kernel (`WG` in common.wgsl).
pub const WORKGROUP: u32 = 256;

/// Floats of centres one workgroup tile holds in assign.wgsl (`TILE_FLOATS`): the widest
/// row the GPU backend accepts.
pub const MAX_DIM: usize = 4096;
