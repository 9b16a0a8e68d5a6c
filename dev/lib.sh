# Shared by dev/run, dev/test and dev/stack: paths, ports, logging and one-time set-up.
# shellcheck shell=bash

EBP_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
export EBP_ROOT
export EBP_STACK_DIR="${EBP_STACK_DIR:-$EBP_ROOT/.stack}"
export EBP_CACHE_DIR="${EBP_CACHE_DIR:-$HOME/.cache/event-bus-portal}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$EBP_CACHE_DIR/target}"
# Checked queries compile against the committed `.sqlx/` data, never a live database
# (dev/query-data.sh writes and checks that data).
export SQLX_OFFLINE=true

# Ports, all on 127.0.0.1.
export EBP_PORTAL_PORT="${EBP_PORTAL_PORT:-3000}"
export EBP_E2E_PORTAL_PORT="${EBP_E2E_PORTAL_PORT:-3100}"
export EBP_PG_PORT="${EBP_PG_PORT:-5433}"
export EBP_IDP_PORT="${EBP_IDP_PORT:-4000}"
export EBP_SANDBOX_PORT="${EBP_SANDBOX_PORT:-19092}"
export EBP_SANDBOX_CONTROLLER_PORT="${EBP_SANDBOX_CONTROLLER_PORT:-19093}"
export EBP_PROD_PORT="${EBP_PROD_PORT:-29092}"
export EBP_PROD_CONTROLLER_PORT="${EBP_PROD_CONTROLLER_PORT:-29093}"

export EBP_DATABASE_URL="postgres://portal@127.0.0.1:${EBP_PG_PORT}/event_bus_portal"
export EBP_IDP_ISSUER="http://127.0.0.1:${EBP_IDP_PORT}"
export PORTAL_REDIRECT_URIS="http://127.0.0.1:${EBP_PORTAL_PORT}/auth/callback,http://127.0.0.1:${EBP_E2E_PORTAL_PORT}/auth/callback"
export PORTAL_POST_LOGOUT_REDIRECT_URIS="http://127.0.0.1:${EBP_PORTAL_PORT}/,http://127.0.0.1:${EBP_E2E_PORTAL_PORT}/"
export IDP_PORT="$EBP_IDP_PORT"

WASM_BINDGEN_VERSION="0.2.130"
# wasm-opt from npm's binaryen: Debian's binaryen 108 produces a wasm that fails to hydrate.
BINARYEN_VERSION="132.0.0"
export EBP_WASM_OPT="$EBP_CACHE_DIR/binaryen/node_modules/.bin/wasm-opt"
# Splits the browser bundle at its lazy pages (dev/wasm-split, built from source).
export EBP_WASM_SPLIT="$EBP_CACHE_DIR/tools/bin/portal-wasm-split"

say() { printf '\033[1m[%s]\033[0m %s\n' "${EBP_STEP:-portal}" "$*"; }
die() { printf '\033[31m[%s] %s\033[0m\n' "${EBP_STEP:-portal}" "$*" >&2; exit 1; }

# Environment the portal reads: every PORTAL__ variable overrides server/config/default.toml.
# The site folder is per build profile (debug or release), so the two builds never mix.
site_dir() { echo "$CARGO_TARGET_DIR/site-${1:-debug}"; }

portal_env() {
  local port="$1" profile="${2:-debug}"
  export PORTAL__SERVER__PORT="$port"
  export PORTAL__SERVER__PUBLIC_URL="http://127.0.0.1:${port}"
  export PORTAL__SERVER__SITE_ROOT="$(site_dir "$profile")"
  export PORTAL__DATABASE__URL="$EBP_DATABASE_URL"
  export PORTAL__AUTH__ISSUER_URL="$EBP_IDP_ISSUER"
  export PORTAL__KAFKA__ENVIRONMENTS__SANDBOX__BOOTSTRAP_SERVERS="127.0.0.1:${EBP_SANDBOX_PORT}"
  export PORTAL__KAFKA__ENVIRONMENTS__PROD__BOOTSTRAP_SERVERS="127.0.0.1:${EBP_PROD_PORT}"
}

have_deb() { dpkg-query -W -f='${Status}' "$1" 2>/dev/null | grep -q "install ok installed"; }

