//! Messages exchanged with a model, in one shape whatever the source convention.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// One message of a conversation with a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Message {
    /// The role as the payload gave it (`system`, `user`, `assistant`, `tool`, ...).
    pub role: String,
    /// The text of the message; `None` when the message has no text, such as an assistant
    /// message that only calls a tool.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Tool calls requested by the model in this message.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tool_calls: Vec<ToolCall>,
    /// The id of the tool call that this message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
}

impl Message {
    /// Creates a message with a role and text.
    pub fn text(role: impl Into<String>, content: impl Into<String>) -> Message {
        Message {
            role: role.into(),
            content: Some(content.into()),
            tool_calls: Vec::new(),
            tool_call_id: None,
        }
    }
}

/// A tool call requested by a model.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ToolCall {
    /// The provider's id for the call, used to match the tool's answer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// The tool or function name.
    pub name: String,
    /// The arguments: a JSON object when they parse as one, else the raw string.
    #[serde(default)]
    pub arguments: Value,
}
