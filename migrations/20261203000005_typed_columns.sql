-- Columns that hold one of a fixed set of values are Postgres enums, so the database and the
-- Rust enums they map to (sqlx::Type) agree on the set and nothing else can be stored.

create type grant_role as enum ('producer', 'consumer');
alter table access_grant drop constraint access_grant_role_check;
alter table access_grant alter column role type grant_role using role::grant_role;

create type drift_finding_kind as enum ('unknown_acl', 'unknown_topic');
alter table drift_finding drop constraint drift_finding_kind_check;
alter table drift_finding alter column kind type drift_finding_kind using kind::drift_finding_kind;
