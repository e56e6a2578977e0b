//! Through the binary with `--backend <cpu|gpu>`: `fit --previous` night after night (the
//! checks issue #14 holds it to), for K-Means, mini-batch K-Means and mixtures, in memory
//! and streamed from the on-disk cache.

use custseg::backend::Backend;

use super::cli_name;
use crate::continuity::{fit_ok, kept_share, migration, night, permuted_run, segments};

/// Each algorithm's flags.
const ALGORITHMS: [&[&str]; 3] = [
    &["--algorithm", "kmeans"],
    &["--algorithm", "minibatch-kmeans", "--batch-size", "256"],
    &["--algorithm", "gmm", "--covariance", "diag"],
];

pub fn same_customers_shuffled_with_noise_keep_their_ids(backend: &dyn Backend) {
    let name = cli_name(backend);
    let dir = tempfile::tempdir().unwrap();
    let base = night(dir.path(), "base", 2000, 0.0, 0, 0);
    let next = night(dir.path(), "next", 2000, 0.001, 7, 0);
    for (a, algorithm) in ALGORITHMS.iter().enumerate() {
        let day1 = dir.path().join(format!("day1-{a}"));
        let first = fit_ok(&base, &day1, 4, &[&["--backend", &name][..], algorithm].concat());
        assert_eq!(first["segment_ids"], serde_json::json!([0, 1, 2, 3]), "{first}");
        assert!(first["continuity"].is_null() && first["drift"].is_null(), "{first}");
        let before = segments(&day1.join("assignments.parquet"));
        for (s, streamed) in [&[][..], &["--memory-budget", "64KiB"][..]].iter().enumerate() {
            let day2 = dir.path().join(format!("day2-{a}-{s}"));
            let previous = ["--backend", &name, "--previous", day1.to_str().unwrap()];
            let summary = fit_ok(&next, &day2, 4, &[&previous[..], algorithm, streamed].concat());
            let case = format!("{algorithm:?} {streamed:?}");
            assert_eq!(summary["streamed_from_disk"].is_null(), s == 0, "{case}");
            let kept = kept_share(&before, &segments(&day2.join("assignments.parquet")));
            assert!(kept >= 0.999, "{case}: {kept} kept their id");
            let continuity = &summary["continuity"];
            assert!(continuity["stayed_share"].as_f64().unwrap() >= 0.999, "{case}: {continuity}");
            assert_eq!(
                (continuity["new"].clone(), continuity["retired"].clone()),
                (serde_json::json!([]), serde_json::json!([]))
            );
            assert_eq!(continuity["prep"], "refitted", "{case}");
            assert_eq!(
                (continuity["new_customers"].as_u64(), continuity["gone_customers"].as_u64()),
                (Some(0), Some(0))
            );
            let drift = &summary["drift"];
            assert!(drift["max_psi"].as_f64().unwrap() < 0.01, "{case}: {drift}");
            assert_eq!(drift["level"], "none", "{case}: {drift}");
            assert!(migration(&day2).keys().all(|(from, to)| from != "new" && to != "gone"), "{case}");
        }
    }
}

pub fn a_new_group_in_an_empty_region_gets_the_next_unused_id(backend: &dyn Backend) {
    let name = cli_name(backend);
    let dir = tempfile::tempdir().unwrap();
    let base = night(dir.path(), "base", 2000, 0.0, 0, 0);
    let same = night(dir.path(), "same", 2000, 0.001, 7, 0);
    let grown = night(dir.path(), "grown", 2000, 0.0, 3, 200);
    for (a, algorithm) in ALGORITHMS.iter().enumerate() {
        let day1 = dir.path().join(format!("day1-{a}"));
        fit_ok(&base, &day1, 4, &[&["--backend", &name][..], algorithm].concat());
        let before = segments(&day1.join("assignments.parquet"));
        let previous = ["--backend", &name, "--previous", day1.to_str().unwrap()];
        let quiet = fit_ok(&same, &dir.path().join(format!("same-{a}")), 4, &[&previous[..], algorithm].concat());
        let day2 = dir.path().join(format!("grown-{a}"));
        let summary = fit_ok(&grown, &day2, 5, &[&previous[..], algorithm].concat());
        let case = format!("{algorithm:?}");
        assert_eq!(summary["continuity"]["new"], serde_json::json!([4]), "{case}: {}", summary["continuity"]);
        assert_eq!(summary["continuity"]["next_segment_id"], 5, "{case}");
        let after = segments(&day2.join("assignments.parquet"));
        assert_eq!(kept_share(&before, &after), 1.0, "{case}: every existing customer keeps its id");
        assert!((2000..2200).all(|id| after[&id] == 4), "{case}: the new customers form segment 4");
        let flows = migration(&day2);
        assert_eq!(flows[&("new".to_string(), "4".to_string())], (200, 1.0), "{case}: {flows:?}");
        assert_eq!(flows.keys().filter(|(from, _)| from == "new").count(), 1, "{case}: {flows:?}");
        let (grown_psi, quiet_psi) =
            (summary["drift"]["max_psi"].as_f64().unwrap(), quiet["drift"]["max_psi"].as_f64().unwrap());
        assert!(grown_psi > 0.02 && grown_psi > 10.0 * quiet_psi, "{case}: PSI {grown_psi} against {quiet_psi}");
        let change = summary["drift"]["segment_share_change"].as_array().unwrap();
        let new_segment = change.iter().find(|c| c["segment"] == 4).unwrap();
        assert_eq!(new_segment["previous_share"], 0.0, "{case}");
        assert!((new_segment["share"].as_f64().unwrap() - 200.0 / 2200.0).abs() < 1e-9, "{case}");
    }
}

pub fn a_permutation_of_yesterdays_segments_never_changes_todays_ids(backend: &dyn Backend) {
    let name = cli_name(backend);
    let dir = tempfile::tempdir().unwrap();
    let base = night(dir.path(), "base", 2000, 0.0, 0, 0);
    let next = night(dir.path(), "next", 2000, 0.001, 7, 200);
    for (a, algorithm) in [ALGORITHMS[0], ALGORITHMS[2]].iter().enumerate() {
        let day1 = dir.path().join(format!("day1-{a}"));
        fit_ok(&base, &day1, 4, &[&["--backend", &name][..], algorithm].concat());
        let mut outcomes = Vec::new();
        for (p, order) in [[0, 1, 2, 3], [3, 1, 0, 2], [2, 3, 1, 0]].iter().enumerate() {
            let previous = dir.path().join(format!("previous-{a}-{p}"));
            permuted_run(&day1, &previous, order);
            let out = dir.path().join(format!("day2-{a}-{p}"));
            let summary = fit_ok(
                &next,
                &out,
                5,
                &[&["--backend", &name, "--previous", previous.to_str().unwrap()][..], algorithm].concat(),
            );
            outcomes.push((segments(&out.join("assignments.parquet")), summary["continuity"]["new"].clone()));
        }
        assert!(
            outcomes.windows(2).all(|w| w[0] == w[1]),
            "{algorithm:?}: ids changed with the order of yesterday's segments"
        );
    }
}
