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
# FRESH=1: every LocalMQ protocol-round on a fresh broker: a new data dir, the broker started, that one protocol
# published, the broker stopped (LocalMQ and BEFORE alike; RabbitMQ stays up and runs the same protocol in the
# same round): each round is then a broker's first, the case where the journal has made no segment ahead yet.
# ROUND0 (default 1): the first round's number, so that the results of several runs can be joined for one report.
# TRACE=1: what the broker and the kernel did during each gap. Every LocalMQ broker runs under strace (its file
# syscalls, every thread, start time and duration: <broker dir>/strace.txt; strace stops it only at those calls,
# seccomp-bpf: a few hundred per round), `perf record` takes every uninterruptible sleep of the broker, ext4's
# journal threads (none on a journal-less ext4) and the probes with its kernel stack (<broker dir>/perf.txt, or
# WORK/trace/ without FRESH; monotonic clock: WORK/trace/mono-offset-ns turns it into epoch time), and
# bench/lib/broker-pauses.ts, preloaded, logs the broker's GC pauses and event-loop stalls (<broker dir>/pauses.jsonl);
# bench/confirm-gap-trace.ts then prints, for each gap over 100 ms, what of these overlapped it.
# PAUSES=1 (default: as TRACE): the pause log alone, without strace and perf (the broker otherwise as untraced).
# The order of the brokers in a round (LocalMQ, RabbitMQ, BEFORE) turns by one place each round.
# PROFILE=1 (FRESH): each LocalMQ broker also under `node --cpu-prof` (and the pause log); bench/confirm-stall-profile.ts
# then shows what the loop ran in each stall of 25 ms or more while the publisher ran (the profiler costs some speed).
# DISK_LOAD="--mb-per-s N --sync-every-ms M ...": another process writing and fdatasync-ing on the same file system
# during all rounds (bench/lib/disk-load.ts): a "busy" run; without it a "quiet" one.
# RABBITMQ=0: LocalMQ alone (no ratio; for more rounds of point 3d's gaps per lock hold: a round takes a third of the time).
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
# the node's name carries BASE_PORT: two runs on other ports (two engineers) must not stop each other's node
NODE=confirmlat$P@localhost
export RABBITMQ_NODENAME=$NODE RABBITMQ_CONFIG_FILE=$W/rabbit/rabbitmq RABBITMQ_ENABLED_PLUGINS_FILE=$W/rabbit/enabled_plugins \
  RABBITMQ_MNESIA_BASE=$W/rabbit/mnesia RABBITMQ_LOG_BASE=$W/rabbit/log RABBITMQ_DIST_PORT=$((P+30)) RABBITMQ_NODE_PORT=$((P+20)) \
  RABBITMQ_PID_FILE=$W/rabbit/node.pid RABBITMQ_CTL_DIST_PORT_MIN=$((P+31)) RABBITMQ_CTL_DIST_PORT_MAX=$((P+39)) ERL_EPMD_ADDRESS=127.0.0.1
RABBITMQ=${RABBITMQ:-1}
[ "$RABBITMQ" = 0 ] || ( nohup rabbitmq-server > "$W/rabbit/server.out" 2>&1 < /dev/null & )

# ---- LocalMQ: the built CLI on a data dir (fsynced journal), other listeners off
# start_lmq DIST DIR PORT: a broker of the checkout DIST on DIR/data, its AMQP on PORT (STOMP, MQTT, HTTP after it)
TRACE=${TRACE:-0}
PROFILE=${PROFILE:-0}
PAUSES=${PAUSES:-$TRACE}
[ "$PROFILE" = 0 ] || PAUSES=1
if [ "$PAUSES" != 0 ]; then
  # compiled to JavaScript, not run through tsx: `--import tsx` in the broker would put every module the broker
  # loads later (its protocols', lazily, at the first connections) through tsx's loader thread, a cost the
  # untraced broker does not have (session 18: 118-225 ms per protocol's first connection with tsx, 42-92 without)
  npx tsc --outDir "$W/preload" --rootDir bench/lib --module nodenext --moduleResolution nodenext --target es2022 \
    --types node --skipLibCheck bench/lib/broker-pauses.ts
  echo '{"type":"module"}' > "$W/preload/package.json"
