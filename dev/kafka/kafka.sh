#!/usr/bin/env bash
# Local Apache Kafka 4.x (KRaft, one combined broker+controller node per cluster), secured like
# production: SASL/SCRAM-SHA-512 on the client listener, SASL/PLAIN on the controller listener,
# StandardAuthorizer with deny-by-default. Jars come from Maven Central only (see pom.xml).
#
# Usage (other scripts depend on this interface):
#   kafka.sh fetch
#   kafka.sh start <cluster-name> <client-port> <controller-port> <state-dir>
#   kafka.sh stop <state-dir>
#   kafka.sh status <state-dir>
#   kafka.sh client-config <state-dir> <user> <password>   # prints the path of a client .properties
#   kafka.sh run-class <main-class> [args...]                # run a Kafka CLI class on the same classpath
#
# Environment (defaults in brackets):
#   KAFKA_VERSION [4.1.1]             org.apache.kafka:kafka_2.13 version
#   KAFKA_LOG4J2_VERSION [2.24.3]     log4j2 backend version (match the one Kafka depends on)
#   EBP_CACHE_DIR [~/.cache/event-bus-portal]  jars go to $EBP_CACHE_DIR/kafka-<version>/libs
#   KAFKA_BROKER_PASSWORD [broker-secret]              SCRAM user `broker` (inter-broker)
#   KAFKA_ADMIN_PASSWORD [portal-admin-secret]         SCRAM user `portal-admin` (the portal)
#   KAFKA_UNPRIVILEGED_PASSWORD [unprivileged-secret]  SCRAM user `unprivileged` (no ACLs)
#   KAFKA_CONTROLLER_PASSWORD [controller-secret]      PLAIN user `controller` (controller listener)
#   KAFKA_HEAP_OPTS [-Xms256m -Xmx512m]   KAFKA_JVM_OPTS [] (extra broker JVM options)
#   KAFKA_START_TIMEOUT [90]  KAFKA_STOP_TIMEOUT [30]  (seconds)
#   JAVA_HOME (optional; otherwise `java` from PATH)
# Passwords are bootstrapped into the metadata log when a state dir is formatted; changing the
# env afterwards does not change them (delete the state dir to start over).
set -euo pipefail

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
KAFKA_VERSION="${KAFKA_VERSION:-4.1.1}"
KAFKA_LOG4J2_VERSION="${KAFKA_LOG4J2_VERSION:-2.24.3}"
CACHE_ROOT="${EBP_CACHE_DIR:-${HOME:-/tmp}/.cache/event-bus-portal}"
KAFKA_DIR="$CACHE_ROOT/kafka-$KAFKA_VERSION"
LIBS_DIR="$KAFKA_DIR/libs"
FETCH_MARKER="$KAFKA_DIR/.fetched"
START_TIMEOUT="${KAFKA_START_TIMEOUT:-90}"
STOP_TIMEOUT="${KAFKA_STOP_TIMEOUT:-30}"

BROKER_USER=broker
ADMIN_USER=portal-admin
UNPRIVILEGED_USER=unprivileged
CONTROLLER_USER=controller
BROKER_PASSWORD="${KAFKA_BROKER_PASSWORD:-broker-secret}"
ADMIN_PASSWORD="${KAFKA_ADMIN_PASSWORD:-portal-admin-secret}"
UNPRIVILEGED_PASSWORD="${KAFKA_UNPRIVILEGED_PASSWORD:-unprivileged-secret}"
CONTROLLER_PASSWORD="${KAFKA_CONTROLLER_PASSWORD:-controller-secret}"

# JVM options for short-lived tool processes: start fast, stay small.
TOOL_JVM_OPTS=(-Xmx256m -XX:+UseSerialGC -XX:TieredStopAtLevel=1 -Xshare:auto
  -Djava.awt.headless=true "-Dlog4j2.configurationFile=$SCRIPT_DIR/tools-log4j2.yaml")

