//! Clustering algorithms. Each drives iterations over the [`crate::backend::Backend`]
//! passes; one folder per algorithm with the same files in each (mod, algorithm,
//! hyperparams, init). [`Segmenter`] is the one type the pipeline uses: a request to fit
//! any of them; [`Segments`] what a fit returns (assign, score, save).

pub mod density;
pub mod fitted;
pub mod gmm;
pub mod kmeans;
pub mod segmenter;
pub mod ward;

pub use fitted::{Assigned, Segments};
pub use segmenter::{AlgorithmFit, FitOutcome, Progress, Segmenter};

use crate::data::Dataset;
use crate::error::{Error, Param, Result};

/// Refuses data whose rows all weigh 0 (no mean exists).
pub fn ensure_positive_weight(data: &Dataset) -> Result<()> {
    if data.total_weight() <= 0.0 {
        return Err(Error::data(
            format!("the {} column", Param::Weights),
            "every row has weight 0; give some rows a positive weight",
        ));
    }
    Ok(())
}
