//! Request body handling shared by every OTLP/HTTP endpoint: content type and encoding
//! negotiation, and decompression with a cap on the decompressed size.

use std::io::Read;

use flate2::read::MultiGzDecoder;

use crate::error::DecodeError;

/// Default cap on a decompressed request body: 64 MiB, the OTLP recommendation.
pub const DEFAULT_MAX_BODY_BYTES: usize = 64 * 1024 * 1024;

/// The wire format of a request body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Encoding {
    /// Binary protobuf (`application/x-protobuf`).
    Protobuf,
    /// OTLP/JSON (`application/json`).
    Json,
}

impl Encoding {
    /// Picks the encoding from a `Content-Type` header value; parameters such as `charset`
    /// are ignored. A missing header is read as protobuf, as most SDKs default to it.
    pub fn from_content_type(content_type: Option<&str>) -> Result<Encoding, DecodeError> {
        let Some(header) = content_type else {
            return Ok(Encoding::Protobuf);
        };
        let essence = header
            .split(';')
            .next()
            .unwrap_or_default()
            .trim()
            .to_ascii_lowercase();
        match essence.as_str() {
            "application/x-protobuf" | "application/protobuf" | "application/octet-stream" => {
                Ok(Encoding::Protobuf)
            }
            "application/json" => Ok(Encoding::Json),
            _ => Err(DecodeError::UnsupportedContentType(header.to_owned())),
        }
    }

    /// Returns the content type that responses in this encoding carry.
    pub fn content_type(self) -> &'static str {
        match self {
            Encoding::Protobuf => "application/x-protobuf",
            Encoding::Json => "application/json",
        }
    }
}

/// Decompresses a body according to its `Content-Encoding`, refusing to produce more than
/// `max_bytes`. The check happens while inflating, so a small gzip bomb never allocates its
/// full size.
pub fn decompress(
    body: &[u8],
    content_encoding: Option<&str>,
    max_bytes: usize,
) -> Result<Vec<u8>, DecodeError> {
    let encoding = content_encoding
        .map(|value| value.trim().to_ascii_lowercase())
        .unwrap_or_default();
    match encoding.as_str() {
        "" | "identity" => {
            if body.len() > max_bytes {
                return Err(DecodeError::TooLarge { limit: max_bytes });
            }
            Ok(body.to_vec())
        }
        "gzip" | "x-gzip" => gunzip(body, max_bytes),
        other => Err(DecodeError::UnsupportedEncoding(other.to_owned())),
    }
}

fn gunzip(body: &[u8], max_bytes: usize) -> Result<Vec<u8>, DecodeError> {
    let limit = u64::try_from(max_bytes)
        .unwrap_or(u64::MAX)
        .saturating_add(1);
    let mut decoder = MultiGzDecoder::new(body).take(limit);
    let mut output = Vec::with_capacity(body.len().saturating_mul(4).min(max_bytes));
    decoder
        .read_to_end(&mut output)
        .map_err(|error| DecodeError::InvalidGzip(error.to_string()))?;
    if output.len() > max_bytes {
        return Err(DecodeError::TooLarge { limit: max_bytes });
    }
    Ok(output)
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use std::io::Write;

    use flate2::Compression;
    use flate2::write::GzEncoder;

    use super::*;

    fn gzip(data: &[u8]) -> Vec<u8> {
        let mut encoder = GzEncoder::new(Vec::new(), Compression::default());
        encoder.write_all(data).unwrap();
        encoder.finish().unwrap()
    }

    #[test]
    fn gzip_round_trips() {
        let body = gzip(b"hello");
        assert_eq!(decompress(&body, Some("gzip"), 100).unwrap(), b"hello");
    }

    #[test]
    fn gzip_bomb_stops_at_limit() {
        let body = gzip(&vec![0u8; 10 * 1024 * 1024]);
        assert!(body.len() < 64 * 1024);
        let error = decompress(&body, Some("gzip"), 1024 * 1024).unwrap_err();
        assert_eq!(error, DecodeError::TooLarge { limit: 1024 * 1024 });
    }

    #[test]
    fn truncated_gzip_is_invalid() {
        let body = gzip(b"hello world, hello world");
        let error = decompress(&body[..body.len() - 6], Some("gzip"), 100).unwrap_err();
        assert!(matches!(error, DecodeError::InvalidGzip(_)));
    }

    #[test]
    fn unknown_encoding_is_rejected() {
        let error = decompress(b"x", Some("br"), 100).unwrap_err();
        assert_eq!(error, DecodeError::UnsupportedEncoding("br".into()));
    }

    #[test]
    fn content_type_parameters_are_ignored() {
        let encoding = Encoding::from_content_type(Some("application/json; charset=utf-8"));
        assert_eq!(encoding.unwrap(), Encoding::Json);
        assert!(Encoding::from_content_type(Some("text/plain")).is_err());
    }
}
