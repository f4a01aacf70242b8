#!/usr/bin/env bash
# Instructions the broker spends per message (callgrind: repeatable whatever the machine's load):
#   bench/amqp10/broker-callgrind.sh client scenario [count] [warm-up]   (e.g. raw settled 20000 50000)
# client: raw (AMQP 1.0) or raw091 (AMQP 0-9-1), the twin load generators of bench/amqp10-e2e.ts.
# The broker is built to JS (tsc, into a temp dir) and runs under valgrind with `node --single-threaded`
# (concurrent JIT and GC threads otherwise make the counts unrepeatable), instrumentation off; `warm-up`
# messages go through first, then instrumentation is on for `count` messages only. Prints Ir per message,
# in all and without the JIT compiler and the GC (by symbol), the repeatable part. LocalMQ on $LM_PORT (24585).
set -euo pipefail
cd "$(dirname "$0")/../.."
C=$1 S=$2 N=${3:-20000} WARM=${4:-50000}
LM_PORT=${LM_PORT:-24585}
URL="amqp://guest:guest@127.0.0.1:$LM_PORT"
W=$(mktemp -d /tmp/localmq-callgrind.XXXXXX)
npx tsc -p tsconfig.build.json --outDir "$W/dist"
ln -s "$PWD/node_modules" "$W/node_modules"
echo '{"type":"module"}' >"$W/package.json"
cat >"$W/server.mjs" <<JS
import { startBroker } from './dist/index.js';
const broker = await startBroker({ ports: { amqp: $LM_PORT, stomp: 0, mqtt: 0 } });
process.on('SIGTERM', async () => { await broker.stop(); process.exit(0); });
JS
(cd "$W" && exec valgrind --tool=callgrind --instr-atstart=no --callgrind-out-file="$W/cg.out" node --single-threaded server.mjs >"$W/broker.log" 2>&1) &
VG=$!
trap 'kill $VG 2>/dev/null || true; wait 2>/dev/null || true; rm -rf "$W"' EXIT
for i in $(seq 1 600); do (exec 3<>/dev/tcp/127.0.0.1/$LM_PORT) 2>/dev/null && break; sleep 0.5; done
node --import tsx bench/amqp10-e2e.ts --client "$C" --scenarios "$S" --count "$WARM" --rounds 1 --url "$URL" >/dev/null
callgrind_control -i on "$VG" >/dev/null 2>&1
node --import tsx bench/amqp10-e2e.ts --client "$C" --scenarios "$S" --count "$N" --rounds 1 --url "$URL" >/dev/null
callgrind_control -i off "$VG" >/dev/null 2>&1
callgrind_control -d "$VG" >/dev/null 2>&1
bench/lib/callgrind-per-message.sh "$W/cg.out.1" "$N" "$C $S"
