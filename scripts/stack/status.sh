#!/usr/bin/env bash
# Shows whether the local stack is up. Exit 0 if both services are up, 3 otherwise.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

all_up=true
report() {
  local name="$1" svc="$2" port="$3" endpoint="$4" pid
  if pid="$(running_pid "$svc")" && port_open "$port"; then
    printf '%-8s up    %-28s pid %s\n' "$name" "$endpoint" "$pid"
  elif [[ -n "$pid" ]]; then
    printf '%-8s down  %-28s pid %s alive, port %s not answering (starting?)\n' "$name" "$endpoint" "$pid" "$port"
    all_up=false
  elif port_open "$port"; then
    printf '%-8s down  %-28s port %s is held by a process not started by stack:up\n' "$name" "$endpoint" "$port"
    all_up=false
  else
    printf '%-8s down  %s\n' "$name" "$endpoint"
    all_up=false
  fi
}

# Which FerretDB patches (scripts/stack/patches) the built binary has, read from the marker
# provision.sh writes next to it, and whether the running server was started from that binary.
ferretdb_patches_report() {
  local marker names pid exe bin
  if [[ ! -x "$FERRETDB_BIN" ]]; then
    say "ferretdb patches: no binary built yet ($FERRETDB_BIN); npm run stack:up builds it"
    return
  fi
  if [[ ! -s "$FERRETDB_MARKER" ]]; then
    say "ferretdb patches: unknown, $FERRETDB_BIN has no marker (built without scripts/stack/patches); npm run stack:up rebuilds it"
  else
    marker="$(<"$FERRETDB_MARKER")"
    names="$(sed -n 's/^patch \([^ ]*\) .*/\1/p' <<<"$marker")"
    say "ferretdb patches: $(sed -n 's/^ferretdb //p' <<<"$marker") built with $(grep -c . <<<"$names" || true) patch(es), $(sed -n 's/^patchset //p' <<<"$marker")"
    [[ -n "$names" ]] && sed 's/^/  /' <<<"$names"
    [[ "$marker" == "$(ferretdb_expected_marker)" ]] ||
      say "  out of date: scripts/stack/patches changed since this build; npm run stack:up rebuilds it (then restart the server)"
  fi
  # Linux only: a server started before the last rebuild still runs the old (replaced) binary.
  if pid="$(running_pid ferretdb)" && [[ -e "/proc/$pid/exe" ]]; then
    exe="$(readlink "/proc/$pid/exe" 2>/dev/null || true)"
    bin="$(cd "$(dirname "$FERRETDB_BIN")" && pwd -P)/$(basename "$FERRETDB_BIN")"
    if [[ "$exe" == "$bin" ]]; then
      say "  the running server (pid $pid) runs this binary"
    elif [[ -n "$exe" ]]; then
      say "  the running server (pid $pid) was started from an older binary ($exe): restart it (npm run stack:down && npm run stack:up) to run the patches above"
    fi
  fi
  return 0
}

report kafka kafka "$KAFKA_PORT" "$HOST:$KAFKA_PORT"
report mongodb ferretdb "$MONGO_PORT" "mongodb://$HOST:$MONGO_PORT"
ferretdb_patches_report
$all_up || exit 3
