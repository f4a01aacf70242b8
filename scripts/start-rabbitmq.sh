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
# RABBITMQ_PLUGINS=stomp,mqtt (either or both) enables the STOMP plugin on
# 127.0.0.1:61613 and/or the MQTT plugin on 127.0.0.1:1883; on a node that is
# already running they are enabled live, still bound to loopback only.
# Needs root (apt-get, writing /etc/rabbitmq, switching to the rabbitmq user).
set -euo pipefail

CONF_DIR=/etc/rabbitmq
CONF_FILE=$CONF_DIR/rabbitmq.conf
AMQP_PORT=5672
STOMP_PORT=61613
MQTT_PORT=1883
ENABLED_PLUGINS_FILE=$CONF_DIR/enabled_plugins
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

# The protocol plugins asked for in RABBITMQ_PLUGINS, as rabbitmq plugin names.
requested_plugins() {
  local p
  local list=${RABBITMQ_PLUGINS:-}
  for p in ${list//,/ }; do
    case "$p" in
      stomp) echo rabbitmq_stomp ;;
      mqtt) echo rabbitmq_mqtt ;;
      *) log "unknown plugin '$p' in RABBITMQ_PLUGINS (known: stomp, mqtt)"; exit 2 ;;
    esac
  done
}

# Requested or already enabled: the config must pin every enabled protocol
# plugin to loopback, and must not name a plugin that is off (the node refuses
# settings that no enabled plugin declares).
plugin_on() {
  requested_plugins | grep -qx "$1" || { [ -f "$ENABLED_PLUGINS_FILE" ] && grep -q "$1" "$ENABLED_PLUGINS_FILE"; }
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
  if plugin_on rabbitmq_stomp; then want+=$'\n'"stomp.listeners.tcp.1 = 127.0.0.1:$STOMP_PORT"; fi
  if plugin_on rabbitmq_mqtt; then want+=$'\n'"mqtt.listeners.tcp.1 = 127.0.0.1:$MQTT_PORT"; fi
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

# On a running node rabbitmq.conf is not read again: pin the listeners to
# loopback in the plugins' application env, then enable them.
enable_plugins_live() {
  local names
  names=$(requested_plugins | tr '\n' ' ')
  [ -n "$names" ] || return 0
  rabbitmqctl -q eval "
    application:load(rabbitmq_stomp), application:load(rabbitmq_mqtt),
    application:set_env(rabbitmq_stomp, tcp_listeners, [{\"127.0.0.1\", $STOMP_PORT}]),
    application:set_env(rabbitmq_mqtt, tcp_listeners, [{\"127.0.0.1\", $MQTT_PORT}])." >/dev/null
  # shellcheck disable=SC2086
  rabbitmq-plugins -q enable $names >/dev/null
  write_config
  log "enabled $names"
}

enable_plugins_offline() {
  local names
  names=$(requested_plugins | tr '\n' ' ')
  [ -n "$names" ] || return 0
  # shellcheck disable=SC2086
  rabbitmq-plugins enable --offline $names >/dev/null
}

start() {
  install_if_missing
  if node_up; then
    log "already running"
    enable_plugins_live
    return 0
  fi
  write_config
  enable_management
  enable_plugins_offline
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