fi
TRACED_CALLS=pwrite64,pwritev,pwritev2,pread64,fdatasync,fsync,sync_file_range,openat,rename,renameat,renameat2,ftruncate,fallocate,unlink,unlinkat
start_lmq() {
  local dist=$1 dir=$2 port=$3 tracer=()
  mkdir -p "$dir"
  local preload=() prof=()
  # PROFILE=1: its CPU profile (main thread: <dir>/CPU.*.0.*.cpuprofile), for bench/confirm-stall-profile.ts
  [ "$PROFILE" = 0 ] || prof=(--cpu-prof --cpu-prof-dir "$dir" --cpu-prof-interval 200)
  [ "$TRACE" = 0 ] || tracer=(strace -f --seccomp-bpf -tt -T -e "trace=$TRACED_CALLS" -o "$dir/strace.txt")
  # its GC pauses and event-loop stalls (bench/lib/broker-pauses.ts, compiled above), written when it exits
  [ "$PAUSES" = 0 ] || preload=(--import "$W/preload/broker-pauses.js")
  # worked out first: the background job then forks nothing but the broker (its only child under strace)
  local off
  off=$(node "$dist/dist/cli/main.js" start --help | grep -oE -- '--[a-z0-9-]+-port <' | sed 's/ <//' | sort -u | grep -vE -- '--(amqp|stomp|mqtt|http)-port' | sed 's/$/ off/')
  BROKER_PAUSES_OUT="$dir/pauses.jsonl" "${tracer[@]}" node "${prof[@]}" "${preload[@]}" "$dist/dist/cli/main.js" start --data-dir "$dir/data" --run-dir "$dir" --log-level warn \
    --amqp-port "$port" --stomp-port $((port+1)) --mqtt-port $((port+2)) --http-port $((port+3)) $off \
    > "$dir/out.log" 2>&1 < /dev/null &
  local pid=$!
  # under strace, the broker is strace's child: its pid is the one to stop and to read /proc/<pid>/io of
  if [ "$TRACE" != 0 ]; then
    local child=
    for _ in $(seq 1 200); do child=$(pgrep -P "$pid") && break; sleep 0.05; done
    pid=$child
  fi
  echo "$pid"
}
await_lmq() { for _ in $(seq 1 240); do grep -q "is running" "$1/out.log" 2>/dev/null && return 0; sleep 0.25; done; echo "LocalMQ in $1 did not start" >&2; return 1; }
io_written() { awk '/^write_bytes:/ {print $2}' "/proc/$1/io" 2>/dev/null || echo 0; }
stop_lmq() { [ -n "$1" ] || return 0; kill "$1" 2>/dev/null || true; while kill -0 "$1" 2>/dev/null; do sleep 0.1; done; }
FRESH=${FRESH:-0}
ROUND0=${ROUND0:-1}
LMQ_PID=
BEFORE_PID=
if [ "$FRESH" = 0 ]; then
  LMQ_PID=$(start_lmq . "$W/lmq" $P)
  [ -z "${BEFORE:-}" ] || BEFORE_PID=$(start_lmq "$BEFORE" "$W/before" $((P+10)))
fi
PERF_PID=
PERF_OUT=
if [ "$TRACE" != 0 ] || [ "$PROFILE" != 0 ]; then
  mkdir -p "$W/trace"
  # epoch ns - CLOCK_MONOTONIC ns (process.hrtime is CLOCK_MONOTONIC, as perf's -k monotonic)
  node -e 'console.log(String(BigInt(Math.round((performance.timeOrigin + performance.now()) * 1e6)) - process.hrtime.bigint()))' > "$W/trace/mono-offset-ns"
