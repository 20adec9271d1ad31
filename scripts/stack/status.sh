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

report kafka kafka "$KAFKA_PORT" "$HOST:$KAFKA_PORT"
report mongodb ferretdb "$MONGO_PORT" "mongodb://$HOST:$MONGO_PORT"
$all_up || exit 3
