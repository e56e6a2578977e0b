//! Integration tests, one binary (linked once) split into modules.

mod common;

mod cli;
mod faults;
mod fuzz;
mod gmm;
mod gpu;
mod reference;
mod report;
mod shared_data;
mod sklearn_cases;
mod streaming;
