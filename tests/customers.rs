//! `custseg customers`: the transaction log → one row per customer. Checked against the
//! CDNOW summary lifetimes ships and the published BG/NBD and Gamma-Gamma estimates, on UCI
//! Online Retail, and on small logs written here for each cleaning rule.

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use arrow::array::{Array, AsArray, Float64Array, Int64Array, StringArray};
use arrow::datatypes::{Float64Type, Int64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::common::{arr, custseg, data_dir, outcome, write_parquet};

/// Every column of a Parquet file as f64 (ids and counts included), by name.
fn read_columns(path: &Path) -> HashMap<String, Vec<f64>> {
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(path).unwrap()).unwrap().build().unwrap();
    let mut out: HashMap<String, Vec<f64>> = HashMap::new();
    for batch in reader {
        let batch = batch.unwrap();
        for (field, column) in batch.schema().fields().iter().zip(batch.columns()) {
            let values: Vec<f64> = match column.data_type() {
                arrow::datatypes::DataType::Int64 => {
                    column.as_primitive::<Int64Type>().values().iter().map(|&v| v as f64).collect()
                }
                arrow::datatypes::DataType::Float64 => column.as_primitive::<Float64Type>().values().to_vec(),
                _ => continue,
            };
            out.entry(field.name().clone()).or_default().extend(values);
        }
    }
    out
}

fn run(args: &[&str]) -> serde_json::Value {
    let (code, stdout, stderr) = outcome(&custseg(args));
    assert_eq!(code, 0, "{stderr}");
    serde_json::from_str(stdout.trim()).unwrap()
}

/// CDNOW_sample.txt (index, customer 1..2357, YYYYMMDD, cds, dollars) as Parquet.
fn cdnow_log(dir: &Path, data: &Path) -> PathBuf {
    let text = std::fs::read_to_string(data.join("retail/cdnow/CDNOW_sample.txt")).unwrap();
    let (mut ids, mut dates, mut dollars) = (Vec::new(), Vec::new(), Vec::new());
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let f: Vec<&str> = line.split_whitespace().collect();
        ids.push(f[1].parse::<i64>().unwrap());
        dates.push(f[2].parse::<i64>().unwrap());
        dollars.push(f[4].parse::<f64>().unwrap());
    }
    write_log(&dir.join("cdnow.parquet"), ["customer", "date", "dollars"], ids, dates, dollars)
}

/// Writes a log of (customer, YYYYMMDD day, amount) lines under `names`.
fn write_log(path: &Path, names: [&str; 3], ids: Vec<i64>, days: Vec<i64>, amounts: Vec<f64>) -> PathBuf {
    write_parquet(
        path,
        vec![
            (names[0], arr(Int64Array::from(ids))),
            (names[1], arr(Int64Array::from(days))),
            (names[2], arr(Float64Array::from(amounts))),
        ],
    );
    path.to_path_buf()
}