fi
# start_perf OUT PIDS: every switch of these processes (the broker(s), ext4's journal threads, the probes) into an
# uninterruptible sleep (prev_state D), with its kernel stack, into OUT/perf.data (the whole machine's were too many)
start_perf() {
  [ "$TRACE" != 0 ] || return 0
  local pids=$2
  for p in $(pgrep '^jbd2/') $PROBE_PIDS; do pids="$pids,$p"; done
  perf record -q -e sched:sched_switch --filter 'prev_state & 2' -g -k monotonic -p "$pids" -o "$1/perf.data" > "$1/perf.out" 2>&1 &
  PERF_PID=$!
  PERF_OUT=$1
}
stop_perf() {
  [ -n "$PERF_PID" ] || return 0
  kill -INT "$PERF_PID" 2>/dev/null || true
  while kill -0 "$PERF_PID" 2>/dev/null; do sleep 0.1; done
  PERF_PID=
  perf script -i "$PERF_OUT/perf.data" -F comm,pid,tid,time,trace,ip,sym --ns > "$PERF_OUT/perf.txt" 2>/dev/null || true
  rm -f "$PERF_OUT/perf.data"
}
PROBE_PIDS=
stop_probes() {
  [ -n "$PROBE_PIDS" ] || return 0
  kill -TERM $PROBE_PIDS 2>/dev/null || true
  for pid in $PROBE_PIDS; do while kill -0 "$pid" 2>/dev/null; do sleep 0.2; done; done
  PROBE_PIDS=
}
cleanup() {
  stop_probes
  stop_perf
  stop_lmq "$LMQ_PID"; stop_lmq "$BEFORE_PID"; [ ! -s "$W/fresh.pid" ] || stop_lmq "$(cat "$W/fresh.pid")"
  [ "$RABBITMQ" = 0 ] || rabbitmqctl -n "$NODE" stop >/dev/null 2>&1 || true
}
trap cleanup EXIT
if [ "$FRESH" = 0 ]; then await_lmq "$W/lmq"; [ -z "$BEFORE_PID" ] || await_lmq "$W/before"; fi
# the node registers with epmd a moment after it starts: ask until it answers
if [ "$RABBITMQ" != 0 ]; then
  for _ in $(seq 1 120); do rabbitmqctl -q -n "$NODE" await_startup --timeout 5 >/dev/null 2>&1 && break; sleep 1; done
  for _ in $(seq 1 60); do (exec 3<>/dev/tcp/127.0.0.1/$((P+22))) 2>/dev/null && break; sleep 0.5; done
fi
echo "$([ "$RABBITMQ" = 0 ] && echo 'No RabbitMQ;' || echo "RabbitMQ $(rabbitmqctl -n "$NODE" version) and") LocalMQ $(node dist/cli/main.js --version) up; $COUNT x $SIZE B, $PUBLISHERS publisher(s) per protocol, $ROUNDS rounds$([ "$FRESH" = 0 ] || echo ', a fresh LocalMQ per protocol-round')" >&2

