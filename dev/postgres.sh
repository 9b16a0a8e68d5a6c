#!/usr/bin/env bash
# A private PostgreSQL cluster for the portal: its own data folder and port, on 127.0.0.1 only.
#   dev/postgres.sh start|stop|status
set -euo pipefail
source "$(dirname "$0")/lib.sh"
EBP_STEP=postgres

pg_bin() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1)"
  [ -n "$dir" ] || die "PostgreSQL server binaries not found under /usr/lib/postgresql (apt package postgresql)"
  echo "$dir"
}

# PostgreSQL refuses to run as root. As root we run it as the `postgres` user, which must be able
# to reach the data folder; when the checkout sits somewhere that user cannot enter, the data goes
# to a folder under /var/lib named after the checkout instead.
pg_user=""
pg_home="$EBP_STACK_DIR/postgres"
if [ "$(id -u)" -eq 0 ]; then
  pg_user="postgres"
  id postgres >/dev/null 2>&1 || die "user 'postgres' missing (installed with the postgresql package)"
  mkdir -p "$EBP_STACK_DIR"
  if ! (cd / && runuser -u postgres -- test -x "$EBP_STACK_DIR"); then
    pg_home="/var/lib/event-bus-portal/$(printf '%s' "$EBP_STACK_DIR" | sha1sum | cut -c1-12)/postgres"
  fi
fi
data="$pg_home/data"
log="$pg_home/postgres.log"
sock="$pg_home/socket"

as_pg() {
  if [ -n "$pg_user" ]; then (cd / && runuser -u "$pg_user" -- "$@"); else "$@"; fi
}

running() { as_pg "$(pg_bin)/pg_ctl" -D "$data" status >/dev/null 2>&1; }

start() {
  local bin; bin="$(pg_bin)"
  mkdir -p "$pg_home"
  [ -z "$pg_user" ] || chown "$pg_user" "$pg_home"
  if [ ! -f "$data/PG_VERSION" ]; then
    say "creating a private cluster in $data"
    as_pg "$bin/initdb" -D "$data" -U postgres --auth=trust --encoding=UTF8 --no-instructions >"$pg_home/initdb.log" 2>&1 \
      || die "initdb failed; see $pg_home/initdb.log"
  fi
  if running; then
    say "already running on 127.0.0.1:$EBP_PG_PORT"
  else
    mkdir -p "$sock"; [ -z "$pg_user" ] || chown "$pg_user" "$sock"
    as_pg "$bin/pg_ctl" -D "$data" -l "$log" -w -t 60 \
      -o "-p $EBP_PG_PORT -c listen_addresses=127.0.0.1 -k $sock -c max_connections=200 -c fsync=off -c synchronous_commit=off -c full_page_writes=off" \
      start >/dev/null || { tail -n 20 "$log" >&2 || true; die "PostgreSQL did not start; see $log"; }
    say "started on 127.0.0.1:$EBP_PG_PORT (log: $log)"
  fi
  local psql=("$bin/psql" -h 127.0.0.1 -p "$EBP_PG_PORT" -U postgres -v ON_ERROR_STOP=1 -qtA)
  if [ "$("${psql[@]}" -c "select 1 from pg_roles where rolname = 'portal'")" != "1" ]; then
    "${psql[@]}" -c "create role portal login createdb" >/dev/null
  fi
  if [ "$("${psql[@]}" -c "select 1 from pg_database where datname = 'event_bus_portal'")" != "1" ]; then
    "${psql[@]}" -c "create database event_bus_portal owner portal" >/dev/null
    say "created database event_bus_portal"
  fi
}

stop() {
  if running; then
    as_pg "$(pg_bin)/pg_ctl" -D "$data" -m fast -w stop >/dev/null && say "stopped"
  fi
}

case "${1:-}" in
  start) start ;;
  stop) stop ;;
  status) running ;;
  *) echo "usage: $0 start|stop|status" >&2; exit 2 ;;
esac
