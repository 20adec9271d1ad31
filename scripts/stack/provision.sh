#!/usr/bin/env bash
# Downloads/builds the local stack binaries into the cache dir. Idempotent: only
# fetches what is missing. Kafka jars come from Maven Central (via mvn), FerretDB
# is built from the Go module proxy (via go).
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

need() { command -v "$1" >/dev/null 2>&1 || die "'$1' not found on PATH: $2"; }

need java "install a JDK/JRE 11+ (e.g. apt-get install openjdk-17-jre-headless) — Kafka runs on it"
mkdir -p "$CACHE/bin" "$(dirname "$KAFKA_LIBS")"

if [[ ! -f "$KAFKA_LIBS/kafka_2.13-$KAFKA_VERSION.jar" ]]; then
  need mvn "install Apache Maven (e.g. apt-get install maven) — used once to fetch the Kafka jars"
  say "resolving Kafka $KAFKA_VERSION jars from Maven Central…"
  tmp="$KAFKA_LIBS.tmp"
  rm -rf "$tmp" "$KAFKA_LIBS"
  mkdir -p "$LOG_DIR"
  # output goes to a log (maven 3.8 prints stray colour codes even with -q)
  if ! mvn -q -B -f "$STACK_DIR/kafka-pom.xml" dependency:copy-dependencies \
    -DoutputDirectory="$tmp" -DincludeScope=runtime >"$LOG_DIR/provision-mvn.log" 2>&1; then
    tail -n 40 "$LOG_DIR/provision-mvn.log" >&2
    die "maven could not resolve the Kafka jars (full output: $LOG_DIR/provision-mvn.log)"
  fi
  [[ -f "$tmp/kafka_2.13-$KAFKA_VERSION.jar" ]] || die "maven did not produce kafka_2.13-$KAFKA_VERSION.jar"
  mv "$tmp" "$KAFKA_LIBS"
  say "kafka jars ready in $KAFKA_LIBS"
fi

if [[ "$("$FERRETDB_BIN" --version 2>/dev/null)" != *"version: v$FERRETDB_VERSION"* ]]; then
  need go "install Go 1.22+ (https://go.dev/dl/) — used once to build FerretDB"
  need node "install Node.js 20+"
  say "building FerretDB $FERRETDB_VERSION (first time, ~1 min)…"
  # `go install …@v$FERRETDB_VERSION` does not work everywhere (the proxy may refuse the
  # @v/list lookup) and the module zip lacks build/version/version.txt, so build by hand.
  json="$(cd "$CACHE" && go mod download -json "github.com/FerretDB/FerretDB@v$FERRETDB_VERSION")" \
    || die "go mod download failed: $json"
  dir="$(node -e 'const j = JSON.parse(process.argv[1]); if (j.Error || !j.Dir) { console.error(j.Error); process.exit(1) } console.log(j.Dir)' "$json")" \
    || die "could not locate the downloaded FerretDB module"
  rm -rf "$FERRETDB_SRC"
  cp -r "$dir" "$FERRETDB_SRC"
  chmod -R u+w "$FERRETDB_SRC"
  echo "v$FERRETDB_VERSION" > "$FERRETDB_SRC/build/version/version.txt"
  (cd "$FERRETDB_SRC" && go build -o "$FERRETDB_BIN.tmp" ./cmd/ferretdb)
  mv "$FERRETDB_BIN.tmp" "$FERRETDB_BIN"
  say "ferretdb ready: $FERRETDB_BIN"
fi
