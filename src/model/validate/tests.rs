//! One test per class of damage: each names the field validate refuses.
use super::*;
use crate::cluster::gmm::{CovarianceType, Mixture};
use crate::explain::profiles::FeatureProfile;
use crate::prep::{Impute, ScaleKind, Scaling};

fn numeric(name: &str, log1p: bool, center: f64, scale: f64) -> NumericColumn {
    NumericColumn {
        name: name.into(),
        log1p,
        clip: Some([center - 10.0 * scale, center + 10.0 * scale]),
        fill: center,
        scaling: Scaling { kind: ScaleKind::Zscore, center, scale },
        mean: center,
        std: scale,
        min: center - 3.0 * scale,
        max: center + 3.0 * scale,
        missing: 1,
    }
}

/// A valid two-segment K-Means model: x, log1p y, and a two-level category.
fn kmeans_model() -> Model {
    let prep = Prep {
        impute: Impute::Mean,
        numeric: vec![numeric("x", false, 10.0, 2.0), numeric("y", true, 1.0, 0.5)],
        categorical: vec![CategoricalColumn {
            name: "c".into(),
            levels: vec!["a".into(), "b".into()],
            counts: vec![3, 4],
        }],
        dropped: vec![],
    };
    let centres = vec![vec![-1.0f32, 0.5, 1.0, 0.0], vec![1.0, -0.5, 0.25, 0.75]];
    let centres_original = centres.iter().map(|c| prep.to_original_units(c)).collect();
    let profile = |c: u32| SegmentProfile {
        segment: c,
        name: None,
        size: 3,
        share: 0.5,
        descriptor: String::new(),
        top_features: vec![],
        features: ["x", "y"]
            .iter()
            .map(|f| FeatureProfile {
                feature: f.to_string(),
                mean: Some(1.0),
                median: None,
                z: 0.5,
                base_mean: None,
                base_median: None,
            })
            .collect(),
        category_shares: vec![("c=a".into(), 0.5), ("c=b".into(), 0.5)],
        over_represented: vec![],
    };
    Model {
        format_version: FORMAT_VERSION,
        custseg_version: "test".into(),
        segmenter: SavedSegmenter::KMeans {
            kmeans: KMeansRecord {
                init: "k-means++".into(),
                n_init: 1,
                max_iter: 10,
                tol: 1e-4,
                seed: 1,
                iterations: 3,
                converged: true,
                inertia: 2.5,
            },
        },
        id_column: Some("id".into()),
        weights_column: None,
        features: vec!["x".into(), "y".into(), "c=a".into(), "c=b".into()],
        prep,
        k: 2,
        centres,
        centres_original,
        segment_sizes: vec![3, 3],
        segment_weights: vec![3.0, 3.0],
        profiles: vec![profile(0), profile(1)],
        input: InputFingerprint { files: vec![], rows_read: 6, rows_used: 6, schema: vec![] },
        segment_names: Default::default(),
        rules: None,
        outputs: vec![],
        segment_ids: vec![],
        next_segment_id: 0,
        drift_reference: None,
    }
}

/// The same model as a mixture with `covariance`.
fn gmm_model(covariance: CovarianceType) -> Model {
    let base = kmeans_model();
    let (k, d) = (2, 4);
    let identity = |v: f64| (0..d * d).map(|i| if i % (d + 1) == 0 { v } else { 0.1 * v }).collect::<Vec<f64>>();
    let covariances = match covariance {
        CovarianceType::Full => [identity(0.5), identity(0.25)].concat(),
        CovarianceType::Tied => identity(0.5),
        CovarianceType::Diag => vec![0.5; k * d],
        CovarianceType::Spherical => vec![0.5, 0.25],
    };
    let mixture = Mixture {
        covariance,
        k,
        dim: d,
        weights: vec![0.4, 0.6],
        means: base.centres.concat().iter().map(|&v| v as f64).collect(),
        covariances,
    };
    // In original units: scaled back by x's and y's scales (2 and 0.5); one-hot columns as they are.
    let scales = [2.0, 0.5, 1.0, 1.0];
    let covariances_original = (0..k)
        .map(|c| {
            mixture.covariance_matrix(c).iter().enumerate().map(|(i, v)| v * scales[i / d] * scales[i % d]).collect()
        })
        .collect();
    Model {
        segmenter: SavedSegmenter::Gmm {
            gmm: GmmRecord {
                mixture,
                covariances_original,
                init: "kmeans".into(),
                n_init: 1,
                max_iter: 100,
                tol: 1e-3,
                reg_covar: 1e-6,
                seed: 1,
                iterations: 4,
                converged: true,
                lower_bound: -3.0,
                mean_log_likelihood: -3.0,
                bic: 40.0,
                aic: 38.0,
            },
        },
        ..base
    }
}

