//! What the reader and prep accept and refuse: column lists, folders, column types, ids,
//! CSV input. Each refusal has its exit code and a message naming the file, column or
//! parameter.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use arrow::array::{Array, DictionaryArray, Float64Array, Int32Array, Int64Array, StringArray};
use arrow::datatypes::Int32Type;
use tempfile::TempDir;

use crate::common::{arr, custseg, outcome, write_parquet};

/// `fit` on `input` with `extra` arguments, on the CPU; (exit code, stdout, stderr).
fn fit(dir: &Path, input: &Path, extra: &[&str]) -> (i32, String, String) {
    let out = dir.join("out");
    let mut args =
        vec!["fit", "--input", input.to_str().unwrap(), "--k", "2", "--backend", "cpu", "--out", out.to_str().unwrap()];
    args.extend_from_slice(extra);
    let (code, stdout, stderr) = outcome(&custseg(&args));
    assert!(!stderr.contains("panicked"), "{stderr}");
    (code, stdout, stderr)
}

/// Asserts a refusal: the exit code, every needle in the message, no summary.
fn refused(result: (i32, String, String), code: i32, needles: &[&str]) -> String {
    let (got, stdout, stderr) = result;
    assert_eq!(got, code, "stderr: {stderr}");
    for needle in needles {
        assert!(stderr.contains(needle), "message lacks '{needle}': {stderr}");
    }
    assert!(stdout.is_empty(), "no summary on failure: {stdout}");
    stderr
}

fn ok(result: (i32, String, String)) -> (serde_json::Value, String) {
    let (code, stdout, stderr) = result;
    assert_eq!(code, 0, "{stderr}");
    (serde_json::from_str(stdout.trim()).unwrap_or_else(|e| panic!("{e}: {stdout}")), stderr)
}

/// `n` rows in two groups: x, y numeric, `region` text.
fn two_groups(n: usize) -> (Vec<f64>, Vec<f64>, Vec<&'static str>) {
    let x = (0..n).map(|i| (i % 2) as f64 * 10.0 + (i % 7) as f64 * 0.1).collect();
    let y = (0..n).map(|i| (i % 2) as f64 * 5.0 + (i % 5) as f64 * 0.1).collect();
    let region = (0..n).map(|i| if i % 3 == 0 { "north" } else { "south" }).collect();
    (x, y, region)
}

fn customers(dir: &Path, name: &str, n: usize) -> PathBuf {
    let (x, y, region) = two_groups(n);
    let path = dir.join(name);
    write_parquet(
        &path,
        vec![
            ("x", arr(Float64Array::from(x))),
            ("y", arr(Float64Array::from(y))),
            ("region", arr(StringArray::from(region))),
        ],
    );
    path
}

fn read_assignments(path: &Path) -> arrow::array::RecordBatch {
    let file = std::fs::File::open(path).unwrap();
    let reader = parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder::try_new(file).unwrap().build().unwrap();
    let batches: Vec<_> = reader.map(Result::unwrap).collect();
    arrow::compute::concat_batches(&batches[0].schema(), &batches).unwrap()
}

/// Class 1: a name listed twice, or two prepared columns with one name.
mod duplicate_names {
    use super::*;

    #[test]
    fn a_column_listed_twice_is_refused_naming_the_parameter() {
        let dir = TempDir::new().unwrap();
        let p = customers(dir.path(), "c.parquet", 40);
        refused(fit(dir.path(), &p, &["--features", "x,x,y"]), 2, &["--features", "'x' is listed twice"]);
        refused(
            fit(dir.path(), &p, &["--features", "x", "--categorical", "region,region"]),
            2,
            &["--categorical", "'region' is listed twice"],
        );
    }

    #[test]
    fn a_numeric_column_named_like_a_one_hot_column_is_refused() {
        let dir = TempDir::new().unwrap();
        let (x, _, region) = two_groups(40);
        let p = dir.path().join("c.parquet");
        write_parquet(
            &p,
            vec![
                ("x", arr(Float64Array::from(x))),
                ("region=north", arr(Float64Array::from((0..40).map(|i| i as f64).collect::<Vec<_>>()))),
                ("region", arr(StringArray::from(region))),
            ],
        );
        refused(
            fit(dir.path(), &p, &["--features", "x,region=north", "--categorical", "region"]),
            3,
            &["'region=north'", "numeric column", "categorical column 'region'", "unique"],
        );
    }

