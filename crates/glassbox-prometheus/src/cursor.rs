//! A position in one line of a page, with the readers of the tokens both formats share:
//! names, quoted strings and blank-separated tokens.

use crate::line::quote;

/// A label name and whether it was written as a quoted string.
pub(crate) struct LabelName {
    pub(crate) text: String,
    pub(crate) quoted: bool,
}

/// A position in one line. Every syntax character is ASCII, so the position moves by bytes
/// and only label values and quoted names are read as characters.
pub(crate) struct Cursor<'a> {
    text: &'a str,
    position: usize,
}

impl<'a> Cursor<'a> {
    pub(crate) fn new(text: &'a str) -> Cursor<'a> {
        Cursor { text, position: 0 }
    }

    pub(crate) fn peek(&self) -> Option<u8> {
        self.text.as_bytes().get(self.position).copied()
    }

    pub(crate) fn is_at_end(&self) -> bool {
        self.position >= self.text.len()
    }

    pub(crate) fn rest(&self) -> &'a str {
        self.text.get(self.position..).unwrap_or_default()
    }

    pub(crate) fn eat(&mut self, byte: u8) -> bool {
        let found = self.peek() == Some(byte);
        if found {
            self.position += 1;
        }
        found
    }

    /// Skips spaces and tabs; returns whether there were any.
    pub(crate) fn skip_blanks(&mut self) -> bool {
        let start = self.position;
        while matches!(self.peek(), Some(b' ' | b'\t')) {
            self.position += 1;
        }
        self.position > start
    }

    /// Reads up to the next space or tab.
    pub(crate) fn read_token(&mut self) -> &'a str {
        self.read_while(|byte| byte != b' ' && byte != b'\t')
    }

    fn read_while(&mut self, keep: impl Fn(u8) -> bool) -> &'a str {
        let start = self.position;
        while self.peek().is_some_and(&keep) {
            self.position += 1;
        }
        &self.text[start..self.position]
    }

    /// Reads a metric name: `[a-zA-Z_:][a-zA-Z0-9_:]*`, or a quoted UTF-8 name.
    pub(crate) fn read_metric_name(&mut self) -> Result<String, String> {
        if self.eat(b'"') {
            return self
                .read_quoted()
                .ok_or_else(|| format!("unterminated quoted metric name {}", quote(self.rest())));
        }
        let name =
            self.read_while(|byte| byte.is_ascii_alphanumeric() || byte == b'_' || byte == b':');
        if name.is_empty() || name.as_bytes()[0].is_ascii_digit() {
            let token = self.read_token();
            return Err(format!(
                "invalid metric name {}",
                quote(&format!("{name}{token}"))
            ));
        }
        Ok(name.to_owned())
    }

    /// Reads a label name: `[a-zA-Z_][a-zA-Z0-9_]*`, or a quoted UTF-8 name.
    pub(crate) fn read_label_name(&mut self, metric: &str) -> Result<LabelName, String> {
        if self.eat(b'"') {
            let text = self
                .read_quoted()
                .ok_or_else(|| format!("unterminated quoted label name on {metric}"))?;
            return Ok(LabelName { text, quoted: true });
        }
        let start = self.position;
        let name = self.read_while(|byte| byte.is_ascii_alphanumeric() || byte == b'_');
        if name.is_empty() || name.as_bytes()[0].is_ascii_digit() {
            let text = self.text.get(start..).unwrap_or_default();
            return Err(format!("invalid label name at {} on {metric}", quote(text)));
        }
        Ok(LabelName {
            text: name.to_owned(),
            quoted: false,
        })
    }

    /// Reads a quoted string after its opening quote, unescaping `\\`, `\"` and `\n`; other
    /// backslashes stay as written. Returns `None` when the closing quote is missing.
    pub(crate) fn read_quoted(&mut self) -> Option<String> {
        let mut output = String::new();
        let mut characters = self.rest().char_indices();
        while let Some((offset, character)) = characters.next() {
            match character {
                '"' => {
                    self.position += offset + 1;
                    return Some(output);
                }
                '\\' => match characters.next()?.1 {
                    'n' => output.push('\n'),
                    '"' => output.push('"'),
                    '\\' => output.push('\\'),
                    other => {
                        output.push('\\');
                        output.push(other);
                    }
                },
                _ => output.push(character),
            }
        }
        None
    }
}