fn mixture_of(model: &mut Model) -> &mut Mixture {
    match &mut model.segmenter {
        SavedSegmenter::Gmm { gmm } => &mut gmm.mixture,
        other => panic!("not a mixture: {other:?}"),
    }
}

/// Applies `damage_it` to `model` and returns the field validate names (and the message).
fn refused(mut model: Model, damage_it: impl FnOnce(&mut Model)) -> (String, String) {
    damage_it(&mut model);
    let d = validate(&model).expect_err("the damage is refused");
    (d.field.clone(), d.to_string())
}

const ALL_COVARIANCES: [CovarianceType; 4] =
    [CovarianceType::Full, CovarianceType::Diag, CovarianceType::Tied, CovarianceType::Spherical];

#[test]
fn valid_models_of_every_algorithm_and_covariance_pass() {
    assert_eq!(validate(&kmeans_model()), Ok(()));
    let mut minibatch = kmeans_model();
    let SavedSegmenter::KMeans { kmeans } = minibatch.segmenter.clone() else { unreachable!() };
    minibatch.segmenter = SavedSegmenter::MiniBatchKMeans { kmeans };
    assert_eq!(validate(&minibatch), Ok(()));
    for covariance in ALL_COVARIANCES {
        assert_eq!(validate(&gmm_model(covariance)), Ok(()), "{covariance:?}");
    }
    let no_profiles = Model { profiles: vec![], ..kmeans_model() };
    assert_eq!(validate(&no_profiles), Ok(()));
}

#[test]
fn a_format_version_out_of_range_is_named() {
    for version in [0, FORMAT_VERSION + 1] {
        let (field, _) = refused(kmeans_model(), |m| m.format_version = version);
        assert_eq!(field, "format_version");
    }
}

#[test]
fn k_and_every_per_segment_list_must_agree() {
    assert_eq!(refused(kmeans_model(), |m| m.k = 0).0, "k");
    assert_eq!(refused(kmeans_model(), |m| m.k = 3).0, "centres");
    assert_eq!(refused(kmeans_model(), |m| m.centres_original.pop().map(drop).unwrap()).0, "centres_original");
    assert_eq!(refused(kmeans_model(), |m| m.segment_sizes.push(1)).0, "segment_sizes");
    assert_eq!(refused(kmeans_model(), |m| m.segment_weights.clear()).0, "segment_weights");
    assert_eq!(refused(kmeans_model(), |m| m.segment_weights[1] = -1.0).0, "segment_weights[1]");
    let (field, message) = refused(kmeans_model(), |m| {
        m.k = 0;
        m.centres.clear();
    });
    assert_eq!(field, "k", "{message}");
}

#[test]
fn features_must_be_the_prep_output_columns() {
    assert_eq!(refused(kmeans_model(), |m| m.features.clear()).0, "features");
    assert_eq!(refused(kmeans_model(), |m| m.features[1] = "x".into()).0, "features[1]");
    assert_eq!(refused(kmeans_model(), |m| m.features[3] = "c=z".into()).0, "features[3]");
    let (field, message) = refused(kmeans_model(), |m| {
        m.prep.numeric.pop();
    });
    assert_eq!(field, "features", "{message}");
    assert!(message.contains("1 from prep.numeric"), "{message}");
    let another_level = |m: &mut Model| {
        m.prep.categorical[0].levels.push("c".into());
        m.prep.categorical[0].counts.push(1);
    };
    assert_eq!(refused(kmeans_model(), another_level).0, "features");
}

