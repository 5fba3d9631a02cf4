//! Trace and span identifiers, written as lowercase hex everywhere outside the wire.

use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// Error returned when bytes or hex text do not form a valid identifier.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InvalidId {
    /// The identifier being parsed (`trace_id`, `span_id`).
    pub what: &'static str,
    /// Expected length in bytes.
    pub expected: usize,
    /// Description of what was found instead.
    pub found: String,
}

impl fmt::Display for InvalidId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} must be {} bytes ({} hex characters), got {}",
            self.what,
            self.expected,
            self.expected * 2,
            self.found
        )
    }
}

impl std::error::Error for InvalidId {}

macro_rules! hex_id {
    ($name:ident, $len:expr, $what:expr, $doc:expr) => {
        #[doc = $doc]
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Default)]
        pub struct $name(pub [u8; $len]);

        impl $name {
            /// Length of the identifier in bytes.
            pub const LEN: usize = $len;

            /// Builds an identifier from raw bytes, rejecting any other length.
            pub fn from_slice(bytes: &[u8]) -> Result<Self, InvalidId> {
                let array: [u8; $len] = bytes.try_into().map_err(|_| InvalidId {
                    what: $what,
                    expected: $len,
                    found: format!("{} bytes", bytes.len()),
                })?;
                Ok(Self(array))
            }

            /// Returns true when every byte is zero, which OTLP treats as an invalid id.
            pub fn is_zero(&self) -> bool {
                self.0.iter().all(|byte| *byte == 0)
            }

            /// Returns the raw bytes.
            pub fn as_bytes(&self) -> &[u8; $len] {
                &self.0
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                // Encoded in one pass, because ids are formatted for every span the API serves and
                // every call the gateway forwards, and a formatter call per byte costs more.
                let mut text = [0u8; $len * 2];
                let _ = hex::encode_to_slice(self.0, &mut text);
                f.pad(std::str::from_utf8(&text).unwrap_or_default())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({self})", stringify!($name))
            }
        }

        impl FromStr for $name {
            type Err = InvalidId;

            fn from_str(text: &str) -> Result<Self, Self::Err> {
                let invalid = || InvalidId {
                    what: $what,
                    expected: $len,
                    found: format!("{:?}", truncate_for_message(text)),
                };
                if text.len() != $len * 2 {
                    return Err(invalid());
                }
                let mut bytes = [0u8; $len];
                for (index, byte) in bytes.iter_mut().enumerate() {
                    let pair = text.get(index * 2..index * 2 + 2).ok_or_else(invalid)?;
                    *byte = u8::from_str_radix(pair, 16).map_err(|_| invalid())?;
                }
                Ok(Self(bytes))
            }
        }

        impl Serialize for $name {
            fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.collect_str(self)
            }
        }

        impl<'de> Deserialize<'de> for $name {
            fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let text = String::deserialize(deserializer)?;
                text.parse().map_err(serde::de::Error::custom)
            }
        }
    };
}

hex_id!(TraceId, 16, "trace_id", "A 16-byte W3C trace id.");
hex_id!(SpanId, 8, "span_id", "An 8-byte span id.");

/// Cuts text that goes into an error message to a readable length.
fn truncate_for_message(text: &str) -> &str {
    match text.char_indices().nth(40) {
        Some((index, _)) => &text[..index],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trace_id_round_trips_through_hex() {
        let id: TraceId = "0102030405060708090a0b0c0d0e0f10".parse().unwrap();
        assert_eq!(id.0[0], 1);
        assert_eq!(id.to_string(), "0102030405060708090a0b0c0d0e0f10");
    }

    #[test]
    fn display_covers_every_byte_and_width() {
        let id = SpanId([0x00, 0x0f, 0xf0, 0xff, 0x12, 0xab, 0x9c, 0x7e]);
        assert_eq!(id.to_string(), "000ff0ff12ab9c7e");
        assert_eq!(format!("[{id:>18}]"), "[  000ff0ff12ab9c7e]");
        let all: Vec<String> = (0..=255u8)
            .map(|byte| SpanId([byte; 8]).to_string()[..2].to_owned())
            .collect();
        let expected: Vec<String> = (0..=255u8).map(|byte| format!("{byte:02x}")).collect();
        assert_eq!(all, expected);
    }

    #[test]
    fn uppercase_hex_is_accepted() {
        let id: SpanId = "ABCDEF0123456789".parse().unwrap();
        assert_eq!(id.to_string(), "abcdef0123456789");
    }

    #[test]
    fn wrong_length_names_the_field() {
        let error = SpanId::from_slice(&[1, 2, 3]).unwrap_err();
        assert_eq!(
            error.to_string(),
            "span_id must be 8 bytes (16 hex characters), got 3 bytes"
        );
    }

    #[test]
    fn non_hex_text_is_rejected() {
        assert!("zz02030405060708".parse::<SpanId>().is_err());
        assert!("é102030405060708".parse::<SpanId>().is_err());
    }
}
