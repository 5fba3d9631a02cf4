//! Request and response headers: what is forwarded, what sets span fields, which values are
//! credentials.
//!
//! The gateway's own `x-glassbox-*` headers are read and never forwarded. Hop-by-hop headers
//! are dropped both ways. `accept-encoding` is dropped on the way up so the upstream responds
//! uncompressed, which lets the gateway read the response it records. The client still gets
//! the same content.

use axum::http::header::{self, HeaderMap, HeaderName, HeaderValue};
use glassbox_model::{SpanId, TraceId};
use serde_json::{Map, Value};

use crate::client::connection_options;
use crate::config::Dialect;
use crate::upstream::{Secret, Upstream};

/// The prefix of the gateway's own headers.
const OWN_PREFIX: &str = "x-glassbox-";
/// The prefix of headers that add one metadata key each.
const METADATA_PREFIX: &str = "x-glassbox-metadata-";
/// The header that chooses an upstream by name.
pub const UPSTREAM_HEADER: &str = "x-glassbox-upstream";
/// Headers that hold a credential, whatever their dialect.
const CREDENTIAL_HEADERS: [&str; 3] = ["authorization", "x-api-key", "api-key"];
/// Headers that concern one connection only.
const HOP_BY_HOP: [&str; 9] = [
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "proxy-connection",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// The recorded span's place in a trace and the call's user, session, tags and metadata, from
/// the request headers.
#[derive(Debug, Clone, PartialEq)]
pub struct CallContext {
    /// The application's trace, from `traceparent`, or a new one.
    pub trace_id: TraceId,
    /// The application's span that made the call, from `traceparent`.
    pub parent_span_id: Option<SpanId>,
    /// The recorded span's own id.
    pub span_id: SpanId,
    /// From `x-glassbox-user-id`.
    pub user_id: Option<String>,
    /// From `x-glassbox-session-id`.
    pub session_id: Option<String>,
    /// From `x-glassbox-tags`, comma-separated.
    pub tags: Vec<String>,
    /// From `x-glassbox-metadata-KEY` headers.
    pub metadata: Map<String, Value>,
}

impl CallContext {
    /// Reads the context from the request headers.
    pub fn from_headers(headers: &HeaderMap) -> CallContext {
        let parent = headers
            .get("traceparent")
            .and_then(|value| value.to_str().ok())
            .and_then(parse_traceparent);
        CallContext {
            trace_id: parent.map_or_else(new_trace_id, |(trace, _)| trace),
            parent_span_id: parent.map(|(_, span)| span),
            span_id: new_span_id(),
            user_id: text(headers, "x-glassbox-user-id"),
            session_id: text(headers, "x-glassbox-session-id"),
            tags: text(headers, "x-glassbox-tags")
                .map(|tags| split_tags(&tags))
                .unwrap_or_default(),
            metadata: metadata(headers),
        }
    }
}

/// Parses a W3C `traceparent` (`00-<trace id>-<span id>-<flags>`); `None` when malformed or
/// when an id is all zeros.
pub fn parse_traceparent(value: &str) -> Option<(TraceId, SpanId)> {
    let mut parts = value.trim().split('-');
    let version = parts.next()?;
    let trace = parts.next()?;
    let span = parts.next()?;
    let flags = parts.next()?;
    if version.len() != 2 || version == "ff" || flags.len() != 2 {
        return None;
    }
    let trace: TraceId = trace.parse().ok()?;
    let span: SpanId = span.parse().ok()?;
    (!trace.is_zero() && !span.is_zero()).then_some((trace, span))
}

/// Returns the `traceparent` to send upstream: the call's trace, with the recorded span as the
/// parent, so that an instrumented upstream's spans hang under the gateway's span. The client's
/// trace flags are kept. A call without a valid `traceparent` is marked sampled: it is recorded.
pub fn upstream_traceparent(context: &CallContext, client: &HeaderMap) -> Option<HeaderValue> {
    let flags = client
        .get("traceparent")
        .and_then(|value| value.to_str().ok())
        .filter(|value| parse_traceparent(value).is_some())
        .and_then(|value| value.trim().rsplit('-').next())
        .unwrap_or("01");
    let value = format!("00-{}-{}-{flags}", context.trace_id, context.span_id);
    HeaderValue::from_str(&value).ok()
}

/// Returns the headers to send upstream: the client's, less the gateway's own, hop-by-hop
/// ones, `host`, `content-length`, `expect` and `accept-encoding`. The gateway has the whole
/// body before it sends the request, so it has no use for `expect: 100-continue`. The
/// upstream's key replaces the client's when one is configured, and `accept-encoding:
/// identity` requests an uncompressed response (a request without the header accepts any
/// encoding).
pub fn forward_request_headers(client: &HeaderMap, upstream: &Upstream) -> HeaderMap {
    let named = connection_options(client);
    let mut forwarded = HeaderMap::with_capacity(client.len() + 1);
    for (name, value) in client {
        let text = name.as_str();
        let dropped = text.starts_with(OWN_PREFIX)
            || is_hop_by_hop(&named, text)
            || matches!(
                text,
                "host" | "content-length" | "expect" | "accept-encoding"
            )
            || (upstream.api_key.is_some() && CREDENTIAL_HEADERS.contains(&text));
        if !dropped {
            forwarded.append(name.clone(), value.clone());
        }
    }
    forwarded.insert(
        header::ACCEPT_ENCODING,
        HeaderValue::from_static("identity"),
    );
    if let Some(key) = &upstream.api_key {
        set_credential(&mut forwarded, upstream.dialect, key);
    }
    forwarded
}

/// Returns true for a header that concerns one connection only: a standard hop-by-hop one, or
/// one that the message's `Connection` header names (`named`).
fn is_hop_by_hop(named: &[String], name: &str) -> bool {
    HOP_BY_HOP.contains(&name) || named.iter().any(|option| option == name)
}

fn set_credential(headers: &mut HeaderMap, dialect: Dialect, key: &Secret) {
    let (name, value) = match dialect {
        Dialect::Openai => (header::AUTHORIZATION, format!("Bearer {}", key.expose())),
        Dialect::Anthropic => (
            HeaderName::from_static("x-api-key"),
            key.expose().to_owned(),
        ),
    };
    if let Ok(mut value) = HeaderValue::from_str(&value) {
        value.set_sensitive(true);
        headers.insert(name, value);
    }
}

/// Returns the upstream's response headers to send the client, less hop-by-hop ones; less
/// `content-length` too when the gateway changes the body, or when the body came chunked (a
/// length beside `transfer-encoding` is not the body's).
pub fn forward_response_headers(upstream: &HeaderMap, body_changes: bool) -> HeaderMap {
    let stray_length = body_changes || upstream.contains_key(header::TRANSFER_ENCODING);
    let named = connection_options(upstream);
    let mut forwarded = HeaderMap::with_capacity(upstream.len());
    for (name, value) in upstream {
        let dropped = is_hop_by_hop(&named, name.as_str())
            || (stray_length && name == header::CONTENT_LENGTH);
        if !dropped {
            forwarded.append(name.clone(), value.clone());
        }
    }
    forwarded
}

/// Returns the credentials a request carries, so that they can be scrubbed from anything
/// recorded.
pub fn client_secrets(headers: &HeaderMap) -> Vec<Secret> {
    CREDENTIAL_HEADERS
        .iter()
        .filter_map(|name| headers.get(*name)?.to_str().ok())
        .map(|value| {
            let value = value.trim();
            value
                .strip_prefix("Bearer ")
                .or_else(|| value.strip_prefix("bearer "))
                .unwrap_or(value)
                .trim()
        })
        .filter(|value| value.len() >= 8)
        .map(Secret::new)
        .collect()
}

/// Returns a header's text, trimmed; `None` when absent, empty or not visible ASCII.
pub fn text(headers: &HeaderMap, name: &str) -> Option<String> {
    let value = headers.get(name)?.to_str().ok()?.trim();
    (!value.is_empty()).then(|| value.to_owned())
}

fn split_tags(tags: &str) -> Vec<String> {
    tags.split(',')
        .map(str::trim)
        .filter(|tag| !tag.is_empty())
        .map(str::to_owned)
        .collect()
}

fn metadata(headers: &HeaderMap) -> Map<String, Value> {
    headers
        .iter()
        .filter_map(|(name, value)| {
            let key = name.as_str().strip_prefix(METADATA_PREFIX)?;
            let value = value.to_str().ok()?.trim();
            (!key.is_empty()).then(|| (key.to_owned(), Value::String(value.to_owned())))
        })
        .collect()
}

fn new_trace_id() -> TraceId {
    let mut bytes = [0u8; 16];
    fastrand::fill(&mut bytes);
    bytes[0] |= 1;
    TraceId(bytes)
}

fn new_span_id() -> SpanId {
    let mut bytes = [0u8; 8];
    fastrand::fill(&mut bytes);
    bytes[0] |= 1;
    SpanId(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::config::GatewayConfig;
    use crate::upstream::{BaseUrls, Upstreams};

    fn headers(pairs: &[(&str, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(
                HeaderName::from_bytes(name.as_bytes()).unwrap(),
                HeaderValue::from_str(value).unwrap(),
            );
        }
        map
    }

    #[test]
    fn upstream_traceparent_names_gateway_span() {
        let mut client = HeaderMap::new();
        client.insert(
            "traceparent",
            HeaderValue::from_static("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-00"),
        );
        let context = CallContext::from_headers(&client);
        let sent = upstream_traceparent(&context, &client).unwrap();
        let expected = format!("00-0af7651916cd43dd8448eb211c80319c-{}-00", context.span_id);
        assert_eq!(sent.to_str().unwrap(), expected);

        let context = CallContext::from_headers(&HeaderMap::new());
        let sent = upstream_traceparent(&context, &HeaderMap::new()).unwrap();
        let expected = format!("00-{}-{}-01", context.trace_id, context.span_id);
        assert_eq!(sent.to_str().unwrap(), expected);
    }

    #[test]
    fn traceparent_is_parsed_and_checked() {
        let (trace, span) =
            parse_traceparent("00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01").unwrap();
        assert_eq!(trace.to_string(), "0af7651916cd43dd8448eb211c80319c");
        assert_eq!(span.to_string(), "b7ad6b7169203331");
        assert_eq!(
            parse_traceparent("00-00000000000000000000000000000000-b7ad6b7169203331-01"),
            None
        );
        assert_eq!(parse_traceparent("00-abc-def-01"), None);
        assert_eq!(
            parse_traceparent("ff-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01"),
            None
        );
    }

    #[test]
    fn context_comes_from_own_headers() {
        let context = CallContext::from_headers(&headers(&[
            ("x-glassbox-user-id", "user-7"),
            ("x-glassbox-session-id", "s-1"),
            ("x-glassbox-tags", "beta, ,checkout"),
            ("x-glassbox-metadata-tenant", "acme"),
        ]));
        assert_eq!(context.user_id.as_deref(), Some("user-7"));
        assert_eq!(context.session_id.as_deref(), Some("s-1"));
        assert_eq!(context.tags, vec!["beta", "checkout"]);
        assert_eq!(context.metadata["tenant"], "acme");
        assert_eq!(context.parent_span_id, None);
        assert!(!context.trace_id.is_zero());
    }

    #[test]
    fn own_and_hop_headers_are_not_forwarded() {
        let upstreams =
            Upstreams::from_config(&GatewayConfig::default(), &BaseUrls::default()).unwrap();
        let openai = &upstreams.all()[0];
        let forwarded = forward_request_headers(
            &headers(&[
                ("authorization", "Bearer sk-client-key"),
                ("x-glassbox-user-id", "u"),
                ("connection", "keep-alive, x-hop"),
                ("x-hop", "1"),
                ("accept-encoding", "gzip"),
                ("expect", "100-continue"),
                ("openai-organization", "org-1"),
            ]),
            openai,
        );
        assert_eq!(
            forwarded.get("authorization").unwrap(),
            "Bearer sk-client-key"
        );
        assert_eq!(forwarded.get("openai-organization").unwrap(), "org-1");
        assert!(forwarded.get("x-glassbox-user-id").is_none());
        assert!(forwarded.get("connection").is_none());
        assert!(forwarded.get("x-hop").is_none());
        assert!(forwarded.get("expect").is_none());
        assert_eq!(forwarded.get("accept-encoding").unwrap(), "identity");
    }

    #[test]
    fn response_keeps_only_end_to_end_headers() {
        let upstream = headers(&[
            ("content-type", "application/json"),
            ("connection", "x-hop"),
            ("x-hop", "1"),
            ("keep-alive", "timeout=5"),
            ("content-length", "3"),
            ("retry-after", "7"),
        ]);
        let forwarded = forward_response_headers(&upstream, false);
        assert_eq!(forwarded.get("retry-after").unwrap(), "7");
        assert_eq!(forwarded.get("content-length").unwrap(), "3");
        assert!(forwarded.get("x-hop").is_none());
        assert!(forwarded.get("keep-alive").is_none());

        let mut chunked = upstream.clone();
        chunked.insert("transfer-encoding", HeaderValue::from_static("chunked"));
        let forwarded = forward_response_headers(&chunked, false);
        assert!(forwarded.get("content-length").is_none());
        assert!(forwarded.get("transfer-encoding").is_none());
    }

    #[test]
    fn client_secrets_strip_the_scheme() {
        let secrets = client_secrets(&headers(&[
            ("authorization", "Bearer sk-client-key"),
            ("x-api-key", "sk-ant-123456"),
        ]));
        let values: Vec<&str> = secrets.iter().map(Secret::expose).collect();
        assert_eq!(values, vec!["sk-client-key", "sk-ant-123456"]);
    }
}
