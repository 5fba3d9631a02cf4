use glassbox_analyze::{Analyzer, AnalyzerConfig, Part, analyze};
use glassbox_model::{Message, SpanEvent, ToolCall};
use serde_json::{Value, json};

use crate::{flags_of, input_text, llm_span};

const EMAIL: &str = "jane.doe@acme.io";
const CARD: &str = "4111 1111 1111 1111";
const KEY: &str = "sk-proj-4fJ8kQ2mZx9LwR7tYb3NcVd6HsPa1EgU0oIiKjTq_5lBnM-8yXwZ";

fn masking_config() -> AnalyzerConfig {
    AnalyzerConfig {
        mask_pii: true,
        mask_secrets: true,
        ..AnalyzerConfig::default()
    }
}

fn sensitive_span() -> glassbox_model::Span {
    let user = format!("I am {EMAIL}, card {CARD}, and my key is {KEY}. Thanks!");
    let mut call = Message::text("assistant", "");
    call.content = None;
    call.tool_calls.push(ToolCall {
        id: Some("call_1".to_owned()),
        name: "send_mail".to_owned(),
        arguments: json!({"to": [EMAIL], "note": {"body": format!("card {CARD}")}, "count": 2}),
    });
    let mut span = llm_span(
        vec![Message::text("user", user.clone()), call],
        vec![Message::text(
            "assistant",
            format!("I will write to {EMAIL}."),
        )],
    );
    span.attributes.insert(
        "gen_ai.input.messages".to_owned(),
        Value::String(json!([{"role": "user", "content": user}]).to_string()),
    );
    span.attributes.insert(
        "llm.input_messages.0.message.content".to_owned(),
        Value::String(user),
    );
    span.metadata.insert("customer".to_owned(), json!(EMAIL));
    span.events.push(SpanEvent {
        name: "gen_ai.choice".to_owned(),
        time_unix_nano: 1,
        attributes: serde_json::Map::from_iter([(
            "content".to_owned(),
            json!(format!("to {EMAIL}")),
        )]),
    });
    span
}

#[test]
fn masked_values_leave_the_span() {
    let mut span = sensitive_span();

    analyze(&mut span, &masking_config());

    let stored = serde_json::to_string(&span).unwrap();
    for original in [EMAIL, CARD, KEY] {
        assert!(!stored.contains(original), "{original} is still stored");
    }
    assert_eq!(
        input_text(&span, 0),
        "I am [EMAIL], card [CREDIT_CARD], and my key is [OPENAI_API_KEY]. Thanks!"
    );
    let arguments = &span.input_messages.as_ref().unwrap()[1].tool_calls[0].arguments;
    assert_eq!(
        arguments,
        &json!({"to": ["[EMAIL]"], "note": {"body": "card [CREDIT_CARD]"}, "count": 2})
    );
    assert_eq!(span.metadata["customer"], json!("[EMAIL]"));
}

#[test]
fn positions_point_at_placeholders() {
    let mut span = sensitive_span();

    let analysis = analyze(&mut span, &masking_config());

    let text = input_text(&span, 0);
    let mut in_content = 0;
    for flag in flags_of(&analysis, Analyzer::Pii)
        .into_iter()
        .chain(flags_of(&analysis, Analyzer::Secrets))
    {
        let location = &flag.location;
        let placeholder = match flag.finding.as_str() {
            "email" => "[EMAIL]",
            "credit_card" => "[CREDIT_CARD]",
            "openai_api_key" => "[OPENAI_API_KEY]",
            other => panic!("unexpected finding {other}"),
        };
        if location.part == Part::Input && location.message_index == Some(0) {
            assert_eq!(&text[location.start..location.end], placeholder);
            in_content += 1;
        }
        assert!(flag.message.contains("masked as"), "{}", flag.message);
    }
    assert_eq!(in_content, 3);
}

#[test]
fn tool_call_flags_name_the_argument() {
    let mut span = sensitive_span();

    let analysis = analyze(&mut span, &masking_config());

    let mut pointers: Vec<(&str, &str)> = flags_of(&analysis, Analyzer::Pii)
        .into_iter()
        .filter(|flag| flag.location.tool_call_index == Some(0))
        .map(|flag| {
            (
                flag.finding.as_str(),
                flag.location.argument_path.as_deref().unwrap(),
            )
        })
        .collect();
    pointers.sort();
    assert_eq!(
        pointers,
        vec![("credit_card", "/note/body"), ("email", "/to/0")]
    );
}

