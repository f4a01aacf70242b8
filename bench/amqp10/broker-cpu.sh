#!/usr/bin/env bash
# The broker's own CPU per message: one LocalMQ process, its CPU time (utime + stime from
# /proc) read before and after each client run, so a client that costs more CPU than the
# broker (rhea) does not hide what the broker spends:
#   bench/amqp10/broker-cpu.sh [count] [rounds]      (default 100000, 1)
# Runs AMQP 1.0 through rhea, rhea sending a pre-encoded message, and the minimal load generator (settled and unsettled:
# the broker's CPU is summed over both, so per message is over 2 × count), then AMQP 0-9-1
# through amqplib (amqp-e2e throughput: an unconfirmed publisher, a consumer acking every 100).
# LocalMQ on $LM_PORT (24572). Run it under the bench lock as a session of its own, e.g.
#   flock /work/bench.lock setsid bash -c 'echo -20 > /proc/self/autogroup; exec nice -n -20 bench/amqp10/broker-cpu.sh'
# (with the kernel's autogroup scheduling, nice alone counts only inside a session).
set -euo pipefail
cd "$(dirname "$0")/../.."
COUNT=${1:-100000}
ROUNDS=${2:-1}
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
for r in $(seq 1 "$ROUNDS"); do
  measure "AMQP 1.0 rhea (settled+unsettled)" $((2 * COUNT)) node --import tsx bench/amqp10-e2e.ts --client rhea --count "$COUNT" --rounds 1 --url "$URL"
  measure "AMQP 1.0 rhea-pre (settled+unsettled)" $((2 * COUNT)) node --import tsx bench/amqp10-e2e.ts --client rhea-pre --count "$COUNT" --rounds 1 --url "$URL"
  measure "AMQP 1.0 raw (settled+unsettled)" $((2 * COUNT)) node --import tsx bench/amqp10-e2e.ts --client raw --count "$COUNT" --rounds 1 --url "$URL"
  measure "AMQP 0-9-1 amqplib (throughput)" "$COUNT" node --import tsx bench/amqp-e2e.ts --url "$URL" --count "$COUNT" --size 1024 --scenarios throughput --rounds 1
done
