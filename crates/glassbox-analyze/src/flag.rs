//! Analyzer results: flags with their positions, and the detected languages.

use serde::{Deserialize, Serialize};

use crate::analyzer::Analyzer;

/// The side of a model call that a flag is about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Part {
    /// The messages sent to the model.
    Input,
    /// The messages returned by the model.
    Output,
}

/// The place in a span's messages that a flag points at.
///
/// `start..end` are byte offsets into one string: the message's `content`, or, when
/// `tool_call_index` is set, a string inside that tool call's arguments. `0..0` means the flag
/// is about a whole message, or about the whole input or output when `message_index` is
/// `None`. When masking is
/// on, offsets refer to the masked text, so the range of a masked match covers its
/// placeholder.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Location {
    /// Input or output messages.
    pub part: Part,
    /// The index of the message in `input_messages` or `output_messages`.
    pub message_index: Option<usize>,
    /// The index of the tool call in the message's `tool_calls`, for a match in its arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_index: Option<usize>,
    /// The JSON Pointer (RFC 6901) of the string value inside the tool call's arguments;
    /// empty when the arguments are a single string.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub argument_path: Option<String>,
    /// Byte offset of the first byte of the match.
    pub start: usize,
    /// Byte offset one past the last byte of the match.
    pub end: usize,
}

impl Location {
    /// Creates a location that covers a whole side of the call.
    pub fn whole(part: Part) -> Location {
        Location {
            part,
            message_index: None,
            tool_call_index: None,
            argument_path: None,
            start: 0,
            end: 0,
        }
    }

    /// Creates a location inside one message's content.
    pub fn in_content(part: Part, message_index: usize, start: usize, end: usize) -> Location {
        Location {
            part,
            message_index: Some(message_index),
            tool_call_index: None,
            argument_path: None,
            start,
            end,
        }
    }
}

/// One finding of one analyzer.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Flag {
    /// The analyzer that raised the flag.
    pub analyzer: Analyzer,
    /// The kind of finding, such as `email`, `openai_api_key`, `ignore_instructions`,
    /// `length` or `language:fr`.
    pub finding: String,
    /// A sentence for people. It never quotes the matched text.
    pub message: String,
    /// The place of the finding, serialized as `position`.
    #[serde(rename = "position")]
    pub location: Location,
}

/// The result of analyzing one span.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Analysis {
    /// The flags, grouped by analyzer in the order of [`Analyzer::ALL`].
    pub flags: Vec<Flag>,
    /// The ISO 639-1 code of the user messages' language; `None` when unsure or when the
    /// language analyzer is off.
    pub input_language: Option<String>,
    /// The ISO 639-1 code of the output's language; `None` when unsure or when the language
    /// analyzer is off.
    pub output_language: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn flag_serializes_with_position() {
        let flag = Flag {
            analyzer: Analyzer::PromptInjection,
            finding: "ignore_instructions".to_owned(),
            message: "an instruction to ignore previous instructions".to_owned(),
            location: Location::in_content(Part::Input, 1, 4, 20),
        };

        let value = serde_json::to_value(&flag).unwrap();

        assert_eq!(
            value,
            json!({
                "analyzer": "prompt_injection",
                "finding": "ignore_instructions",
                "message": "an instruction to ignore previous instructions",
                "position": {"part": "input", "message_index": 1, "start": 4, "end": 20}
            })
        );
        assert_eq!(serde_json::from_value::<Flag>(value).unwrap(), flag);
    }
}
