//! Flags that only one algorithm or initialisation reads, refused (exit 2) when the run
//! would ignore them, so no flag is ever silently dropped. The defaults of these flags live
//! here too, next to the rule that says when each one applies.

use clap::ValueEnum;

use crate::cli::{AlgorithmChoice, FitArgs, InitChoice};
use crate::error::{Error, Param, Result};

/// k-means|| rounds when `--init-rounds` is not given.
pub const DEFAULT_INIT_ROUNDS: usize = 5;
/// k-means|| oversampling factor when `--oversampling` is not given.
pub const DEFAULT_OVERSAMPLING: f64 = 2.0;
/// Mini-batch rows when `--batch-size` is not given.
pub const DEFAULT_BATCH_SIZE: usize = 1024;
/// Added to mixture covariance diagonals when `--reg-covar` is not given (scikit-learn's).
pub const DEFAULT_REG_COVAR: f64 = 1e-6;

/// Refuses each algorithm-specific flag given to an algorithm (or initialisation) that
/// does not read it, naming the flag and who reads it.
pub fn refuse_ignored_flags(args: &FitArgs) -> Result<()> {
    let algorithm = args.algorithm;
    let kmeans = matches!(algorithm, AlgorithmChoice::Kmeans | AlgorithmChoice::MinibatchKmeans);
    let gmm = algorithm == AlgorithmChoice::Gmm;
    let refuse = |param: Param, given: bool, reader: &str| -> Result<()> {
        if given {
            return Err(Error::param(param, format!("is for {reader}; this run ({}) would ignore it", describe(args))));
        }
        Ok(())
    };
    let minibatch = algorithm == AlgorithmChoice::MinibatchKmeans;
    refuse(Param::BatchSize, args.batch_size.is_some() && !minibatch, "--algorithm minibatch-kmeans")?;
    refuse(Param::RegCovar, args.reg_covar.is_some() && !gmm, "--algorithm gmm")?;
    refuse(Param::Covariance, args.covariance.is_some() && !gmm, "--algorithm gmm")?;
    refuse(Param::OnDegenerate, args.on_degenerate.is_some() && !gmm, "--algorithm gmm")?;
    refuse(Param::InitSpace, args.init_space.is_some() && args.init_centroids.is_none(), "--init-centroids")?;
    let parallel_init = kmeans
        && args.init_centroids.is_none()
        && matches!(args.init, None | Some(InitChoice::Auto) | Some(InitChoice::KMeansParallel));
    let seeding = "K-Means seeded by --init auto (the default) or k-means||";
    refuse(Param::InitRounds, args.init_rounds.is_some() && !parallel_init, seeding)?;
    refuse(Param::Oversampling, args.oversampling.is_some() && !parallel_init, seeding)
}

/// The algorithm and the initialisation that decide which flags apply, e.g.
/// `--algorithm kmeans --init k-means++`.
fn describe(args: &FitArgs) -> String {
    let mut run = format!("--algorithm {}", args.algorithm.name());
    if args.init_centroids.is_some() {
        run.push_str(" with --init-centroids");
    } else if let Some(init) = args.init {
        if let Some(value) = init.to_possible_value() {
            run.push_str(&format!(" --init {}", value.get_name()));
        }
    }
    run
}
