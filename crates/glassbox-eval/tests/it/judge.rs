use glassbox_eval::judge::DEFAULT_SYSTEM_PROMPT;
use glassbox_eval::{
    ChatRequestOptions, JudgeError, JudgeInputs, JudgeScale, JudgeTemplate,
    chat_completions_request, chat_completions_text, parse_verdict,
};
use serde_json::json;

fn scale(min: f64, max: f64) -> JudgeScale {
    JudgeScale::new(min, max).unwrap()
}

#[test]
fn verdicts_from_realistic_replies() {
    let cases: &[(&str, JudgeScale, f64, Option<&str>)] = &[
        (
            r#"{"score": 0.9, "reason": "Correct and concise."}"#,
            JudgeScale::default(),
            0.9,
            Some("Correct and concise."),
        ),
        (
            "```json\n{\n  \"score\": 4,\n  \"reason\": \"Mostly right, misses one edge case.\"\n}\n```",
            scale(1.0, 5.0),
            0.75,
            Some("Mostly right, misses one edge case."),
        ),
        (
            "Sure! Here is my evaluation:\n\n```json\n{\"reasoning\": \"The answer cites the wrong year.\", \"score\": 2}\n```\nLet me know if you need more.",
            scale(0.0, 10.0),
            0.2,
            Some("The answer cites the wrong year."),
        ),
        (
            "The response addresses the question directly and gives the right formula. \
             It omits units in the final step.\n\nScore: 4/5",
            scale(0.0, 5.0),
            0.8,
            None,
        ),
        (
            "**Rating:** 7 out of 10\n\nClear but verbose.",
            scale(0.0, 10.0),
            0.7,
            None,
        ),
        ("8", scale(0.0, 10.0), 0.8, None),
        ("0.35\n", JudgeScale::default(), 0.35, None),
        (
            "A score of 3 would mean partially correct. This one is fully correct.\nFinal score: 5",
            scale(1.0, 5.0),
            1.0,
            None,
        ),
        (
            r#"{"SCORE": "7/10", "Explanation": "Fine."}"#,
            scale(0.0, 10.0),
            0.7,
            Some("Fine."),
        ),
        (
            r#"I think {"score": 0.6, "reason": "partly relevant"} is fair."#,
            JudgeScale::default(),
            0.6,
            Some("partly relevant"),
        ),
        ("Score: 1", scale(1.0, 5.0), 0.0, None),
    ];
    for (text, scale, want, reason) in cases {
        let verdict = parse_verdict(text, scale).unwrap_or_else(|error| panic!("{text}: {error}"));
        assert!(
            (verdict.score - want).abs() < 1e-12,
            "{text}: {}",
            verdict.score
        );
        if let Some(reason) = reason {
            assert_eq!(verdict.reason.as_deref(), Some(*reason), "{text}");
        }
    }
}

#[test]
fn prose_verdict_keeps_text_as_reason() {
    let text = "Helpful and accurate.\nScore: 9/10";
    let verdict = parse_verdict(text, &scale(0.0, 10.0)).unwrap();
    assert_eq!(verdict.raw_score, 9.0);
    assert_eq!(verdict.reason.as_deref(), Some(text));

    let bare = parse_verdict("9", &scale(0.0, 10.0)).unwrap();
    assert_eq!(bare.reason, None);
}

#[test]
fn unparsable_replies() {
    let long_garbage = "I am unable to assess this response because ".repeat(10);
    let cases = [
        "",
        "The response is good.",
        r#"{"verdict": "pass"}"#,
        "```json\n{\"score\": \"high\"}\n```",
        long_garbage.as_str(),
    ];
    for text in cases {
        let error = parse_verdict(text, &JudgeScale::default()).unwrap_err();
        let JudgeError::Unparsable { excerpt } = &error else {
            panic!("{text}: {error}");
        };
        assert!(excerpt.chars().count() <= 101, "{excerpt}");
    }

    let error = parse_verdict(&long_garbage, &JudgeScale::default()).unwrap_err();
    let quoted: String = long_garbage.chars().take(100).collect();
    assert_eq!(
        error.to_string(),
        format!(
            "no score found in judge output \"{quoted}…\"; ask for JSON such as {{\"score\": 0.8}}"
        )
    );
}

#[test]
fn out_of_scale_scores() {
    let error = parse_verdict(r#"{"score": 7}"#, &JudgeScale::default()).unwrap_err();
    assert_eq!(
        error.to_string(),
        r#"judge score 7 is outside the scale 0 to 1 (judge output "{\"score\": 7}")"#
    );

    let negative = parse_verdict("Score: -1", &scale(0.0, 10.0)).unwrap_err();
    assert!(matches!(negative, JudgeError::OutOfScale { score, .. } if score == -1.0));

    let zero_on_one_to_five = parse_verdict("0", &scale(1.0, 5.0)).unwrap_err();
    assert!(matches!(zero_on_one_to_five, JudgeError::OutOfScale { .. }));
}

#[test]
fn written_maximum_must_match_scale() {
    let error = parse_verdict("Score: 4/5", &scale(0.0, 10.0)).unwrap_err();
    assert_eq!(
        error.to_string(),
        r#"judge score is out of 5 but the scale is 0 to 10 (judge output "Score: 4/5")"#
    );
}

#[test]
fn invalid_scales() {
    assert_eq!(
        JudgeScale::new(5.0, 1.0),
        Err(JudgeError::InvalidScale { min: 5.0, max: 1.0 })
    );
    assert!(JudgeScale::new(0.0, 0.0).is_err());
    assert!(JudgeScale::new(0.0, f64::INFINITY).is_err());
}

#[test]
fn full_judge_round_trip() {
    let template =
        JudgeTemplate::new("Question: {{input}}\nAnswer: {{output}}\nReference: {{expected}}")
            .unwrap();
    let prompt = template
        .render(&JudgeInputs {
            input: "Capital of France?",
            output: "Paris",
            expected: Some("Paris"),
        })
        .unwrap();
    assert_eq!(
        prompt,
        "Question: Capital of France?\nAnswer: Paris\nReference: Paris"
    );

    let request = chat_completions_request(
        "gpt-4o-mini",
        DEFAULT_SYSTEM_PROMPT,
        &prompt,
        &ChatRequestOptions::default(),
    );
    assert_eq!(request["messages"][1]["content"], json!(prompt));
    assert_eq!(request["response_format"], json!({"type": "json_object"}));

    let response = json!({
        "id": "chatcmpl-abc",
        "object": "chat.completion",
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{
            "index": 0,
            "message": {"role": "assistant", "content": "{\"score\": 1, \"reason\": \"Matches the reference.\"}"},
            "logprobs": null,
            "finish_reason": "stop"
        }]
    });
    let text = chat_completions_text(&response).unwrap();
    let verdict = parse_verdict(&text, &JudgeScale::default()).unwrap();
    assert_eq!(verdict.score, 1.0);
    assert_eq!(verdict.reason.as_deref(), Some("Matches the reference."));
}
