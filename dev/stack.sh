#!/usr/bin/env bash
# The local stack: PostgreSQL, two Kafka clusters (sandbox, prod) and the OpenID Connect provider.
#   dev/stack.sh up|down|status
# Everything listens on 127.0.0.1 and keeps its data under $EBP_STACK_DIR (default .stack/).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
EBP_STEP=stack

up() {
  mkdir -p "$EBP_STACK_DIR"
  "$EBP_ROOT/dev/postgres.sh" start
  "$EBP_ROOT/dev/kafka/kafka.sh" fetch
  # Both clusters boot in parallel: each JVM takes most of its start-up time waiting on itself.
  "$EBP_ROOT/dev/kafka/kafka.sh" start sandbox "$EBP_SANDBOX_PORT" "$EBP_SANDBOX_CONTROLLER_PORT" "$EBP_STACK_DIR/kafka-sandbox" &
  local sandbox=$!
  "$EBP_ROOT/dev/kafka/kafka.sh" start prod "$EBP_PROD_PORT" "$EBP_PROD_CONTROLLER_PORT" "$EBP_STACK_DIR/kafka-prod" &
  local prod=$!
  "$EBP_ROOT/dev/idp/idp.sh" start "$EBP_STACK_DIR/idp"
  wait "$sandbox" || die "Kafka 'sandbox' did not start; see $EBP_STACK_DIR/kafka-sandbox/kafka.log"
  wait "$prod" || die "Kafka 'prod' did not start; see $EBP_STACK_DIR/kafka-prod/kafka.log"
  say "up: PostgreSQL 127.0.0.1:$EBP_PG_PORT, Kafka sandbox 127.0.0.1:$EBP_SANDBOX_PORT, Kafka prod 127.0.0.1:$EBP_PROD_PORT, identity provider $EBP_IDP_ISSUER"
}

down() {
  "$EBP_ROOT/dev/idp/idp.sh" stop "$EBP_STACK_DIR/idp" || true
  "$EBP_ROOT/dev/kafka/kafka.sh" stop "$EBP_STACK_DIR/kafka-sandbox" &
  "$EBP_ROOT/dev/kafka/kafka.sh" stop "$EBP_STACK_DIR/kafka-prod" &
  wait || true
  "$EBP_ROOT/dev/postgres.sh" stop || true
  say "down"
}

status() {
  local ok=0
  "$EBP_ROOT/dev/postgres.sh" status && echo "postgres: running" || { echo "postgres: stopped"; ok=1; }
  for c in sandbox prod; do
    "$EBP_ROOT/dev/kafka/kafka.sh" status "$EBP_STACK_DIR/kafka-$c" >/dev/null 2>&1 && echo "kafka $c: running" || { echo "kafka $c: stopped"; ok=1; }
  done
  "$EBP_ROOT/dev/idp/idp.sh" status "$EBP_STACK_DIR/idp" >/dev/null 2>&1 && echo "identity provider: running" || { echo "identity provider: stopped"; ok=1; }
  return "$ok"
}

case "${1:-}" in
  up) up ;;
  down) down ;;
  status) status ;;
  *) echo "usage: $0 up|down|status" >&2; exit 2 ;;
esac
