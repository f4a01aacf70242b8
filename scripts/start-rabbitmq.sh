#!/usr/bin/env bash
# Installs (if needed) and starts a real RabbitMQ (Debian package) bound to
# loopback only, for side-by-side benchmarks and behaviour checks against
# LocalMQ. Idempotent: running it while the node is up just reports status.
#
#   scripts/start-rabbitmq.sh          install if missing, configure, start, wait until ready
#   scripts/start-rabbitmq.sh stop     stop the node (and epmd) so 5672/4369/25672 are free
#   scripts/start-rabbitmq.sh status   exit 0 when the node answers
#
# Env: RABBITMQ_MANAGEMENT=1 also enables the management plugin (HTTP on
# 127.0.0.1:15672); off by default because it slows start-up and adds load.
# Needs root (apt-get, writing /etc/rabbitmq, switching to the rabbitmq user).
set -euo pipefail

CONF_DIR=/etc/rabbitmq
CONF_FILE=$CONF_DIR/rabbitmq.conf
AMQP_PORT=5672
# epmd is started by the Erlang VM and inherits this; without it epmd binds 0.0.0.0:4369.
export ERL_EPMD_ADDRESS=127.0.0.1,::1

log() { echo "[start-rabbitmq] $*" >&2; }

# The Debian wrappers in /usr/sbin switch to the rabbitmq user themselves when run as root.
node_up() {
  rabbitmqctl -q status >/dev/null 2>&1
}

install_if_missing() {
  if ! command -v rabbitmq-server >/dev/null 2>&1; then
    log "installing rabbitmq-server from Debian packages"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q
    # policy-rc.d in containers stops the package from starting the service; we start it below.
    apt-get install -y -q rabbitmq-server
  fi
}

write_config() {
  mkdir -p "$CONF_DIR"
  local want
  want=$(cat <<EOF
# Written by scripts/start-rabbitmq.sh: loopback only.
listeners.tcp.1 = 127.0.0.1:$AMQP_PORT
listeners.tcp.2 = ::1:$AMQP_PORT
distribution.listener.interface = 127.0.0.1
loopback_users.guest = true
EOF
)
  if [ ! -f "$CONF_FILE" ] || [ "$(cat "$CONF_FILE")" != "$want" ]; then
    printf '%s\n' "$want" > "$CONF_FILE"
    log "wrote $CONF_FILE"
  fi
}

enable_management() {
  if [ "${RABBITMQ_MANAGEMENT:-0}" = "1" ]; then
    grep -q 'management.tcp.ip' "$CONF_FILE" || {
      printf 'management.tcp.ip = 127.0.0.1\nmanagement.tcp.port = 15672\n' >> "$CONF_FILE"
    }
    # --offline edits the enabled-plugins file without needing a running node.
    rabbitmq-plugins enable --offline rabbitmq_management >/dev/null
  fi
}

start() {
  install_if_missing
  if node_up; then
    log "already running"
    return 0
  fi
  write_config
  enable_management
  log "starting node"
  # -detached returns at once; readiness is awaited below.
  su rabbitmq -s /bin/sh -c "cd /var/lib/rabbitmq && ERL_EPMD_ADDRESS='$ERL_EPMD_ADDRESS' HOME=/var/lib/rabbitmq /usr/lib/rabbitmq/bin/rabbitmq-server -detached"
  local i
  for i in $(seq 1 60); do
    if node_up; then break; fi
    sleep 1
  done
  rabbitmqctl -q await_startup --timeout 60 >/dev/null
  # The AMQP listener can lag await_startup by a moment on slow machines.
  for i in $(seq 1 30); do
    if (exec 3<>/dev/tcp/127.0.0.1/$AMQP_PORT) 2>/dev/null; then
      log "ready: amqp://guest:guest@127.0.0.1:$AMQP_PORT ($(rabbitmqctl -q version 2>/dev/null || echo '?'))"
      return 0
    fi
    sleep 1
  done
  log "node started but port $AMQP_PORT is not accepting connections; see /var/log/rabbitmq"
  return 1
}

stop() {
  if node_up; then
    log "stopping node"
    # shutdown (unlike stop) waits for the VM to exit.
    rabbitmqctl -q shutdown >/dev/null 2>&1 || true
  else
    log "not running"
  fi
  # epmd outlives the node; kill it only when no other Erlang node is registered.
  if command -v epmd >/dev/null 2>&1; then
    if epmd -names 2>/dev/null | grep -q '^name '; then
      log "epmd still has registered nodes; leaving it"
    else
      epmd -kill >/dev/null 2>&1 || true
    fi
  fi
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) node_up && { log "running"; exit 0; } || { log "not running"; exit 1; } ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac
