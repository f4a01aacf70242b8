#!/usr/bin/env bash
# Instructions the broker spends per MQTT message (callgrind: repeatable whatever the machine's load):
#   bench/mqtt-callgrind.sh scenario [count] [warm-up] [ref]     (e.g. qos0 20000 50000; fanout 100 200)
# scenario: one of bench/mqtt-e2e.ts's (qos0, qos1, qos0-v5, qos1-v5: `count` messages; fanout: `count`
# messages to 200 QoS 1 subscribers, per delivery). ref: a git commit to build instead of the worktree
# (for a before/after pair in one go). The broker is built to JS (tsc, into a temp dir) and runs under
# valgrind with `node --single-threaded` (concurrent JIT and GC threads make counts unrepeatable),
# instrumentation off; `warm-up` messages of the same scenario go through first, then instrumentation
# is on for the measured run only (its connects and SUBSCRIBEs included). Prints Ir per message (per
# delivery for fanout) in all and without the JIT compiler and the GC (by symbol): the repeatable part.
# The client (mqtt.js) runs outside valgrind. LocalMQ's MQTT port: $LM_PORT (25885).
set -euo pipefail
cd "$(dirname "$0")/.."
S=$1 N=${2:-20000} WARM=${3:-50000} REF=${4:-}
LM_PORT=${LM_PORT:-25885}
URL="mqtt://guest:guest@127.0.0.1:$LM_PORT"
W=$(mktemp -d /tmp/localmq-mqtt-callgrind.XXXXXX)
SRC=$PWD
if [ -n "$REF" ]; then
  mkdir "$W/src-tree"
  git archive "$REF" src package.json tsconfig.json tsconfig.build.json | tar -x -C "$W/src-tree"
  ln -s "$SRC/node_modules" "$W/src-tree/node_modules"
  SRC="$W/src-tree"
fi
ROOT=$PWD; (cd "$SRC" && "$ROOT/node_modules/.bin/tsc" -p tsconfig.build.json --outDir "$W/dist")
ln -s "$PWD/node_modules" "$W/node_modules"
echo '{"type":"module"}' >"$W/package.json"
cat >"$W/server.mjs" <<JS
import { startBroker } from './dist/index.js';
const broker = await startBroker({ ports: { amqp: 0, stomp: 0, mqtt: $LM_PORT } });
process.on('SIGTERM', async () => { await broker.stop(); process.exit(0); });
JS
(cd "$W" && exec valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$W/cg.out" node --single-threaded server.mjs >"$W/broker.log" 2>&1) &
VG=$!
trap 'kill $VG 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$W"' EXIT
for i in $(seq 1 600); do (exec 3<>/dev/tcp/127.0.0.1/$LM_PORT) 2>/dev/null && break; sleep 0.5; done
if [ "$S" = fanout ]; then
  WARGS=(--fanout-count "$WARM") MARGS=(--fanout-count "$N") PER=$((N * 200))
else
  WARGS=(--count "$WARM") MARGS=(--count "$N") PER=$N
fi
node --import tsx bench/mqtt-e2e.ts --url "$URL" --scenarios "$S" "${WARGS[@]}" --rounds 1 >/dev/null
callgrind_control -i on "$VG" >/dev/null 2>&1
node --import tsx bench/mqtt-e2e.ts --url "$URL" --scenarios "$S" "${MARGS[@]}" --rounds 1 >/dev/null
callgrind_control -i off "$VG" >/dev/null 2>&1
callgrind_control -d "$VG" >/dev/null 2>&1
bench/lib/callgrind-per-message.sh "$W/cg.out.1" "$PER" "mqtt $S${REF:+ @$REF}"
