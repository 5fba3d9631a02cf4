//! Normalization: a pure function from one OTLP span (with its resource and scope) to the
//! canonical [`glassbox_model::Span`], for every GenAI instrumentation convention, and from
//! GenAI log records to content patches for their spans.
//!
//! Conventions read: OpenTelemetry GenAI (names before and after 1.37, the genai-repository
//! renames), OpenInference, OpenLLMetry and the Traceloop SDK, OpenLIT, Langfuse, the Vercel
//! AI SDK (v3 to v6 names) and Pydantic AI / Logfire. The alias tables live in [`names`];
//! each concern has its own module. Unknown attributes are kept in `Span::attributes`.
//!
//! Nothing here logs. Odd attribute values never fail a span: [`normalize_span`] rejects only
//! ids that make a span unusable ([`NormalizeError`]), and the unit tests cover odd types.

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod attributes;
pub mod context;
pub mod cost;
pub mod error;
pub mod finish;
pub mod kind;
pub mod logs;
pub mod lookup;
pub mod messages;
pub mod models;
pub mod names;
pub mod normalize;
pub mod patch;
pub mod provider;
pub mod status;
pub mod timing;
pub mod usage;

pub use error::NormalizeError;
pub use logs::{log_record_content, log_records_content};
pub use normalize::normalize_span;
pub use patch::apply_patches;
