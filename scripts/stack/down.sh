#!/usr/bin/env bash
# Stops the local stack started by up.sh. Harmless if it is already down.
# --purge also wipes the data dirs (topics, collections); jars and binaries are kept.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

purge=false
for arg in "$@"; do
  case "$arg" in
    --purge) purge=true ;;
    *) die "unknown argument: $arg (usage: down.sh [--purge])" ;;
  esac
done

stop() {
  local svc="$1" pid i
  if ! pid="$(running_pid "$svc")"; then
    rm -f "$(pid_file "$svc")"
    say "$svc: not running"
    return
  fi
  kill -TERM "$pid" 2>/dev/null || true
  for ((i = 0; i < 75; i++)); do # up to ~15 s
    kill -0 "$pid" 2>/dev/null || break
    sleep 0.2
  done
  if kill -0 "$pid" 2>/dev/null; then
    say "$svc: still running after 15 s, sending KILL"
    kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
  fi
  rm -f "$(pid_file "$svc")"
  say "$svc: stopped (pid $pid)"
}

stop kafka
stop ferretdb

if $purge; then
  rm -rf "$KAFKA_DATA" "$FERRETDB_DATA"
  say "purged data: $KAFKA_DATA $FERRETDB_DATA"
fi