    #[test]
    fn one_hot_names_of_two_categorical_columns_that_meet_are_refused() {
        // a + level "b=c" and "a=b" + level "c" both give "a=b=c".
        let dir = TempDir::new().unwrap();
        let p = dir.path().join("c.parquet");
        write_parquet(
            &p,
            vec![
                ("x", arr(Float64Array::from((0..20).map(|i| i as f64).collect::<Vec<_>>()))),
                (
                    "a",
                    arr(StringArray::from((0..20).map(|i| if i % 2 == 0 { "b=c" } else { "d" }).collect::<Vec<_>>())),
                ),
                (
                    "a=b",
                    arr(StringArray::from((0..20).map(|i| if i % 3 == 0 { "c" } else { "e" }).collect::<Vec<_>>())),
                ),
            ],
        );
        refused(fit(dir.path(), &p, &["--features", "x", "--categorical", "a,a=b"]), 3, &["'a=b=c'"]);
    }

    #[test]
    fn a_real_level_named_like_the_null_level_is_refused() {
        let dir = TempDir::new().unwrap();
        let p = dir.path().join("c.parquet");
        let region: Vec<Option<&str>> = (0..30).map(|i| [Some("north"), None, Some("(null)")][i % 3]).collect();
        write_parquet(
            &p,
            vec![
                ("x", arr(Float64Array::from((0..30).map(|i| i as f64).collect::<Vec<_>>()))),
                ("region", arr(StringArray::from(region))),
            ],
        );
        refused(
            fit(dir.path(), &p, &["--features", "x", "--categorical", "region"]),
            3,
            &["'region'", "(null)", "row 2"],
        );
    }
}

/// Class 2: what a folder holds.
mod folders {
    use super::*;

    #[test]
    fn dangling_symlinks_loops_and_fifos_are_refused_naming_the_file() {
        let dir = TempDir::new().unwrap();
        let input = dir.path().join("in");
        std::fs::create_dir(&input).unwrap();
        customers(&input, "a.parquet", 40);

        let dangling = input.join("b.parquet");
        std::os::unix::fs::symlink(dir.path().join("gone.parquet"), &dangling).unwrap();
        refused(fit(dir.path(), &input, &[]), 3, &["b.parquet", "symbolic link", "does not exist"]);
        std::fs::remove_file(&dangling).unwrap();

        let looped = input.join("c.parquet");
        std::os::unix::fs::symlink(&looped, &looped).unwrap();
        refused(fit(dir.path(), &input, &[]), 3, &["c.parquet", "symbolic link", "cannot be followed"]);
        std::fs::remove_file(&looped).unwrap();

        let fifo = input.join("d.parquet");
        assert!(std::process::Command::new("mkfifo").arg(&fifo).status().unwrap().success());
        refused(fit(dir.path(), &input, &[]), 3, &["d.parquet", "FIFO"]);
        // Named directly, too (opening it would block forever).
        refused(fit(dir.path(), &fifo, &[]), 3, &["d.parquet", "FIFO"]);
    }

    #[test]
    fn hidden_files_are_skipped_and_counted() {
        let dir = TempDir::new().unwrap();
        let input = dir.path().join("in");
        std::fs::create_dir(&input).unwrap();
        customers(&input, "part-0.parquet", 40);
        std::fs::write(input.join(".part-0.parquet.crc"), "x").unwrap();
        std::fs::write(input.join(".tmp.parquet"), "not parquet").unwrap();
        std::fs::write(input.join("_tmp.parquet"), "not parquet").unwrap();
        let (summary, stderr) = ok(fit(dir.path(), &input, &[]));
        assert_eq!(summary["rows_read"], 40);
        assert!(stderr.contains("skipped 2 hidden file(s)"), "{stderr}");
    }

    #[test]
    fn a_folder_of_only_hidden_files_says_so() {
        let dir = TempDir::new().unwrap();
        let input = dir.path().join("in");
        std::fs::create_dir(&input).unwrap();
        customers(&input, "_part.parquet", 40);
        refused(fit(dir.path(), &input, &[]), 3, &["no .parquet or .csv files", "hidden"]);
    }
}

/// Class 3: dictionary-encoded categorical columns.
mod categorical_types {
    use super::*;

