//! Buy-till-you-die models fitted by maximum likelihood in f64: BG/NBD for purchases and
//! churn, Gamma-Gamma for spend.

pub mod special;
