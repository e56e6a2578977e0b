//! `custseg fit`: arguments → [`crate::pipeline::fit`].

use crate::cli::FitArgs;
use crate::error::{Error, Param, Result};

/// Runs `fit` and returns the JSON summary.
pub fn run(args: &FitArgs) -> Result<serde_json::Value> {
    if args.algorithm.is_density() {
        if args.k.is_some() {
            return Err(Error::param(
                Param::K,
                format!("--algorithm {} finds the number of segments itself; drop --k", args.algorithm.name()),
            ));
        }
        return crate::pipeline::fit(&super::args::fit_request(args, 0)?);
    }
    let k = args.k_range()?;
    if k.first != k.last {
        return Err(Error::param(Param::K, "fit takes one k; use `custseg select-k` for a range"));
    }
    crate::pipeline::fit(&super::args::fit_request(args, k.first)?)
}
