#!/usr/bin/env bash
# The broker's own CPU per message: one LocalMQ process, its CPU time (utime + stime from
# /proc) read before and after each client run, so a client that costs more CPU than the
# broker (rhea) does not hide what the broker spends:
#   bench/amqp10/broker-cpu.sh [count] [rounds] [clients]     (default 100000, 1, "raw,raw091,rhea,amqplib")
# (clients alternate within a round, so load drift hits each alike)
# Each client runs bench/amqp10-e2e.ts's settled and unsettled scenarios, measured apart. Like with like for the broker: `raw`
# (AMQP 1.0, bench/lib/amqp10-load.ts) and `raw091` (AMQP 0-9-1, bench/lib/amqp091-load.ts) are
# twins: pre-encoded frames written in batches, deliveries counted undecoded, settled in bulk.
# `rhea` and `amqplib` show what the broker spends under the real client libraries.
# LocalMQ on $LM_PORT (24572). Run it under the bench lock at nice -20, e.g.
#   flock /work/bench.lock nice -n -20 bench/amqp10/broker-cpu.sh 100000 2
set -euo pipefail
cd "$(dirname "$0")/../.."
COUNT=${1:-100000}
ROUNDS=${2:-1}
CLIENTS=${3:-raw,raw091,rhea,amqplib}
LM_PORT=${LM_PORT:-24572}
URL="amqp://guest:guest@127.0.0.1:$LM_PORT"
LOG=$(mktemp /tmp/localmq-broker-cpu.XXXXXX)
node --import tsx bench/localmq-server.ts --amqp-port "$LM_PORT" >"$LOG" 2>&1 &
LM_PID=$!
trap 'kill $LM_PID 2>/dev/null || true; wait 2>/dev/null || true; rm -f "$LOG"' EXIT
for i in $(seq 1 120); do (exec 3<>/dev/tcp/127.0.0.1/$LM_PORT) 2>/dev/null && break; sleep 0.5; done
HZ=$(getconf CLK_TCK)
cpu() { awk '{print $14 + $15}' "/proc/$LM_PID/stat"; }
echo "# $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg); LocalMQ broker CPU per message, $COUNT x 1 KiB"
measure() { # label, messages the broker carried, command…
  local label=$1 n=$2
  shift 2
  local a b t0 t1
  a=$(cpu)
  t0=$(date +%s.%N)
  "$@" >/dev/null 2>&1
  t1=$(date +%s.%N)
  b=$(cpu)
  awk -v l="$label" -v j=$((b - a)) -v hz="$HZ" -v n="$n" -v s="$(echo "$t1 - $t0" | bc)" \
    'BEGIN { printf "  %-34s broker %6.1f us/msg (%5.1f s CPU over %d msgs, %.0f s wall)\n", l, j / hz / n * 1e6, j / hz, n, s }'
}
# warm-up, not measured: the broker's first messages pay for its JIT compilation (the first
# measured run of a fresh broker came out 1.4-1.6x the second)
for c in ${CLIENTS//,/ }; do
  node --import tsx bench/amqp10-e2e.ts --client "$c" --count 20000 --rounds 1 --url "$URL" >/dev/null 2>&1
done
for r in $(seq 1 "$ROUNDS"); do
  for s in settled unsettled; do
    for c in ${CLIENTS//,/ }; do
      measure "$c $s" "$COUNT" node --import tsx bench/amqp10-e2e.ts --client "$c" --scenarios "$s" --count "$COUNT" --rounds 1 --url "$URL"
    done
  done
done
