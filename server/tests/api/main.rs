//! Integration tests against the real PostgreSQL and Kafka clusters of the local stack
//! (`dev/stack.sh up`). Each test gets a fresh database from `#[sqlx::test]`.

mod apply;
mod auth;
mod authz;
mod bad_input;
mod catalog;
mod fixtures;
mod hardening;
mod health;
mod helpers;
mod kafka;
mod kafka_admin;
mod live;
mod oidc;
mod ops;
mod queue;
mod race;
mod requests;
mod schemas;
mod teams;
mod typed_columns;
mod webhooks;
