//! OTLP ingest: the HTTP and gRPC receivers and the batch writer behind them.
//!
//! Both receivers decode a request, normalize it into a [`glassbox_store::WriteBatch`] and
//! hand it to the [`BatchWriter`]; they answer only after the batch is committed, so an
//! acknowledged span is never lost.

#![warn(missing_docs)]

pub mod convert;
pub mod grpc;
pub mod http;
pub mod log_limit;
pub mod recent;
pub mod rpc;
mod service;
pub mod writer;

pub use service::{Ingest, IngestError, IngestOptions, Signal, Submitted};
pub use writer::{BatchWriter, Commit, Reservation, WriteError, WriterOptions, WriterStats};
