#!/usr/bin/env bash
# LocalMQ against Mosquitto on the same mqtt.js client, in one run (bench/README.md "MQTT against Mosquitto: the method"):
#   bench/mqtt-vs-mosquitto.sh build DIR [REF]   build this checkout (or git REF) into DIR, as `npm run build` does
#   bench/mqtt-vs-mosquitto.sh run DIR [DIR2]    Mosquitto (target A) against the LocalMQ build(s) in DIR (B) and DIR2 (C)
# Build first, then run under a shared machine's bench lock (the run stays under 3 minutes with the defaults).
# Environment of `run`: ROUNDS (7), WARMUP (1 unmeasured round), SCENARIOS (qos0,qos1,fanout), PIN (1: the
# client on CPU 0, every broker on CPU 1; 0: the scheduler decides), PORT_BASE (25800), MOSQUITTO (mosquitto),
# CLIENT_FLAGS (node flags of the bench process: --expose-gc, so each measured run starts from a collected heap),
# BENCH_ARGS (more arguments of bench/mqtt-e2e.ts, e.g. "--count 500000"),
# SPLIT (0; 1: `--split`, the publisher and the subscribers each in a process of their own, SUB_PROCS (1) subscriber
# processes for fanout, PUB_PROCS (1) publisher processes sharing the messages, RAW (0; 1: `--raw`, bare clients of a
# fraction of mqtt.js's CPU per message, so that the broker sets the rate; needs SPLIT=1), and the CPU layout: BROKER_CPUS, CLIENT_CPUS (the bench process), PUB_CPUS and SUB_CPUS
# (with SPLIT=1), `taskset -c` lists; PIN (1 without SPLIT, 0 with it) sets their defaults: PIN=1 puts the brokers
# on CPU 1 and the clients on CPU 0, PIN=0 pins nothing; an empty value leaves that one unpinned.
# The table's B/A is LocalMQ / Mosquitto; below it the per-round ratios, then each broker's CPU seconds.
set -euo pipefail
cd "$(dirname "$0")/.."
ROUNDS=${ROUNDS:-7} WARMUP=${WARMUP:-1} SCENARIOS=${SCENARIOS:-qos0,qos1,fanout}
PORT_BASE=${PORT_BASE:-25800} MOSQUITTO=${MOSQUITTO:-mosquitto} CLIENT_FLAGS=${CLIENT_FLAGS:---expose-gc}
SPLIT=${SPLIT:-0} SUB_PROCS=${SUB_PROCS:-1} PUB_PROCS=${PUB_PROCS:-1} RAW=${RAW:-0}
# one client process: pinned (it alone on CPU 0, the brokers on CPU 1); split clients: three or more busy
# processes on two cores, where any pinning puts two on one core, so the scheduler places them (bench/README)
if [ "$SPLIT" = 1 ]; then PIN=${PIN:-0}; else PIN=${PIN:-1}; fi
if [ "${1:-}" = build ]; then
  out=$2 ref=${3:-}
  rm -rf "$out" && mkdir -p "$out"
  root=$PWD src=$PWD
  if [ -n "$ref" ]; then
    mkdir "$out/tree"
    git archive "$ref" src package.json tsconfig.json tsconfig.build.json | tar -x -C "$out/tree"
    ln -s "$PWD/node_modules" "$out/tree/node_modules"
    src="$out/tree"
  fi
  (cd "$src" && "$root/node_modules/.bin/tsc" -p tsconfig.build.json --outDir "$out/dist")
  rm -rf "$out/tree"
  ln -s "$PWD/node_modules" "$out/node_modules"
  echo '{"type":"module"}' >"$out/package.json"
  echo "built $out/dist${ref:+ from $ref}"
  exit 0
