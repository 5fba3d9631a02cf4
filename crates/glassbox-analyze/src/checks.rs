//! The analyzers that read a span without changing it, as flags.

use glassbox_model::{Analyzer, Flag, Location, Message, Part, Span};

use crate::{completion, injection, json_output, language, refusal};

/// Iterates over the messages of one side that have text, with their indexes.
fn texts(messages: Option<&Vec<Message>>) -> impl Iterator<Item = (usize, &Message, &str)> {
    messages
        .into_iter()
        .flatten()
        .enumerate()
        .filter_map(|(index, message)| Some((index, message, message.content.as_deref()?)))
}

fn flag(analyzer: Analyzer, finding: &str, message: String, location: Location) -> Flag {
    Flag {
        analyzer,
        finding: finding.to_owned(),
        message,
        location,
    }
}

/// Flags injection signs in user messages, tool results and messages of unknown roles.
pub(crate) fn prompt_injection(span: &Span) -> Vec<Flag> {
    let untrusted = texts(span.input_messages.as_ref())
        .filter(|(_, message, _)| injection::is_untrusted_role(&message.role));
    let mut flags = Vec::new();
    for (index, _, text) in untrusted {
        for found in injection::detect(text) {
            let location =
                Location::in_content(Part::Input, index, found.range.start, found.range.end);
            flags.push(flag(
                Analyzer::PromptInjection,
                found.finding,
                found.message.to_owned(),
                location,
            ));
        }
    }
    flags
}

/// Flags each output message that opens with a refusal, or the whole output when the
/// finish reason is `refusal` (Anthropic's stop reason for a declined request) and no text
/// was flagged.
pub(crate) fn refusal(span: &Span) -> Vec<Flag> {
    let mut flags: Vec<Flag> = texts(span.output_messages.as_ref())
        .filter_map(|(index, _, text)| {
            let range = refusal::detect(text)?;
            Some(flag(
                Analyzer::Refusal,
                "refusal",
                "the model declined the request".to_owned(),
                Location::in_content(Part::Output, index, range.start, range.end),
            ))
        })
        .collect();

    let refusal_reason = span
        .finish_reasons
        .iter()
        .any(|reason| reason.eq_ignore_ascii_case("refusal"));
    if flags.is_empty() && refusal_reason {
        flags.push(flag(
            Analyzer::Refusal,
            "refusal",
            "the model declined the request (finish reason \"refusal\")".to_owned(),
            Location::whole(Part::Output),
        ));
    }
    flags
}

/// Flags a finished call whose output has neither text nor a tool call.
pub(crate) fn empty_output(span: &Span) -> Option<Flag> {
    completion::is_empty_output(span).then(|| {
        flag(
            Analyzer::EmptyOutput,
            "empty",
            "the model returned neither text nor a tool call".to_owned(),
            Location::whole(Part::Output),
        )
    })
}

/// Flags an output cut off at the token limit. The flag points at the output message of the
/// choice when there is one message per finish reason.
pub(crate) fn truncation(span: &Span) -> Option<Flag> {
    let (choice, reason) = completion::truncation(span)?;
    let one_per_choice = span
        .output_messages
        .as_ref()
        .is_some_and(|messages| messages.len() == span.finish_reasons.len());
    let mut location = Location::whole(Part::Output);
    location.message_index = one_per_choice.then_some(choice);
    Some(flag(
        Analyzer::Truncation,
        "length",
        format!("the output stopped at the token limit (finish reason \"{reason}\")"),
        location,
    ))
}

/// Flags each output text that does not parse when the request asked for JSON.
pub(crate) fn invalid_json(span: &Span) -> Vec<Flag> {
    if !json_output::json_requested(&span.attributes) {
        return Vec::new();
    }
    texts(span.output_messages.as_ref())
        .filter_map(|(index, _, text)| {
            let invalid = json_output::check(text)?;
            Some(flag(
                Analyzer::InvalidJson,
                "invalid_json",
                format!(
                    "JSON output was requested but the text does not parse: {}",
                    invalid.error
                ),
                Location::in_content(Part::Output, index, invalid.range.start, invalid.range.end),
            ))
        })
        .collect()
}

/// The detected languages and the flag raised when they differ.
pub(crate) struct Languages {
    pub input: Option<&'static str>,
    pub output: Option<&'static str>,
    pub flag: Option<Flag>,
}

/// Detects the input and output languages, and flags an output language that differs from
/// the input's unless the input asked for it.
pub(crate) fn languages(span: &Span) -> Languages {
    let inputs = span.input_messages.as_deref().unwrap_or_default();
    let input = language::input_language(inputs);
    let output = language::output_language(span.output_messages.as_deref().unwrap_or_default());

    let flag = match (input, output) {
        (Some(input), Some(output))
            if input != output && !language::output_language_requested(inputs, output) =>
        {
            Some(flag(
                Analyzer::Language,
                &format!("language:{output}"),
                format!(
                    "the output is in {} ({output}) but the input is in {} ({input})",
                    display_name(output),
                    display_name(input)
                ),
                Location::whole(Part::Output),
            ))
        }
        _ => None,
    };
    Languages {
        input,
        output,
        flag,
    }
}

/// Returns a language's English name with a capital, such as `French`.
fn display_name(code: &str) -> String {
    let name = language::language_name(code).unwrap_or(code);
    let mut chars = name.chars();
    chars
        .next()
        .map(|first| first.to_uppercase().chain(chars).collect())
        .unwrap_or_default()
}
