//! Errors of OTLP body decoding. Each maps to one HTTP status in the receivers.

/// The reason an OTLP request body could not be decoded.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum DecodeError {
    /// The body, after decompression, exceeds the configured limit.
    #[error("request body too large: more than {limit} bytes after decompression")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// `Content-Type` names a format the receiver does not speak.
    #[error("unsupported content type {0:?}: send application/x-protobuf or application/json")]
    UnsupportedContentType(String),
    /// `Content-Encoding` names a compression the receiver does not speak.
    #[error("unsupported content encoding {0:?}: send gzip or no compression")]
    UnsupportedEncoding(String),
    /// The gzip stream is corrupt or truncated.
    #[error("invalid gzip body: {0}")]
    InvalidGzip(String),
    /// The protobuf bytes do not decode.
    #[error("invalid protobuf body: {0}")]
    InvalidProtobuf(String),
    /// The JSON document is malformed or a field has the wrong type.
    #[error("invalid JSON body: {0}")]
    InvalidJson(String),
    /// The body could not be read to its end (the client stopped sending).
    #[error("failed to read the request body: {0}")]
    Read(String),
}
