#!/usr/bin/env bash
# Builds the browser bundle and the server without cargo-leptos:
#   1. frontend -> wasm32 (hydrate), 2. wasm-bindgen -> $CARGO_TARGET_DIR/site-<profile>/pkg/portal{.js,_bg.wasm},
#   3. release only: wasm-opt -Oz (npm's binaryen), which also drops the debug and name sections,
#   4. style/ and public/ copied next to it, 5. the server binary, 6. the bundle's sizes.
#   dev/build.sh [--release]
# Debug and release builds have site folders of their own (site-debug, site-release).
set -euo pipefail
source "$(dirname "$0")/lib.sh"
EBP_STEP=build

profile_args=(); wasm_profile=debug; server_profile=debug
if [ "${1:-}" = "--release" ]; then
  profile_args=(--profile wasm-release); wasm_profile=wasm-release; server_profile=release
fi
site="$(site_dir "$server_profile")"
cd "$EBP_ROOT"

say "compiling the browser bundle ($wasm_profile)..."
cargo build -p frontend --lib --target wasm32-unknown-unknown "${profile_args[@]}"
mkdir -p "$site/pkg"
wasm-bindgen --target web --no-typescript --out-dir "$site/pkg" --out-name portal \
  "$CARGO_TARGET_DIR/wasm32-unknown-unknown/$wasm_profile/frontend.wasm"
if [ "$wasm_profile" = wasm-release ]; then
  [ -x "$EBP_WASM_OPT" ] || die "wasm-opt is missing: dev/run or dev/test install it (npm binaryen)"
  say "optimising the browser bundle for size (wasm-opt -Oz)..."
  "$EBP_WASM_OPT" -Oz --strip-debug --strip-producers \
    --enable-bulk-memory --enable-nontrapping-float-to-int \
    -o "$site/pkg/portal_bg.wasm" "$site/pkg/portal_bg.wasm"
fi
cp style/main.css "$site/pkg/portal.css"
cp -R public/. "$site/"

say "compiling the server ($server_profile)..."
if [ "$server_profile" = release ]; then
  cargo build -p server --release
else
  cargo build -p server
fi

say "what a browser loads first ($server_profile):"
total=0; total_gz=0
for file in portal_bg.wasm portal.js portal.css; do
  bytes=$(stat -c %s "$site/pkg/$file")
  gz=$(gzip -9 -c "$site/pkg/$file" | wc -c)
  total=$((total + bytes)); total_gz=$((total_gz + gz))
  printf '  %-16s %9d bytes  %9d gzipped\n' "$file" "$bytes" "$gz"
done
printf '  %-16s %9d bytes  %9d gzipped\n' "total" "$total" "$total_gz"
say "built: $site and $CARGO_TARGET_DIR/$server_profile/event-bus-portal"