log() { printf '[kafka] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

usage() {
  cat >&2 <<'EOF'
usage: kafka.sh fetch
       kafka.sh start <cluster-name> <client-port> <controller-port> <state-dir>
       kafka.sh stop <state-dir>
       kafka.sh status <state-dir>
       kafka.sh client-config <state-dir> <user> <password>
       kafka.sh run-class <main-class> [args...]
EOF
  exit 2
}

java_bin() {
  if [[ -n "${JAVA_HOME:-}" && -x "$JAVA_HOME/bin/java" ]]; then
    printf '%s\n' "$JAVA_HOME/bin/java"
  elif command -v java >/dev/null 2>&1; then
    command -v java
  else
    die "no java found (Kafka $KAFKA_VERSION needs Java 17+); install a JDK or set JAVA_HOME"
  fi
}

check_java() {
  local java version major
  java="$(java_bin)"
  version="$("$java" -version 2>&1 | awk -F'"' '/version/ {print $2; exit}')"
  major="${version%%.*}"
  [[ "$major" == 1 ]] && major=8
  if [[ ! "$major" =~ ^[0-9]+$ ]] || ((major < 17)); then
    die "Kafka $KAFKA_VERSION needs Java 17+, but $java is '${version:-unknown}'"
  fi
}

# ---------------------------------------------------------------------------------------- fetch

fetch_fingerprint() {
  local pom_sum
  pom_sum="$(sha256sum "$SCRIPT_DIR/pom.xml" | cut -d' ' -f1)"
  printf 'kafka=%s log4j2=%s pom=%s\n' "$KAFKA_VERSION" "$KAFKA_LOG4J2_VERSION" "$pom_sum"
}

libs_ready() {
  [[ -f "$FETCH_MARKER" && -d "$LIBS_DIR" ]] && [[ "$(cat "$FETCH_MARKER")" == "$(fetch_fingerprint)" ]]
}

cmd_fetch() {
  libs_ready && return 0
  command -v mvn >/dev/null 2>&1 || die "Maven (mvn) not found on PATH; it is needed once to fetch Kafka $KAFKA_VERSION"
  mkdir -p "$KAFKA_DIR"
  # Serialize concurrent fetches (e.g. two clusters started in parallel).
  exec 8>"$KAFKA_DIR/.fetch.lock"
  if have_flock; then
    flock -w 900 8 || die "timed out waiting for another fetch of Kafka $KAFKA_VERSION ($KAFKA_DIR/.fetch.lock)"
  fi
  if libs_ready; then exec 8>&-; return 0; fi

  log "resolving broker jars from Maven Central (first time only)..."
  local tmp="$KAFKA_DIR/libs.tmp.$$" mvn_log="$KAFKA_DIR/fetch.log" started=$SECONDS
  rm -rf "$tmp"
  if ! mvn -q -B -f "$SCRIPT_DIR/pom.xml" \
    "-Dkafka.version=$KAFKA_VERSION" "-Dlog4j2.version=$KAFKA_LOG4J2_VERSION" \
    "-Dlibs.dir=$tmp" "-Dkafka.build.dir=$KAFKA_DIR/maven-build" \
    package >"$mvn_log" 2>&1; then
    rm -rf "$tmp"
    tail -n 20 "$mvn_log" >&2 || true
    die "Maven could not resolve org.apache.kafka:kafka_2.13:$KAFKA_VERSION (+ kafka-tools, log4j) from Maven Central; full log: $mvn_log"
  fi
  local required
  for required in "kafka_2.13-$KAFKA_VERSION.jar" "kafka-tools-$KAFKA_VERSION.jar" \
    "kafka-clients-$KAFKA_VERSION.jar" "log4j-core-$KAFKA_LOG4J2_VERSION.jar" \
    "log4j-slf4j-impl-$KAFKA_LOG4J2_VERSION.jar"; do
    [[ -f "$tmp/$required" ]] || { rm -rf "$tmp"; die "fetch incomplete: $required missing (see $mvn_log)"; }
  done
  # Swap in atomically; a running broker keeps its already-open jars.
  rm -rf "$LIBS_DIR.old"
  [[ -d "$LIBS_DIR" ]] && mv "$LIBS_DIR" "$LIBS_DIR.old"
  mv "$tmp" "$LIBS_DIR"
  rm -rf "$LIBS_DIR.old" "$KAFKA_DIR/maven-build"
  fetch_fingerprint >"$FETCH_MARKER"
  log "Kafka $KAFKA_VERSION jars ready in $LIBS_DIR ($(du -sh "$LIBS_DIR" | cut -f1), $((SECONDS - started)) s)"
  exec 8>&-
}

# ------------------------------------------------------------------------------------- helpers

run_tool() { # <main-class> [args...]
  local java
  java="$(java_bin)"
  "$java" "${TOOL_JVM_OPTS[@]}" -cp "$LIBS_DIR/*" "$@"
}

port_open() { # <port>: something accepts TCP connections on 127.0.0.1:<port>
  # shellcheck disable=SC2016 # $1 is expanded by the inner bash
  timeout 2 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1"' _ "$1" >/dev/null 2>&1
}

validate_port() { # <name> <value>
  if [[ ! "$2" =~ ^[0-9]+$ ]] || (($2 < 1 || $2 > 65535)); then
    die "$1 must be a TCP port number, got '$2'"
  fi
}

# Passwords end up inside JAAS strings in server.properties and in `kafka-storage format --add-scram`
# arguments; keep them to characters that need no quoting in either place.
validate_password() { # <env-var-name> <value>
  [[ "$2" =~ ^[A-Za-z0-9._~@%^*+:/?!-]+$ ]] ||
    die "$1 may only contain letters, digits and . _ ~ @ % ^ * + : / ? ! - (and must not be empty)"
}

# Escape a value for a double-quoted JAAS string inside a .properties file.
jaas_quote_for_properties() {
  local v="$1"
  v="${v//\\/\\\\}"
  v="${v//\"/\\\"}"
  v="${v//\\/\\\\}"
  printf '%s' "$v"
}

abs_dir() { # <dir>: create if needed, print absolute path
  mkdir -p "$1" && (cd "$1" && pwd -P)
}

have_flock() { command -v flock >/dev/null 2>&1; }

state_lock() { # <state-dir>: serialize start/stop on one state dir
  exec 9>"$1/.kafka.lock"
  if have_flock; then
    flock -w 180 9 || die "another kafka.sh start/stop holds $1/.kafka.lock"
  fi
}

pid_alive() { # <pid>: alive and not a zombie
  local pid="$1" state
  kill -0 "$pid" 2>/dev/null || return 1
  if [[ -r "/proc/$pid/stat" ]]; then
    state="$(awk '{print $3}' "/proc/$pid/stat" 2>/dev/null || true)"
    [[ "$state" != Z ]] || return 1
  fi
  return 0
}

# Print the broker pid of <state-dir> if it is running (pid file present, process alive and it is
# really our broker for that state dir, not a recycled pid).
running_pid() { # <state-dir>
  local state="$1" pid
  [[ -f "$state/kafka.pid" ]] || return 1
  pid="$(tr -dc '0-9' <"$state/kafka.pid")"
  [[ -n "$pid" ]] || return 1
  pid_alive "$pid" || return 1
  if [[ -r "/proc/$pid/cmdline" ]]; then
    tr '\0' '\n' <"/proc/$pid/cmdline" | grep -qxF -- "-Debp.kafka.state.dir=$state" || return 1
  fi
  printf '%s\n' "$pid"
}

client_port_of() { # <state-dir>: client port from server.properties
  sed -n 's#^listeners=CLIENT://127\.0\.0\.1:\([0-9]*\),.*#\1#p' "$1/server.properties" 2>/dev/null | head -n1
}

controller_port_of() {
  sed -n 's#^listeners=.*CONTROLLER://127\.0\.0\.1:\([0-9]*\).*#\1#p' "$1/server.properties" 2>/dev/null | head -n1
}

write_client_config() { # <state-dir> <user> <password> -> prints path
  local state="$1" user="$2" password="$3" port file tmp
  port="$(client_port_of "$state")"
  [[ -n "$port" ]] || die "$state/server.properties not found or unreadable; run 'kafka.sh start' first"
  [[ "$user" =~ ^[A-Za-z0-9._@-]+$ ]] || die "user name '$user' has unsupported characters"
  [[ "$password" != *$'\n'* ]] || die "password must not contain a newline"
  # One file per user+password, so configs for different passwords never overwrite each other.
  file="$state/client-$user-$(printf '%s' "$password" | sha256sum | cut -c1-8).properties"
  tmp="$file.tmp.$$"
  (
    umask 077
    cat >"$tmp" <<EOF
# Generated by dev/kafka/kafka.sh: SCRAM-SHA-512 client login as '$user'.
bootstrap.servers=127.0.0.1:$port
security.protocol=SASL_PLAINTEXT
sasl.mechanism=SCRAM-SHA-512
sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$user" password="$(jaas_quote_for_properties "$password")";
EOF
  )
  mv -f "$tmp" "$file"
  printf '%s\n' "$file"
}

creds_fingerprint() {
  printf '%s\n' "$BROKER_PASSWORD" "$ADMIN_PASSWORD" "$UNPRIVILEGED_PASSWORD" "$CONTROLLER_PASSWORD" |
    sha256sum | cut -d' ' -f1
}

acl_doc() { # the least-privilege ACL set for the portal principal, as a comment block
  cat <<'EOF'
# Least-privilege alternative to super.users for the portal's principal
# ----------------------------------------------------------------------
# Locally User:portal-admin is a super user. A production operator can instead grant the
# portal's principal only these ACLs (allow; host *). Use a PREFIXED topic/group pattern
# (e.g. the portal's managed prefix) instead of the LITERAL wildcard "*" to narrow it further.
#
#   CLUSTER kafka-cluster  DESCRIBE          DescribeAcls, DescribeUserScramCredentials,
#                                            ListGroups (all groups)
#                          ALTER             CreateAcls, DeleteAcls, AlterUserScramCredentials
#                          DESCRIBE_CONFIGS  DescribeConfigs of BROKER resources (only if shown)
#                          ALTER_CONFIGS     IncrementalAlterConfigs of BROKER resources (only if
#                                            the portal edits broker configs)
#   TOPIC *                CREATE            CreateTopics (CREATE on CLUSTER also works)
#                          DELETE            DeleteTopics, DeleteRecords
#                          DESCRIBE          Metadata, ListOffsets (watermarks), OffsetFetch
#                          DESCRIBE_CONFIGS  DescribeConfigs of TOPIC resources; CreateTopics also
#                                            needs it to return the new topic's configs
#                          ALTER             CreatePartitions
#                          ALTER_CONFIGS     IncrementalAlterConfigs of TOPIC resources
#                          READ              NOT needed for watermarks/lag (DESCRIBE is enough);
#                                            only for reading messages (Fetch) and for resetting
#                                            group offsets (OffsetCommit / AlterConsumerGroupOffsets)
#   GROUP *                DESCRIBE          DescribeGroups, ConsumerGroupDescribe, OffsetFetch,
#                                            ListGroups (without CLUSTER DESCRIBE the list is
#                                            filtered to groups with GROUP DESCRIBE)
#                          READ / DELETE     only to reset offsets (READ) / DeleteGroups (DELETE)
#
# Per admin API (what the broker checks):
#   CreateTopics                  CREATE on CLUSTER or on the TOPIC; + DESCRIBE_CONFIGS on the
#                                 TOPIC, else the response carries no configs (topic still created)
#   CreatePartitions              ALTER on TOPIC
#   IncrementalAlterConfigs       ALTER_CONFIGS on TOPIC (topic configs) / on CLUSTER (broker configs)
#   DescribeConfigs               DESCRIBE_CONFIGS on TOPIC / on CLUSTER (broker configs)
#   CreateAcls, DeleteAcls        ALTER on CLUSTER
#   DescribeAcls                  DESCRIBE on CLUSTER
#   AlterUserScramCredentials     ALTER on CLUSTER
#   DescribeUserScramCredentials  DESCRIBE on CLUSTER
#   ListGroups                    DESCRIBE on CLUSTER (all groups); otherwise only the groups with
#                                 DESCRIBE on GROUP are listed (no error)
#   DescribeGroups                DESCRIBE on GROUP (ConsumerGroupDescribe, used by Admin for
#                                 new-protocol KIP-848 groups, may also want DESCRIBE on the topics
#                                 in the members' assignments: not verified here)
#   OffsetFetch                   DESCRIBE on GROUP + DESCRIBE on each TOPIC (partitions of topics
#                                 without it are dropped from an all-topics fetch)
#   ListOffsets                   DESCRIBE on TOPIC
#   Metadata                      DESCRIBE on TOPIC (topics without it are invisible); CREATE only
#                                 for auto-creation (disabled here); DescribeCluster needs nothing
# Each line above was checked against Kafka 4.1.1 (grant exactly the set: call succeeds; drop any
# one ACL of it: call is denied or the item is filtered out).
# Caveat: ALTER on CLUSTER lets the holder grant itself any ACL and reset any SCRAM password
# (including the broker's), so a portal that manages ACLs and users is effectively as powerful
# as a super user; the narrower set only limits accidents, not a compromised portal.
EOF
}

write_server_properties() { # <cluster-name> <client-port> <controller-port> <state-dir>
  local name="$1" port="$2" cport="$3" state="$4" tmp="$4/server.properties.tmp.$$"
  (
    umask 077
    {
      cat <<EOF
# Generated by dev/kafka/kafka.sh for the local development cluster '$name'.
# Single KRaft node (broker + controller), everything on 127.0.0.1, secured like production:
#   CLIENT      SASL_PLAINTEXT, SCRAM-SHA-512 only (users bootstrapped at format time:
#               broker, portal-admin, unprivileged); inter-broker traffic logs in as 'broker'
#   CONTROLLER  SASL_PLAINTEXT, PLAIN with the static JAAS user 'controller'
# Deny by default (StandardAuthorizer, allow.everyone.if.no.acl.found=false); there is no
# anonymous/PLAINTEXT listener, so User:ANONYMOUS can never be a super user.
# Contains passwords: keep this file private (mode 600).
#
EOF
      acl_doc
      cat <<EOF

process.roles=broker,controller
node.id=1
controller.quorum.voters=1@127.0.0.1:$cport

listeners=CLIENT://127.0.0.1:$port,CONTROLLER://127.0.0.1:$cport
advertised.listeners=CLIENT://127.0.0.1:$port
listener.security.protocol.map=CLIENT:SASL_PLAINTEXT,CONTROLLER:SASL_PLAINTEXT
inter.broker.listener.name=CLIENT
controller.listener.names=CONTROLLER

# Client + inter-broker listener: SCRAM-SHA-512 only; the broker logs in to it as 'broker'.
sasl.enabled.mechanisms=SCRAM-SHA-512
sasl.mechanism.inter.broker.protocol=SCRAM-SHA-512
listener.name.client.sasl.enabled.mechanisms=SCRAM-SHA-512
listener.name.client.scram-sha-512.sasl.jaas.config=org.apache.kafka.common.security.scram.ScramLoginModule required username="$BROKER_USER" password="$BROKER_PASSWORD";

# Controller listener: SASL/PLAIN with one static user. The same JAAS entry is the server-side
# user database (user_controller) and the login the broker half uses to reach the controller.
sasl.mechanism.controller.protocol=PLAIN
listener.name.controller.sasl.enabled.mechanisms=PLAIN
listener.name.controller.plain.sasl.jaas.config=org.apache.kafka.common.security.plain.PlainLoginModule required username="$CONTROLLER_USER" password="$CONTROLLER_PASSWORD" user_$CONTROLLER_USER="$CONTROLLER_PASSWORD";

authorizer.class.name=org.apache.kafka.metadata.authorizer.StandardAuthorizer
allow.everyone.if.no.acl.found=false
super.users=User:$BROKER_USER;User:$CONTROLLER_USER;User:$ADMIN_USER

log.dirs=$state/data
num.partitions=1
auto.create.topics.enable=false
offsets.topic.replication.factor=1
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
share.coordinator.state.topic.replication.factor=1
share.coordinator.state.topic.min.isr=1
group.initial.rebalance.delay.ms=0
EOF
    } >"$tmp"
  )
  mv -f "$tmp" "$state/server.properties"
}

random_cluster_id() { # Kafka Uuid: 16 random bytes, URL-safe base64 without padding, no leading '-'
  local id
  while :; do
    id="$(head -c 16 /dev/urandom | base64 | tr '+/' '-_' | tr -d '=\n')"
    [[ "$id" != -* && ${#id} -eq 22 ]] && break
  done
  printf '%s\n' "$id"
}

format_storage() { # <cluster-name> <client-port> <controller-port> <state-dir>
  local name="$1" state="$4" cluster_id
  # No meta.properties means no successful format ever happened: anything left is debris.
  rm -rf "$state/data"
  write_server_properties "$@"
  cluster_id="$(random_cluster_id)"
  log "formatting storage for '$name' (cluster id $cluster_id) in $state/data"
  if ! run_tool kafka.tools.StorageTool format \
    --config "$state/server.properties" --cluster-id "$cluster_id" \
    --add-scram "SCRAM-SHA-512=[name=$BROKER_USER,password=$BROKER_PASSWORD]" \
    --add-scram "SCRAM-SHA-512=[name=$ADMIN_USER,password=$ADMIN_PASSWORD]" \
    --add-scram "SCRAM-SHA-512=[name=$UNPRIVILEGED_USER,password=$UNPRIVILEGED_PASSWORD]" \
    >"$state/format.log" 2>&1; then
    cat "$state/format.log" >&2
    rm -rf "$state/data"
    die "formatting $state/data failed (log: $state/format.log)"
  fi
  printf '%s\n' "$name" >"$state/cluster-name"
  creds_fingerprint >"$state/.credentials.sha256"
}

show_failure() { # <state-dir> <message>
  local state="$1" skip=0
  log "$2"
  if [[ -f "$state/kafka.log" ]]; then
    # only what this start wrote (kafka.log is appended to across restarts)
    [[ -f "$state/.log-offset" ]] && skip="$(cat "$state/.log-offset")"
    (($(wc -l <"$state/kafka.log") >= skip)) || skip=0 # rolled over meanwhile
    if (($(wc -l <"$state/kafka.log") > skip)); then
      log "last 30 lines of $state/kafka.log:"
      tail -n "+$((skip + 1))" "$state/kafka.log" | tail -n 30 >&2
    else
      log "(the broker wrote nothing to $state/kafka.log yet)"
    fi
  fi
  if [[ -s "$state/kafka.out" ]]; then
    log "last lines of $state/kafka.out (JVM stdout/stderr):"
    tail -n 15 "$state/kafka.out" >&2
  fi
  log "broker log: $state/kafka.log"
}

# Ready = the client port accepts a SCRAM-SHA-512 login as portal-admin and answers ApiVersions.
probe_ready() { # <state-dir> <port>
  local state="$1" port="$2"
  port_open "$port" || return 1
  timeout 30 "$(java_bin)" "${TOOL_JVM_OPTS[@]}" -cp "$LIBS_DIR/*" \
    org.apache.kafka.tools.BrokerApiVersionsCommand \
    --bootstrap-server "127.0.0.1:$port" --command-config "$state/.probe.properties" \
    >"$state/probe.log" 2>&1
}

wait_ready() { # <cluster-name> <state-dir> <port> <pid>
  local name="$1" state="$2" port="$3" pid="$4" start=$SECONDS last_dot=$SECONDS
  printf '[kafka] waiting for %s to accept SCRAM logins on 127.0.0.1:%s ' "$name" "$port" >&2
  while :; do
    if ! pid_alive "$pid"; then
      printf '\n' >&2
      rm -f "$state/kafka.pid"
      show_failure "$state" "broker '$name' (pid $pid) died during start-up"
      exit 1
    fi
    if probe_ready "$state" "$port"; then
      printf ' ready (%s s)\n' "$((SECONDS - start))" >&2
      return 0
    fi
    if ((SECONDS - start >= START_TIMEOUT)); then
      printf '\n' >&2
      [[ -s "$state/probe.log" ]] && { log "last readiness probe:"; tail -n 5 "$state/probe.log" >&2; }
      show_failure "$state" "broker '$name' (pid $pid) not ready after ${START_TIMEOUT}s; stopping it"
      stop_pid "$state" "$pid"
      exit 1
    fi
    if ((SECONDS - last_dot >= 3)); then
      printf '.' >&2
      last_dot=$SECONDS
    fi
    sleep 0.5
  done
}

stop_pid() { # <state-dir> <pid>
  local state="$1" pid="$2" waited=0
  kill -TERM "$pid" 2>/dev/null || true
  while pid_alive "$pid" && ((waited < STOP_TIMEOUT * 2)); do
    sleep 0.5
    waited=$((waited + 1))
  done
  if pid_alive "$pid"; then
    log "broker (pid $pid) did not stop within ${STOP_TIMEOUT}s; sending SIGKILL"
    kill -KILL "$pid" 2>/dev/null || true
    waited=0
    while pid_alive "$pid" && ((waited < 20)); do
      sleep 0.5
      waited=$((waited + 1))
    done
  fi
  rm -f "$state/kafka.pid"
}

# --------------------------------------------------------------------------------------- start

cmd_start() {
  (($# == 4)) || usage
  local name="$1" port="$2" cport="$3" state pid java
  [[ "$name" =~ ^[A-Za-z0-9._-]+$ ]] || die "cluster name '$name' may only contain letters, digits, . _ -"
  validate_port client-port "$port"
  validate_port controller-port "$cport"
  [[ "$port" != "$cport" ]] || die "client and controller port must differ"
  validate_password KAFKA_BROKER_PASSWORD "$BROKER_PASSWORD"
  validate_password KAFKA_ADMIN_PASSWORD "$ADMIN_PASSWORD"
  validate_password KAFKA_UNPRIVILEGED_PASSWORD "$UNPRIVILEGED_PASSWORD"
  validate_password KAFKA_CONTROLLER_PASSWORD "$CONTROLLER_PASSWORD"
  state="$(abs_dir "$4")" || die "cannot create state dir '$4'"

  cmd_fetch
  check_java
  state_lock "$state"

  if [[ -f "$state/cluster-name" && "$(cat "$state/cluster-name")" != "$name" ]]; then
    die "$state belongs to cluster '$(cat "$state/cluster-name")', not '$name'"
  fi

  if pid="$(running_pid "$state")"; then
    if [[ "$(client_port_of "$state")" != "$port" ]]; then
      die "'$name' is already running (pid $pid) but on client port $(client_port_of "$state"), not $port"
    fi
    if port_open "$port"; then
      log "'$name' already running (pid $pid) on 127.0.0.1:$port"
      return 0
    fi
    log "'$name' process (pid $pid) exists but 127.0.0.1:$port is not answering yet"
    wait_ready "$name" "$state" "$port" "$pid"
    return 0
  fi
  rm -f "$state/kafka.pid"

  if [[ -f "$state/data/meta.properties" && -f "$state/server.properties" ]]; then
    local old_port old_cport
    old_port="$(client_port_of "$state")"
    old_cport="$(controller_port_of "$state")"
    if [[ "$old_port" != "$port" || "$old_cport" != "$cport" ]]; then
      die "$state was created with ports $old_port/$old_cport, not $port/$cport; use those or delete the state dir"
    fi
    if [[ -f "$state/.credentials.sha256" && "$(cat "$state/.credentials.sha256")" != "$(creds_fingerprint)" ]]; then
      log "WARNING: KAFKA_*_PASSWORD differ from the ones '$name' was formatted with; the stored credentials are kept (delete $state to reset)"
    fi
  elif [[ -f "$state/data/meta.properties" ]]; then
    write_server_properties "$name" "$port" "$cport" "$state" # lost config, data intact
  fi

  local p
  for p in "$port" "$cport"; do
    if port_open "$p"; then
      die "127.0.0.1:$p is already in use by another process (not '$name' from $state)"
    fi
  done

  if [[ ! -f "$state/data/meta.properties" ]]; then
    format_storage "$name" "$port" "$cport" "$state"
  fi

  # Client config used by the readiness probe (and handy for tools/tests).
  local probe_cfg
  probe_cfg="$(write_client_config "$state" "$ADMIN_USER" "$ADMIN_PASSWORD")"
  (
    umask 077
    {
      cat "$probe_cfg"
      printf '%s\n' request.timeout.ms=5000 default.api.timeout.ms=10000 \
        reconnect.backoff.max.ms=1000 retry.backoff.max.ms=1000
    } >"$state/.probe.properties.tmp"
  )
  mv -f "$state/.probe.properties.tmp" "$state/.probe.properties"

  local -a heap_opts extra_opts
  read -r -a heap_opts <<<"${KAFKA_HEAP_OPTS:--Xms256m -Xmx512m}"
  read -r -a extra_opts <<<"${KAFKA_JVM_OPTS:-}"
  java="$(java_bin)"

  log "starting '$name' (Kafka $KAFKA_VERSION, KRaft) client 127.0.0.1:$port, controller 127.0.0.1:$cport, log $state/kafka.log"
  : >"$state/kafka.out"
  if [[ -f "$state/kafka.log" ]]; then wc -l <"$state/kafka.log" >"$state/.log-offset"; else echo 0 >"$state/.log-offset"; fi
  # setsid + nohup: the broker survives the calling shell/terminal; the inner bash writes its own
  # pid and then execs java, so the pid file holds the JVM's pid whatever setsid does.
  # It must not inherit other fds: 8/9 are our flock locks, others may be a caller's pipes
  # (e.g. `out=$(kafka.sh start ...)` or a test runner capturing output would hang otherwise).
  (
    cd "$state"
    # shellcheck disable=SC2016 # $$ and $1 are expanded by the inner bash
    nohup setsid bash -c '
      for fd in /proc/$$/fd/*; do # drop inherited fds (caller pipes, our flock fds)
        fd="${fd##*/}"
        if [[ "$fd" =~ ^[0-9]+$ ]] && ((fd > 2)); then eval "exec $fd>&-" 2>/dev/null; fi
      done
      printf "%s\n" "$$" >"$1.tmp" && mv -f "$1.tmp" "$1"; shift; exec "$@"' \
      kafka-launch "$state/kafka.pid" \
      "$java" "${heap_opts[@]}" -XX:+UseG1GC -XX:MaxGCPauseMillis=20 \
      -XX:InitiatingHeapOccupancyPercent=35 -XX:+ExplicitGCInvokesConcurrent \
      -XX:+ExitOnOutOfMemoryError -Djava.awt.headless=true \
      "-Dlog4j2.configurationFile=$SCRIPT_DIR/log4j2.yaml" "-Dkafka.logs.dir=$state" \
      "-Debp.kafka.cluster=$name" "-Debp.kafka.state.dir=$state" \
      ${extra_opts[@]+"${extra_opts[@]}"} \
      -cp "$LIBS_DIR/*" kafka.Kafka "$state/server.properties" \
      >>"$state/kafka.out" 2>&1 </dev/null 8>&- 9>&- &
  )
  for _ in $(seq 1 50); do
    [[ -s "$state/kafka.pid" ]] && break
    sleep 0.1
  done
  pid="$(tr -dc '0-9' <"$state/kafka.pid" 2>/dev/null || true)"
  [[ -n "$pid" ]] || { show_failure "$state" "broker '$name' did not start (no pid file)"; exit 1; }
  wait_ready "$name" "$state" "$port" "$pid"
  log "'$name' is up (pid $pid): bootstrap 127.0.0.1:$port, SASL_PLAINTEXT/SCRAM-SHA-512"
}

# ----------------------------------------------------------------------------- stop and status

cmd_stop() {
  (($# == 1)) || usage
  local state pid
  if [[ ! -d "$1" ]]; then
    log "not running (no state dir $1)"
    return 0
  fi
  state="$(cd "$1" && pwd -P)"
  state_lock "$state"
  if ! pid="$(running_pid "$state")"; then
    rm -f "$state/kafka.pid"
    log "not running ($state)"
    return 0
  fi
  log "stopping broker of $state (pid $pid)"
  stop_pid "$state" "$pid"
  log "stopped"
}

cmd_status() {
  (($# == 1)) || usage
  local state pid port
  [[ -d "$1" ]] || { log "not running (no state dir $1)"; return 1; }
  state="$(cd "$1" && pwd -P)"
  if pid="$(running_pid "$state")"; then
    port="$(client_port_of "$state")"
    if port_open "$port"; then
      log "running (pid $pid) on 127.0.0.1:$port"
    else
      log "running (pid $pid), 127.0.0.1:$port not answering (starting or stopping)"
    fi
    return 0
  fi
  log "not running ($state)"
  return 1
}

cmd_client_config() {
  (($# == 3)) || usage
  [[ -d "$1" ]] || die "no state dir $1; run 'kafka.sh start' first"
  write_client_config "$(cd "$1" && pwd -P)" "$2" "$3"
}

cmd_run_class() {
  (($# >= 1)) || usage
  cmd_fetch
  run_tool "$@"
}

main() {
  (($# >= 1)) || usage
  local cmd="$1"
  shift
  case "$cmd" in
  fetch) (($# == 0)) || usage; cmd_fetch ;;
  start) cmd_start "$@" ;;
  stop) cmd_stop "$@" ;;
  status) cmd_status "$@" ;;
  client-config) cmd_client_config "$@" ;;
  run-class) cmd_run_class "$@" ;;
  -h | --help | help) usage ;;
  *) usage ;;
  esac
}

main "$@"
