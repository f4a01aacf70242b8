#!/usr/bin/env bash
# Confirm latency, LocalMQ (the built CLI, on a data dir) against Debian's RabbitMQ in the
# same run, alternating, ROUNDS rounds (default 3): AMQP confirms, STOMP receipts, MQTT PUBACKs.
#
#   npm run build && flock /work/bench.lock nice -n -20 bash bench/confirm-latency.sh
#
# Env: BASE_PORT (default 27000; uses BASE_PORT..BASE_PORT+40), COUNT (100000), SIZE (16),
# ROUNDS (3), WORK (/tmp/confirm-latency), PUBLISHERS (1; N = N connections per protocol publishing
# at once, confirm-latency.ts --publishers); BEFORE=<another checkout with dist/> also runs that
# build as "localmq-before" (for before/after figures). Needs root for RabbitMQ (runs as the rabbitmq user).
# PROBE=0 leaves out the disk probes: by default two bench/fsync-probe.ts (append, overwrite; files under WORK,
# so on the data dirs' disk) run from the first round to the last, and the report says for every gap over
# 100 ms whether a slow probe sync overlapped it (the disk's) or not (ours). Report: bench/confirm-latency-report.ts.
set -euo pipefail
# a session (autogroup) of its own, so the nice -20 counts against the other sessions' work
# (bench/lib/own-autogroup.sh); the brokers and the clients all run in it
. "$(dirname "$0")/lib/own-autogroup.sh"
cd "$(dirname "$0")/.."
P=${BASE_PORT:-27000}
COUNT=${COUNT:-100000}
SIZE=${SIZE:-16}
ROUNDS=${ROUNDS:-3}
PUBLISHERS=${PUBLISHERS:-1}
W=${WORK:-/tmp/confirm-latency}
rm -rf "$W"; mkdir -p "$W/lmq" "$W/rabbit/mnesia" "$W/rabbit/log"

# ---- RabbitMQ: its own node, config, data and ports
cat > "$W/rabbit/rabbitmq.conf" <<CONF
listeners.tcp.1 = 127.0.0.1:$((P+20))
stomp.listeners.tcp.1 = 127.0.0.1:$((P+21))
mqtt.listeners.tcp.1 = 127.0.0.1:$((P+22))
distribution.listener.interface = 127.0.0.1
CONF
echo '[rabbitmq_stomp,rabbitmq_mqtt].' > "$W/rabbit/enabled_plugins"
chown -R rabbitmq:rabbitmq "$W/rabbit"
export RABBITMQ_NODENAME=confirmlat@localhost RABBITMQ_CONFIG_FILE=$W/rabbit/rabbitmq RABBITMQ_ENABLED_PLUGINS_FILE=$W/rabbit/enabled_plugins \
  RABBITMQ_MNESIA_BASE=$W/rabbit/mnesia RABBITMQ_LOG_BASE=$W/rabbit/log RABBITMQ_DIST_PORT=$((P+30)) RABBITMQ_NODE_PORT=$((P+20)) \
  RABBITMQ_PID_FILE=$W/rabbit/node.pid RABBITMQ_CTL_DIST_PORT_MIN=$((P+31)) RABBITMQ_CTL_DIST_PORT_MAX=$((P+39)) ERL_EPMD_ADDRESS=127.0.0.1
( nohup rabbitmq-server > "$W/rabbit/server.out" 2>&1 < /dev/null & )

# ---- LocalMQ: the built CLI on a data dir (fsynced journal), other listeners off
node dist/cli/main.js start --data-dir "$W/lmq/data" --run-dir "$W/lmq" --log-level warn \
  --amqp-port $P --stomp-port $((P+1)) --mqtt-port $((P+2)) --http-port $((P+3)) \
  $(node dist/cli/main.js start --help | grep -oE -- '--[a-z0-9-]+-port <' | sed 's/ <//' | sort -u | grep -vE -- '--(amqp|stomp|mqtt|http)-port' | sed 's/$/ off/') \
  > "$W/lmq/out.log" 2>&1 < /dev/null &
