use std::collections::BTreeMap;

use glassbox_eval::drift::ks_two_sample;
use glassbox_eval::{DriftConfig, DriftLevel, compare_categorical, compare_numeric};

/// Draws `count` values from a normal distribution with the Box–Muller transform.
fn normal_sample(seed: u64, count: usize, mean: f64, sd: f64) -> Vec<f64> {
    let mut rng = fastrand::Rng::with_seed(seed);
    (0..count)
        .map(|_| {
            let u1 = 1.0 - rng.f64();
            let u2 = rng.f64();
            let z = (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos();
            mean + sd * z
        })
        .collect()
}

#[test]
fn same_distribution_is_stable() {
    let baseline = normal_sample(1, 2000, 500.0, 80.0);
    let recent = normal_sample(2, 2000, 500.0, 80.0);
    let stat = compare_numeric(&baseline, &recent);

    assert_eq!(stat.level, DriftLevel::Stable);
    assert!(stat.psi.unwrap() < 0.02, "{stat:?}");
    assert!(stat.ks_d.unwrap() < 0.05, "{stat:?}");
    assert!(stat.ks_p_value.unwrap() > 0.05, "{stat:?}");
    assert_eq!((stat.baseline_n, stat.recent_n), (2000, 2000));
    assert!(
        (stat.baseline_mean.unwrap() - 500.0).abs() < 5.0,
        "{stat:?}"
    );
}

#[test]
fn one_sd_shift_is_significant() {
    let baseline = normal_sample(3, 2000, 500.0, 80.0);
    let recent = normal_sample(4, 2000, 580.0, 80.0);
    let stat = compare_numeric(&baseline, &recent);

    assert_eq!(stat.level, DriftLevel::Significant);
    // Decile-binned PSI of N(0, 1) against N(1, 1) is about 1.0.
    assert!((0.8..1.05).contains(&stat.psi.unwrap()), "{stat:?}");
    // The KS distance of a one-sd shift is 2Φ(0.5) - 1 ≈ 0.383.
    assert!((stat.ks_d.unwrap() - 0.383).abs() < 0.04, "{stat:?}");
    assert!(stat.ks_p_value.unwrap() < 1e-30, "{stat:?}");
    assert!((stat.recent_mean.unwrap() - stat.baseline_mean.unwrap() - 80.0).abs() < 8.0);
}

#[test]
fn small_shift_is_moderate() {
    let baseline = normal_sample(5, 5000, 0.0, 1.0);
    let recent = normal_sample(6, 5000, 0.4, 1.0);
    let stat = compare_numeric(&baseline, &recent);
    assert_eq!(stat.level, DriftLevel::Moderate, "{stat:?}");
    // PSI of a 0.4 sd shift is close to 0.4², the symmetric divergence of the normals.
    assert!((0.12..0.2).contains(&stat.psi.unwrap()), "{stat:?}");
}

#[test]
fn ks_same_seed_is_zero() {
    let sample = normal_sample(7, 300, 0.0, 1.0);
    let test = ks_two_sample(&sample, &sample).unwrap();
    assert_eq!(test.d, 0.0);
    assert_eq!(test.p_value, 1.0);
}

#[test]
fn constant_latency_is_stable_not_nan() {
    let stat = compare_numeric(&[250.0; 50], &[250.0; 50]);
    assert_eq!(stat.psi, Some(0.0));
    assert_eq!(stat.ks_d, Some(0.0));
    assert_eq!(stat.level, DriftLevel::Stable);
}

#[test]
fn language_mix_drift() {
    let counts = |pairs: &[(&str, u64)]| -> BTreeMap<String, u64> {
        pairs
            .iter()
            .map(|(key, count)| ((*key).to_owned(), *count))
            .collect()
    };
    let baseline = counts(&[("en", 700), ("de", 200), ("fr", 100)]);

    let same = compare_categorical(&baseline, &counts(&[("en", 70), ("de", 20), ("fr", 10)]));
    assert_eq!(same.psi, Some(0.0));
    assert_eq!(same.level, DriftLevel::Stable);
    assert_eq!((same.baseline_n, same.recent_n), (1000, 100));
    assert_eq!(same.ks_d, None);

    let shifted = compare_categorical(&baseline, &counts(&[("en", 40), ("de", 20), ("ja", 40)]));
    let want = (0.4 - 0.7) * (0.4_f64 / 0.7).ln()
        + (0.0001 - 0.1) * (0.0001_f64 / 0.1).ln()
        + (0.4 - 0.0001) * (0.4_f64 / 0.0001).ln();
    assert!((shifted.psi.unwrap() - want).abs() < 1e-12, "{shifted:?}");
    assert_eq!(shifted.level, DriftLevel::Significant);

    let small = compare_categorical(&baseline, &counts(&[("ja", 5)]));
    assert_eq!(small.level, DriftLevel::InsufficientData);
    assert!(small.psi.is_some());
}

#[test]
fn config_from_json_with_defaults() {
    let config: DriftConfig = serde_json::from_str(r#"{"min_samples": 100}"#).unwrap();
    assert_eq!(
        config,
        DriftConfig {
            min_samples: 100,
            ..DriftConfig::default()
        }
    );
    assert!(serde_json::from_str::<DriftConfig>(r#"{"bin": 5}"#).is_err());
}