#[test]
fn centres_must_be_finite_and_within_what_the_prep_produces() {
    assert_eq!(refused(kmeans_model(), |m| m.centres[0].pop().map(drop).unwrap()).0, "centres[0]");
    for bad in [f32::NAN, f32::INFINITY, 1e30] {
        let (field, message) = refused(kmeans_model(), |m| m.centres[1][2] = bad);
        assert_eq!(field, "centres[1][2]", "{message}");
    }
    assert_eq!(refused(kmeans_model(), |m| m.centres_original[0][1] = f64::NAN).0, "centres_original[0][1]");
}

#[test]
fn centres_in_original_units_must_match_the_prep() {
    // A flipped log1p flag, an altered scale or centre: centres would mean something else.
    assert_eq!(refused(kmeans_model(), |m| m.prep.numeric[1].log1p = false).0, "centres_original[0][1]");
    assert_eq!(refused(kmeans_model(), |m| m.prep.numeric[0].scaling.scale = 3.0).0, "centres_original[0][0]");
    assert_eq!(refused(kmeans_model(), |m| m.centres_original[1][3] = 0.5).0, "centres_original[1][3]");
}

#[test]
fn numeric_prep_columns_need_finite_statistics_and_a_positive_scale() {
    type DamageColumn = fn(&mut NumericColumn);
    let cases: [(&str, DamageColumn); 10] = [
        ("prep.numeric[0].scaling.scale", |c| c.scaling.scale = -2.0),
        ("prep.numeric[0].scaling.scale", |c| c.scaling.scale = 0.0),
        ("prep.numeric[0].scaling.center", |c| c.scaling.center = f64::NAN),
        ("prep.numeric[0].clip", |c| c.clip = Some([5.0, 1.0])),
        ("prep.numeric[0].clip[1]", |c| c.clip = Some([1.0, f64::INFINITY])),
        ("prep.numeric[0].fill", |c| c.fill = f64::INFINITY),
        ("prep.numeric[0].std", |c| c.std = -1.0),
        ("prep.numeric[0].mean", |c| c.mean = f64::NAN),
        ("prep.numeric[0].min", |c| c.min = 1e9),
        ("prep.numeric[0].name", |c| c.name.clear()),
    ];
    for (want, damage_it) in cases {
        let (field, message) = refused(kmeans_model(), |m| damage_it(&mut m.prep.numeric[0]));
        assert_eq!(field, want, "{message}");
    }
    let (field, _) = refused(kmeans_model(), |m| m.prep.numeric[1].name = "x".into());
    assert_eq!(field, "prep.numeric[1].name");
}

#[test]
fn categorical_prep_columns_need_distinct_levels_and_counts() {
    assert_eq!(refused(kmeans_model(), |m| m.prep.categorical[0].levels.clear()).0, "prep.categorical[0].levels");
    assert_eq!(
        refused(kmeans_model(), |m| m.prep.categorical[0].levels[1] = "a".into()).0,
        "prep.categorical[0].levels[1]"
    );
    assert_eq!(
        refused(kmeans_model(), |m| m.prep.categorical[0].counts.pop().map(drop).unwrap()).0,
        "prep.categorical[0].counts"
    );
    assert_eq!(refused(kmeans_model(), |m| m.prep.categorical[0].name = "x".into()).0, "prep.categorical[0].name");
}

