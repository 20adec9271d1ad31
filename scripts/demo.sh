#!/usr/bin/env bash
# The end-to-end demo (`npm run demo`): from a fresh clone, installs and builds shopctl, brings
# the local stack up, then runs the shop with the built binary: customers through Kafka,
# products straight into MongoDB, 10,000 purchases through Kafka, projected by `consume`.
#
# The demo keeps to its own corner so that it neither reads nor disturbs anything else:
#   database  shopctl_demo            dropped at the start of every run
#   topics    shopctl-demo.*          deleted and recreated at the start of every run
#   group     shopctl-demo            deleted at the start of every run
# Seeds make every run produce the same customers, products and purchases, so the tables it
# prints are the same each time (only timestamps differ). The stack is left running.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
ROOT="$PWD"

BROKERS="127.0.0.1:${SHOPCTL_KAFKA_PORT:-19092}"
MONGODB_URI="mongodb://127.0.0.1:${SHOPCTL_MONGO_PORT:-27117}"
DB=shopctl_demo
GROUP=shopctl-demo
PREFIX=shopctl-demo
TOPICS=(customers catalog inventory retry dlq import-errors alerts reservations)

if [[ -t 1 && -z "${NO_COLOR:-}" ]]; then BOLD=$'\033[1m' PLAIN=$'\033[0m'; else BOLD='' PLAIN=''; fi
step() { printf '\n%s==> %s%s\n' "$BOLD" "$*" "$PLAIN"; }
# Prints the command as a user would type it, then runs the built binary with the demo's settings.
shop() {
  printf '$ shopctl %s\n' "$*"
  node "$ROOT/bin/shopctl.js" --config "$CONFIG" --brokers "$BROKERS" --mongodb-uri "$MONGODB_URI" --db "$DB" "$@"
}

step "install and build"
if [[ ! -d node_modules ]]; then
  npm install --no-audit --no-fund
fi
npm run --silent build
echo "built dist/ (bin/shopctl.js runs it)"

step "local stack (Kafka + FerretDB), reused if already running"
npm run --silent stack:up

# The demo's configuration: its own topic names (there is no environment variable for those).
# Brokers, URI and database are also passed as flags.
CONFIG_DIR="$(mktemp -d)"
trap 'rm -rf "$CONFIG_DIR"' EXIT
CONFIG="$CONFIG_DIR/config.yaml"
{
  echo "kafka:"
  echo "  groupId: $GROUP"
  echo "  topics:"
  echo "    customers: $PREFIX.customers"
  echo "    catalog: $PREFIX.catalog"
  echo "    inventory: $PREFIX.inventory"
  echo "    retry: $PREFIX.retry"
  echo "    dlq: $PREFIX.dlq"
  echo "    importErrors: $PREFIX.import-errors"
  echo "    alerts: $PREFIX.alerts"
  echo "    reservations: $PREFIX.reservations"
} >"$CONFIG"
# The demo's settings are complete: configuration from the caller's environment would only change
# its output (locale, partitions) or point it elsewhere. Stack ports (SHOPCTL_*_PORT) still apply.
unset SHOPCTL_KAFKA_BROKERS SHOPCTL_KAFKA_CLIENT_ID SHOPCTL_KAFKA_GROUP_ID SHOPCTL_KAFKA_SSL \
  SHOPCTL_KAFKA_PARTITIONS SHOPCTL_KAFKA_SASL_MECHANISM SHOPCTL_KAFKA_SASL_USERNAME \
  SHOPCTL_KAFKA_SASL_PASSWORD SHOPCTL_MONGODB_URI SHOPCTL_MONGODB_DB SHOPCTL_SEED SHOPCTL_LOCALE