fi
[ "${1:-}" = run ] && [ $# -ge 2 ] || { sed -n '2,9p' "$0" >&2; exit 2; }
shift
W=$(mktemp -d /tmp/localmq-mqtt-vs.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$W"
}
trap cleanup EXIT
urls=()
if [ "$PIN" = 1 ]; then
  BROKER_CPUS=${BROKER_CPUS-1} CLIENT_CPUS=${CLIENT_CPUS-0} PUB_CPUS=${PUB_CPUS-0} SUB_CPUS=${SUB_CPUS-0}
else
  BROKER_CPUS=${BROKER_CPUS-} CLIENT_CPUS=${CLIENT_CPUS-} PUB_CPUS=${PUB_CPUS-} SUB_CPUS=${SUB_CPUS-}
fi
ON_BROKER=() ON_CLIENT=() split=()
[ -n "$BROKER_CPUS" ] && ON_BROKER=(taskset -c "$BROKER_CPUS")
[ -n "$CLIENT_CPUS" ] && ON_CLIENT=(taskset -c "$CLIENT_CPUS")
if [ "$SPLIT" = 1 ]; then
  split=(--split --subscriber-processes "$SUB_PROCS" --publisher-processes "$PUB_PROCS")
  [ "$RAW" = 1 ] && split+=(--raw)
  [ -n "$PUB_CPUS" ] && split+=(--publisher-cpus "$PUB_CPUS")
  [ -n "$SUB_CPUS" ] && split+=(--subscriber-cpus "$SUB_CPUS")
fi
echo "layout: brokers on CPU ${BROKER_CPUS:-any}, bench process on ${CLIENT_CPUS:-any}${split:+, publisher process on ${PUB_CPUS:-any}, subscriber process(es) on ${SUB_CPUS:-any}}" >&2

# Mosquitto 2.0 as a broker under test: no persistence, no queue or in-flight caps (LocalMQ has none either)
printf 'listener %s 127.0.0.1\nallow_anonymous true\npersistence false\nmax_queued_messages 0\nmax_inflight_messages 0\nlog_dest none\n' "$PORT_BASE" >"$W/mosquitto.conf"
"${ON_BROKER[@]}" "$MOSQUITTO" -c "$W/mosquitto.conf" &
pids+=($!) urls+=(--url "mqtt://127.0.0.1:$PORT_BASE")

port=$PORT_BASE
for d in "$@"; do
  d=$(realpath "$d")
  port=$((port + 1))
  # LocalMQ in memory, defaults, as `startBroker()` and `npx localmq` run it
  cat >"$W/localmq-$port.mjs" <<JS
const { startBroker } = await import('$d/dist/index.js');
const broker = await startBroker({ ports: { amqp: 0, stomp: 0, mqtt: $port } });
process.on('SIGTERM', async () => { await broker.stop(); process.exit(0); });
JS
  "${ON_BROKER[@]}" node "$W/localmq-$port.mjs" >"$W/localmq-$port.log" 2>&1 &
  pids+=($!) urls+=(--url "mqtt://guest:guest@127.0.0.1:$port")
done
for u in $(seq "$PORT_BASE" "$port"); do
  for i in $(seq 1 100); do (exec 3<>/dev/tcp/127.0.0.1/"$u") 2>/dev/null && break; sleep 0.2; done
done

status=0
# shellcheck disable=SC2086
"${ON_CLIENT[@]}" node $CLIENT_FLAGS --import tsx bench/mqtt-e2e.ts "${urls[@]}" "${split[@]}" --rounds "$ROUNDS" --warmup "$WARMUP" --scenarios "$SCENARIOS" ${BENCH_ARGS:-} || status=$?
hz=$(getconf CLK_TCK)
echo
echo "broker CPU over the whole run (same messages through each; A = Mosquitto):"
label=A
for p in "${pids[@]}"; do
  awk -v hz="$hz" -v l="$label" '{ printf "  %s: %.1f s\n", l, ($14 + $15) / hz }' "/proc/$p/stat"
  label=$(echo "$label" | tr 'A-Y' 'B-Z')
done
exit $status
