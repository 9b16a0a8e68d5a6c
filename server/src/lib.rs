//! Event Bus Portal server: configuration, HTTP routing, sign-in, and the connections to Postgres
//! and the Kafka clusters. `main.rs` only wires these together.
//!
//! No `unsafe` here: the raw librdkafka calls live in `kafka::admin::ffi`, the one module allowed it.
#![deny(unsafe_code)]

pub mod apply;
pub mod auth;
pub mod background;
pub mod config;
pub mod db;
pub mod events;
pub mod health;
pub mod kafka;
pub mod ops;
pub mod reconcile;
pub mod registry;
pub mod security;
pub mod startup;
pub mod state;
pub mod telemetry;
pub mod webhooks;

/// The allocator of every program built on the server (the portal, its tests, the benchmarks).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;
