#!/usr/bin/env bash
# Builds the browser bundle and the server without cargo-leptos:
#   1. frontend -> wasm32 (hydrate), 2. wasm-bindgen -> $CARGO_TARGET_DIR/site/pkg/portal{.js,_bg.wasm},
#   3. style/ and public/ copied next to it, 4. the server binary.
#   dev/build.sh [--release]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
EBP_STEP=build

profile_args=(); wasm_profile=debug; server_profile=debug
if [ "${1:-}" = "--release" ]; then
  profile_args=(--profile wasm-release); wasm_profile=wasm-release; server_profile=release
fi
site="$CARGO_TARGET_DIR/site"
cd "$EBP_ROOT"

say "compiling the browser bundle ($wasm_profile)..."
cargo build -p frontend --lib --target wasm32-unknown-unknown "${profile_args[@]}"
mkdir -p "$site/pkg"
wasm-bindgen --target web --no-typescript --out-dir "$site/pkg" --out-name portal \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/$wasm_profile/frontend.wasm"
if [ "$wasm_profile" = wasm-release ] && command -v wasm-opt >/dev/null && wasm-opt --version | grep -qv 'version 108'; then
  wasm-opt -Oz -o "$site/pkg/portal_bg.wasm" "$site/pkg/portal_bg.wasm"
fi
cp style/main.css "$site/pkg/portal.css"
cp -R public/. "$site/"

say "compiling the server ($server_profile)..."
if [ "$server_profile" = release ]; then
  cargo build -p server --release
else
  cargo build -p server
fi
say "built: $site and $CARGO_TARGET_DIR/$server_profile/event-bus-portal"
