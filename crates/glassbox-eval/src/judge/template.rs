//! Prompt templates with `{{input}}`, `{{output}}` and `{{expected}}` placeholders.

use super::JudgeError;

/// Default system prompt for judge requests.
pub const DEFAULT_SYSTEM_PROMPT: &str = "You are a strict and impartial evaluator of AI \
assistant responses. Follow the grading instructions exactly and reply with a single JSON \
object and nothing else.";

/// Default judge prompt without an expected output, asking for a score from 0 to 1.
pub const DEFAULT_TEMPLATE: &str = "\
Rate how well the response answers the user's request. Consider correctness, relevance, \
completeness and clarity.

[User request]
{{input}}

[Response]
{{output}}

Give a score from 0 to 1, where 0 means useless or wrong and 1 means fully correct and \
helpful. Reply with only a JSON object of the form \
{\"score\": <number from 0 to 1>, \"reason\": \"<one or two sentences>\"}.";

/// Default judge prompt with an expected output, asking for a score from 0 to 1.
pub const DEFAULT_REFERENCE_TEMPLATE: &str = "\
Rate how well the response answers the user's request, using the reference answer as the \
standard of correctness. Wording may differ from the reference; meaning must not.

[User request]
{{input}}

[Reference answer]
{{expected}}

[Response]
{{output}}

Give a score from 0 to 1, where 0 means it contradicts or misses the reference and 1 means \
it agrees with it fully. Reply with only a JSON object of the form \
{\"score\": <number from 0 to 1>, \"reason\": \"<one or two sentences>\"}.";

/// A placeholder that a template may use.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Placeholder {
    Input,
    Output,
    Expected,
}

impl Placeholder {
    const NAMES: &str = "input, output, expected";

    fn parse(name: &str) -> Option<Self> {
        match name {
            "input" => Some(Self::Input),
            "output" => Some(Self::Output),
            "expected" => Some(Self::Expected),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Text(String),
    Placeholder(Placeholder),
}

/// The texts that a template is rendered with.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct JudgeInputs<'a> {
    /// The request given to the model under evaluation.
    pub input: &'a str,
    /// The response being judged.
    pub output: &'a str,
    /// The expected output, for templates that use `{{expected}}`.
    pub expected: Option<&'a str>,
}

/// A judge prompt, parsed once so that rendering cannot fail on the template's syntax.
///
/// Placeholders are `{{input}}`, `{{output}}` and `{{expected}}`, with optional spaces
/// inside the braces. Values are inserted verbatim, without escaping, and are never scanned
/// for placeholders themselves, so an output containing `{{input}}` stays as written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct JudgeTemplate {
    segments: Vec<Segment>,
}

impl JudgeTemplate {
    /// Parses a template.
    ///
    /// # Errors
    ///
    /// Returns an error for a placeholder other than `input`, `output` and `expected`, and
    /// for `{{` without a closing `}}`.
    pub fn new(template: &str) -> Result<Self, JudgeError> {
        let mut segments = Vec::new();
        let mut rest = template;
        while let Some(start) = rest.find("{{") {
            push_text(&mut segments, &rest[..start]);

            let after_open = &rest[start + 2..];
            let Some(end) = after_open.find("}}") else {
                return Err(JudgeError::UnclosedPlaceholder {
                    offset: template.len() - rest.len() + start,
                });
            };

            let name = after_open[..end].trim();
            let placeholder = Placeholder::parse(name).ok_or_else(|| unknown_placeholder(name))?;
            segments.push(Segment::Placeholder(placeholder));
            rest = &after_open[end + 2..];
        }
        push_text(&mut segments, rest);
        Ok(Self { segments })
    }

    /// Returns the default template, which judges without an expected output.
    ///
    /// The default templates parse, as a unit test checks, so the empty fallback is never
    /// used.
    pub fn without_reference() -> Self {
        Self::new(DEFAULT_TEMPLATE).unwrap_or_else(|_| Self::empty())
    }

    /// Returns the default template that judges against an expected output.
    pub fn with_reference() -> Self {
        Self::new(DEFAULT_REFERENCE_TEMPLATE).unwrap_or_else(|_| Self::empty())
    }

    fn empty() -> Self {
        Self {
            segments: Vec::new(),
        }
    }

    /// Returns true when the template uses `{{expected}}`.
    pub fn uses_expected(&self) -> bool {
        self.segments
            .contains(&Segment::Placeholder(Placeholder::Expected))
    }

    /// Renders the template with the given texts.
    ///
    /// # Errors
    ///
    /// Returns [`JudgeError::MissingExpected`] when the template uses `{{expected}}` and
    /// `inputs.expected` is `None`.
    pub fn render(&self, inputs: &JudgeInputs<'_>) -> Result<String, JudgeError> {
        let mut rendered = String::new();
        for segment in &self.segments {
            let text = match segment {
                Segment::Text(text) => text.as_str(),
                Segment::Placeholder(Placeholder::Input) => inputs.input,
                Segment::Placeholder(Placeholder::Output) => inputs.output,
                Segment::Placeholder(Placeholder::Expected) => {
                    inputs.expected.ok_or(JudgeError::MissingExpected)?
                }
            };
            rendered.push_str(text);
        }
        Ok(rendered)
    }
}

fn push_text(segments: &mut Vec<Segment>, text: &str) {
    if !text.is_empty() {
        segments.push(Segment::Text(text.to_owned()));
    }
}

fn unknown_placeholder(name: &str) -> JudgeError {
    JudgeError::UnknownPlaceholder {
        name: name.chars().take(40).collect(),
        known: Placeholder::NAMES,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const INPUTS: JudgeInputs<'static> = JudgeInputs {
        input: "What is 2+2?",
        output: "4",
        expected: Some("four"),
    };

    #[test]
    fn renders_placeholders() {
        let template =
            JudgeTemplate::new("Q: {{input}}\nA: {{ output }}\nRef: {{expected}}.").unwrap();
        assert_eq!(
            template.render(&INPUTS).unwrap(),
            "Q: What is 2+2?\nA: 4\nRef: four."
        );
    }

    #[test]
    fn inserts_values_verbatim() {
        let template = JudgeTemplate::new("[{{output}}]").unwrap();
        let inputs = JudgeInputs {
            output: "{{input}} \"quoted\" <b>&amp;</b> \\n",
            ..INPUTS
        };
        assert_eq!(
            template.render(&inputs).unwrap(),
            "[{{input}} \"quoted\" <b>&amp;</b> \\n]"
        );
    }

    #[test]
    fn keeps_single_braces() {
        let template = JudgeTemplate::new(r#"Reply {"score": 1} for {{output}}"#).unwrap();
        assert_eq!(
            template.render(&INPUTS).unwrap(),
            r#"Reply {"score": 1} for 4"#
        );
    }

    #[test]
    fn rejects_unknown_placeholder() {
        let error = JudgeTemplate::new("{{input}} {{answer}}").unwrap_err();
        assert_eq!(
            error.to_string(),
            "unknown placeholder {{answer}} in judge template, use one of input, output, expected"
        );
    }

    #[test]
    fn rejects_unclosed_placeholder() {
        let error = JudgeTemplate::new("Rate: {{output").unwrap_err();
        assert_eq!(error, JudgeError::UnclosedPlaceholder { offset: 6 });
    }

    #[test]
    fn expected_required_when_used() {
        let template = JudgeTemplate::with_reference();
        assert!(template.uses_expected());

        let inputs = JudgeInputs {
            expected: None,
            ..INPUTS
        };
        assert_eq!(
            template.render(&inputs).unwrap_err(),
            JudgeError::MissingExpected
        );
    }

    #[test]
    fn default_templates_parse() {
        assert_eq!(
            JudgeTemplate::without_reference(),
            JudgeTemplate::new(DEFAULT_TEMPLATE).unwrap()
        );
        assert!(!JudgeTemplate::without_reference().uses_expected());

        let rendered = JudgeTemplate::with_reference().render(&INPUTS).unwrap();
        assert!(
            rendered.contains("[Reference answer]\nfour\n"),
            "{rendered}"
        );
        assert!(rendered.contains("[Response]\n4\n"), "{rendered}");
    }
}
