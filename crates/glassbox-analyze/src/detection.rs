//! Matches of the PII and secret detectors in one string, and their masking.

use std::ops::Range;

use glassbox_model::Analyzer;

/// One match of a PII or secret detector.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Detection {
    /// [`Analyzer::Pii`] or [`Analyzer::Secrets`].
    pub analyzer: Analyzer,
    /// The finding name, such as `email` or `aws_access_key`.
    pub finding: &'static str,
    /// The kind of match in words, for the flag message, such as "email address".
    pub label: &'static str,
    /// Byte range of the match.
    pub range: Range<usize>,
    /// True for a placeholder of an earlier masking pass, which is reported but left as it is.
    pub placeholder_only: bool,
}

impl Detection {
    /// Creates a PII match.
    pub fn pii(finding: &'static str, label: &'static str, range: Range<usize>) -> Detection {
        Detection {
            analyzer: Analyzer::Pii,
            finding,
            label,
            range,
            placeholder_only: false,
        }
    }

    /// Creates a secret match.
    pub fn secret(finding: &'static str, label: &'static str, range: Range<usize>) -> Detection {
        Detection {
            analyzer: Analyzer::Secrets,
            finding,
            label,
            range,
            placeholder_only: false,
        }
    }

    /// Returns the text that replaces the match when it is masked: the finding in capitals
    /// (`[EMAIL]`, `[CREDIT_CARD]`, `[OPENAI_API_KEY]`).
    pub fn placeholder(&self) -> String {
        placeholder_of(self.finding)
    }

    /// Returns true when `self` should be kept over an overlapping `other`: a secret wins over
    /// PII (a phone-like run of digits inside a token belongs to the token), then the longer
    /// match wins.
    fn outranks(&self, other: &Detection) -> bool {
        let rank = |detection: &Detection| {
            (
                detection.analyzer == Analyzer::Secrets,
                detection.range.len(),
            )
        };
        rank(self) > rank(other)
    }
}

/// Returns the placeholder of a finding.
pub(crate) fn placeholder_of(finding: &str) -> String {
    format!("[{}]", finding.to_ascii_uppercase())
}

/// Finds the placeholders of an earlier masking pass for `analyzer`'s findings, such as
/// `[EMAIL]` in content that was masked before it joined its span. Each becomes a match that
/// is reported and left as it is, so masked content keeps its flags.
pub(crate) fn find_placeholders(text: &str, analyzer: Analyzer) -> Vec<Detection> {
    let mut found = Vec::new();
    if !text.contains('[') {
        return found;
    }
    for finding in analyzer.findings() {
        let placeholder = placeholder_of(finding);
        for (start, _) in text.match_indices(&placeholder) {
            found.push(Detection {
                analyzer,
                finding,
                label: "value masked before it was stored",
                range: start..start + placeholder.len(),
                placeholder_only: true,
            });
        }
    }
    found
}

/// Sorts matches by position and drops each one that overlaps a match that outranks it.
pub(crate) fn resolve_overlaps(mut detections: Vec<Detection>) -> Vec<Detection> {
    detections.sort_by_key(|detection| (detection.range.start, detection.range.end));

    let mut resolved: Vec<Detection> = Vec::with_capacity(detections.len());
    for detection in detections {
        // The kept matches are sorted and disjoint, so those that overlap the new one are a
        // suffix of the list.
        let first_overlapping = resolved
            .iter()
            .rposition(|kept| kept.range.end <= detection.range.start)
            .map_or(0, |index| index + 1);
        let outranks_all = resolved[first_overlapping..]
            .iter()
            .all(|kept| detection.outranks(kept));
        if outranks_all {
            resolved.truncate(first_overlapping);
            resolved.push(detection);
        }
    }
    resolved
}

/// A string after masking, with the matches moved to their place in it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Masked {
    /// The new text, or `None` when nothing was replaced.
    pub text: Option<String>,
    /// Every match, with its range in the new text: the placeholder's range for a masked match.
    pub detections: Vec<Detection>,
    /// The original text of each masked match, with the placeholder that replaced it.
    pub originals: Vec<(String, String)>,
}

/// Replaces the matches selected by `should_mask` with their placeholders.
///
/// `detections` must be sorted and must not overlap, as [`resolve_overlaps`] returns them.
pub(crate) fn mask(
    text: &str,
    detections: Vec<Detection>,
    should_mask: impl Fn(&Detection) -> bool,
) -> Masked {
    if !detections.iter().any(&should_mask) {
        return Masked {
            text: None,
            detections,
            originals: Vec::new(),
        };
    }

    let mut output = String::with_capacity(text.len());
    let mut copied_to = 0;
    let mut originals = Vec::new();
    let mut moved = Vec::with_capacity(detections.len());

    for mut detection in detections {
        let range = detection.range.clone();
        output.push_str(text.get(copied_to..range.start).unwrap_or_default());
        let start = output.len();
        if should_mask(&detection) {
            let placeholder = detection.placeholder();
            output.push_str(&placeholder);
            originals.push((
                text.get(range.clone()).unwrap_or_default().to_owned(),
                placeholder,
            ));
        } else {
            output.push_str(text.get(range.clone()).unwrap_or_default());
        }
        detection.range = start..output.len();
        copied_to = range.end;
        moved.push(detection);
    }
    output.push_str(text.get(copied_to..).unwrap_or_default());

    Masked {
        text: (!originals.is_empty()).then_some(output),
        detections: moved,
        originals,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secret_wins_over_overlapping_pii() {
        let detections = vec![
            Detection::pii("phone", "phone number", 10..20),
            Detection::secret("slack_token", "Slack token", 0..40),
            Detection::pii("email", "email address", 50..60),
        ];

        let kept = resolve_overlaps(detections);

        let findings: Vec<&str> = kept.iter().map(|detection| detection.finding).collect();
        assert_eq!(findings, vec!["slack_token", "email"]);
    }

    #[test]
    fn longer_pii_wins() {
        let detections = vec![
            Detection::pii("phone", "phone number", 3..10),
            Detection::pii("credit_card", "payment card number", 0..19),
        ];

        let kept = resolve_overlaps(detections);

        assert_eq!(kept.len(), 1);
        assert_eq!(kept[0].finding, "credit_card");
    }

    #[test]
    fn mask_moves_later_matches() {
        let text = "mail a@b.io or call 0612";
        let detections = vec![
            Detection::pii("email", "email address", 5..11),
            Detection::pii("phone", "phone number", 20..24),
        ];

        let masked = mask(text, detections, |detection| detection.finding == "email");

        let new_text = masked.text.unwrap();
        assert_eq!(new_text, "mail [EMAIL] or call 0612");
        assert_eq!(&new_text[masked.detections[0].range.clone()], "[EMAIL]");
        assert_eq!(&new_text[masked.detections[1].range.clone()], "0612");
        assert_eq!(
            masked.originals,
            vec![("a@b.io".to_owned(), "[EMAIL]".to_owned())]
        );
    }

    #[test]
    fn mask_without_selection_keeps_text() {
        let detections = vec![Detection::secret("jwt", "JSON Web Token", 0..3)];

        let masked = mask("abc", detections, |_| false);

        assert_eq!(masked.text, None);
        assert_eq!(masked.detections[0].range, 0..3);
    }
}
