#!/usr/bin/env bash
# Loads the demo data once: only into a database that has no teams yet.
#   dev/seed.sh
set -euo pipefail
source "$(dirname "$0")/lib.sh"
EBP_STEP=seed
psql_bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)/psql"
teams=$("$psql_bin" "$EBP_DATABASE_URL" -qtA -c "select count(*) from team" 2>/dev/null || echo missing)
case "$teams" in
  missing) die "the schema is not there yet: start the portal once so it applies its migrations" ;;
  0) "$psql_bin" "$EBP_DATABASE_URL" -q -v ON_ERROR_STOP=1 -f "$EBP_ROOT/dev/seed.sql" >/dev/null
     # The demo's audit rows were written with SQL: the portal seals them with its audit key.
     "${EBP_PORTAL_BIN:-$CARGO_TARGET_DIR/debug/event-bus-portal}" --seal-audit-log >/dev/null \
       || die "sealing the demo audit rows failed"
     # The demo's topics, principals and ACLs go onto the clusters now, not at the
     # reconciler's next scheduled pass: a running portal checks the clusters when told.
     "$psql_bin" "$EBP_DATABASE_URL" -q -c "notify reconcile" >/dev/null
     say "demo data loaded" ;;
  *) say "demo data already present ($teams teams)" ;;
esac
