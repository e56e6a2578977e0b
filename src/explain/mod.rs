//! What the segments mean: per-segment profiles in original units, the labels that
//! describe them, and the decision rules that reproduce them. The model stores these and
//! the report draws them; this module depends on neither.

pub mod labels;
pub mod profiles;
pub mod rules;
mod segment_sums;
