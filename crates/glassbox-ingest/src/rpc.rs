//! The `google.rpc` messages that OTLP failure responses carry: `Status` in OTLP/HTTP bodies
//! and in gRPC's `grpc-status-details-bin`, and `RetryInfo` in the details of a throttled
//! gRPC request.

/// `google.rpc.Status`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RpcStatus {
    /// The gRPC status code.
    #[prost(int32, tag = "1")]
    pub code: i32,
    /// The error message, for a developer.
    #[prost(string, tag = "2")]
    pub message: String,
    /// Machine-readable details, such as a [`RetryInfo`].
    #[prost(message, repeated, tag = "3")]
    pub details: Vec<ProtoAny>,
}

/// `google.protobuf.Any`: a message with the URL of its type.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoAny {
    /// `type.googleapis.com/` followed by the message's full name.
    #[prost(string, tag = "1")]
    pub type_url: String,
    /// The encoded message.
    #[prost(bytes = "vec", tag = "2")]
    pub value: Vec<u8>,
}

/// `google.rpc.RetryInfo`: how long the client should wait before it retries.
#[derive(Clone, PartialEq, prost::Message)]
pub struct RetryInfo {
    /// The delay.
    #[prost(message, optional, tag = "1")]
    pub retry_delay: Option<ProtoDuration>,
}

/// The type URL of [`RetryInfo`] in a [`ProtoAny`].
pub const RETRY_INFO_TYPE_URL: &str = "type.googleapis.com/google.rpc.RetryInfo";

/// `google.protobuf.Duration`.
#[derive(Clone, PartialEq, prost::Message)]
pub struct ProtoDuration {
    /// Whole seconds.
    #[prost(int64, tag = "1")]
    pub seconds: i64,
    /// Nanoseconds beyond the seconds.
    #[prost(int32, tag = "2")]
    pub nanos: i32,
}
