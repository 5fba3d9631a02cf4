//! Errors of the exposition parser.

/// The reason a page could not be parsed. Every variant names the line, or the limit that was
/// exceeded, so an operator can find the fault in the scraped page.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ParseError {
    /// The page is larger than [`Limits::max_bytes`](crate::Limits::max_bytes).
    #[error(
        "page is {size} bytes, more than the limit of {limit} bytes; raise max_bytes to accept it"
    )]
    PageTooLarge {
        /// The page size in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// A line is longer than [`Limits::max_line_bytes`](crate::Limits::max_line_bytes).
    #[error(
        "line {line}: {size} bytes, more than the limit of {limit} bytes per line; raise max_line_bytes to accept it"
    )]
    LineTooLong {
        /// The line number, from 1.
        line: usize,
        /// The line length in bytes.
        size: usize,
        /// The limit in bytes.
        limit: usize,
    },
    /// The page has more samples than [`Limits::max_samples`](crate::Limits::max_samples).
    #[error("line {line}: more than {limit} samples on the page; raise max_samples to accept it")]
    TooManySamples {
        /// The line of the first sample over the limit.
        line: usize,
        /// The limit.
        limit: usize,
    },
    /// A sample has more labels than [`Limits::max_labels`](crate::Limits::max_labels).
    #[error("line {line}: more than {limit} labels on {metric}; raise max_labels to accept it")]
    TooManyLabels {
        /// The line number, from 1.
        line: usize,
        /// The metric name, or an empty string when the labels come before it.
        metric: String,
        /// The limit.
        limit: usize,
    },
    /// A line breaks the exposition format.
    #[error("line {line}: {message}")]
    Invalid {
        /// The line number, from 1.
        line: usize,
        /// A description of the fault, naming the metric or the text at fault.
        message: String,
    },
}

impl ParseError {
    /// Returns the line at fault, or `None` when the page as a whole is too large.
    pub fn line(&self) -> Option<usize> {
        match self {
            ParseError::PageTooLarge { .. } => None,
            ParseError::LineTooLong { line, .. }
            | ParseError::TooManySamples { line, .. }
            | ParseError::TooManyLabels { line, .. }
            | ParseError::Invalid { line, .. } => Some(*line),
        }
    }
}
