#!/usr/bin/env bash
# Starts the local stack (Kafka KRaft single node + FerretDB on SQLite) and waits
# until both answer. Safe to run repeatedly: running services are left alone.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

bash "$STACK_DIR/provision.sh"
mkdir -p "$RUN_DIR" "$LOG_DIR" "$KAFKA_DATA" "$FERRETDB_DATA" "$FERRETDB_STATE"
cd "$CACHE" # keep stray files (e.g. JVM crash dumps) out of the caller's cwd

# Refuses to start over a port held by some other process (e.g. `docker compose up`).
check_free() {
  local svc="$1" port
  shift
  for port in "$@"; do
    port_open "$port" && die "$svc: port $HOST:$port is already in use by another process (not started by stack:up); stop it or set the SHOPCTL_*_PORT variables"
  done
  return 0
}

# Keeps one previous log per service (<name>.log.1).
rotate_log() { local log; log="$(log_file "$1")"; if [[ -f "$log" ]]; then mv -f "$log" "$log.1"; fi; }

# launch <service> <cmd…>: runs detached in its own session, output appended to the log.
launch() {
  local svc="$1" log
  shift
  log="$(log_file "$svc")"
  if command -v setsid >/dev/null 2>&1; then
    (exec setsid "$@" </dev/null >>"$log" 2>&1) &
  else
    (exec nohup "$@" </dev/null >>"$log" 2>&1) &
  fi
  echo $! >"$(pid_file "$svc")"
  say "$svc: started (pid $!)"
}

start_kafka() {
  local props="$RUN_DIR/kafka-server.properties" log4j="$RUN_DIR/kafka-log4j.properties" pid
  if pid="$(running_pid kafka)"; then say "kafka: already running (pid $pid)"; return; fi
  rm -f "$(pid_file kafka)"
  check_free kafka "$KAFKA_PORT" "$KAFKA_CONTROLLER_PORT"
  rotate_log kafka
  cat >"$props" <<PROPS
process.roles=broker,controller
node.id=1
controller.quorum.voters=1@$HOST:$KAFKA_CONTROLLER_PORT
listeners=PLAINTEXT://$HOST:$KAFKA_PORT,CONTROLLER://$HOST:$KAFKA_CONTROLLER_PORT
advertised.listeners=PLAINTEXT://$HOST:$KAFKA_PORT
controller.listener.names=CONTROLLER
listener.security.protocol.map=CONTROLLER:PLAINTEXT,PLAINTEXT:PLAINTEXT
inter.broker.listener.name=PLAINTEXT
log.dirs=$KAFKA_DATA
num.partitions=3
offsets.topic.replication.factor=1
offsets.topic.num.partitions=10
transaction.state.log.replication.factor=1
transaction.state.log.min.isr=1
group.initial.rebalance.delay.ms=0
auto.create.topics.enable=true
PROPS
  cat >"$log4j" <<PROPS
log4j.rootLogger=INFO, file
log4j.appender.file=org.apache.log4j.FileAppender
log4j.appender.file.File=$(log_file kafka)
log4j.appender.file.Append=true
log4j.appender.file.layout=org.apache.log4j.PatternLayout
log4j.appender.file.layout.ConversionPattern=[%d] %p %m (%c)%n
PROPS
  local cp=(-cp "$KAFKA_LIBS/*" "-Dlog4j.configuration=file:$log4j")
  if [[ ! -f "$KAFKA_DATA/meta.properties" ]]; then
    say "kafka: formatting storage in $KAFKA_DATA"
    local cluster_id
    cluster_id="$(java "${cp[@]}" kafka.tools.StorageTool random-uuid)"
    java "${cp[@]}" kafka.tools.StorageTool format -t "$cluster_id" -c "$props" >/dev/null
  fi
  launch kafka java -Xms256m -Xmx1g "-XX:ErrorFile=$LOG_DIR/kafka-hs_err_%p.log" "${cp[@]}" kafka.Kafka "$props"
}

start_ferretdb() {
  local pid
  if pid="$(running_pid ferretdb)"; then say "ferretdb: already running (pid $pid)"; return; fi
  rm -f "$(pid_file ferretdb)"
  check_free ferretdb "$MONGO_PORT"
  rotate_log ferretdb
  # The trailing slash on the SQLite URL matters: it names a directory of databases.
  # synchronous(normal) in WAL mode: a commit no longer waits for fsync (FerretDB commits every
  # single-document update on its own, ~35 ms each with fsync on this kind of disk). The data
  # stays consistent; an OS crash may lose the last commits, acceptable for a local test stack.
  launch ferretdb "$FERRETDB_BIN" --handler=sqlite "--sqlite-url=file:$FERRETDB_DATA/?_pragma=synchronous(normal)" \
    "--listen-addr=$HOST:$MONGO_PORT" --telemetry=disable --debug-addr=- "--state-dir=$FERRETDB_STATE"
}

start_kafka
start_ferretdb

say "waiting for kafka and mongodb to answer…"
rc=0
node "$STACK_DIR/wait.mjs" \
  --kafka "$HOST:$KAFKA_PORT" --kafka-pid "$(<"$(pid_file kafka)")" \
  --mongo "mongodb://$HOST:$MONGO_PORT" --mongo-pid "$(<"$(pid_file ferretdb)")" \
  --timeout "${SHOPCTL_STACK_TIMEOUT:-60}" || rc=$?
if ((rc != 0)); then
  # wait.mjs exit code: bit 1 = kafka not ready, bit 2 = mongodb not ready, other = internal error
  ((rc & 1)) && show_log_tail kafka
  ((rc & 2)) && show_log_tail ferretdb
  die "local stack did not come up (see logs above; stop it with: npm run stack:down)"
fi

cat <<INFO
local stack is up
  kafka   $HOST:$KAFKA_PORT
  mongodb mongodb://$HOST:$MONGO_PORT
logs:
  kafka    $(log_file kafka)
  ferretdb $(log_file ferretdb)
INFO