lmq=(--label localmq --amqp amqp://guest:guest@127.0.0.1:$P --stomp stomp://guest:guest@127.0.0.1:$((P+1)) --mqtt mqtt://127.0.0.1:$((P+2)))
rmq=(--label rabbitmq-3.10 --amqp amqp://guest:guest@127.0.0.1:$((P+20)) --stomp stomp://guest:guest@127.0.0.1:$((P+21)) --mqtt mqtt://127.0.0.1:$((P+22)))
# the disk's own sync latency beside every round (bench/fsync-probe.ts): node directly, so that the
# TERM reaches the probe (npx/tsx would stand between)
if [ "${PROBE:-1}" != 0 ]; then
  mkdir -p "$W/probe"
  for mode in append overwrite; do
    node --import tsx bench/fsync-probe.ts --mode $mode --file "$W/probe/$mode.dat" > "$W/probe/$mode.jsonl" 2>"$W/probe/$mode.err" &
    PROBE_PIDS="$PROBE_PIDS $!"
    echo "$! $mode" >> "$W/probe/pids"
  done
  # the overwrite probe writes its 16 MiB of zeros first: start the rounds once both sync
  for _ in $(seq 1 300); do grep -qs ready "$W/probe/overwrite.err" && grep -qs ready "$W/probe/append.err" && break; sleep 0.1; done
fi
# DISK_LOAD="<bench/lib/disk-load.ts flags>": a busy disk from the first round to the last (its file under WORK, on the
# data dirs' file system), in the default I/O class (another process's work, not the bench's `ionice -c1`); stopped with
# the probes (with TRACE=1 perf takes its sleeps too), its summary (what it wrote, its own syncs' p50/p99/max) in
# WORK/probe/load.json and in the report
if [ -n "${DISK_LOAD:-}" ]; then
  mkdir -p "$W/probe"
  # shellcheck disable=SC2086 # the flags, split as given
  ionice -c2 -n4 nice -n 19 node --import tsx bench/lib/disk-load.ts --file "$W/probe/load.dat" $DISK_LOAD > "$W/probe/load.json" 2>"$W/probe/load.err" &
  PROBE_PIDS="$PROBE_PIDS $!"
  echo "$! disk-load" >> "$W/probe/pids"
  for _ in $(seq 1 600); do grep -qs ready "$W/probe/load.err" && break; sleep 0.1; done
  echo "disk load: $DISK_LOAD" >&2
fi
[ "$FRESH" != 0 ] || start_perf "$W/trace" "$LMQ_PID${BEFORE_PID:+,$BEFORE_PID}"
before=(--label localmq-before --amqp amqp://guest:guest@127.0.0.1:$((P+10)) --stomp stomp://guest:guest@127.0.0.1:$((P+11)) --mqtt mqtt://127.0.0.1:$((P+12)))
# run_one WHO ROUND PROTOCOLS: one publisher run; with FRESH, a LocalMQ broker of its own around it
run_one() {
  local who=$1 r=$2 protocols=$3 pid=
  [ "$who" = before ] && [ -z "${BEFORE:-}" ] && return 0
  if [ "$FRESH" != 0 ] && [ "$who" != rmq ]; then
    local dir="$W/$who/r$r-$protocols"
    if [ "$who" = lmq ]; then pid=$(start_lmq . "$dir" $P); else pid=$(start_lmq "$BEFORE" "$dir" $((P+10))); fi
    echo "$pid" > "$W/fresh.pid"
    await_lmq "$dir" || { stop_lmq "$pid"; return 1; }
    start_perf "$dir" "$pid"
  fi
  declare -n args=$who
  # the broker's own device writes during its round (/proc/<pid>/io write_bytes): its records, and any
  # zero-filling of segments made meanwhile (a fresh broker's, or the one broker of its build kept for all rounds)
  local wb0= extra= wpid=$pid
  if [ -z "$wpid" ]; then case $who in lmq) wpid=$LMQ_PID ;; before) wpid=$BEFORE_PID ;; esac; fi
  [ -z "$wpid" ] || wb0=$(io_written "$wpid")
  local out
  out=$(timeout 240 npx tsx bench/confirm-latency.ts "${args[@]}" --count "$COUNT" --size "$SIZE" --publishers "$PUBLISHERS" --protocols "$protocols") || echo "round $r $who $protocols failed" >&2
  [ -z "$wb0" ] || extra="\"brokerWriteBytes\":$(( $(io_written "$wpid") - wb0 )),"
  [ -z "$out" ] || echo "$out" | sed "s/^/{\"round\":$r,$([ "$FRESH" = 0 ] || echo '"fresh":true,')$extra/; s/,{/,/"
  [ -z "$pid" ] || stop_perf
  stop_lmq "$pid"
  # its journal is no longer needed (30 rounds would keep ~1 GB); its log stays
  [ -z "$pid" ] || rm -rf "$dir/data" "$W/fresh.pid"
}
# who runs, in the order of the first round; each round starts one further along, so that over as many rounds as
# there are brokers each takes each place once (a fixed order gave one place a slower AMQP p99 in 8 of 10 rounds,
# whichever build sat there: s17-verify 3.10, 3.14)
brokers=(lmq)
[ "$RABBITMQ" = 0 ] || brokers+=(rmq)
[ -z "${BEFORE:-}" ] || brokers+=(before)
for r in $(seq "$ROUND0" $((ROUND0 + ROUNDS - 1))); do
  k=$(( (r - 1) % ${#brokers[@]} ))
  order=("${brokers[@]:k}" "${brokers[@]:0:k}")
  if [ "$FRESH" = 0 ]; then
    for who in "${order[@]}"; do run_one "$who" "$r" amqp,stomp,mqtt; done
  else
    for protocol in amqp stomp mqtt; do
      for who in "${order[@]}"; do run_one "$who" "$r" "$protocol"; done
    done
  fi
done | tee "$W/results.jsonl"
stop_probes
stop_perf
npx tsx bench/confirm-latency-report.ts "$W/results.jsonl" $( [ "${PROBE:-1}" != 0 ] && echo "$W/probe/append.jsonl $W/probe/overwrite.jsonl") | tee "$W/report.txt"
[ -z "${DISK_LOAD:-}" ] || echo "disk load ($DISK_LOAD): $(cat "$W/probe/load.json")" | tee -a "$W/report.txt"
[ "$PAUSES" = 0 ] && [ "$TRACE" = 0 ] || npx tsx bench/confirm-gap-trace.ts "$W" | tee "$W/gap-trace.txt"
[ "$PROFILE" = 0 ] || npx tsx bench/confirm-stall-profile.ts "$W" | tee "$W/stall-profile.txt"