# Installs those of the given Debian packages that are missing, and only those.
install_debs() {
  local missing=()
  local pkg
  for pkg in "$@"; do
    have_deb "$pkg" || missing+=("$pkg")
  done
  if [ "${#missing[@]}" -gt 0 ]; then
    say "installing Debian packages: ${missing[*]} (first time only)..."
    local sudo=""
    [ "$(id -u)" -eq 0 ] || sudo="sudo"
    mkdir -p "$EBP_CACHE_DIR"
    { $sudo apt-get update -qq && DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"; } \
      >"$EBP_CACHE_DIR/apt.log" 2>&1 || die "apt-get install failed; see $EBP_CACHE_DIR/apt.log"
  fi
}

# Installs what is missing, and only that. Safe to run every time.
ensure_tools() {
  local EBP_STEP=setup
  install_debs postgresql chromium pkg-config libssl-dev zlib1g-dev build-essential curl ca-certificates
  command -v java >/dev/null || die "Java 17 is required for Kafka (java not on PATH)"
  command -v mvn >/dev/null || die "Maven is required to fetch Kafka from Maven Central (mvn not on PATH)"
  command -v node >/dev/null || die "Node.js 20 is required for the identity provider and browser tests"
  command -v cargo >/dev/null || die "Rust (rustup) is required"
  if ! rustup target list --installed 2>/dev/null | grep -q '^wasm32-unknown-unknown$'; then
    say "adding the wasm32-unknown-unknown target (first time only)..."
    rustup target add wasm32-unknown-unknown >/dev/null || die "rustup target add wasm32-unknown-unknown failed"
  fi
  if [ "$(wasm-bindgen --version 2>/dev/null | awk '{print $2}')" != "$WASM_BINDGEN_VERSION" ]; then
    say "installing wasm-bindgen-cli $WASM_BINDGEN_VERSION from crates.io (first time only, about 4 minutes)..."
    mkdir -p "$EBP_CACHE_DIR"
    cargo install wasm-bindgen-cli --version "$WASM_BINDGEN_VERSION" --force >"$EBP_CACHE_DIR/wasm-bindgen-install.log" 2>&1 \
      || die "installing wasm-bindgen-cli failed; see $EBP_CACHE_DIR/wasm-bindgen-install.log"
  fi
  if [ "$("$EBP_WASM_OPT" --version 2>/dev/null | awk '{print $3}')" != "${BINARYEN_VERSION%%.*}" ]; then
    say "installing wasm-opt (npm binaryen $BINARYEN_VERSION; first time only)..."
    mkdir -p "$EBP_CACHE_DIR/binaryen"
    (cd "$EBP_CACHE_DIR/binaryen" && npm install --no-audit --no-fund --no-save "binaryen@$BINARYEN_VERSION") \
      >"$EBP_CACHE_DIR/binaryen.log" 2>&1 || die "installing binaryen failed; see $EBP_CACHE_DIR/binaryen.log"
  fi
  local split_stamp
  split_stamp="$(cat "$EBP_ROOT/dev/wasm-split/Cargo.lock" "$EBP_ROOT/dev/wasm-split/src/main.rs" | sha256sum | cut -c1-16)"
  if [ ! -x "$EBP_WASM_SPLIT" ] || [ "$(cat "$EBP_CACHE_DIR/tools/portal-wasm-split.stamp" 2>/dev/null)" != "$split_stamp" ]; then
    say "building dev/wasm-split (first time only, about a minute)..."
    cargo install --locked --force --path "$EBP_ROOT/dev/wasm-split" --root "$EBP_CACHE_DIR/tools" \
      --target-dir "$EBP_CACHE_DIR/tools-target" >"$EBP_CACHE_DIR/wasm-split-install.log" 2>&1 \
      || die "building dev/wasm-split failed; see $EBP_CACHE_DIR/wasm-split-install.log"
    echo "$split_stamp" >"$EBP_CACHE_DIR/tools/portal-wasm-split.stamp"
  fi
  # Confluent's Python client, for the test that talks to the portal's schema registry with an
  # unmodified third-party client.
  local venv="$EBP_CACHE_DIR/python"
  # The check imports what the test imports: checking a module the client no longer depends on
  # would reinstall it on every run.
  if ! "$venv/bin/python" -c "import confluent_kafka.schema_registry.avro" >/dev/null 2>&1; then
    say "installing confluent-kafka (Python, from PyPI; first time only)..."
    command -v python3 >/dev/null || die "Python 3 is required for the schema registry client test"
    mkdir -p "$EBP_CACHE_DIR"
    { python3 -m venv "$venv" && "$venv/bin/pip" install -q "confluent-kafka[avro,schemaregistry]==2.16.1"; } \
      >"$EBP_CACHE_DIR/python.log" 2>&1 || die "installing confluent-kafka failed; see $EBP_CACHE_DIR/python.log"
  fi
  export EBP_PYTHON="$venv/bin/python"
}

# Starts the demo's traffic (dev/traffic.py) against the portal on the given port, in the
# background; its process id goes to EBP_TRAFFIC_PID and its output to .stack/traffic.log.
start_traffic() {
  local port="$1"
  rm -f "$EBP_STACK_DIR/traffic.started"
  PORTAL_URL="http://127.0.0.1:${port}" "$EBP_PYTHON" "$EBP_ROOT/dev/traffic.py" \
    >"$EBP_STACK_DIR/traffic.log" 2>&1 &
  EBP_TRAFFIC_PID=$!
  say "demo traffic started (log: $EBP_STACK_DIR/traffic.log)"
}

stop_traffic() {
  if [ -n "${EBP_TRAFFIC_PID:-}" ] && kill -0 "$EBP_TRAFFIC_PID" 2>/dev/null; then
    kill -TERM "$EBP_TRAFFIC_PID" 2>/dev/null || true
    wait "$EBP_TRAFFIC_PID" 2>/dev/null || true
  fi
}