    #[test]
    fn dictionaries_of_integers_and_of_text_are_one_hot_encoded() {
        let dir = TempDir::new().unwrap();
        let p = dir.path().join("c.parquet");
        let keys = Int32Array::from((0..40).map(|i| i % 3).collect::<Vec<i32>>());
        let ints =
            DictionaryArray::<Int32Type>::try_new(keys.clone(), Arc::new(Int64Array::from(vec![7, 8, 9]))).unwrap();
        let text =
            DictionaryArray::<Int32Type>::try_new(keys, Arc::new(StringArray::from(vec!["a", "b", "c"]))).unwrap();
        write_parquet(
            &p,
            vec![
                ("x", arr(Float64Array::from((0..40).map(|i| (i % 2) as f64).collect::<Vec<_>>()))),
                ("store", arr(ints)),
                ("tier", arr(text)),
            ],
        );
        let (summary, _) = ok(fit(dir.path(), &p, &["--features", "x", "--categorical", "store,tier"]));
        assert_eq!(
            summary["features"],
            serde_json::json!(["x", "store=7", "store=8", "store=9", "tier=a", "tier=b", "tier=c"])
        );
    }

    #[test]
    fn a_float_categorical_is_refused_with_a_truthful_message() {
        let dir = TempDir::new().unwrap();
        let p = customers(dir.path(), "c.parquet", 40);
        let stderr = refused(
            fit(dir.path(), &p, &["--features", "x", "--categorical", "y"]),
            3,
            &["'y'", "Float64", "round it"],
        );
        assert!(!stderr.contains("dictionary, integer"), "{stderr}");
    }
}

/// Class 4: non-numeric columns left out of the default features are logged.
#[test]
fn text_columns_left_out_of_the_default_features_are_logged_once() {
    let dir = TempDir::new().unwrap();
    let p = customers(dir.path(), "c.parquet", 40);
    let (summary, stderr) = ok(fit(dir.path(), &p, &[]));
    assert_eq!(summary["features"], serde_json::json!(["x", "y"]));
    assert_eq!(stderr.matches("column 'region' (Utf8) is not numeric").count(), 1, "{stderr}");
    assert!(stderr.contains("--categorical"), "{stderr}");
}

/// Class 5: transaction tables and id-like features.
mod ids {
    use super::*;

    fn with_ids(dir: &Path, ids: Vec<i64>) -> PathBuf {
        let n = ids.len();
        let (x, y, _) = two_groups(n);
        let p = dir.join("t.parquet");
        write_parquet(
            &p,
            vec![
                ("customer_id", arr(Int64Array::from(ids))),
                ("x", arr(Float64Array::from(x))),
                ("y", arr(Float64Array::from(y))),
            ],
        );
        p
    }

    #[test]
    fn many_repeated_ids_point_to_the_transaction_step() {
        let dir = TempDir::new().unwrap();
        let p = with_ids(dir.path(), (0..200).map(|i| i / 4).collect());
        let stderr = refused(
            fit(dir.path(), &p, &["--id", "customer_id"]),
            3,
            &["customer_id", "transaction", "custseg customers", "150 of 200"],
        );
        assert!(stderr.contains("first row"), "{stderr}");
    }

    #[test]
    fn a_few_repeated_ids_suggest_dedup() {
        let dir = TempDir::new().unwrap();
        let mut ids: Vec<i64> = (0..2000).collect();
        ids[1999] = 5;
        let p = with_ids(dir.path(), ids);
        let stderr = refused(fit(dir.path(), &p, &["--id", "customer_id"]), 3, &["duplicate value 5", "--dedup"]);
        assert!(!stderr.contains("transaction"), "{stderr}");
    }

    #[test]
    fn dedup_on_a_transaction_table_warns() {
        let dir = TempDir::new().unwrap();
        let p = with_ids(dir.path(), (0..200).map(|i| i / 4).collect());
        let (_, stderr) = ok(fit(dir.path(), &p, &["--id", "customer_id", "--dedup"]));
        assert!(stderr.contains("warning") && stderr.contains("transaction"), "{stderr}");
    }

    #[test]
    fn an_id_named_column_is_not_a_default_feature() {
        let dir = TempDir::new().unwrap();
        // UCI's CustomerID: float64, a quarter of it null.
        let (x, y, _) = two_groups(100);
        let ids: Vec<Option<f64>> =
            (0..100).map(|i| if i % 4 == 0 { None } else { Some(12346.0 + i as f64) }).collect();
        let p = dir.path().join("t.parquet");
        write_parquet(
            &p,
            vec![
                ("CustomerID", arr(Float64Array::from(ids))),
                ("x", arr(Float64Array::from(x))),
                ("y", arr(Float64Array::from(y))),
            ],
        );
        refused(fit(dir.path(), &p, &[]), 3, &["'CustomerID'", "looks like an id", "--id CustomerID", "--features"]);
        // Named explicitly, it is taken as asked.
        let (summary, _) = ok(fit(dir.path(), &p, &["--features", "CustomerID,x"]));
        assert_eq!(summary["features"], serde_json::json!(["CustomerID", "x"]));
    }

