//! Invalid parameters, with the parameter named as the library names it. The binary
//! renders each [`Param`] as its command-line flag (see [`name_parameters_as`]); other
//! callers (the Python package, tests) see the library's names.

use std::fmt;
use std::sync::OnceLock;

/// A parameter of the library API. `name()` is its name there (scikit-learn's where one
/// exists); the binary maps each to its flag.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Param {
    K,
    Init,
    InitCentres,
    NInit,
    MaxIter,
    Tol,
    BatchSize,
    InitRounds,
    Oversampling,
    RegCovar,
    OnDegenerate,
    Clip,
    Log1p,
    Impute,
    Scale,
    Dedup,
    Id,
    Features,
    Categorical,
    Weights,
    Input,
    Out,
    CacheDir,
    KeepCache,
    MemoryBudget,
    Stability,
    SilhouetteSample,
    Probabilities,
    Threads,
    Backend,
    GpuIndex,
    Rows,
    Dim,
    Iters,
    Horizon,
    DiscountRate,
    AsOf,
    HoldoutEnd,
    CustomerId,
    Time,
    Amount,
    Value,
    RulesDepth,
    Names,
    Export,
    MinClusterSize,
    MinSamples,
    ClusterSelection,
    Eps,
    Previous,
    KeepPrep,
    MatchThreshold,
    FailOnDrift,
    DistanceThreshold,
    MicroClusters,
    Holdout,
    Consolidate,
    Sample,
    Replicates,
    GpuMemory,
    Covariance,
    InitSpace,
}

impl Param {
    /// The parameter's name in the library API.
    pub fn name(self) -> &'static str {
        match self {
            Param::K => "k",
            Param::Init => "init",
            Param::InitCentres => "init_centres",
            Param::NInit => "n_init",
            Param::MaxIter => "max_iter",
            Param::Tol => "tol",
            Param::BatchSize => "batch_size",
            Param::InitRounds => "init_rounds",
            Param::Oversampling => "oversampling",
            Param::RegCovar => "reg_covar",
            Param::OnDegenerate => "on_degenerate",
            Param::Clip => "clip",
            Param::Log1p => "log1p",
            Param::Impute => "impute",
            Param::Scale => "scale",
            Param::Dedup => "dedup",
            Param::Id => "id",
            Param::Features => "features",
            Param::Categorical => "categorical",
            Param::Weights => "weights",
            Param::Input => "input",
            Param::Out => "out",
            Param::CacheDir => "cache_dir",
            Param::KeepCache => "keep_cache",
            Param::MemoryBudget => "memory_budget",
            Param::Stability => "stability",
            Param::SilhouetteSample => "silhouette_sample",
            Param::Probabilities => "probabilities",
            Param::Threads => "threads",
            Param::Backend => "backend",
            Param::GpuIndex => "gpu_index",
            Param::GpuMemory => "gpu_memory",
            Param::Covariance => "covariance_type",
            Param::InitSpace => "init_space",
            Param::Rows => "n",
            Param::Dim => "d",
            Param::Iters => "iters",
            Param::Horizon => "horizon",
            Param::DiscountRate => "discount_rate",
            Param::AsOf => "as_of",
            Param::HoldoutEnd => "holdout_end",
            Param::CustomerId => "customer_id",
            Param::Time => "time",
            Param::Amount => "amount",
            Param::Value => "value",
            Param::RulesDepth => "rules_depth",
            Param::Names => "names",
            Param::Export => "export",
            Param::MinClusterSize => "min_cluster_size",
            Param::MinSamples => "min_samples",
            Param::ClusterSelection => "cluster_selection_method",
            Param::Eps => "eps",
            Param::Previous => "previous",
            Param::KeepPrep => "keep_prep",
            Param::MatchThreshold => "match_threshold",
            Param::FailOnDrift => "fail_on_drift",
            Param::DistanceThreshold => "distance_threshold",
            Param::MicroClusters => "micro_clusters",
            Param::Holdout => "holdout",
            Param::Consolidate => "consolidate",
            Param::Sample => "sample",
            Param::Replicates => "replicates",
        }
    }
}

/// How parameters are shown in messages; set once by a front end (the binary shows flags).
static PARAMETER_NAMES: OnceLock<fn(Param) -> &'static str> = OnceLock::new();

/// Makes every message name parameters through `names` (the binary passes its flag names).
/// The first call wins; without one, messages use [`Param::name`].
pub fn name_parameters_as(names: fn(Param) -> &'static str) {
    let _ = PARAMETER_NAMES.set(names);
}

impl fmt::Display for Param {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let name = PARAMETER_NAMES.get().map_or_else(|| self.name(), |names| names(*self));
        f.write_str(name)
    }
}

/// Why a parameter cannot be used. Every variant names its parameter ([`ParamError::param`]).
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum ParamError {
    #[error("invalid parameter {param}: must be at least {min}")]
    TooSmall { param: Param, min: u64 },
    #[error("invalid parameter {param}: {value} is not a finite number ≥ 0")]
    NotFiniteNonNegative { param: Param, value: f64 },
    #[error(
        "invalid parameter {}: k = {k} but only {rows} rows are left after prep; decrease k or add rows",
        Param::K
    )]
    KTooLarge { k: usize, rows: usize },
    #[error(
        "invalid parameter {}: expected {expected_k} centres of {expected_dim} features, got {got_k} × {got_dim}",
        Param::InitCentres
    )]
    InitShape { expected_k: usize, expected_dim: usize, got_k: usize, got_dim: usize },
    #[error(
        "invalid parameter {}: centre {centre} has a missing or non-finite value; give every feature a finite value",
        Param::InitCentres
    )]
    InitNotFinite { centre: usize },
    #[error("invalid parameter {param}: {message}")]
    Invalid { param: Param, message: String },
}

impl ParamError {
    /// The parameter at fault.
    pub fn param(&self) -> Param {
        match self {
            ParamError::TooSmall { param, .. }
            | ParamError::NotFiniteNonNegative { param, .. }
            | ParamError::Invalid { param, .. } => *param,
            ParamError::KTooLarge { .. } => Param::K,
            ParamError::InitShape { .. } | ParamError::InitNotFinite { .. } => Param::InitCentres,
        }
    }

    /// `Ok` when `value ≥ min`.
    pub fn at_least(param: Param, value: usize, min: usize) -> Result<(), ParamError> {
        if value < min {
            return Err(ParamError::TooSmall { param, min: min as u64 });
        }
        Ok(())
    }

    /// `Ok` when `value` is finite and ≥ 0.
    pub fn finite_non_negative(param: Param, value: f64) -> Result<(), ParamError> {
        if !(value.is_finite() && value >= 0.0) {
            return Err(ParamError::NotFiniteNonNegative { param, value });
        }
        Ok(())
    }
}
