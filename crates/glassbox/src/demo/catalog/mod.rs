//! Everything the demo's traces are made of: models, services, users and texts.
//!
//! The four services belong to Brightwater Outfitters, a made-up outdoor equipment shop. All
//! names, orders, prompts and answers are invented, in English, and contain no real
//! personal data.

pub mod coding;
pub mod faq;
pub mod flagged;
pub mod help_center;
pub mod models;
pub mod notes;
pub mod services;
pub mod support;
