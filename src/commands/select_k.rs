//! `custseg select-k`: arguments → [`crate::pipeline::select_k`].

use crate::cli::SelectKArgs;
use crate::error::{Error, Param, Result};

/// Runs `select-k` and returns the JSON summary.
pub fn run(args: &SelectKArgs) -> Result<serde_json::Value> {
    if args.fit.ward.distance_threshold.is_some() {
        return Err(Error::param(
            Param::DistanceThreshold,
            "is for fit; select-k cuts one Ward tree at every k of the --k range",
        ));
    }
    let range = args.fit.k_range()?;
    if range.first == 0 {
        return Err(Error::param(Param::K, "the range must start at 1 or more"));
    }
    if args.fit.init_centroids.is_some() || args.fit.probabilities {
        return Err(Error::param(Param::K, "select-k takes no --init-centroids or --probabilities"));
    }
    let marketing = &args.fit.marketing;
    if !marketing.export.export.is_empty() || marketing.names.is_some() {
        let param = if marketing.names.is_some() { Param::Names } else { Param::Export };
        return Err(Error::param(param, "is for `custseg fit` and `predict`; select-k writes one table over k"));
    }
    let request = super::args::fit_request(&args.fit, range.last)?;
    let search =
        crate::pipeline::KRangeSearch { first: range.first, last: range.last, replicates: args.robust.replicates };
    crate::pipeline::select_k(&request, &search)
}
