//! The kernel registry: every WGSL kernel, listed once, compiled into the binary. Each file
//! in `shaders/` is one kernel with entry point `main`; `common.wgsl` (the `Params` struct
//! and helpers) is prepended. The context builds one pipeline per entry of [`KERNELS`], in
//! its order, and dispatch looks a kernel's pipeline up by [`Kernel`].

const COMMON: &str = include_str!("../../../shaders/common.wgsl");

/// Declares [`Kernel`] and [`KERNELS`] from one list, so the two can never disagree.
macro_rules! kernels {
    ($($kernel:ident => $name:literal,)+) => {
        /// A kernel, by what it computes; its position in [`KERNELS`] is its discriminant.
        #[derive(Debug, Clone, Copy, PartialEq, Eq)]
        pub enum Kernel {
            $($kernel,)+
        }

        /// Every kernel: (name, source without the common prelude), in [`Kernel`] order.
        pub const KERNELS: &[(&str, &str)] = &[
            $(($name, include_str!(concat!("../../../shaders/", $name, ".wgsl"))),)+
        ];
    };
}

kernels! {
    Assign => "assign",
    Partials => "partials",
    Reduce => "reduce",
    MinDist => "min_dist",
    Potentials => "potentials",
    MixtureResp => "mixture_resp",
    MixturePartials => "mixture_partials",
    PairSums => "pair_sums",
    DensityKnn => "density_knn",
    DensityBoruvka => "density_boruvka",
}

impl Kernel {
    /// The kernel's name in [`KERNELS`] (its file in `shaders/` without `.wgsl`).
    pub fn name(self) -> &'static str {
        KERNELS[self as usize].0
    }
}

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
