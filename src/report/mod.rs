//! What analysts read: per-segment profiles (and, later, the HTML report).

pub mod profiles;