    #[test]
    fn a_key_column_of_distinct_whole_numbers_is_not_a_default_feature() {
        let dir = TempDir::new().unwrap();
        let (x, _, _) = two_groups(100);
        let p = dir.path().join("t.parquet");
        write_parquet(
            &p,
            vec![
                ("order_key", arr(Int64Array::from((0..100).map(|i| 1000 + i * 7).collect::<Vec<i64>>()))),
                // A customer column that repeats is a feature like any other.
                ("customer_age", arr(Int64Array::from((0..100).map(|i| 20 + i % 40).collect::<Vec<i64>>()))),
                ("x", arr(Float64Array::from(x))),
            ],
        );
        refused(fit(dir.path(), &p, &[]), 3, &["'order_key'", "whole numbers", "100% of them distinct", "--id"]);
        let (summary, _) = ok(fit(dir.path(), &p, &["--id", "order_key"]));
        assert_eq!(summary["features"], serde_json::json!(["customer_age", "x"]));
    }
}

/// Class 6: files that are not what their name says, and CSV input.
mod formats {
    use super::*;

    fn write_csv(path: &Path, header: &str, rows: impl Iterator<Item = String>) {
        let mut text = format!("{header}\n");
        for r in rows {
            text.push_str(&r);
            text.push('\n');
        }
        std::fs::write(path, text).unwrap();
    }

    fn csv_rows(n: usize, offset: usize) -> impl Iterator<Item = String> {
        let (x, y, region) = two_groups(n + offset);
        (offset..n + offset).map(move |i| format!("{},{},{},{}", 1000 + i, x[i], y[i], region[i]))
    }

    #[test]
    fn a_csv_or_json_under_the_wrong_name_is_named_for_what_it_looks_like() {
        let dir = TempDir::new().unwrap();
        let p = dir.path().join("x.parquet");
        write_csv(&p, "id,x,y,region", csv_rows(10, 0));
        refused(fit(dir.path(), &p, &[]), 3, &["x.parquet", "looks like CSV", "id,x,y,region", ".csv"]);

        let good = customers(dir.path(), "c.parquet", 40);
        let model = dir.path().join("model.json");
        std::fs::write(&model, "{\n  \"format\": 2,\n  \"k\": 2\n}\n").unwrap();
        refused(
            fit(dir.path(), &good, &["--init-centroids", model.to_str().unwrap()]),
            2,
            &["--init-centroids", "model.json", "looks like JSON"],
        );
    }

    #[test]
    fn csv_input_gives_the_same_fit_as_parquet() {
        let dir = TempDir::new().unwrap();
        let n = 60;
        let csv = dir.path().join("c.csv");
        write_csv(&csv, "customer_id,x,y,region", csv_rows(n, 0));
        let (x, y, region) = two_groups(n);
        let parquet = dir.path().join("c.parquet");
        write_parquet(
            &parquet,
            vec![
                ("customer_id", arr(Int64Array::from((0..n as i64).map(|i| 1000 + i).collect::<Vec<_>>()))),
                ("x", arr(Float64Array::from(x))),
                ("y", arr(Float64Array::from(y))),
                ("region", arr(StringArray::from(region))),
            ],
        );
        let args = ["--id", "customer_id", "--categorical", "region", "--batch-rows", "7"];
        let (from_csv, _) = ok(fit(dir.path(), &csv, &args));
        let csv_rows = read_assignments(&dir.path().join("out/assignments.parquet"));
        let (from_parquet, _) = ok(fit(dir.path(), &parquet, &args));
        let parquet_rows = read_assignments(&dir.path().join("out/assignments.parquet"));
        assert_eq!(from_csv["features"], from_parquet["features"]);
        assert_eq!(from_csv["inertia"], from_parquet["inertia"]);
        assert_eq!(from_csv["rows_read"], n);
        assert_eq!(csv_rows, parquet_rows);
    }

