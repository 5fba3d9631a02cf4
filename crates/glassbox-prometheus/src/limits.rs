//! Bounds on what one page may make the parser allocate.

/// Bounds checked while parsing, so that a broken or hostile target cannot make the parser
/// hold unbounded memory.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum page size, in bytes. Default: 16 MiB.
    pub max_bytes: usize,
    /// Maximum number of sample lines on one page. Default: 200,000.
    pub max_samples: usize,
    /// Maximum line length, in bytes, without the line break. Default: 64 KiB.
    pub max_line_bytes: usize,
    /// Maximum number of labels on one sample. Default: 64.
    pub max_labels: usize,
}

impl Default for Limits {
    fn default() -> Limits {
        Limits {
            max_bytes: 16 * 1024 * 1024,
            max_samples: 200_000,
            max_line_bytes: 64 * 1024,
            max_labels: 64,
        }
    }
}
