//! Analyzer results: flags with their positions, and the detected languages.

use serde::{Deserialize, Serialize};

use glassbox_model::Flag;

/// The result of analyzing one span.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct Analysis {
    /// The flags, grouped by analyzer in the order of [`Analyzer::ALL`](glassbox_model::Analyzer::ALL).
    pub flags: Vec<Flag>,
    /// The ISO 639-1 code of the user messages' language; `None` when unsure or when the
    /// language analyzer is off.
    pub input_language: Option<String>,
    /// The ISO 639-1 code of the output's language; `None` when unsure or when the language
    /// analyzer is off.
    pub output_language: Option<String>,
}