#[test]
fn cdnow_summary_and_published_estimates_are_reproduced() {
    let Some(data) = data_dir("customers::cdnow_summary_and_published_estimates_are_reproduced") else { return };
    let dir = tempfile::tempdir().unwrap();
    let log = cdnow_log(dir.path(), &data);
    let out = dir.path().join("out");
    let summary = run(&[
        "customers",
        "--input",
        log.to_str().unwrap(),
        "--customer-id",
        "customer",
        "--time",
        "date",
        "--amount",
        "dollars",
        "--as-of",
        "1997-09-30",
        "--time-unit",
        "weeks",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(summary["customers"], 2357);
    let got = read_columns(&out.join("customers.parquet"));
    let expected = std::fs::read_to_string(data.join("retail/cdnow/cdnow_customers_summary.csv")).unwrap();
    let index: HashMap<i64, usize> = got["customer"].iter().enumerate().map(|(i, &id)| (id as i64, i)).collect();
    for line in expected.lines().skip(1) {
        let f: Vec<f64> = line.split(',').map(|t| t.parse().unwrap()).collect();
        let i = index[&(f[0] as i64)];
        assert_eq!(got["frequency"][i], f[1], "customer {}", f[0]);
        // The summary file rounds to 0.01 weeks.
        assert!(
            (got["recency"][i] - f[2]).abs() <= 0.005 + 1e-9,
            "customer {} recency {} vs {}",
            f[0],
            got["recency"][i],
            f[2]
        );
        assert!((got["T"][i] - f[3]).abs() <= 0.005 + 1e-9, "customer {} T {} vs {}", f[0], got["T"][i], f[3]);
    }
    // Fader, Hardie & Lee (2005): r = 0.243, α = 4.414, a = 0.793, b = 2.426, LL −9582.43.
    let bg = &summary["bgnbd"];
    for (key, want) in [("r", 0.243), ("alpha", 4.414), ("a", 0.793), ("b", 2.426)] {
        let v = bg[key].as_f64().unwrap();
        assert!((v - want).abs() < 0.0005 + 1e-9, "BG/NBD {key} {v} vs {want}");
    }
    assert!((bg["log_likelihood"].as_f64().unwrap() + 9582.43).abs() < 0.01, "{bg}");
    assert_eq!(bg["converged"], true);
    // Every prediction is a probability or a non-negative amount.
    let column = |name: &str| got[name].iter().copied();
    for (p, churn) in column("p_alive").zip(column("churn_probability")) {
        assert!((0.0..=1.0).contains(&p) && (churn + p - 1.0).abs() < 1e-12);
    }
    assert!(column("expected_purchases").chain(column("clv")).all(|v| v >= 0.0));
    assert!(column("expected_spend").all(|v| v > 0.0));
}

#[test]
fn online_retail_runs_and_a_cancelled_purchase_nets_to_zero() {
    let Some(data) = data_dir("customers::online_retail_runs_and_a_cancelled_purchase_nets_to_zero") else { return };
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out");
    let input = data.join("retail/online_retail.parquet");
    let summary = run(&[
        "customers",
        "--input",
        input.to_str().unwrap(),
        "--customer-id",
        "CustomerID",
        "--time",
        "InvoiceDate",
        "--quantity",
        "Quantity",
        "--price",
        "UnitPrice",
        "--invoice",
        "InvoiceNo",
        "--as-of",
        "2011-09-30",
        "--holdout-end",
        "2011-12-09",
        "--out",
        out.to_str().unwrap(),
    ]);
    assert_eq!(summary["rows_read"], 541_909);
    assert!(summary["dropped"]["missing_customer_id"].as_u64().unwrap() > 100_000, "{summary}");
    assert!(summary["adjusted"]["cancellations"].as_u64().unwrap() > 8_000, "{summary}");
    let got = read_columns(&out.join("customers.parquet"));
    let i = got["CustomerID"].iter().position(|&id| id == 12346.0).expect("customer 12346");
    assert!(got["monetary_total"][i].abs() < 1e-6, "12346 nets {}", got["monetary_total"][i]);
    assert_eq!(got["frequency"][i], 0.0);
    let holdout = &summary["holdout"];
    assert!(holdout["actual_total"].as_f64().unwrap() > 0.0, "{summary}");
    for share in ["actual_share_with_none", "predicted_share_with_none"] {
        assert!((0.0..=1.0).contains(&holdout[share].as_f64().unwrap()), "{holdout}");
    }
}

/// The columns of [`small_log`] as `custseg customers` flags.
const SMALL_LOG_COLUMNS: [&str; 10] =
    ["--customer-id", "customer", "--time", "when", "--quantity", "qty", "--price", "price", "--invoice", "invoice"];

/// A small log exercising every cleaning rule: (customer, date, quantity, price, invoice).
fn small_log(dir: &Path) -> PathBuf {
    let rows: Vec<(Option<&str>, &str, f64, f64, &str)> = vec![
        (Some("a"), "2020-01-01", 2.0, 5.0, "1"),
        (Some("a"), "2020-01-01 14:00:00", 1.0, 3.0, "2"), // same day: one occasion
        (Some("a"), "2020-01-11", 1.0, 10.0, "3"),
        (Some("a"), "2020-01-12", -1.0, 10.0, "4"), // a return
        (Some("a"), "2020-02-10", 1.0, 20.0, "5"),  // holdout
        (Some("b"), "2020-01-05", 3.0, 0.0, "6"),   // price 0: dropped
        (Some("b"), "2020-01-06", 1.0, 7.0, "C7"),  // cancelled: a return, no occasion
        (Some("b"), "2020-01-07", 1.0, 8.0, "8"),
        (None, "2020-01-08", 1.0, 8.0, "9"), // no customer
        (Some("c"), "2020-01-20", 1.0, 4.0, "10"),
    ];
    let path = dir.join("log.parquet");
    write_parquet(
        &path,
        vec![
            ("customer", arr(StringArray::from(rows.iter().map(|r| r.0).collect::<Vec<_>>()))),
            ("when", arr(StringArray::from(rows.iter().map(|r| r.1).collect::<Vec<_>>()))),
            ("qty", arr(Float64Array::from(rows.iter().map(|r| r.2).collect::<Vec<_>>()))),
            ("price", arr(Float64Array::from(rows.iter().map(|r| r.3).collect::<Vec<_>>()))),
            ("invoice", arr(StringArray::from(rows.iter().map(|r| r.4).collect::<Vec<_>>()))),
        ],
    );
    path
}

#[test]
fn every_cleaning_rule_is_applied_and_counted() {
    let dir = tempfile::tempdir().unwrap();
    let log = small_log(dir.path());
    let out = dir.path().join("out");
    let log = log.to_str().unwrap();
    let mut args = vec!["customers", "--input", log];
    args.extend(SMALL_LOG_COLUMNS);
    args.extend(["--as-of", "2020-01-31", "--holdout-end", "2020-02-29", "--out", out.to_str().unwrap()]);
    let summary = run(&args);
    assert_eq!(summary["rows_read"], 10);
    assert_eq!(summary["dropped"]["missing_customer_id"], 1);
    assert_eq!(summary["dropped"]["non_positive_price"], 1);
    assert_eq!(summary["adjusted"]["cancellations"], 1);
    assert_eq!(summary["adjusted"]["negative_values"], 1);
    assert_eq!(summary["customers"], 3);
    let reader = ParquetRecordBatchReaderBuilder::try_new(std::fs::File::open(out.join("customers.parquet")).unwrap())
        .unwrap()
        .build()
        .unwrap();
    let batch = reader.into_iter().next().unwrap().unwrap();
    let ids: Vec<String> = batch.column(0).as_string::<i32>().iter().map(|v| v.unwrap().to_string()).collect();
    let got = read_columns(&out.join("customers.parquet"));
    let a = ids.iter().position(|i| i == "a").unwrap();
    let b = ids.iter().position(|i| i == "b").unwrap();
    assert_eq!((got["frequency"][a], got["recency"][a], got["T"][a]), (1.0, 10.0, 30.0));
    assert_eq!(got["orders"][a], 3.0);
    assert_eq!(got["monetary_total"][a], 10.0 + 3.0 + 10.0 - 10.0);
    assert_eq!(got["monetary_mean"][a], 10.0);
    assert_eq!(got["holdout_purchases"][a], 1.0);
    assert_eq!(got["monetary_total"][b], 8.0 - 7.0);
    assert_eq!(got["frequency"][b], 0.0);
    assert_eq!(got["days_since_last"][b], 24.0);
}

#[test]
fn bad_requests_are_refused_with_the_flag_or_column_named() {
    let dir = tempfile::tempdir().unwrap();
    let log = small_log(dir.path());
    let out = dir.path().join("out");
    let base = ["customers", "--input", log.to_str().unwrap(), "--out", out.to_str().unwrap()];
    let cases: [(&[&str], i32, &str); 5] = [
        (&["--customer-id", "nobody", "--time", "when", "--amount", "qty"], 3, "nobody"),
        (&["--customer-id", "customer", "--time", "qty", "--amount", "price"], 3, "qty"),
        (&["--customer-id", "customer", "--time", "when", "--amount", "qty", "--as-of", "31/01/2020"], 2, "--as-of"),
        (
            &[
                "--customer-id",
                "customer",
                "--time",
                "when",
                "--amount",
                "qty",
                "--as-of",
                "2020-01-31",
                "--holdout-end",
                "2020-01-01",
            ],
            2,
            "--holdout-end",
        ),
        (
            &["--customer-id", "customer", "--time", "when", "--amount", "qty", "--discount-rate=-1"],
            2,
            "--discount-rate",
        ),
    ];
    for (extra, code, needle) in cases {
        let args: Vec<&str> = base.iter().copied().chain(extra.iter().copied()).collect();
        let (got, _, stderr) = outcome(&custseg(&args));
        assert_eq!(got, code, "{extra:?}: {stderr}");
        assert!(stderr.contains(needle), "{extra:?}: {stderr}");
        assert!(!out.exists(), "{extra:?}: nothing written");
    }
}

#[test]
fn a_csv_log_gives_the_same_customers_as_parquet() {
    let dir = tempfile::tempdir().unwrap();
    let parquet = small_log(dir.path());
    let csv = dir.path().join("log.csv");
    std::fs::write(
        &csv,
        "customer,when,qty,price,invoice\n\
         a,2020-01-01,2,5,1\na,2020-01-01 14:00:00,1,3,2\na,2020-01-11,1,10,3\na,2020-01-12,-1,10,4\n\
         a,2020-02-10,1,20,5\nb,2020-01-05,3,0,6\nb,2020-01-06,1,7,C7\nb,2020-01-07,1,8,8\n,2020-01-08,1,8,9\n\
         c,2020-01-20,1,4,10\n",
    )
    .unwrap();
    let mut outputs = Vec::new();
    for (name, input) in [("parquet", &parquet), ("csv", &csv)] {
        let out = dir.path().join(name);
        let mut args = vec!["customers", "--input", input.to_str().unwrap()];
        args.extend(SMALL_LOG_COLUMNS);
        args.extend(["--as-of", "2020-01-31", "--out", out.to_str().unwrap()]);
        run(&args);
        outputs.push(read_columns(&out.join("customers.parquet")));
    }
    assert_eq!(outputs[0], outputs[1]);
}

/// A seeded log of `n` customers: every third one buys often and spends much.
fn generated_log(dir: &Path, n: usize) -> PathBuf {
    let mut rng = custseg::rng::Rng::new(17);
    let (mut ids, mut days, mut amounts) = (Vec::new(), Vec::new(), Vec::new());
    for c in 0..n {
        let loyal = c % 3 == 0;
        let purchases = if loyal { 8 + rng.below(8) } else { 1 + rng.below(3) };
        for _ in 0..purchases {
            ids.push(c as i64);
            days.push(20200101 + (rng.below(12) as i64) * 100 + 1 + rng.below(28) as i64);
            amounts.push(if loyal { 80.0 } else { 15.0 } * (0.5 + rng.uniform()));
        }
    }
    write_log(&dir.join("generated.parquet"), ["customer", "day", "amount"], ids, days, amounts)
}

#[test]
fn fit_on_customers_reports_each_segments_share_of_revenue_and_value() {
    let dir = tempfile::tempdir().unwrap();
    let log = generated_log(dir.path(), 300);
    let customers = dir.path().join("customers");
    run(&[
        "customers",
        "--input",
        log.to_str().unwrap(),
        "--customer-id",
        "customer",
        "--time",
        "day",
        "--amount",
        "amount",
        "--as-of",
        "2020-12-31",
        "--out",
        customers.to_str().unwrap(),
    ]);
    let table = customers.join("customers.parquet");
    let out = dir.path().join("segments");
    let summary = run(&[
        "fit",
        "--input",
        table.to_str().unwrap(),
        "--id",
        "customer",
        "--features",
        "frequency,recency,monetary_total,clv,churn_probability",
        "--value",
        "monetary_total",
        "--k",
        "2",
        "--report",
        "--backend",
        "cpu",
        "--out",
        out.to_str().unwrap(),
    ]);
    let segments = summary["segments"].as_array().unwrap();
    let share: f64 = segments.iter().map(|s| s["value_share"].as_f64().unwrap()).sum();
    assert!((share - 1.0).abs() < 1e-9, "shares sum to {share}");
    let total: f64 = segments.iter().map(|s| s["value_total"].as_f64().unwrap()).sum();
    let monetary: f64 = read_columns(&table)["monetary_total"].iter().sum();
    assert!((total - monetary).abs() < 1e-6 * monetary, "{total} vs {monetary}");
    assert!(segments
        .iter()
        .all(|s| s["mean_clv"].as_f64().is_some() && s["mean_churn_probability"].as_f64().is_some()));
    let html = std::fs::read_to_string(out.join("report.html")).unwrap();
    assert!(html.contains("<table id=\"value\">") && html.contains("monetary_total: share"));
    // A value column that is not a feature is refused before anything is fitted.
    let refused = dir.path().join("refused");
    let (code, _, stderr) = outcome(&custseg(&[
        "fit",
        "--input",
        table.to_str().unwrap(),
        "--id",
        "customer",
        "--features",
        "frequency,recency",
        "--value",
        "monetary_total",
        "--k",
        "2",
        "--out",
        refused.to_str().unwrap(),
    ]));
    assert_eq!(code, 2, "{stderr}");
    assert!(stderr.contains("--value") && stderr.contains("monetary_total"), "{stderr}");
    assert!(!refused.exists());
}

#[test]
fn a_log_past_the_memory_budget_spills_by_customer_and_gives_the_same_customers() {
    let dir = tempfile::tempdir().unwrap();
    let log = generated_log(dir.path(), 3_000);
    let spill = dir.path().join("spill");
    let mut outputs = Vec::new();
    for (name, extra) in [("held", vec![]), ("spilled", vec!["--memory-budget", "64KiB", "--cache-dir"])] {
        let out = dir.path().join(name);
        let mut args = vec!["customers", "--input", log.to_str().unwrap(), "--customer-id", "customer", "--time"];
        args.extend(["day", "--amount", "amount", "--as-of", "2020-10-31", "--holdout-end", "2020-12-31"]);
        args.extend(extra);
        if name == "spilled" {
            args.push(spill.to_str().unwrap());
        }
        args.extend(["--out", out.to_str().unwrap()]);
        let s = run(&args);
        assert_eq!(s["spilled_to_disk"], name == "spilled", "{s}");
        outputs.push((read_columns(&out.join("customers.parquet")), s["bgnbd"].clone(), s["holdout"].clone()));
    }
    assert_eq!(outputs[0], outputs[1], "spilling changes nothing");
    let left: Vec<_> = std::fs::read_dir(&spill).unwrap().map(|e| e.unwrap().file_name()).collect();
    assert!(left.is_empty(), "spill files are removed: {left:?}");
}
