//! Read + prep, shared by `fit` and `select-k`: in memory, or streamed to the on-disk
//! chunk cache past the memory budget.

use std::time::Instant;

use arrow::datatypes::DataType;

use super::FitRequest;
use crate::error::{Error, Param, Result};
use crate::io::reader::{self, InputFile};
use crate::prep::{row_masks, Duplicates, Prep, Prepared};

/// What read + prep produced, shared by both algorithms.
pub struct Stage {
    pub prep: Prep,
    pub prepared: Prepared,
    pub files: Vec<InputFile>,
    pub schema: Vec<(String, String)>,
    /// Name and Arrow type of the id column the outputs carry (`row` when there is none).
    pub id_name: String,
    pub id_type: DataType,
    pub t_read: f64,
    pub t_prep: f64,
    /// The on-disk chunk cache the data stream from, when they exceed the memory budget.
    pub cache: Option<crate::io::cache::CacheFile>,
}

/// Reads and prepares the input of `config` (shared by `fit` and `select-k`).
pub fn read_and_prepare(config: &FitRequest, started: Instant) -> Result<Stage> {
    read_and_prepare_with(config, started, None)
}

/// [`read_and_prepare`], applying `given` (`fit --previous --keep-prep`) instead of
/// fitting a prep.
pub fn read_and_prepare_with(config: &FitRequest, started: Instant, given: Option<&Prep>) -> Result<Stage> {
    let (rows, columns) = reader::plan(&config.read)?;
    let k = config.segmenter.k();
    let full = config.segmenter.needs_full_moments();
    let in_memory = crate::resources::fit_estimate(rows, columns, k as u64, full);
    let budget = config.memory_budget.unwrap_or_else(crate::resources::default_memory_budget);
    if in_memory > budget {
        return read_and_prepare_streamed(config, started, (rows, columns), in_memory, budget, given);
    }
    crate::resources::ensure_fits(format!("fitting k={} on {rows} rows × {columns} columns", k), in_memory)?;
    info!("reading {}", config.read.inputs.iter().map(|p| p.display().to_string()).collect::<Vec<_>>().join(", "));
    let table = reader::read(&config.read)?;
    let t_read = started.elapsed().as_secs_f64();
    info!("read {} rows from {} file(s) in {:.2}s", table.rows(), table.files.len(), t_read);

    let duplicates = if config.prep.dedup { Duplicates::KeepFirst } else { Duplicates::Refuse };
    let masks = row_masks(&table, config.prep.impute, duplicates)?;
    if masks.keep.iter().all(|k| !k.contains(&true)) {
        return Err(Error::data(
            table.files.iter().map(|f| f.path.as_str()).collect::<Vec<_>>().join(", "),
            format!("no rows left after dropping rows with missing values; set {} to mean or median", Param::Impute),
        ));
    }
    let prep = match given {
        Some(prep) => prep.clone(),
        None => Prep::fit(&table, &config.prep, &masks, &mut |w| warn!("{w}"))?,
    };
    let id_name = table.id.clone().unwrap_or_else(|| "row".to_string());
    let id_type = table.batches.first().map_or(DataType::UInt64, |b| b.ids.data_type().clone());
    let files = table.files.clone();
    let schema = table.schema.clone();
    let prepared = prep.apply(table, &masks)?;
    log_dropped(&prepared);
    let t_prep = started.elapsed().as_secs_f64() - t_read;
    info!("prepared {} rows × {} features in {:.2}s", prepared.data.rows(), prepared.data.dim(), t_prep);
    Ok(Stage { prep, prepared, files, schema, id_name, id_type, t_read, t_prep, cache: None })
}

/// [`read_and_prepare`] for data over the memory budget: the prepared rows go to an
/// on-disk chunk cache that every pass streams from.
fn read_and_prepare_streamed(
    config: &FitRequest,
    started: Instant,
    (rows, columns): (u64, u64),
    in_memory: u64,
    budget: u64,
    given: Option<&Prep>,
) -> Result<Stage> {
    use crate::error::human_bytes as human;
    let k = config.segmenter.k();
    let over = format!("the data need about {} in memory, over the budget of {}", human(in_memory), human(budget));
    if config.prep.dedup {
        return Err(Error::param(
            Param::Dedup,
            format!(
                "{over}, and {} needs every id in memory; raise {} or deduplicate upstream",
                Param::Dedup,
                Param::MemoryBudget
            ),
        ));
    }
    if config.stability > 0 {
        return Err(Error::param(
            Param::Stability,
            format!(
                "{over}, and bootstrap samples are as large as the data; raise {} or drop {}",
                Param::MemoryBudget,
                Param::Stability
            ),
        ));
    }
    let dir = config.cache_dir.clone().unwrap_or_else(|| config.out.clone());
    if !dir.is_dir() {
        return Err(Error::param(
            Param::CacheDir,
            format!("{} is not a folder; create it or pick another", dir.display()),
        ));
    }
    crate::resources::ensure_fits(
        format!("streaming k={} on {rows} rows × {columns} columns from disk", k),
        crate::resources::streamed_fit_estimate(rows, columns, k as u64),
    )?;
    info!(
        "{over} ({}): streaming them from an on-disk cache in {}; ids are not checked for duplicates",
        Param::MemoryBudget,
        dir.display()
    );
    let spilled = crate::prep::spill::prepare_to_cache(
        &config.read,
        &config.prep,
        (rows, crate::prep::spill::prep_sample_rows(budget, columns)),
        config.seed,
        &dir,
        given,
        &mut |w| warn!("{w}"),
    )?;
    let prepared = spilled.prepared;
    info!(
        "prepared {} rows × {} features into a {} cache in {:.2}s",
        prepared.data.rows(),
        prepared.data.dim(),
        human(spilled.cache.bytes()),
        started.elapsed().as_secs_f64()
    );
    log_dropped(&prepared);
    Ok(Stage {
        prep: spilled.prep,
        id_name: spilled.table.id.clone().unwrap_or_else(|| "row".to_string()),
        id_type: prepared.ids.first().map_or(DataType::UInt64, |ids| ids.data_type().clone()),
        files: spilled.table.files,
        schema: spilled.table.schema,
        prepared,
        t_read: spilled.t_sample,
        t_prep: spilled.t_prep,
        cache: Some(spilled.cache),
    })
}

/// Logs the rows dedup and `impute drop` left out.
fn log_dropped(prepared: &Prepared) {
    if prepared.dropped_duplicate > 0 {
        info!("{} dropped {} rows with a repeated id", Param::Dedup, prepared.dropped_duplicate);
    }
    if prepared.dropped_missing > 0 {
        info!("{} drop dropped {} rows with missing values", Param::Impute, prepared.dropped_missing);
    }
}
