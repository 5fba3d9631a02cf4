//! Two-sample Kolmogorov–Smirnov test.

use serde::Serialize;

/// Result of a two-sample Kolmogorov–Smirnov test.
#[derive(Debug, Clone, Copy, PartialEq, Serialize)]
pub struct KsTest {
    /// Maximum distance between the two empirical distribution functions, in `[0, 1]`.
    pub d: f64,
    /// Asymptotic two-sided p-value.
    pub p_value: f64,
}

/// Runs the two-sample Kolmogorov–Smirnov test. Returns `None` when either sample is empty.
///
/// The p-value is the asymptotic Kolmogorov distribution `Q(λ) = 2 Σ (-1)^(j-1) exp(-2 j² λ²)`
/// at `λ = (√n + 0.12 + 0.11 / √n) · D` with `n = n1 · n2 / (n1 + n2)`, as in Numerical
/// Recipes (Press et al., 3rd ed., section 14.3.3). It is an approximation that improves
/// with sample size, and it is rough below about 30 values per sample. Values must be
/// finite.
pub fn ks_two_sample(first: &[f64], second: &[f64]) -> Option<KsTest> {
    if first.is_empty() || second.is_empty() {
        return None;
    }

    let d = ks_statistic(first, second);
    let n1 = first.len() as f64;
    let n2 = second.len() as f64;
    let effective = (n1 * n2 / (n1 + n2)).sqrt();
    let lambda = (effective + 0.12 + 0.11 / effective) * d;
    Some(KsTest {
        d,
        p_value: kolmogorov_survival(lambda),
    })
}

fn ks_statistic(first: &[f64], second: &[f64]) -> f64 {
    let mut first = first.to_vec();
    let mut second = second.to_vec();
    first.sort_by(f64::total_cmp);
    second.sort_by(f64::total_cmp);

    // The distance i/n1 - j/n2 is tracked as the integer i·n2 - j·n1, so equal distances
    // compare equal and D is divided out once, exactly where it is a simple fraction.
    let (n1, n2) = (first.len() as u128, second.len() as u128);
    let (mut i, mut j) = (0, 0);
    let mut max_distance = 0_u128;
    while i < first.len() && j < second.len() {
        // Step past every copy of the smallest value on both sides before comparing, so
        // ties between the samples do not create a false gap.
        let value = first[i].min(second[j]);
        while i < first.len() && first[i] <= value {
            i += 1;
        }
        while j < second.len() && second[j] <= value {
            j += 1;
        }

        let distance = (i as u128 * n2).abs_diff(j as u128 * n1);
        max_distance = max_distance.max(distance);
    }
    max_distance as f64 / (n1 * n2) as f64
}

/// `Q_KS(λ)`, the probability that the Kolmogorov statistic exceeds `λ`.
fn kolmogorov_survival(lambda: f64) -> f64 {
    // Below this the series converges slowly and the probability rounds to 1.
    if lambda < 0.2 {
        return 1.0;
    }

    let mut sum = 0.0;
    let mut sign = 1.0;
    for j in 1..=100 {
        let j = f64::from(j);
        let term = sign * (-2.0 * j * j * lambda * lambda).exp();
        sum += term;
        if term.abs() < 1e-16 * sum.abs().max(1e-300) {
            break;
        }
        sign = -sign;
    }
    (2.0 * sum).clamp(0.0, 1.0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn statistic_hand_computed() {
        assert_eq!(ks_statistic(&[1.0, 2.0, 3.0], &[1.0, 2.0, 3.0]), 0.0);
        assert_eq!(ks_statistic(&[1.0, 2.0], &[3.0, 4.0]), 1.0);
        // After 1 and 2 the first sample is at 2/4 and the second at 0/2.
        assert_eq!(ks_statistic(&[1.0, 2.0, 3.0, 4.0], &[2.5, 3.5]), 0.5);
        assert_eq!(ks_statistic(&[1.0, 1.0, 2.0], &[1.0, 2.0, 2.0]), 1.0 / 3.0);
    }

    #[test]
    fn survival_known_values() {
        // Reference values of the Kolmogorov distribution's survival function.
        assert!((kolmogorov_survival(1.0) - 0.269_999_671_677_354_56).abs() < 1e-12);
        assert!((kolmogorov_survival(1.36) - 0.049_485_876_755_377_88).abs() < 1e-12);
        assert_eq!(kolmogorov_survival(0.1), 1.0);
        assert!(kolmogorov_survival(5.0) < 1e-20);
    }

    #[test]
    fn p_value_for_known_d() {
        // 100 values against 100 values shifted so that D is 0.2.
        let first: Vec<f64> = (0..100).map(f64::from).collect();
        let second: Vec<f64> = (20..120).map(f64::from).collect();
        let test = ks_two_sample(&first, &second).unwrap();
        assert_eq!(test.d, 0.2);

        let lambda = (50.0_f64.sqrt() + 0.12 + 0.11 / 50.0_f64.sqrt()) * 0.2;
        assert!((test.p_value - kolmogorov_survival(lambda)).abs() < 1e-15);
        assert!(
            (test.p_value - 0.031_376_652_153_072_53).abs() < 1e-12,
            "{}",
            test.p_value
        );
    }

    #[test]
    fn empty_sample() {
        assert_eq!(ks_two_sample(&[], &[1.0]), None);
    }
}
