#!/usr/bin/env bash
# Downloads/builds the local stack binaries into the cache dir. Idempotent: only
# fetches what is missing. Kafka jars come from Maven Central (via mvn), FerretDB
# is built from the Go module proxy (via go) with scripts/stack/patches/*.patch applied.
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

# FerretDB is rebuilt when the binary's version differs or when it was built with another patch
# set than scripts/stack/patches/*.patch (the marker next to the binary records which).
want_marker="$(ferretdb_expected_marker)"
if [[ "$("$FERRETDB_BIN" --version 2>/dev/null)" != *"version: v$FERRETDB_VERSION"* ]] ||
  [[ "$(cat "$FERRETDB_MARKER" 2>/dev/null)" != "$want_marker" ]]; then
  need go "install Go 1.22+ (https://go.dev/dl/) — used once to build FerretDB"
  need node "install Node.js 20+"
  patches=()
  while IFS= read -r p; do patches+=("$p"); done < <(ferretdb_patches)
  if ((${#patches[@]} > 0)) && ! command -v patch >/dev/null 2>&1; then
    need git "install patch (e.g. apt-get install patch) or git — used to apply $FERRETDB_PATCH_DIR/*.patch"
  fi
  say "building FerretDB $FERRETDB_VERSION with ${#patches[@]} patch(es) from $FERRETDB_PATCH_DIR (~1-2 min)…"
  # `go install …@v$FERRETDB_VERSION` does not work everywhere (the proxy may refuse the
  # @v/list lookup) and the module zip lacks build/version/version.txt, so build by hand.
  json="$(cd "$CACHE" && go mod download -json "github.com/FerretDB/FerretDB@v$FERRETDB_VERSION")" \
    || die "go mod download failed: $json"
  dir="$(node -e 'const j = JSON.parse(process.argv[1]); if (j.Error || !j.Dir) { console.error(j.Error); process.exit(1) } console.log(j.Dir)' "$json")" \
    || die "could not locate the downloaded FerretDB module"
  rm -rf "$FERRETDB_SRC"
  cp -r "$dir" "$FERRETDB_SRC"
  chmod -R u+w "$FERRETDB_SRC"
  # The version names the patch set (buildInfo.ferretdbVersion), so that shopctl can tell a
  # server built here (patches applied) from any other FerretDB 1.24 it is pointed at.
  if ((${#patches[@]} > 0)); then
    echo "v$FERRETDB_VERSION-shopctl.$(cat "${patches[@]}" | sha256 | cut -c1-8)" > "$FERRETDB_SRC/build/version/version.txt"
  else
    echo "v$FERRETDB_VERSION" > "$FERRETDB_SRC/build/version/version.txt"
  fi
  # Apply the patches in order; a patch that does not apply exactly (no fuzz) stops the build.
  for p in ${patches[@]+"${patches[@]}"}; do
    name="$(basename "$p")"
    ok=true
    if command -v patch >/dev/null 2>&1; then
      out="$(cd "$FERRETDB_SRC" && patch -p1 --forward --batch --fuzz=0 --dry-run <"$p" 2>&1 &&
        patch -p1 --forward --batch --fuzz=0 --silent <"$p" 2>&1)" || ok=false
    else
      # a private repository, so that git applies paths relative to the module root
      out="$(cd "$FERRETDB_SRC" && { [[ -d .git ]] || git init -q; } && git apply "$p" 2>&1)" || ok=false
    fi
    if [[ "$ok" == false ]]; then
      printf '%s\n' "$out" >&2
      rm -rf "$FERRETDB_SRC"
      die "FerretDB patch $name does not apply to FerretDB v$FERRETDB_VERSION (see above); fix or remove $p"
    fi
    say "  applied $name"
  done
  rm -rf "$FERRETDB_SRC/.git"
  rm -f "$FERRETDB_MARKER"
  (cd "$FERRETDB_SRC" && go build -o "$FERRETDB_BIN.tmp" ./cmd/ferretdb) \
    || die "go build of the patched FerretDB failed (source: $FERRETDB_SRC)"
  mv "$FERRETDB_BIN.tmp" "$FERRETDB_BIN"
  printf '%s\n' "$want_marker" >"$FERRETDB_MARKER"
  say "ferretdb ready: $FERRETDB_BIN (patches: $FERRETDB_MARKER)"
fi
