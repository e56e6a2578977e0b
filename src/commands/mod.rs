//! One module per subcommand, each thin: parsed arguments → a library request → the JSON
//! summary printed on stdout. `args.rs` turns arguments into the library's values.

pub mod args;
pub mod bench;
mod bench_density;
mod bench_silhouette;
pub mod customers;
pub mod demo;
pub mod devices;
pub mod evaluate;
pub mod fit;
mod flag_scope;
pub mod predict;
pub mod select_k;
mod timing;