#[test]
fn mixture_weights_must_lie_on_the_simplex() {
    let (field, message) = refused(gmm_model(CovarianceType::Full), |m| mixture_of(m).weights = vec![-1.0, 2.0]);
    assert_eq!(field, "gmm.mixture.weights[0]");
    assert_eq!(message, "gmm.mixture.weights[0] is -1; weights must be ≥ 0 and sum to 1");
    assert_eq!(
        refused(gmm_model(CovarianceType::Diag), |m| mixture_of(m).weights = vec![0.3, 0.3]).0,
        "gmm.mixture.weights"
    );
    assert_eq!(
        refused(gmm_model(CovarianceType::Diag), |m| mixture_of(m).weights[1] = f64::NAN).0,
        "gmm.mixture.weights[1]"
    );
    assert_eq!(
        refused(gmm_model(CovarianceType::Diag), |m| mixture_of(m).weights.pop().map(drop).unwrap()).0,
        "gmm.mixture.weights"
    );
    // A zero weight is a component that never wins, not damage.
    let mut zero = gmm_model(CovarianceType::Full);
    mixture_of(&mut zero).weights = vec![0.0, 1.0];
    assert_eq!(validate(&zero), Ok(()));
}

#[test]
fn mixture_shapes_follow_k_features_and_the_covariance_type() {
    for covariance in ALL_COVARIANCES {
        let cov = |m: &mut Model| mixture_of(m).covariances.pop().map(drop).unwrap();
        assert_eq!(refused(gmm_model(covariance), cov).0, "gmm.mixture.covariances", "{covariance:?}");
        let means = |m: &mut Model| mixture_of(m).means.truncate(3);
        assert_eq!(refused(gmm_model(covariance), means).0, "gmm.mixture.means", "{covariance:?}");
    }
    assert_eq!(refused(gmm_model(CovarianceType::Full), |m| mixture_of(m).k = 3).0, "gmm.mixture.k");
    assert_eq!(refused(gmm_model(CovarianceType::Full), |m| mixture_of(m).dim = 2).0, "gmm.mixture.dim");
    assert_eq!(refused(gmm_model(CovarianceType::Full), |m| mixture_of(m).means[5] = 9.0).0, "gmm.mixture.means[5]");
    assert_eq!(
        refused(gmm_model(CovarianceType::Full), |m| mixture_of(m).means[0] = f64::NAN).0,
        "gmm.mixture.means[0]"
    );
}

#[test]
fn covariances_must_be_finite_and_positive_definite() {
    assert_eq!(
        refused(gmm_model(CovarianceType::Diag), |m| mixture_of(m).covariances[3] = 0.0).0,
        "gmm.mixture.covariances[3]"
    );
    assert_eq!(
        refused(gmm_model(CovarianceType::Spherical), |m| mixture_of(m).covariances[1] = -0.5).0,
        "gmm.mixture.covariances[1]"
    );
    assert_eq!(
        refused(gmm_model(CovarianceType::Full), |m| mixture_of(m).covariances[2] = f64::NAN).0,
        "gmm.mixture.covariances[2]"
    );
    assert_eq!(
        refused(gmm_model(CovarianceType::Full), |m| mixture_of(m).covariances[1] = 0.3).0,
        "gmm.mixture.covariances[1]"
    );
    // Symmetric but indefinite: off-diagonals larger than the diagonal.
    let (field, message) = refused(gmm_model(CovarianceType::Full), |m| {
        let c = &mut mixture_of(m).covariances;
        (c[16 + 1], c[16 + 4]) = (5.0, 5.0);
    });
    assert_eq!(field, "gmm.mixture.covariances[16..32]", "{message}");
    assert!(message.contains("not positive definite"), "{message}");
    assert_eq!(
        refused(gmm_model(CovarianceType::Tied), |m| mixture_of(m).covariances.iter_mut().for_each(|v| *v = -*v)).0,
        "gmm.mixture.covariances[0..16]"
    );
    // Positive but so small the GPU's f32 precision factors would overflow.
    let (field, message) = refused(gmm_model(CovarianceType::Diag), |m| mixture_of(m).covariances[0] = 1e-300);
    assert_eq!(field, "gmm.mixture.covariances", "{message}");
}

