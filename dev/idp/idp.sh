#!/usr/bin/env bash
# Start/stop the local OpenID Connect provider (dev/idp/server.mjs).
#
#   dev/idp/idp.sh start  <state-dir>   install deps if needed, start in background, wait until ready
#   dev/idp/idp.sh stop   <state-dir>   SIGTERM, wait, then SIGKILL; harmless if not running
#   dev/idp/idp.sh status <state-dir>   exit 0 if running, 3 if not
#
# <state-dir> holds idp.pid, idp.log and the persisted signing keys (jwks.json).
# The server reads IDP_PORT, IDP_HOST, IDP_ISSUER, IDP_USERS_FILE, PORTAL_CLIENT_ID,
# PORTAL_CLIENT_SECRET, PORTAL_REDIRECT_URIS and PORTAL_POST_LOGOUT_REDIRECT_URIS
# from the environment (see server.mjs); IDP_STATE_DIR is set to <state-dir>.
set -euo pipefail

IDP_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
READY_TIMEOUT="${IDP_READY_TIMEOUT:-30}"
STOP_TIMEOUT="${IDP_STOP_TIMEOUT:-10}"

say() { printf '[idp] %s\n' "$*"; }
die() { printf '[idp] error: %s\n' "$*" >&2; exit 1; }

usage() {
  echo "usage: $0 {start|stop|status} <state-dir>" >&2
  exit 2
}

[ $# -eq 2 ] || usage
cmd="$1"
[ -n "$2" ] || usage
mkdir -p "$2"
STATE_DIR="$(cd "$2" && pwd)"
PID_FILE="$STATE_DIR/idp.pid"
LOG_FILE="$STATE_DIR/idp.log"

IDP_PORT="${IDP_PORT:-4000}"
ISSUER="${IDP_ISSUER:-http://127.0.0.1:${IDP_PORT}}"
ISSUER="${ISSUER%/}"
DISCOVERY_URL="$ISSUER/.well-known/openid-configuration"

# Prints the pid if the pid file names a live server.mjs process.
running_pid() {
  [ -f "$PID_FILE" ] || return 1
  local pid
  pid="$(tr -dc '0-9' < "$PID_FILE")"
  [ -n "$pid" ] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  if [ -r "/proc/$pid/cmdline" ] && ! tr '\0' ' ' < "/proc/$pid/cmdline" | grep -q 'server\.mjs'; then
    return 1 # pid was reused by something else
  fi
  echo "$pid"
}

discovery_ok() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS -o /dev/null --max-time 2 "$DISCOVERY_URL" 2>/dev/null
  else
    node -e 'fetch(process.argv[1], { signal: AbortSignal.timeout(2000) }).then((r) => process.exit(r.ok ? 0 : 1), () => process.exit(1))' "$DISCOVERY_URL"
  fi
}

ensure_deps() {
  command -v node >/dev/null 2>&1 || die "node is not installed"
  command -v npm >/dev/null 2>&1 || die "npm is not installed"
  local marker="$IDP_DIR/node_modules/.package-lock.json"
  if [ ! -d "$IDP_DIR/node_modules/oidc-provider" ] || [ ! -f "$marker" ] \
     || [ "$IDP_DIR/package-lock.json" -nt "$marker" ]; then
    say "installing oidc-provider from npm (first time only)..."
    (cd "$IDP_DIR" && npm ci --no-audit --no-fund --loglevel=error) >&2 \
      || die "npm ci failed in $IDP_DIR"
  fi
}

start() {
  local pid
  if pid="$(running_pid)"; then
    say "already running (pid $pid), issuer $ISSUER, log $LOG_FILE"
    return 0
  fi
  rm -f "$PID_FILE"
  if discovery_ok; then
    die "something already answers at $DISCOVERY_URL, but not the provider of $STATE_DIR; stop it first or set IDP_PORT/IDP_ISSUER"
  fi
  ensure_deps

  printf '\n==== %s starting idp (issuer %s) ====\n' "$(date -u +%Y-%m-%dT%H:%M:%SZ)" "$ISSUER" >> "$LOG_FILE"
  IDP_STATE_DIR="$STATE_DIR" nohup node "$IDP_DIR/server.mjs" >> "$LOG_FILE" 2>&1 < /dev/null &
  pid=$!
  echo "$pid" > "$PID_FILE"

  local deadline=$((SECONDS + READY_TIMEOUT))
  while :; do
    if ! kill -0 "$pid" 2>/dev/null; then
      rm -f "$PID_FILE"
      echo "[idp] error: the identity provider exited during start-up; last lines of $LOG_FILE:" >&2
      tail -n 30 "$LOG_FILE" >&2 || true
      echo "[idp] full log: $LOG_FILE" >&2
      exit 1
    fi
    if discovery_ok && kill -0 "$pid" 2>/dev/null; then
      say "ready: $ISSUER (pid $pid, log $LOG_FILE)"
      return 0
    fi
    if [ "$SECONDS" -ge "$deadline" ]; then
      echo "[idp] error: $DISCOVERY_URL did not answer within ${READY_TIMEOUT}s; last lines of $LOG_FILE:" >&2
      tail -n 30 "$LOG_FILE" >&2 || true
      echo "[idp] full log: $LOG_FILE" >&2
      stop_pid "$pid"
      rm -f "$PID_FILE"
      exit 1
    fi
    sleep 0.2
  done
}

stop_pid() {
  local pid="$1" i
  kill -TERM "$pid" 2>/dev/null || return 0
  for ((i = 0; i < STOP_TIMEOUT * 10; i++)); do
    kill -0 "$pid" 2>/dev/null || return 0
    sleep 0.1
  done
  say "pid $pid did not stop after ${STOP_TIMEOUT}s, sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
}

stop() {
  local pid
  if pid="$(running_pid)"; then
    stop_pid "$pid"
    say "stopped (pid $pid)"
  else
    say "not running"
  fi
  rm -f "$PID_FILE"
}

status() {
  local pid
  if pid="$(running_pid)"; then
    if discovery_ok; then
      say "running (pid $pid), issuer $ISSUER, log $LOG_FILE"
    else
      say "running (pid $pid) but $DISCOVERY_URL does not answer; log $LOG_FILE"
    fi
    return 0
  fi
  say "not running"
  return 3
}

case "$cmd" in
  start) start ;;
  stop) stop ;;
  status) status ;;
  *) usage ;;
esac
