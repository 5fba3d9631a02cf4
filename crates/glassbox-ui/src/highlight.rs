//! The text an analyzer flag points at, cut out of a span's messages by its byte range.
//!
//! Offsets come from the stored flag and the text from the stored span, and either may be
//! wrong (a span resent with other content, an analyzer bug). A range that does not fall on
//! character boundaries inside the text highlights nothing instead of panicking.

use glassbox_model::{Flag, Message, Part, Span};
use serde_json::Value;

/// Bytes of context kept on each side of a match.
pub const CONTEXT_BYTES: usize = 160;

/// A match and the text around it, each part to be escaped on output.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Excerpt<'a> {
    /// True when text before `before` was cut.
    pub cut_before: bool,
    /// Context before the match.
    pub before: &'a str,
    /// The matched text.
    pub matched: &'a str,
    /// Context after the match.
    pub after: &'a str,
    /// True when text after `after` was cut.
    pub cut_after: bool,
}

/// Splits `text` around the byte range `start..end` with up to `context` bytes on each side.
/// Returns `None` when the range is empty, ends past the text or does not start and end on
/// character boundaries.
pub fn excerpt(text: &str, start: usize, end: usize, context: usize) -> Option<Excerpt<'_>> {
    let valid = start < end
        && end <= text.len()
        && text.is_char_boundary(start)
        && text.is_char_boundary(end);
    if !valid {
        return None;
    }
    let from = floor_boundary(text, start.saturating_sub(context));
    let to = ceil_boundary(text, end.saturating_add(context).min(text.len()));
    Some(Excerpt {
        cut_before: from > 0,
        before: &text[from..start],
        matched: &text[start..end],
        after: &text[end..to],
        cut_after: to < text.len(),
    })
}

/// Moves `index` down to the nearest character boundary.
fn floor_boundary(text: &str, mut index: usize) -> usize {
    while !text.is_char_boundary(index) {
        index -= 1;
    }
    index
}

/// Moves `index` up to the nearest character boundary, at most the text's length.
fn ceil_boundary(text: &str, mut index: usize) -> usize {
    while index < text.len() && !text.is_char_boundary(index) {
        index += 1;
    }
    index
}

/// Returns the string a flag's location points into: a message's content, or a string
/// inside one of its tool calls' arguments. `None` for a flag about a whole message or side,
/// or when the span no longer has that message.
pub fn flagged_text<'a>(span: &'a Span, flag: &Flag) -> Option<&'a str> {
    let location = &flag.location;
    let messages: &[Message] = match location.part {
        Part::Input => span.input_messages.as_deref()?,
        Part::Output => span.output_messages.as_deref()?,
    };
    let message = messages.get(location.message_index?)?;
    let Some(call_index) = location.tool_call_index else {
        return message.content.as_deref();
    };
    let arguments = &message.tool_calls.get(call_index)?.arguments;
    let value = match location.argument_path.as_deref() {
        None | Some("") => arguments,
        Some(pointer) => arguments.pointer(pointer)?,
    };
    match value {
        Value::String(text) => Some(text),
        _ => None,
    }
}

/// Describes where a flag points, for people: `input message 2`, `output message 1, tool
/// call 1 argument /city`, or `the whole input`. Message and tool call numbers count from 1.
pub fn place(flag: &Flag) -> String {
    let location = &flag.location;
    let part = match location.part {
        Part::Input => "input",
        Part::Output => "output",
    };
    let Some(index) = location.message_index else {
        return format!("the whole {part}");
    };
    let mut text = format!("{part} message {}", index + 1);
    if let Some(call) = location.tool_call_index {
        text.push_str(&format!(", tool call {}", call + 1));
        if let Some(path) = location
            .argument_path
            .as_deref()
            .filter(|path| !path.is_empty())
        {
            text.push_str(&format!(" argument {path}"));
        }
    }
    text
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use glassbox_model::{Analyzer, Location, ToolCall};
    use serde_json::json;

    use super::*;

    #[test]
    fn excerpt_splits_ascii_text() {
        let found = excerpt("mail jane@example.com now", 5, 21, 100);
        assert_eq!(
            found,
            Some(Excerpt {
                cut_before: false,
                before: "mail ",
                matched: "jane@example.com",
                after: " now",
                cut_after: false,
            })
        );
    }

    #[test]
    fn excerpt_handles_multibyte_text() {
        let text = "écrivez à jösé@exämple.fr 😀 merci";
        let start = text.find("jösé").unwrap();
        let end = text.find(" 😀").unwrap();
        let found = excerpt(text, start, end, 100);
        let found = found.unwrap();
        assert_eq!(found.matched, "jösé@exämple.fr");
        assert_eq!(found.before, "écrivez à ");
        assert_eq!(found.after, " 😀 merci");
    }

    #[test]
    fn excerpt_rejects_ranges_inside_characters() {
        let text = "é😀x";
        assert_eq!(excerpt(text, 1, 3, 10), None, "start inside é");
        assert_eq!(excerpt(text, 0, 4, 10), None, "end inside 😀");
        assert!(excerpt(text, 2, 6, 10).is_some(), "the emoji alone");
    }

    #[test]
    fn excerpt_rejects_out_of_range_offsets() {
        assert_eq!(excerpt("short", 2, 9, 10), None);
        assert_eq!(excerpt("short", 7, 9, 10), None);
        assert_eq!(excerpt("short", 3, 3, 10), None, "empty range");
        assert_eq!(excerpt("short", 4, 2, 10), None, "reversed range");
        assert_eq!(excerpt("short", usize::MAX - 1, usize::MAX, 10), None);
    }

    #[test]
    fn excerpt_context_stops_on_boundaries() {
        // Each é is two bytes, so a context of three bytes ends inside one.
        let text = "ééé[x]ééé";
        let start = text.find('x').unwrap();
        let found = excerpt(text, start, start + 1, 3).unwrap();
        assert_eq!(found.before, "é[");
        assert_eq!(found.after, "]é");
        assert!(found.cut_before);
        assert!(found.cut_after);
    }

    fn flag(location: Location) -> Flag {
        Flag {
            analyzer: Analyzer::Pii,
            finding: "email".to_owned(),
            message: "email address".to_owned(),
            location,
        }
    }

    #[test]
    fn flagged_text_reads_content_and_arguments() {
        let mut span = Span::new(
            "0af7651916cd43dd8448eb211c80319c".parse().unwrap(),
            "b7ad6b7169203331".parse().unwrap(),
            "chat",
        );
        span.input_messages = Some(vec![Message::text("user", "hello")]);
        span.output_messages = Some(vec![Message {
            role: "assistant".to_owned(),
            content: None,
            tool_calls: vec![ToolCall {
                id: None,
                name: "send".to_owned(),
                arguments: json!({"to": {"address": "a@b.co"}}),
            }],
            tool_call_id: None,
        }]);

        let content = flag(Location::in_content(Part::Input, 0, 0, 5));
        assert_eq!(flagged_text(&span, &content), Some("hello"));

        let mut argument = flag(Location::in_content(Part::Output, 0, 0, 6));
        argument.location.tool_call_index = Some(0);
        argument.location.argument_path = Some("/to/address".to_owned());
        assert_eq!(flagged_text(&span, &argument), Some("a@b.co"));
        assert_eq!(
            place(&argument),
            "output message 1, tool call 1 argument /to/address"
        );

        let missing = flag(Location::in_content(Part::Input, 4, 0, 5));
        assert_eq!(flagged_text(&span, &missing), None);
        assert_eq!(
            place(&flag(Location::whole(Part::Output))),
            "the whole output"
        );
    }
}
