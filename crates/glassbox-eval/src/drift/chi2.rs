//! Pearson's chi-square test of homogeneity between two categorical samples.

use std::collections::{BTreeMap, BTreeSet};

/// The result of a chi-square test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ChiSquareTest {
    /// The statistic.
    pub statistic: f64,
    /// Degrees of freedom: categories seen in either sample, minus one.
    pub degrees_of_freedom: usize,
    /// The probability of a statistic at least this large when both samples come from one
    /// distribution.
    pub p_value: f64,
}

/// Tests whether two samples of counts per category come from one distribution. Returns
/// `None` when either sample is empty or only one category occurs.
///
/// The p-value is exact for one degree of freedom and uses the Wilson–Hilferty cube-root
/// approximation of the chi-square distribution above that, which is within about 0.01 of
/// the exact value around the usual thresholds.
pub fn chi_square_two_sample(
    first: &BTreeMap<String, u64>,
    second: &BTreeMap<String, u64>,
) -> Option<ChiSquareTest> {
    let first_total: u64 = first.values().sum();
    let second_total: u64 = second.values().sum();
    let categories: BTreeSet<&String> = first
        .iter()
        .chain(second)
        .filter(|(_, count)| **count > 0)
        .map(|(category, _)| category)
        .collect();
    if first_total == 0 || second_total == 0 || categories.len() < 2 {
        return None;
    }

    let total = (first_total + second_total) as f64;
    let mut statistic = 0.0;
    for category in &categories {
        let observed = [
            first.get(*category).copied().unwrap_or(0) as f64,
            second.get(*category).copied().unwrap_or(0) as f64,
        ];
        let column = observed[0] + observed[1];
        for (count, row_total) in observed.iter().zip([first_total, second_total]) {
            let expected = row_total as f64 * column / total;
            statistic += (count - expected).powi(2) / expected;
        }
    }
    let degrees_of_freedom = categories.len() - 1;
    Some(ChiSquareTest {
        statistic,
        degrees_of_freedom,
        p_value: upper_tail(statistic, degrees_of_freedom),
    })
}

/// Returns P(X ≥ x) for a chi-square variable with `k` degrees of freedom.
fn upper_tail(x: f64, k: usize) -> f64 {
    if x <= 0.0 {
        return 1.0;
    }
    if k == 1 {
        return erfc((x / 2.0).sqrt());
    }
    let k = k as f64;
    let spread = 2.0 / (9.0 * k);
    let z = ((x / k).cbrt() - (1.0 - spread)) / spread.sqrt();
    0.5 * erfc(z / std::f64::consts::SQRT_2)
}

/// The complementary error function, from Numerical Recipes' Chebyshev fit (`erfcc`),
/// accurate to about 1.2e-7 everywhere.
fn erfc(x: f64) -> f64 {
    let z = x.abs();
    let t = 1.0 / (1.0 + 0.5 * z);
    let polynomial = -z * z - 1.265_512_23
        + t * (1.000_023_68
            + t * (0.374_091_96
                + t * (0.096_784_18
                    + t * (-0.186_288_06
                        + t * (0.278_868_07
                            + t * (-1.135_203_98
                                + t * (1.488_515_87 + t * (-0.822_152_23 + t * 0.170_872_77))))))));
    let value = t * polynomial.exp();
    if x >= 0.0 { value } else { 2.0 - value }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, u64)]) -> BTreeMap<String, u64> {
        pairs
            .iter()
            .map(|(name, count)| ((*name).to_owned(), *count))
            .collect()
    }

    #[test]
    fn two_by_two_matches_the_textbook() {
        // 90/10 against 60/40: chi-square 24.0 with one degree of freedom.
        let test = chi_square_two_sample(
            &counts(&[("flagged", 10), ("not_flagged", 90)]),
            &counts(&[("flagged", 40), ("not_flagged", 60)]),
        )
        .unwrap();
        assert!((test.statistic - 24.0).abs() < 1e-9, "{}", test.statistic);
        assert_eq!(test.degrees_of_freedom, 1);
        assert!((test.p_value - 9.63e-7).abs() < 1e-8, "{}", test.p_value);
    }

    #[test]
    fn same_shares_give_a_high_p_value() {
        let test = chi_square_two_sample(
            &counts(&[("en", 80), ("fr", 20)]),
            &counts(&[("en", 400), ("fr", 100)]),
        )
        .unwrap();
        assert!(test.statistic.abs() < 1e-9);
        assert_eq!(test.p_value, 1.0);
    }

    #[test]
    fn several_categories_use_the_approximation() {
        // Chi-square 11.07 with 5 degrees of freedom is the 5% critical value.
        assert!((upper_tail(11.07, 5) - 0.05).abs() < 0.005);
        // 3.84 with 1 degree of freedom is the 5% critical value.
        assert!((upper_tail(3.841, 1) - 0.05).abs() < 0.001);
    }

    #[test]
    fn empty_or_single_category_has_no_test() {
        assert!(chi_square_two_sample(&counts(&[]), &counts(&[("en", 3)])).is_none());
        assert!(chi_square_two_sample(&counts(&[("en", 3)]), &counts(&[("en", 5)])).is_none());
    }

    #[test]
    fn erfc_known_values() {
        assert!((erfc(0.0) - 1.0).abs() < 1e-7);
        assert!((erfc(1.0) - 0.157_299_207).abs() < 1e-7);
        assert!((erfc(-1.0) - 1.842_700_793).abs() < 1e-7);
    }
}
