//! `fit --holdout`: score the segments on customers the fit never saw.

use clap::Args;

/// Holding customers out of the fit.
#[derive(Debug, Args, Clone)]
pub struct HoldoutArgs {
    /// Hold this fraction (0 < FRACTION < 1) of the customers out of the fit, chosen by a
    /// hash of the id and --seed (of the row number without --id), and report the metrics
    /// on them and their agreement with a fit on them alone (summary key `holdout`).
    #[arg(long, value_name = "FRACTION", allow_negative_numbers = true)]
    pub holdout: Option<f64>,
}
