//! Prometheus scraping support: a parser for text exposition pages (Prometheus 0.0.4 and
//! OpenMetrics 1.0) and a mapper from the metrics of inference servers to Glassbox metric
//! points.
//!
//! Data flows in two steps. [`parse`] turns a page into an [`Exposition`] of metric
//! families, within [`Limits`]. A [`Mapper`], one per scrape target, turns each exposition
//! into [`MetricPoint`](glassbox_model::MetricPoint)s: the server's own metrics under their
//! own names ("raw" points), and canonical metrics with one set of names across vLLM, TGI,
//! llama.cpp, Triton, SGLang and the DCGM exporter. The canonical names and the server
//! metrics they come from are listed as data in [`canonical`]. Counters become rates and
//! histograms become interval percentiles by comparing a scrape with the previous one, which
//! is the state a mapper keeps.
//!
//! The crate does no I/O and does not log: fetching pages and storing points is the caller's.
//!
//! ```
//! use glassbox_prometheus::{Limits, Mapper, ServerKind, parse};
//!
//! let page = "\
//! ## TYPE vllm:num_requests_running gauge
//! vllm:num_requests_running{model_name=\"llama\"} 3.0
//! ## TYPE vllm:prompt_tokens_total counter
//! vllm:prompt_tokens_total{model_name=\"llama\"} 1200.0
//! ";
//! let exposition = parse(page, &Limits::default())?;
//! let mut mapper = Mapper::new("vllm".parse::<ServerKind>()?);
//! let converted = mapper.convert(&exposition, "vllm-0", 1_730_200_000_000_000_000);
//!
//! assert_eq!(converted.raw.len(), 2);
//! assert_eq!(converted.latest, vec![("inference.requests.running".to_owned(), 3.0)]);
//! // The token rate needs a second scrape.
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```

#![warn(missing_docs)]
#![cfg_attr(test, allow(clippy::unwrap_used, clippy::expect_used, clippy::panic))]

pub mod canonical;
mod cursor;
pub mod error;
pub mod family;
mod histogram;
mod index;
pub mod limits;
mod line;
pub mod mapper;
pub mod parse;
mod points;
pub mod server;
mod state;

pub use error::ParseError;
pub use family::{Exposition, Family, FamilyKind, Sample};
pub use limits::Limits;
pub use mapper::{Converted, Mapper};
pub use parse::{Format, parse, parse_with_format};
pub use server::{ServerKind, UnknownServerKind};
