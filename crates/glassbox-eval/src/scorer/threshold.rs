//! Scorers that compare a measurement with a limit instead of reading text.

use super::{Score, ScoreError};

pub(super) fn max_latency_ms(limit: f64, latency_ms: Option<f64>) -> Result<Score, ScoreError> {
    let latency = measurement("max_latency_ms", "latency", latency_ms)?;
    if latency <= limit {
        return Ok(Score::pass());
    }
    Ok(Score::fail(format!(
        "latency {latency} ms is above the limit of {limit} ms"
    )))
}

pub(super) fn max_cost_usd(limit: f64, cost_usd: Option<f64>) -> Result<Score, ScoreError> {
    let cost = measurement("max_cost_usd", "cost", cost_usd)?;
    if cost <= limit {
        return Ok(Score::pass());
    }
    Ok(Score::fail(format!(
        "cost {cost} USD is above the limit of {limit} USD"
    )))
}

fn measurement(
    scorer: &'static str,
    measurement: &'static str,
    value: Option<f64>,
) -> Result<f64, ScoreError> {
    let value = value.ok_or(ScoreError::MissingMeasurement {
        scorer,
        measurement,
    })?;
    if value.is_finite() && value >= 0.0 {
        return Ok(value);
    }
    Err(ScoreError::InvalidMeasurement { measurement, value })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latency_cases() {
        let cases = [(100.0, 1.0), (1500.0, 1.0), (1500.5, 0.0), (0.0, 1.0)];
        for (latency, want) in cases {
            assert_eq!(
                max_latency_ms(1500.0, Some(latency)).unwrap().value,
                want,
                "{latency}"
            );
        }
    }

    #[test]
    fn cost_cases() {
        let cases = [(0.001, 1.0), (0.01, 1.0), (0.010_001, 0.0)];
        for (cost, want) in cases {
            assert_eq!(
                max_cost_usd(0.01, Some(cost)).unwrap().value,
                want,
                "{cost}"
            );
        }
    }

    #[test]
    fn latency_reason() {
        let score = max_latency_ms(1000.0, Some(1250.0)).unwrap();
        assert_eq!(
            score.reason.unwrap(),
            "latency 1250 ms is above the limit of 1000 ms"
        );
    }

    #[test]
    fn missing_and_invalid_measurements() {
        let missing = max_cost_usd(1.0, None).unwrap_err();
        assert_eq!(
            missing.to_string(),
            "missing cost: the max_cost_usd scorer needs it on the sample"
        );

        let invalid = max_latency_ms(1.0, Some(f64::NAN)).unwrap_err();
        assert_eq!(
            invalid.to_string(),
            "invalid latency NaN: must be a finite number of at least 0"
        );

        let negative = max_latency_ms(1.0, Some(-3.0)).unwrap_err();
        assert!(matches!(negative, ScoreError::InvalidMeasurement { value, .. } if value == -3.0));
    }
}