LMQ_PID=$!
BEFORE_PID=
if [ -n "${BEFORE:-}" ]; then
  mkdir -p "$W/before"
  node "$BEFORE/dist/cli/main.js" start --data-dir "$W/before/data" --run-dir "$W/before" --log-level warn \
    --amqp-port $((P+10)) --stomp-port $((P+11)) --mqtt-port $((P+12)) --http-port $((P+13)) \
    $(node "$BEFORE/dist/cli/main.js" start --help | grep -oE -- '--[a-z0-9-]+-port <' | sed 's/ <//' | sort -u | grep -vE -- '--(amqp|stomp|mqtt|http)-port' | sed 's/$/ off/') \
    > "$W/before/out.log" 2>&1 < /dev/null &
  BEFORE_PID=$!
fi
PROBE_PIDS=
stop_probes() {
  [ -n "$PROBE_PIDS" ] || return 0
  kill -TERM $PROBE_PIDS 2>/dev/null || true
  for pid in $PROBE_PIDS; do while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done; done
  PROBE_PIDS=
}
cleanup() {
  stop_probes
  kill "$LMQ_PID" $BEFORE_PID 2>/dev/null || true
  rabbitmqctl -n confirmlat@localhost stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
for _ in $(seq 1 120); do grep -q "is running" "$W/lmq/out.log" 2>/dev/null && { [ -z "$BEFORE_PID" ] || grep -q "is running" "$W/before/out.log"; } && break; sleep 0.5; done
# the node registers with epmd a moment after it starts: ask until it answers
for _ in $(seq 1 120); do rabbitmqctl -q -n confirmlat@localhost await_startup --timeout 5 >/dev/null 2>&1 && break; sleep 1; done
for _ in $(seq 1 60); do (exec 3<>/dev/tcp/127.0.0.1/$((P+22))) 2>/dev/null && break; sleep 0.5; done
echo "RabbitMQ $(rabbitmqctl -n confirmlat@localhost version) and LocalMQ $(node dist/cli/main.js --version) up; $COUNT x $SIZE B, $PUBLISHERS publisher(s) per protocol, $ROUNDS rounds" >&2

lmq=(--label localmq --amqp amqp://guest:guest@127.0.0.1:$P --stomp stomp://guest:guest@127.0.0.1:$((P+1)) --mqtt mqtt://127.0.0.1:$((P+2)))
rmq=(--label rabbitmq-3.10 --amqp amqp://guest:guest@127.0.0.1:$((P+20)) --stomp stomp://guest:guest@127.0.0.1:$((P+21)) --mqtt mqtt://127.0.0.1:$((P+22)))
# the disk's own sync latency beside every round (bench/fsync-probe.ts): node directly, so that the
# TERM reaches the probe (npx/tsx would stand between)
if [ "${PROBE:-1}" != 0 ]; then
  mkdir -p "$W/probe"
  for mode in append overwrite; do
    node --import tsx bench/fsync-probe.ts --mode $mode --file "$W/probe/$mode.dat" > "$W/probe/$mode.jsonl" 2>"$W/probe/$mode.err" &
    PROBE_PIDS="$PROBE_PIDS $!"
  done
  # the overwrite probe writes its 16 MiB of zeros first: start the rounds once both sync
  for _ in $(seq 1 300); do grep -qs ready "$W/probe/overwrite.err" && grep -qs ready "$W/probe/append.err" && break; sleep 0.1; done
fi
before=(--label localmq-before --amqp amqp://guest:guest@127.0.0.1:$((P+10)) --stomp stomp://guest:guest@127.0.0.1:$((P+11)) --mqtt mqtt://127.0.0.1:$((P+12)))
for r in $(seq 1 "$ROUNDS"); do
  if [ $((r % 2)) -eq 1 ]; then order=(lmq rmq before); else order=(rmq before lmq); fi
  for who in "${order[@]}"; do
    [ "$who" = before ] && [ -z "$BEFORE_PID" ] && continue
    declare -n args=$who
    timeout 240 npx tsx bench/confirm-latency.ts "${args[@]}" --count "$COUNT" --size "$SIZE" --publishers "$PUBLISHERS" | sed "s/^/{\"round\":$r,/; s/,{/,/"
  done
done | tee "$W/results.jsonl"
stop_probes
npx tsx bench/confirm-latency-report.ts "$W/results.jsonl" $( [ "${PROBE:-1}" != 0 ] && echo "$W/probe/append.jsonl $W/probe/overwrite.jsonl") | tee "$W/report.txt"
