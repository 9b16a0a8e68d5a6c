#!/usr/bin/env bash
# Has Apache Avro Java 1.11 (from Maven Central) parse every Avro schema of the portal's tests and
# compares its verdicts with the portal's: what the portal approves must parse in the clients
# built on 1.11, and what it refuses must be refused there too (or the difference is named in
# CheckAvro.java).
#   dev/avro-java/check.sh
set -euo pipefail
source "$(dirname "$0")/../lib.sh"
EBP_STEP=avro-java
cd "$EBP_ROOT"

avro_version=1.11.5
dir="$EBP_CACHE_DIR/avro-java-$avro_version"
libs="$dir/libs"
stamp="$avro_version $(sha256sum dev/avro-java/pom.xml | cut -c1-16)"
if [ ! -d "$libs" ] || [ "$(cat "$dir/.fetched" 2>/dev/null)" != "$stamp" ]; then
  command -v mvn >/dev/null || die "Maven is required to fetch Apache Avro Java from Maven Central"
  say "resolving Apache Avro Java $avro_version from Maven Central (first time only)..."
  rm -rf "$libs" "$dir/build"
  mkdir -p "$dir"
  mvn -q -B -f dev/avro-java/pom.xml "-Davro.version=$avro_version" "-Dlibs.dir=$libs" \
    "-Dbuild.dir=$dir/build" package >"$dir/fetch.log" 2>&1 \
    || { tail -n 20 "$dir/fetch.log" >&2; die "Maven could not resolve org.apache.avro:avro:$avro_version (log: $dir/fetch.log)"; }
  [ -f "$libs/avro-$avro_version.jar" ] || die "fetch incomplete: avro-$avro_version.jar missing (log: $dir/fetch.log)"
  echo "$stamp" >"$dir/.fetched"
fi

corpus="$(mktemp)"
trap 'rm -f "$corpus"' EXIT
# (The same packages as dev/test's test step, so the test binaries are reused, not rebuilt.)
EBP_AVRO_CORPUS="$corpus" cargo test -q -p compat -p app -p server --lib \
  avro_corpus_for_the_java_check >/dev/null
[ -s "$corpus" ] || die "the compat test wrote no corpus"
java -cp "$libs/*" dev/avro-java/CheckAvro.java "$corpus"