#[test]
fn without_masking_positions_point_at_originals() {
    let mut span = sensitive_span();
    let before = span.clone();

    let analysis = analyze(&mut span, &AnalyzerConfig::default());

    assert_eq!(span, before);
    let text = input_text(&span, 0);
    let email = flags_of(&analysis, Analyzer::Pii)
        .into_iter()
        .find(|flag| flag.finding == "email" && flag.location.message_index == Some(0))
        .unwrap();
    assert_eq!(&text[email.location.start..email.location.end], EMAIL);
    assert_eq!(email.message, "email address");
}

#[test]
fn masking_works_with_analyzer_disabled() {
    let mut span = sensitive_span();
    let config = AnalyzerConfig {
        enabled: vec![Analyzer::Refusal],
        mask_pii: true,
        mask_secrets: false,
    };

    let analysis = analyze(&mut span, &config);

    assert!(analysis.flags.is_empty(), "{:?}", analysis.flags);
    let text = input_text(&span, 0);
    assert!(!text.contains(EMAIL));
    assert!(
        text.contains(KEY),
        "secrets are masked only with mask_secrets"
    );
}

#[test]
fn private_key_is_masked_in_json_attributes() {
    let key = "-----BEGIN PRIVATE KEY-----\nMIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcwggSjAgEAAoIBAQC7VJTUt9Us8cKj\nMzEfYyjiWA4R4/M2bS1GB4t7NXp98C3SC6dVMvDuictGeurT8jNbvJZHtCSuYEvu\n-----END PRIVATE KEY-----";
    let user = format!("Why does this fail?\n{key}");
    let mut span = llm_span(vec![Message::text("user", user.clone())], Vec::new());
    span.attributes.insert(
        "gen_ai.input.messages".to_owned(),
        Value::String(json!([{"role": "user", "content": user}]).to_string()),
    );

    let analysis = analyze(&mut span, &masking_config());

    assert_eq!(input_text(&span, 0), "Why does this fail?\n[PRIVATE_KEY]");
    let attribute = span.attributes["gen_ai.input.messages"].as_str().unwrap();
    assert!(
        !attribute.contains("MIIEvQIBADANBgkqhkiG9w0BAQEFAASCBKcw"),
        "{attribute}"
    );
    assert!(attribute.contains("[PRIVATE_KEY]"));
    let secrets = flags_of(&analysis, Analyzer::Secrets);
    assert_eq!(secrets.len(), 1);
    assert_eq!(secrets[0].finding, "private_key");
}

#[test]
fn placeholders_of_earlier_masking_keep_their_flags() {
    let text = "Reach me at [EMAIL], key [OPENAI_API_KEY]";
    let mut span = llm_span(vec![Message::text("user", text)], Vec::new());

    let analysis = analyze(&mut span, &masking_config());

    assert_eq!(input_text(&span, 0), text, "placeholders stay as they are");
    let findings: Vec<(&str, usize, usize)> = analysis
        .flags
        .iter()
        .filter(|flag| matches!(flag.analyzer, Analyzer::Pii | Analyzer::Secrets))
        .map(|flag| {
            (
                flag.finding.as_str(),
                flag.location.start,
                flag.location.end,
            )
        })
        .collect();
    assert_eq!(findings, [("email", 12, 19), ("openai_api_key", 25, 41)]);
    assert!(span.attributes.is_empty(), "nothing to scrub");
}

#[test]
fn placeholders_are_plain_text_without_masking() {
    let mut span = llm_span(
        vec![Message::text("user", "Fill in [EMAIL] here")],
        Vec::new(),
    );

    let analysis = analyze(&mut span, &AnalyzerConfig::default());

    assert!(flags_of(&analysis, Analyzer::Pii).is_empty());
}

#[test]
fn flags_are_capped_per_finding() {
    let text = "write to ana.silva@northwind-mail.com now. ".repeat(250);
    let mut span = llm_span(vec![Message::text("user", text)], Vec::new());

    let analysis = analyze(&mut span, &masking_config());

    let emails = flags_of(&analysis, Analyzer::Pii);
    assert_eq!(emails.len(), glassbox_analyze::MAX_FLAGS_PER_FINDING);
    assert!(
        emails[99].message.ends_with("; 150 more not listed"),
        "{}",
        emails[99].message
    );
    assert!(!emails[98].message.contains("more not listed"));
    assert!(
        !input_text(&span, 0).contains("northwind-mail"),
        "every match is masked"
    );
}
