# Shared settings and helpers for scripts/stack/*.sh (sourced, not executed).
# Everything the local stack needs lives outside the repo, under $CACHE.

STACK_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
REPO_ROOT="$(cd "$STACK_DIR/../.." && pwd)"

KAFKA_VERSION=3.9.1
FERRETDB_VERSION=1.24.0

HOST=127.0.0.1
KAFKA_PORT="${SHOPCTL_KAFKA_PORT:-19092}"
KAFKA_CONTROLLER_PORT="${SHOPCTL_KAFKA_CONTROLLER_PORT:-19093}"
MONGO_PORT="${SHOPCTL_MONGO_PORT:-27117}"

CACHE="${SHOPCTL_CACHE_DIR:-$HOME/.cache/shopctl}"
KAFKA_LIBS="$CACHE/kafka-$KAFKA_VERSION/libs"
FERRETDB_SRC="$CACHE/ferretdb-src"
FERRETDB_BIN="$CACHE/bin/ferretdb"
# Patches applied (in name order) to the FerretDB module before building, see patches/README.md.
FERRETDB_PATCH_DIR="$STACK_DIR/patches"
# Written next to the binary after a build: the FerretDB version and the patch set it was built with.
FERRETDB_MARKER="$FERRETDB_BIN.patches"
RUN_DIR="$CACHE/run"
LOG_DIR="$CACHE/logs"
KAFKA_DATA="$CACHE/data/kafka"
FERRETDB_DATA="$CACHE/data/ferretdb"
FERRETDB_STATE="$CACHE/state/ferretdb"

# service -> pid file / log file / process pattern (checked against `ps` to survive pid reuse)
pid_file() { echo "$RUN_DIR/$1.pid"; }
log_file() { echo "$LOG_DIR/$1.log"; }
proc_pattern() { case "$1" in kafka) echo "kafka.Kafka" ;; ferretdb) echo "ferretdb" ;; esac; }

say() { printf '%s\n' "$*"; }
die() { printf 'error: %s\n' "$*" >&2; exit 1; }

# Prints the pid of our running process for the service, or fails.
running_pid() {
  local f pid
  f="$(pid_file "$1")"
  [[ -s "$f" ]] || return 1
  pid="$(<"$f")"
  [[ "$pid" =~ ^[0-9]+$ ]] && kill -0 "$pid" 2>/dev/null || return 1
  ps -p "$pid" -o args= 2>/dev/null | grep -q -- "$(proc_pattern "$1")" || return 1
  echo "$pid"
}

# True if something accepts TCP connections on 127.0.0.1:$1.
port_open() { (exec 3<>"/dev/tcp/$HOST/$1") 2>/dev/null; }

show_log_tail() {
  local log
  log="$(log_file "$1")"
  printf -- '--- last lines of %s ---\n' "$log" >&2
  tail -n "${2:-40}" "$log" >&2 2>/dev/null || true
  printf -- '---\n' >&2
}

# Prints the sha256 of stdin (hex only).
sha256() {
  if command -v sha256sum >/dev/null 2>&1; then sha256sum; else shasum -a 256; fi | cut -d' ' -f1
}

# Lists the FerretDB patches, one path a line, in the order they are applied.
ferretdb_patches() {
  local p
  for p in "$FERRETDB_PATCH_DIR"/*.patch; do
    [[ -f "$p" ]] && printf '%s\n' "$p"
  done
  return 0
}

# Prints the marker the FerretDB binary must carry: version, hash of the patch set (sha256 of
# the patches' contents, concatenated in order) and one line per patch (name and sha256).
ferretdb_expected_marker() {
  local p patches=()
  while IFS= read -r p; do patches+=("$p"); done < <(ferretdb_patches)
  printf 'ferretdb v%s\n' "$FERRETDB_VERSION"
  # Bump when provision.sh builds differently (2: the version names the patch set).
  printf 'recipe 2\n'
  if ((${#patches[@]} == 0)); then
    printf 'patchset none\n'
    return
  fi
  printf 'patchset sha256:%s\n' "$(cat "${patches[@]}" | sha256)"
  for p in "${patches[@]}"; do
    printf 'patch %s sha256:%s\n' "$(basename "$p")" "$(sha256 <"$p")"
  done
}
