//! The texts that scorers and judges read from messages.

use glassbox_model::Message;

/// Returns the messages as `role: content` lines, with tool calls as `role called NAME(ARGS)`.
pub fn conversation(messages: &[Message]) -> String {
    let mut text = String::new();
    for message in messages {
        if let Some(content) = &message.content {
            push_line(&mut text, &format!("{}: {content}", message.role));
        }
        for call in &message.tool_calls {
            push_line(
                &mut text,
                &format!("{} called {}({})", message.role, call.name, call.arguments),
            );
        }
    }
    text
}

/// Returns the text of a model's output: the contents of its messages, or, for a message
/// that only calls tools, the calls as `NAME(ARGS)`.
pub fn output(messages: &[Message]) -> String {
    let mut text = String::new();
    for message in messages {
        if let Some(content) = &message.content {
            push_line(&mut text, content);
        }
        for call in &message.tool_calls {
            push_line(&mut text, &format!("{}({})", call.name, call.arguments));
        }
    }
    text
}

fn push_line(text: &mut String, line: &str) {
    if !text.is_empty() {
        text.push('\n');
    }
    text.push_str(line);
}

#[cfg(test)]
mod tests {
    use super::*;
    use glassbox_model::ToolCall;

    #[test]
    fn conversation_lists_roles_and_calls() {
        let mut assistant = Message::text("assistant", "Looking it up.");
        assistant.tool_calls.push(ToolCall {
            id: None,
            name: "search".to_owned(),
            arguments: serde_json::json!({"q": "weather"}),
        });
        let messages = [Message::text("user", "Weather in Oslo?"), assistant];

        assert_eq!(
            conversation(&messages),
            "user: Weather in Oslo?\nassistant: Looking it up.\nassistant called search({\"q\":\"weather\"})"
        );
        assert_eq!(
            output(&messages[1..]),
            "Looking it up.\nsearch({\"q\":\"weather\"})"
        );
    }
}
