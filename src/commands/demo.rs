//! `custseg demo`: the whole nightly job on generated data. A seeded transaction log of
//! customers with known behaviour → `customers` (RFM, tenure, BG/NBD + Gamma-Gamma value)
//! → `fit` on recency, orders, spend and tenure with a report; the summary says how well
//! the known segments were recovered.

use std::fs::File;
use std::path::Path;

use arrow::array::AsArray;
use arrow::datatypes::{Int64Type, UInt32Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use serde_json::json;

use crate::cli::DemoArgs;
use crate::cluster::kmeans::{Init, KMeansParams};
use crate::cluster::Segmenter;
use crate::customers::transactions::{TransactionSpec, ValueColumns};
use crate::error::{Error, Param, Result};
use crate::eval::adjusted_rand_index;
use crate::info;
use crate::io::reader::ReadSpec;
use crate::pipeline::{CustomersRequest, FitRequest, TimeUnit, ASSIGNMENTS_FILE};
use crate::prep::{Impute, PrepParams, ScaleKind};
use crate::synth::transactions::{self as log, BEHAVIOURS};

/// The customer features the demo segments on.
pub const FEATURES: [&str; 4] = ["days_since_last", "orders", "monetary_total", "tenure_days"];

/// The skewed ones, fitted on ln(1 + x). Days since the last purchase stay linear: for
/// active customers they are roughly exponential, and their logarithm would spread
/// the active customers as widely as the gap to the lapsed ones.
pub const LOG1P: [&str; 3] = ["orders", "monetary_total", "tenure_days"];

/// Runs the demo and returns the fit summary with `customers` and `demo` sections added.
pub fn run(args: &DemoArgs) -> Result<serde_json::Value> {
    if args.n == 0 {
        return Err(Error::param(Param::Rows, "must be at least 1"));
    }
    let data_dir = args.out.join("data");
    std::fs::create_dir_all(&data_dir).map_err(|e| Error::io(&data_dir, e))?;
    let log_path = data_dir.join("transactions.parquet");
    info!(
        "generating the transactions of {} synthetic customers in {} segments → {}",
        args.n,
        BEHAVIOURS.len(),
        log_path.display()
    );
    let truth = log::write_transactions(&log_path, args.n, args.seed)?;

    let customers = crate::pipeline::customers(&CustomersRequest {
        transactions: TransactionSpec {
            inputs: vec![log_path.clone()],
            customer_id: log::CUSTOMER_ID.into(),
            time: log::DAY.into(),
            value: ValueColumns::Amount(log::AMOUNT.into()),
            invoice: Some(log::INVOICE.into()),
            batch_rows: 65_536,
        },
        as_of: Some(log::as_of()),
        holdout_end: None,
        time_unit: TimeUnit::Days,
        horizon: None,
        discount_rate: 0.1,
        memory_budget: None,
        spill_dir: None,
        out: data_dir.clone(),
    })?;
    let table = data_dir.join(crate::customers::table::CUSTOMERS_FILE);

    let request = FitRequest {
        read: ReadSpec {
            inputs: vec![table.clone()],
            id: Some(log::CUSTOMER_ID.into()),
            features: Some(FEATURES.iter().map(|s| s.to_string()).collect()),
            categorical: Vec::new(),
            weights: None,
            batch_rows: 65_536,
        },
        prep: PrepParams {
            impute: Impute::Median,
            scale: ScaleKind::Zscore,
            log1p: LOG1P.iter().map(|s| s.to_string()).collect(),
            clip: None,
            dedup: false,
        },
        segmenter: Segmenter::KMeans(
            KMeansParams {
                k: args.k,
                init: Init::KMeansPlusPlus,
                n_init: 10,
                max_iter: 300,
                tol: 1e-4,
                seed: args.seed,
            }
            .check()?,
        ),
        init_centres: None,
        probabilities: false,
        value: Some("monetary_total".into()),
        silhouette_sample: args.silhouette_sample,
        stability: 0,
        report: true,
        memory_budget: None,
        cache_dir: None,
        keep_cache: false,
        out: args.out.clone(),
        seed: args.seed,
        backend: super::args::backend_options(&args.run),
        continuity: Default::default(),
    };
    let mut summary = crate::pipeline::fit(&request)?;
    let (ids, segments) = read_assigned(&args.out.join(ASSIGNMENTS_FILE))?;
    let true_segments: Vec<u32> = ids.iter().map(|&id| truth[(id - log::FIRST_ID) as usize]).collect();
    let ari = adjusted_rand_index(&true_segments, &segments);
    info!("adjusted Rand index against the {} generating segments: {ari:.3}", BEHAVIOURS.len());
    summary["customers"] = customers;
    summary["demo"] = json!({
        "transactions": log_path.display().to_string(),
        "data": table.display().to_string(),
        "customers": args.n,
        "true_segments": BEHAVIOURS.iter().map(|s| s.name).collect::<Vec<_>>(),
        "adjusted_rand_index": ari,
        "commands": [
            format!(
                "custseg customers --input {} --customer-id {} --time {} --amount {} --invoice {} --as-of {} --out {}",
                log_path.display(), log::CUSTOMER_ID, log::DAY, log::AMOUNT, log::INVOICE,
                crate::customers::dates::format_day(log::as_of()), data_dir.display()
            ),
            format!(
                "custseg fit --input {} --id {} --features {} --log1p {} --impute median --value monetary_total --k {} --n-init 10 --seed {} --report --out {}",
                table.display(), log::CUSTOMER_ID, FEATURES.join(","), LOG1P.join(","), args.k, args.seed, args.out.display()
            ),
        ],
    });
    Ok(summary)
}

/// The id and `segment` columns of an assignments file whose ids are integers.
fn read_assigned(path: &Path) -> Result<(Vec<i64>, Vec<u32>)> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let reader =
        ParquetRecordBatchReaderBuilder::try_new(file).and_then(|b| b.build()).map_err(|e| Error::parquet(path, e))?;
    let (mut ids, mut segments) = (Vec::new(), Vec::new());
    for batch in reader {
        let batch = batch.map_err(|e| Error::parquet(path, e))?;
        let column = |name: &str| {
            batch.column_by_name(name).ok_or_else(|| Error::data(path.display(), format!("no {name} column")))
        };
        ids.extend(column(log::CUSTOMER_ID)?.as_primitive::<Int64Type>().values().iter().copied());
        segments.extend(column("segment")?.as_primitive::<UInt32Type>().values().iter().copied());
    }
    Ok((ids, segments))
}

/// The `segment` column of an assignments file.
pub fn read_segments(path: &std::path::Path) -> Result<Vec<u32>> {
    let file = File::open(path).map_err(|e| Error::io(path, e))?;
    let reader =
        ParquetRecordBatchReaderBuilder::try_new(file).and_then(|b| b.build()).map_err(|e| Error::parquet(path, e))?;
    let mut out = Vec::new();
    for batch in reader {
        let batch = batch.map_err(|e| Error::parquet(path, e))?;
        let col = batch.column_by_name("segment").ok_or_else(|| Error::data(path.display(), "no segment column"))?;
        let seg = col.as_primitive::<UInt32Type>();
        out.extend((0..seg.len()).map(|i| seg.value(i)));
    }
    Ok(out)
}