#[test]
fn records_and_profiles_are_checked() {
    let inertia = |m: &mut Model| match &mut m.segmenter {
        SavedSegmenter::KMeans { kmeans } => kmeans.inertia = -1.0,
        _ => unreachable!(),
    };
    assert_eq!(refused(kmeans_model(), inertia).0, "kmeans.inertia");
    let bic = |m: &mut Model| match &mut m.segmenter {
        SavedSegmenter::Gmm { gmm } => gmm.bic = f64::NAN,
        _ => unreachable!(),
    };
    assert_eq!(refused(gmm_model(CovarianceType::Full), bic).0, "gmm.bic");
    let original = |m: &mut Model| match &mut m.segmenter {
        SavedSegmenter::Gmm { gmm } => gmm.covariances_original[1].truncate(2),
        _ => unreachable!(),
    };
    assert_eq!(refused(gmm_model(CovarianceType::Full), original).0, "gmm.covariances_original[1]");
    assert_eq!(refused(kmeans_model(), |m| m.profiles.truncate(1)).0, "profiles");
    assert_eq!(refused(kmeans_model(), |m| m.profiles[1].share = 2.0).0, "profiles[1].share");
    assert_eq!(refused(kmeans_model(), |m| m.profiles[0].features[1].z = f64::NAN).0, "profiles[0].features[1].z");
    assert_eq!(refused(kmeans_model(), |m| m.profiles[0].category_shares.clear()).0, "profiles[0].category_shares");
    assert_eq!(refused(kmeans_model(), |m| m.input.rows_used = 7).0, "input.rows_used");
}

#[test]
fn a_damaged_file_is_invalid_data_naming_the_file_and_the_field() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("model.json");
    let mut model = gmm_model(CovarianceType::Full);
    mixture_of(&mut model).weights = vec![-1.0, 2.0];
    std::fs::write(&path, model.to_json()).unwrap();
    let err = Model::load(&path).unwrap_err();
    assert_eq!(err.exit_code(), 3);
    assert_eq!(
        err.to_string(),
        format!(
            "{}: gmm.mixture.weights[0] is -1; weights must be ≥ 0 and sum to 1; the model is damaged, refit it",
            path.display()
        )
    );
}

#[test]
fn segment_ids_must_be_distinct_below_the_next_id_and_match_the_profiles() {
    let with_ids = |m: &mut Model| {
        m.segment_ids = vec![4, 7];
        m.next_segment_id = 8;
        m.profiles[0].segment = 4;
        m.profiles[1].segment = 7;
    };
    let mut valid = kmeans_model();
    with_ids(&mut valid);
    assert_eq!(validate(&valid), Ok(()));
    assert_eq!((valid.ids(), valid.next_id()), (vec![4, 7], 8));
    let (field, problem) = refused(valid.clone(), |m| m.segment_ids = vec![4, 4]);
    assert_eq!(field, "segment_ids[1]", "{problem}");
    let (field, _) = refused(valid.clone(), |m| m.next_segment_id = 7);
    assert_eq!(field, "segment_ids[1]");
    let (field, _) = refused(valid.clone(), |m| m.segment_ids = vec![4]);
    assert_eq!(field, "segment_ids");
    let (field, _) = refused(valid, |m| m.profiles[1].segment = 1);
    assert_eq!(field, "profiles[1].segment");
    // A model without ids numbers its segments 0..k and continues after them.
    assert_eq!((kmeans_model().ids(), kmeans_model().next_id()), (vec![0, 1], 2));
}

#[test]
fn covariances_in_original_units_must_match_the_mixture() {
    for covariance in ALL_COVARIANCES {
        let (field, message) = refused(gmm_model(covariance), |m| match &mut m.segmenter {
            SavedSegmenter::Gmm { gmm } => gmm.covariances_original[1][0] *= 3.0,
            _ => unreachable!(),
        });
        assert_eq!(field, "gmm.covariances_original[1][0]", "{covariance:?}: {message}");
    }
    // The mixture altered but not its copy (labels would change silently): refused too.
    let (field, _) = refused(gmm_model(CovarianceType::Diag), |m| mixture_of(m).covariances[0] *= 2.0);
    assert_eq!(field, "gmm.covariances_original[0][0]");
}
