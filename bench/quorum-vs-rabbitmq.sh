#!/usr/bin/env bash
# Quorum queues, LocalMQ against RabbitMQ (Debian's 3.10.8) in one run: persistent publishes
# with confirms to a quorum queue, consumed and acked meanwhile, 16 B and 1 KiB, both brokers
# on a data dir, alternating rounds (bench/amqp-e2e.ts --scenarios quorum). Both brokers and
# the clients are started here, so under `flock /work/bench.lock nice -n -20` all share the
# priority:
#
#   flock /work/bench.lock nice -n -20 bench/quorum-vs-rabbitmq.sh [BASE_PORT] [COUNT] [ROUNDS]
#
# Each size starts with one short warm-up round per broker (not counted: the first run on a
# fresh RabbitMQ node and a fresh Node.js process is slower for reasons that are not the queue),
# then ROUNDS alternating rounds; it prints the median of each side, the B/A ratio of the
# medians, and each round's B/A ratio (A and B of the same round) with their spread.
#
# BASE_PORT (default 23600): RabbitMQ AMQP on BASE, its distribution on BASE+1, its epmd on
# BASE+2, LocalMQ AMQP on BASE+10. State under /tmp/localmq-quorum-bench (removed first).
# Needs root and rabbitmq-server (apt-get install rabbitmq-server).
set -euo pipefail
# a session (autogroup) of its own, so the nice -20 counts against the other sessions' work (bench/lib/own-autogroup.sh)
. "$(dirname "$0")/lib/own-autogroup.sh"
cd "$(dirname "$0")/.."

BASE=${1:-23600}
COUNT=${2:-50000}
ROUNDS=${3:-5}
DIR=/tmp/localmq-quorum-bench
RMQ_PORT=$BASE
LMQ_PORT=$((BASE + 10))
export ERL_EPMD_PORT=$((BASE + 2)) ERL_EPMD_ADDRESS=127.0.0.1
export RABBITMQ_NODENAME=quorum-bench@localhost RABBITMQ_NODE_IP_ADDRESS=127.0.0.1 RABBITMQ_NODE_PORT=$RMQ_PORT
export RABBITMQ_DIST_PORT=$((BASE + 1)) RABBITMQ_MNESIA_BASE=$DIR/rabbitmq/mnesia RABBITMQ_LOG_BASE=$DIR/rabbitmq/log
export RABBITMQ_CONFIG_FILE=$DIR/rabbitmq/rabbitmq RABBITMQ_ENABLED_PLUGINS_FILE=$DIR/rabbitmq/enabled_plugins
export RABBITMQ_PID_FILE=$DIR/rabbitmq/pid HOME=$DIR/rabbitmq

rm -rf "$DIR" && mkdir -p "$DIR/rabbitmq/mnesia" "$DIR/rabbitmq/log" "$DIR/localmq"
printf 'loopback_users = none\nlisteners.tcp.1 = 127.0.0.1:%s\n' "$RMQ_PORT" > "$DIR/rabbitmq/rabbitmq.conf"
echo '[].' > "$DIR/rabbitmq/enabled_plugins"
cp /var/lib/rabbitmq/.erlang.cookie "$DIR/rabbitmq/.erlang.cookie" 2>/dev/null || echo benchcookie > "$DIR/rabbitmq/.erlang.cookie"
chmod 400 "$DIR/rabbitmq/.erlang.cookie"
chown -R rabbitmq:rabbitmq "$DIR/rabbitmq"

stop_all() {
  [ -n "${LMQ_PID:-}" ] && kill "$LMQ_PID" 2>/dev/null || true
  rabbitmqctl -q stop >/dev/null 2>&1 || true
  [ -n "${RMQ_PID:-}" ] && kill "$RMQ_PID" 2>/dev/null || true
  epmd -port "$ERL_EPMD_PORT" -kill >/dev/null 2>&1 || true
}
trap stop_all EXIT

rabbitmq-server > "$DIR/rabbitmq/stdout" 2>&1 &
RMQ_PID=$!
for _ in $(seq 1 120); do
  rabbitmqctl -q await_startup >/dev/null 2>&1 && break
  sleep 1
done
rabbitmqctl -q await_startup
RMQ_VERSION=$(rabbitmqctl -q version 2>/dev/null || echo '?')

node --import tsx bench/localmq-server.ts --amqp-port "$LMQ_PORT" --data-dir "$DIR/localmq" > "$DIR/localmq.out" 2>&1 &
LMQ_PID=$!
for _ in $(seq 1 60); do
  grep -q '^amqp://' "$DIR/localmq.out" 2>/dev/null && break
  sleep 0.5
done

echo "RabbitMQ $RMQ_VERSION (A, 127.0.0.1:$RMQ_PORT) vs LocalMQ (B, 127.0.0.1:$LMQ_PORT), quorum queues on data dirs"
for SIZE in 16 1024; do
  echo "== $SIZE B, $COUNT messages, warm-up then $ROUNDS rounds"
  node --import tsx bench/amqp-e2e.ts --url "amqp://guest:guest@127.0.0.1:$RMQ_PORT" --url "amqp://guest:guest@127.0.0.1:$LMQ_PORT" \
    --scenarios quorum --size "$SIZE" --count 5000 --rounds 2 --json > /dev/null 2>&1
  node --import tsx bench/amqp-e2e.ts --url "amqp://guest:guest@127.0.0.1:$RMQ_PORT" --url "amqp://guest:guest@127.0.0.1:$LMQ_PORT" \
    --scenarios quorum --size "$SIZE" --count "$COUNT" --rounds "$ROUNDS" 2> "$DIR/rounds-$SIZE.txt"
  cat "$DIR/rounds-$SIZE.txt"
  # per round: B/A of that round's two runs; then their median, min and max
  awk '/^round/ { split($2, r, "/"); v[r[1] "," $3] = $(NF-1) }
       END { n = 0; for (k in v) { split(k, p, ","); if (p[2] == "A" && ((p[1] ",B") in v)) x[++n] = v[p[1] ",B"] / v[k] }
             for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (x[j] < x[i]) { t = x[i]; x[i] = x[j]; x[j] = t }
             s = ""; for (i = 1; i <= n; i++) s = s sprintf(" %.2f", x[i])
             printf "per-round B/A (sorted):%s; median %.2f, spread %.2f-%.2f\n", s, (n % 2 ? x[(n + 1) / 2] : (x[n / 2] + x[n / 2 + 1]) / 2), x[1], x[n] }' "$DIR/rounds-$SIZE.txt"
done
