//! Generation speed of model calls: time per output token and output tokens per second.

use glassbox_model::{Span, SpanKind};

/// Sets `time_per_output_token_ms` and `output_tokens_per_second` on a model call where the
/// crate documentation's definitions give a value; leaves them unchanged otherwise.
pub(crate) fn set_speed(span: &mut Span) {
    if span.kind != SpanKind::Llm {
        return;
    }
    let Some(output) = span.usage.output.filter(|output| *output > 0) else {
        return;
    };
    let duration_ms = span.duration_ms();
    if duration_ms <= 0.0 {
        return;
    }
    let output = output as f64;

    if let Some(generation_ms) = generation_ms(span, duration_ms) {
        if output > 1.0 {
            span.time_per_output_token_ms = Some(generation_ms / (output - 1.0));
        }
        span.output_tokens_per_second = Some(output / (generation_ms / 1000.0));
    } else if span.streaming != Some(true) {
        span.output_tokens_per_second = Some(output / (duration_ms / 1000.0));
    }
}

/// Returns the time from the first token to the end of the span, when the call is not known
/// to be non-streamed and the time to first token is known and shorter than the span.
///
/// A non-streamed call is excluded because some instrumentations set the time to first token
/// equal to the whole duration there.
fn generation_ms(span: &Span, duration_ms: f64) -> Option<f64> {
    if span.streaming == Some(false) {
        return None;
    }
    let ttft_ms = span
        .ttft_ms
        .filter(|ttft| ttft.is_finite() && *ttft >= 0.0)?;
    let generation_ms = duration_ms - ttft_ms;
    (generation_ms > 0.0).then_some(generation_ms)
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassbox_model::{SpanId, TraceId};

    const MS: u64 = 1_000_000;

    fn call(
        duration_ms: u64,
        ttft_ms: Option<f64>,
        output: Option<u64>,
        streaming: Option<bool>,
    ) -> Span {
        let mut span = Span::new(TraceId([1; 16]), SpanId([1; 8]), "chat");
        span.kind = SpanKind::Llm;
        span.start_time_unix_nano = 1_000 * MS;
        span.end_time_unix_nano = span.start_time_unix_nano + duration_ms * MS;
        span.ttft_ms = ttft_ms;
        span.usage.output = output;
        span.streaming = streaming;
        set_speed(&mut span);
        span
    }

    #[test]
    fn streamed_call_with_ttft() {
        // 1,100 ms in all, first token at 100 ms: 1,000 ms for 11 tokens, 10 gaps of 100 ms.
        let span = call(1_100, Some(100.0), Some(11), Some(true));
        assert_eq!(span.time_per_output_token_ms, Some(100.0));
        assert_eq!(span.output_tokens_per_second, Some(11.0));
    }

    #[test]
    fn non_streamed_call_uses_whole_duration() {
        // 20 tokens in 2 s.
        let span = call(2_000, None, Some(20), None);
        assert_eq!(span.time_per_output_token_ms, None);
        assert_eq!(span.output_tokens_per_second, Some(10.0));
        // A time to first token equal to the duration on a non-streamed call is ignored.
        let span = call(2_000, Some(2_000.0), Some(20), Some(false));
        assert_eq!(span.output_tokens_per_second, Some(10.0));
    }

    #[test]
    fn streamed_call_without_ttft_has_no_speed() {
        let span = call(2_000, None, Some(20), Some(true));
        assert_eq!(span.output_tokens_per_second, None);
        assert_eq!(span.time_per_output_token_ms, None);
    }

    #[test]
    fn one_output_token_has_no_time_per_token() {
        // 1 token over the 500 ms after the first token.
        let span = call(600, Some(100.0), Some(1), Some(true));
        assert_eq!(span.time_per_output_token_ms, None);
        assert_eq!(span.output_tokens_per_second, Some(2.0));
    }

    #[test]
    fn missing_inputs_give_none() {
        for span in [
            call(1_000, Some(100.0), Some(0), Some(true)),
            call(1_000, Some(100.0), None, Some(true)),
            call(0, Some(100.0), Some(10), Some(true)),
        ] {
            assert_eq!(span.time_per_output_token_ms, None);
            assert_eq!(span.output_tokens_per_second, None);
        }
    }
}
