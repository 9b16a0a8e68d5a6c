#!/usr/bin/env bash
# Builds the browser bundle and the server without cargo-leptos:
#   1. frontend -> wasm32 (hydrate), 2. dev/wasm-split: the main module and one lazily loaded
#   chunk per page, 3. wasm-bindgen -> $CARGO_TARGET_DIR/site-<profile>/pkg/portal{.js,_bg.wasm},
#   4. release only: wasm-opt -Oz (npm's binaryen) on each part, which also drops the debug and
#   name sections, 5. one pack per page of the chunks it needs (dev/pack_chunks.py), 6. style/
#   and public/ copied next to it, with a gzipped copy of each bundle file, 7. the server
#   binary, 8. the sizes.
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
# A fresh pkg folder: chunks of an earlier build must not linger (they are not fingerprinted).
rm -rf "$site/pkg"
mkdir -p "$site/pkg"
# Each page is a lazily loaded chunk: split the module first, then bind and optimise each part.
main_module="$CARGO_TARGET_DIR/wasm32-unknown-unknown/$wasm_profile/frontend_main.wasm"
"$EBP_WASM_SPLIT" "$CARGO_TARGET_DIR/wasm32-unknown-unknown/$wasm_profile/frontend.wasm" \
  "$site/pkg" portal "$main_module" >"$site/chunks.txt"
wasm-bindgen --target web --no-typescript --keep-lld-exports --no-demangle \
  --out-dir "$site/pkg" --out-name portal "$main_module"
if [ "$wasm_profile" = wasm-release ]; then
  [ -x "$EBP_WASM_OPT" ] || die "wasm-opt is missing: dev/run or dev/test install it (npm binaryen)"
  say "optimising the browser bundle for size (wasm-opt -Oz, $(wc -l <"$site/chunks.txt") chunks)..."
  { echo "$site/pkg/portal_bg.wasm"; cat "$site/chunks.txt"; } \
    | xargs -P "$(nproc)" -I{} "$EBP_WASM_OPT" -Oz --strip-debug --strip-producers --strip-target-features \
        --enable-bulk-memory --enable-nontrapping-float-to-int --enable-reference-types \
        -o {} {} 2>&1 \
    | { grep -v 'unknown name subsection' || true; }
  # (The chunks carry a name subsection binaryen does not know; it drops it, and says so per chunk.)
fi
# One file per page holding all the chunks it needs (see dev/pack_chunks.py).
python3 "$EBP_ROOT/dev/pack_chunks.py" "$site/pkg"
cp style/main.css "$site/pkg/portal.css"
cp -R public/. "$site/"
# A gzipped copy beside each file of the bundle, which the server sends to browsers that accept it.
python3 - "$site/pkg" <<'PY'
import gzip, os, sys
for folder, _, names in os.walk(sys.argv[1]):
    for name in names:
        if name.endswith((".wasm", ".js", ".css", ".json")):
            path = os.path.join(folder, name)
            with open(path, "rb") as f, open(path + ".gz", "wb") as out:
                with gzip.GzipFile(fileobj=out, mode="wb", compresslevel=9, mtime=0) as z:
                    z.write(f.read())
PY

say "compiling the server ($server_profile)..."
if [ "$server_profile" = release ]; then
  cargo build -p server --release
else
  cargo build -p server
fi

say "what a browser loads first ($server_profile), gzipped: the main module, then with each page's pack"
python3 "$EBP_ROOT/dev/bundle_sizes.py" "$site/pkg"
say "built: $site and $CARGO_TARGET_DIR/$server_profile/event-bus-portal"
