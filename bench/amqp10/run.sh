#!/usr/bin/env bash
# AMQP 1.0 throughput, LocalMQ against Debian's RabbitMQ 3.10 (rabbitmq_amqp1_0), and against LocalMQ's
# own AMQP 0-9-1 in the same harness, in one run with both brokers started here (so `flock … nice -n -20`
# covers them):
#   bench/amqp10/run.sh [count] [rounds] [clients]     (default 100000, 3 rounds, clients "rhea,amqplib")
# clients: a comma list for bench/amqp10-e2e.ts --client (rhea, rhea-pre, raw, amqplib); every client
# runs against every broker, alternating. RABBIT=0 runs LocalMQ alone, e.g. the like-with-like pairing
#   RABBIT=0 bench/amqp10/run.sh 100000 3 rhea,amqplib
# and the comparison with RabbitMQ 3.10's plugin
#   bench/amqp10/run.sh 100000 3 rhea
# Ports: LocalMQ AMQP (0-9-1 and 1.0) on $LM_PORT (24572), RabbitMQ on $RABBIT_PORT (24672, its
# distribution port +1); RabbitMQ's node keeps its data under a temp dir and is stopped at the end.
# Under the bench lock, at nice -20 (bench/README.md; where the kernel schedules by autogroup, as a
# session of its own: setsid bash -c 'echo -20 > /proc/self/autogroup; exec nice -n -20 …'):
#   flock /work/bench.lock nice -n -20 bench/amqp10/run.sh 100000 3 rhea,amqplib
set -euo pipefail
cd "$(dirname "$0")/../.."
COUNT=${1:-100000}
ROUNDS=${2:-3}
CLIENTS=${3:-rhea,amqplib}
LM_PORT=${LM_PORT:-24572}
RABBIT_PORT=${RABBIT_PORT:-24672}
WORK=$(mktemp -d /tmp/localmq-amqp10-bench.XXXXXX)
chmod 755 "$WORK"

node --import tsx bench/localmq-server.ts --amqp-port "$LM_PORT" >"$WORK/localmq.log" 2>&1 &
LM_PID=$!
# a private RabbitMQ node with the AMQP 1.0 plugin, loopback only
R=$WORK/rabbit
URLS=(--url "amqp://guest:guest@127.0.0.1:$LM_PORT")
if [ "${RABBIT:-1}" != 0 ]; then URLS+=(--url "amqp://guest:guest@127.0.0.1:$RABBIT_PORT"); fi
mkdir -p "$R/mnesia" "$R/log"
echo "[rabbitmq_amqp1_0]." >"$R/enabled_plugins"
cat >"$R/rabbitmq.conf" <<C
listeners.tcp.1 = 127.0.0.1:$RABBIT_PORT
distribution.listener.interface = 127.0.0.1
loopback_users.guest = false
C
chown -R rabbitmq:rabbitmq "$R"
export ERL_EPMD_ADDRESS=127.0.0.1 RABBITMQ_NODENAME=amqp10bench@localhost RABBITMQ_NODE_PORT=$RABBIT_PORT \
  RABBITMQ_DIST_PORT=$((RABBIT_PORT + 1)) RABBITMQ_MNESIA_BASE=$R/mnesia RABBITMQ_LOG_BASE=$R/log \
  RABBITMQ_CONFIG_FILE=$R/rabbitmq.conf RABBITMQ_ENABLED_PLUGINS_FILE=$R/enabled_plugins RABBITMQ_PID_FILE=$R/pid
if [ "${RABBIT:-1}" != 0 ]; then HOME=$R rabbitmq-server >"$WORK/rabbit.out" 2>&1 & fi
stop() {
  [ "${RABBIT:-1}" = 0 ] || HOME=$R rabbitmqctl -n amqp10bench@localhost stop >/dev/null 2>&1 || true
  kill "$LM_PID" 2>/dev/null || true
  wait 2>/dev/null || true
  rm -rf "$WORK"
}
trap stop EXIT
for p in "$LM_PORT" $([ "${RABBIT:-1}" != 0 ] && echo "$RABBIT_PORT"); do
  for i in $(seq 1 120); do (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null && break; sleep 0.5; done
done
echo "# $(date -u +%FT%TZ) load $(cut -d' ' -f1-3 /proc/loadavg)"
node --import tsx bench/amqp10-e2e.ts --client "$CLIENTS" --count "$COUNT" --rounds "$ROUNDS" "${URLS[@]}"
