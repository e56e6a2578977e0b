//! Integration tests, one binary (linked once) split into modules.
//!
//! `cpu::<case>` and `gpu::<case>` are the same algorithm-level suite (`suite/`) instantiated
//! on each backend, checking the same published expectations; `gpu` also holds the
//! pass-by-pass CPU/GPU agreement tests (tests/gpu.rs).

mod common;
#[macro_use]
mod suite;

mod btyd;
mod cli;
mod continuity;
mod customers;
mod density;
mod density_cli;
mod density_gpu;
mod faults;
mod fuzz;
mod holdout;
mod input;
mod lloyd_bounds;
mod marketing;
#[cfg(target_os = "linux")]
mod memory;
mod model_fuzz;
mod outputs;
mod report;
mod select_k;
mod shared_data;
mod streaming;
mod ward;

/// The suite on the CPU backend.
mod cpu {
    backend_suite!(crate::suite::open_cpu);
}

/// The suite on the GPU backend, and pass-by-pass agreement with the CPU.
mod gpu;
