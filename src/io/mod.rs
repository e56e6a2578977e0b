//! Input and output: Parquet reading, assignment writing, atomic files, centre files.

pub mod atomic;
pub mod cache;
pub mod centres;
pub mod columns;
pub mod dendrogram;
pub mod export;
pub mod names;
pub mod outputs;
pub mod parallel_write;
pub mod paths;
pub mod reader;
pub mod writer;
