#!/usr/bin/env bash
# The compile-time checked queries (sqlx's query! macros) are compiled against `.sqlx/`, the
# description of each query that sqlx writes when it checks the query against a database.
#   dev/query-data.sh          writes `.sqlx/` afresh; commit it with the queries it describes
#   dev/query-data.sh --check  fails when `.sqlx/` is not what the queries and migrations give
# Both check every query against a scratch database built from migrations/ (PostgreSQL must be
# up: dev/stack.sh up). Builds otherwise never connect: dev/lib.sh sets SQLX_OFFLINE=true.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
EBP_STEP=query-data
cd "$EBP_ROOT"

mode="${1:-write}"
case "$mode" in write | --check) ;; *) die "usage: dev/query-data.sh [--check]" ;; esac

scratch="event_bus_portal_query_data"
export PGOPTIONS="--client-min-messages=warning"
admin_url="$EBP_DATABASE_URL"
scratch_url="${EBP_DATABASE_URL%/*}/$scratch"
psql -q -v ON_ERROR_STOP=1 "$admin_url" -c "drop database if exists $scratch" -c "create database $scratch" >/dev/null
trap 'psql -q "$admin_url" -c "drop database if exists $scratch" >/dev/null 2>&1 || true' EXIT
for migration in migrations/*.sql; do
  psql -q -v ON_ERROR_STOP=1 "$scratch_url" -f "$migration" >/dev/null
done

out="$(mktemp -d)"
# The macros run when their crate compiles: make both crates compile again, online.
touch app/src/lib.rs server/src/lib.rs
SQLX_OFFLINE=false DATABASE_URL="$scratch_url" SQLX_OFFLINE_DIR="$out" \
  cargo check --quiet -p server --lib

if [ "$mode" = "--check" ]; then
  mkdir -p .sqlx
  if ! diff -r -q .sqlx "$out" >/dev/null; then
    diff -r -q .sqlx "$out" | sed 's/^/  /' >&2 || true
    rm -rf "$out"
    die "the query data in .sqlx/ is stale: run dev/query-data.sh and commit .sqlx/"
  fi
  rm -rf "$out"
  say "the query data in .sqlx/ matches the queries and migrations"
else
  rm -rf .sqlx
  mv "$out" .sqlx
  say "wrote .sqlx/ ($(find .sqlx -name 'query-*.json' | wc -l) queries)"
fi