step "reset the demo: drop database '$DB', delete topics $PREFIX.* and group '$GROUP'"
node -e '
const { Kafka, logLevel } = require("kafkajs");
const { MongoClient } = require("mongodb");
const [brokers, uri, dbName, group, ...topics] = process.argv.slice(1);
const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
(async () => {
  const mongo = await MongoClient.connect(uri, { serverSelectionTimeoutMS: 5000 });
  try {
    await mongo.db(dbName).dropDatabase();
  } finally {
    await mongo.close();
  }
  const admin = new Kafka({ clientId: "shopctl-demo-reset", brokers: [brokers], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  try {
    // Right after the broker started, its group coordinator may still be loading and not list
    // the group: delete it anyway, again until the broker says it is gone. Left behind, its old
    // offsets would point past the re-created topics and consume would read nothing.
    for (let i = 0; ; i += 1) {
      try {
        await admin.deleteGroups([group]);
        break;
      } catch (error) {
        const types = (error.groups || []).map((g) => (g.error && g.error.type) || String(g.errorCode));
        if (types.length > 0 && types.every((type) => type === "GROUP_ID_NOT_FOUND")) break;
        if (types.includes("NON_EMPTY_GROUP")) throw new Error("consumer group " + group + " is in use: stop its consumers first");
        if (i >= 60) throw error;
        await sleep(500);
      }
    }
    const existing = (await admin.listTopics()).filter((t) => topics.includes(t));
    if (existing.length > 0) await admin.deleteTopics({ topics: existing, timeout: 30000 });
    // Deletion is asynchronous: wait until the broker no longer lists them before recreating.
    for (let i = 0; i < 100; i += 1) {
      if (!(await admin.listTopics()).some((t) => topics.includes(t))) break;
      await sleep(200);
    }
    console.log(`dropped database ${dbName}; deleted ${existing.length} topics`);
  } finally {
    await admin.disconnect();
  }
})().catch((error) => {
  console.error(`demo reset failed: ${error.message}`);
  process.exit(1);
});
' "$BROKERS" "$MONGODB_URI" "$DB" "$GROUP" "${TOPICS[@]/#/$PREFIX.}"

step "create the topics"
shop topics create

step "500 customers register, as events through Kafka"
shop make customers --count 500 --via kafka --seed 1

step "200 products, written straight into MongoDB"
shop make products --count 200 --via db --seed 2

step "project the customer events into MongoDB (exits after 3 s without events)"
shop consume --until-idle 3

step "10,000 random purchases, as events through Kafka"
shop buy --random --count 10000 --via kafka --seed 3

step "project the purchases"
shop consume --until-idle 3

step "the five customers with the most purchases"
shop list customers --limit 5 --sort purchases

step "the five best-selling products"
shop list products --limit 5 --sort sold

step "the latest purchases"
shop list purchases --limit 5

step "topics, partitions and the demo group's lag"
shop topics describe

cat <<DONE

demo done: database '$DB' on $MONGODB_URI, topics $PREFIX.* on $BROKERS.
The local stack is still running. Try more commands (node bin/shopctl.js --help; or npm link once, then shopctl), e.g.
  node bin/shopctl.js --db $DB list customers --limit 10
Stop the stack with:  npm run stack:down
DONE

# Optional: a living shop behind the dashboard (SHOPCTL_DEMO_LIVE=1). Off by default, so the demo
# above stays short and prints the same tables every run. Both processes keep running after the
# demo ends, in the demo's corner, with a copy of its configuration that outlives this script.
if [[ "${SHOPCTL_DEMO_LIVE:-}" == "1" ]]; then
  PORT="${SHOPCTL_DEMO_PORT:-8080}"
  LIVE_DIR="$(mktemp -d)"
  cp "$CONFIG" "$LIVE_DIR/config.yaml"
  LIVE=(node "$ROOT/bin/shopctl.js" --config "$LIVE_DIR/config.yaml" --brokers "$BROKERS" --mongodb-uri "$MONGODB_URI" --db "$DB")
  step "a living shop behind the dashboard (SHOPCTL_DEMO_LIVE=1)"
  printf '$ shopctl serve --via kafka --consume --port %s &\n' "$PORT"
  nohup "${LIVE[@]}" serve --via kafka --consume --port "$PORT" >"$LIVE_DIR/serve.log" 2>&1 &
  SERVE_PID=$!
  # The simulation's three stores, placed on the dashboard's map (before it starts: their
  # definitions are on the stores' own keys, ahead of their stock).
  while read -r store capacity lat lon city; do
    printf '$ shopctl stores add --store %s --capacity %s --lat %s --lon %s --city %s --via kafka\n' "$store" "$capacity" "$lat" "$lon" "$city"
    "${LIVE[@]}" stores add --store "$store" --capacity "$capacity" --lat "$lat" --lon "$lon" --city "$city" --via kafka >/dev/null
  done <<'STORES'
berlin 60000 52.52 13.405 Berlin
paris 45000 48.857 2.352 Paris
rome 30000 41.903 12.496 Rome
STORES
  printf '$ shopctl simulate --rate 50 --seed 4 &\n'
  nohup "${LIVE[@]}" simulate --rate 50 --seed 4 >"$LIVE_DIR/simulate.log" 2>&1 &
  SIMULATE_PID=$!
  sleep 2
  for pid in "$SERVE_PID" "$SIMULATE_PID"; do
    if ! kill -0 "$pid" 2>/dev/null; then
      echo "a live process ($pid) stopped at once; see $LIVE_DIR/serve.log and $LIVE_DIR/simulate.log" >&2
      exit 1
    fi
  done
  cat <<LIVE

The shop is alive: open http://127.0.0.1:$PORT/ (the dashboard; the simulation sends 50 events/s).
  serve --consume   PID $SERVE_PID   log $LIVE_DIR/serve.log
  simulate          PID $SIMULATE_PID   log $LIVE_DIR/simulate.log (its totals when stopped)
Stop them with:  kill $SIMULATE_PID $SERVE_PID
LIVE
fi
