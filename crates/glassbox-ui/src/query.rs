//! The query string of a page: read leniently, and rewritten into links that keep every
//! other filter.

use serde::Deserialize;

use crate::error::PageError;

/// The query-string pairs of a request, in their order.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(transparent)]
pub struct Params(Vec<(String, String)>);

impl Params {
    /// Returns a parameter's value, `None` when absent or empty.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(key, _)| key == name)
            .map(|(_, value)| value.trim())
            .filter(|value| !value.is_empty())
    }

    /// Returns a parameter as an owned string.
    pub fn owned(&self, name: &str) -> Option<String> {
        self.get(name).map(str::to_owned)
    }

    /// Rejects a parameter that the page does not know, so a mistyped or foreign link gets an
    /// error instead of an unfiltered view. The range and refresh parameters are always
    /// accepted.
    pub fn accept_only(&self, names: &[&str]) -> Result<(), PageError> {
        let common = ["range", "from", "to", "refresh"];
        let unknown = self
            .0
            .iter()
            .map(|(key, _)| key.as_str())
            .find(|key| !common.contains(key) && !names.contains(key));
        match unknown {
            None => Ok(()),
            Some(key) => {
                let mut known: Vec<&str> = common.to_vec();
                known.extend_from_slice(names);
                Err(PageError::BadParameter(
                    "query string",
                    format!(
                        "unknown parameter {key:?}; this page accepts {}",
                        known.join(", ")
                    ),
                ))
            }
        }
    }

    /// Returns true when a checkbox-like parameter is set (`1`, `true`, `on`).
    pub fn flag(&self, name: &str) -> bool {
        matches!(self.get(name), Some("1" | "true" | "on"))
    }

    /// Parses a parameter with `parse`, naming the parameter when it fails.
    pub fn parsed<T>(
        &self,
        name: &'static str,
        parse: impl FnOnce(&str) -> Option<T>,
        expected: &str,
    ) -> Result<Option<T>, PageError> {
        self.get(name)
            .map(|text| {
                parse(text).ok_or_else(|| {
                    PageError::BadParameter(name, format!("{text:?} is not {expected}"))
                })
            })
            .transpose()
    }

    /// Builds a link to `path` with these parameters, changed by `changes`: a `Some` value
    /// replaces the parameter, `None` removes it. The page cursor is always dropped, since a
    /// changed filter starts a listing again.
    pub fn link(&self, path: &str, changes: &[(&str, Option<&str>)]) -> String {
        let mut pairs: Vec<(&str, &str)> = self
            .0
            .iter()
            .filter(|(key, value)| {
                !value.is_empty()
                    && key != "cursor"
                    && !changes.iter().any(|(changed, _)| changed == key)
            })
            .map(|(key, value)| (key.as_str(), value.as_str()))
            .collect();
        for (key, value) in changes {
            if let Some(value) = value {
                pairs.push((key, value));
            }
        }
        with_query(path, &pairs)
    }

    /// Returns the pairs, for a form's hidden fields.
    pub fn pairs(&self) -> impl Iterator<Item = (&str, &str)> {
        self.0
            .iter()
            .map(|(key, value)| (key.as_str(), value.as_str()))
    }
}

/// Joins a path and encoded query pairs.
pub fn with_query(path: &str, pairs: &[(&str, &str)]) -> String {
    if pairs.is_empty() {
        return path.to_owned();
    }
    let query = serde_urlencoded::to_string(pairs).unwrap_or_default();
    format!("{path}?{query}")
}

/// Encodes one path segment (a session id, say) for a link.
pub fn path_segment(text: &str) -> String {
    let mut encoded = String::with_capacity(text.len());
    for byte in text.bytes() {
        if byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_' | b'.' | b'~') {
            encoded.push(char::from(byte));
        } else {
            encoded.push_str(&format!("%{byte:02X}"));
        }
    }
    encoded
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> Params {
        Params(
            pairs
                .iter()
                .map(|(key, value)| ((*key).to_owned(), (*value).to_owned()))
                .collect(),
        )
    }

    #[test]
    fn links_keep_other_filters_and_drop_the_cursor() {
        let current = params(&[("range", "7d"), ("model", "gpt-4o"), ("cursor", "abc")]);
        assert_eq!(
            current.link("/traces", &[("model", Some("a b&c"))]),
            "/traces?range=7d&model=a+b%26c"
        );
        assert_eq!(
            current.link("/traces", &[("model", None)]),
            "/traces?range=7d"
        );
    }

    #[test]
    fn empty_values_count_as_absent() {
        let current = params(&[("model", " "), ("errors", "1")]);
        assert_eq!(current.get("model"), None);
        assert!(current.flag("errors"));
    }

    #[test]
    fn path_segments_are_percent_encoded() {
        assert_eq!(path_segment("a/b c"), "a%2Fb%20c");
    }
}
