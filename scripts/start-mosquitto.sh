#!/usr/bin/env bash
# Starts a Mosquitto (Debian package, 2.0.11 on this machine) on loopback for
# side-by-side MQTT benchmarks against LocalMQ and RabbitMQ's MQTT plugin.
# Anonymous clients allowed, no persistence, no logging of every packet.
#
#   scripts/start-mosquitto.sh          start on 127.0.0.1:${MOSQUITTO_PORT:-1884} (idempotent)
#   scripts/start-mosquitto.sh stop     stop the instance this script started
#   scripts/start-mosquitto.sh status   exit 0 when it is running
#
# Port 1884 by default so it does not collide with RabbitMQ's MQTT plugin on 1883.
# State (config, pid file, log) lives in ${MOSQUITTO_DIR:-/tmp/localmq-mosquitto}.
set -euo pipefail

PORT=${MOSQUITTO_PORT:-1884}
DIR=${MOSQUITTO_DIR:-/tmp/localmq-mosquitto}
CONF=$DIR/mosquitto.conf
PID_FILE=$DIR/mosquitto.pid
LOG_FILE=$DIR/mosquitto.log

log() { echo "[start-mosquitto] $*" >&2; }

running() {
  [ -f "$PID_FILE" ] && kill -0 "$(cat "$PID_FILE")" 2>/dev/null
}

start() {
  command -v mosquitto >/dev/null 2>&1 || { log "mosquitto is not installed (apt-get install mosquitto)"; exit 1; }
  if running; then
    log "already running (pid $(cat "$PID_FILE")) on 127.0.0.1:$PORT"
    return 0
  fi
  mkdir -p "$DIR"
  : > "$LOG_FILE"
  cat > "$CONF" <<CONF
# Written by scripts/start-mosquitto.sh
listener $PORT 127.0.0.1
allow_anonymous true
persistence false
log_dest stderr
log_type error
log_type warning
# The bench's QoS 1 window and queued QoS 0 bursts must not be cut short by the defaults.
max_inflight_messages 0
max_queued_messages 0
CONF
  # Run as the invoking user; -d would daemonise but then we could not record the pid reliably.
  nohup mosquitto -c "$CONF" >>"$LOG_FILE" 2>&1 &
  echo $! > "$PID_FILE"
  local i
  for i in $(seq 1 50); do
    if (exec 3<>/dev/tcp/127.0.0.1/"$PORT") 2>/dev/null; then
      log "ready: mqtt://127.0.0.1:$PORT ($({ mosquitto -h 2>&1 || true; } | head -1))"
      return 0
    fi
    running || { log "mosquitto exited; see $LOG_FILE"; exit 1; }
    sleep 0.1
  done
  log "port $PORT is not accepting connections; see $LOG_FILE"
  return 1
}

stop() {
  if running; then
    kill "$(cat "$PID_FILE")"
    log "stopped"
  else
    log "not running"
  fi
  rm -f "$PID_FILE"
}

case "${1:-start}" in
  start) start ;;
  stop) stop ;;
  status) running && { log "running on 127.0.0.1:$PORT"; exit 0; } || { log "not running"; exit 1; } ;;
  *) echo "usage: $0 [start|stop|status]" >&2; exit 2 ;;
esac