    #[test]
    fn a_folder_of_csv_files_is_read_in_name_order_and_mixed_formats_are_refused() {
        let dir = TempDir::new().unwrap();
        let input = dir.path().join("in");
        std::fs::create_dir(&input).unwrap();
        write_csv(&input.join("a.csv"), "customer_id,x,y,region", csv_rows(30, 0));
        write_csv(&input.join("b.CSV"), "customer_id,x,y,region", csv_rows(30, 30));
        let (summary, _) = ok(fit(dir.path(), &input, &["--id", "customer_id", "--batch-rows", "8"]));
        assert_eq!(summary["rows_read"], 60);
        let ids = read_assignments(&dir.path().join("out/assignments.parquet"));
        let ids = ids.column(0).as_any().downcast_ref::<Int64Array>().unwrap().values().to_vec();
        assert_eq!(ids, (1000..1060).collect::<Vec<i64>>());

        write_csv(&input.join("c.csv"), "customer_id,y,x,region", csv_rows(5, 60));
        refused(fit(dir.path(), &input, &["--id", "customer_id"]), 3, &["c.csv", "header", "a.csv"]);
        std::fs::remove_file(input.join("c.csv")).unwrap();

        customers(&input, "d.parquet", 10);
        refused(fit(dir.path(), &input, &["--id", "customer_id"]), 3, &["d.parquet", "one format"]);
    }

    #[test]
    fn a_csv_value_that_does_not_parse_names_the_column_and_line() {
        let dir = TempDir::new().unwrap();
        let p = dir.path().join("c.csv");
        let rows = csv_rows(40, 0).enumerate().map(|(i, r)| if i == 25 { "1025,abc,1,north".to_string() } else { r });
        write_csv(&p, "customer_id,x,y,region", rows);
        refused(
            fit(dir.path(), &p, &["--id", "customer_id", "--features", "x,y"]),
            3,
            &["c.csv", "column 'x'", "row 25", "line 27", "'abc'"],
        );
    }

    #[test]
    fn csv_integers_after_the_sample_may_have_decimals() {
        let dir = TempDir::new().unwrap();
        let p = dir.path().join("c.csv");
        let n = 10_050;
        write_csv(
            &p,
            "x,y",
            (0..n).map(|i| if i < 10_010 { format!("{},{}", i % 2, i % 3) } else { format!("{}.5,1", i % 2) }),
        );
        let (summary, _) = ok(fit(dir.path(), &p, &[]));
        assert_eq!(summary["rows_read"], n);
    }
}

/// Class 7: float ids holding whole numbers.
mod float_ids {
    use super::*;

    fn with_float_ids(dir: &Path, ids: Vec<Option<f64>>) -> PathBuf {
        let (x, y, _) = two_groups(ids.len());
        let p = dir.join("f.parquet");
        write_parquet(
            &p,
            vec![
                ("CustomerID", arr(Float64Array::from(ids))),
                ("x", arr(Float64Array::from(x))),
                ("y", arr(Float64Array::from(y))),
            ],
        );
        p
    }

    #[test]
    fn whole_number_float_ids_are_written_as_int64() {
        let dir = TempDir::new().unwrap();
        let p = with_float_ids(dir.path(), (0..30).map(|i| Some(12346.0 + i as f64)).collect());
        ok(fit(dir.path(), &p, &["--id", "CustomerID"]));
        let out = read_assignments(&dir.path().join("out/assignments.parquet"));
        let ids = out.column_by_name("CustomerID").unwrap();
        let ids = ids.as_any().downcast_ref::<Int64Array>().expect("Int64 ids");
        assert_eq!(ids.values().to_vec(), (12346..12376).collect::<Vec<i64>>());
    }

    #[test]
    fn a_fractional_or_null_float_id_is_refused_naming_the_row() {
        let dir = TempDir::new().unwrap();
        let mut ids: Vec<Option<f64>> = (0..30).map(|i| Some(i as f64)).collect();
        ids[17] = Some(17.5);
        let p = with_float_ids(dir.path(), ids.clone());
        refused(
            fit(dir.path(), &p, &["--id", "CustomerID"]),
            3,
            &["f.parquet", "'CustomerID'", "row 17", "17.5", "whole number"],
        );
        ids[17] = None;
        let p = with_float_ids(dir.path(), ids);
        refused(fit(dir.path(), &p, &["--id", "CustomerID"]), 3, &["'CustomerID'", "row 17", "null"]);
    }
}
