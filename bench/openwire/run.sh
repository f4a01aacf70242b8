#!/usr/bin/env bash
# JMS throughput with the same ActiveMQ client against LocalMQ and Debian's ActiveMQ, one run:
#   bench/openwire/run.sh [count] [size]     (default 100000 x 1024 B)
# ROUNDS=n alternates the brokers n times per mode and prints each one's median;
# PCOUNT=n sends n persistent messages instead of count (persistent runs are slow); MODES="true"
# runs only the persistent mode ("false" only the non-persistent one).
# Needs java/javac and Debian's libactivemq-java and activemq packages. Ports 25616 (LocalMQ)
# and 25626 (ActiveMQ) on loopback; both brokers keep their data under a temp dir.
# Run it as `flock /work/bench.lock nice -n -20 bench/openwire/run.sh …` on a shared machine:
# it moves itself into a session (autogroup) of its own with that niceness (bench/lib/own-autogroup.sh).
set -euo pipefail
. "$(dirname "$0")/../lib/own-autogroup.sh"
cd "$(dirname "$0")/../.."
COUNT=${1:-100000}
SIZE=${2:-1024}
J=/usr/share/java
CP="$J/activemq-client.jar:$J/geronimo-jms_1.1_spec.jar:$J/geronimo-j2ee-management-1.1-spec.jar:$J/hawtbuf.jar:$J/slf4j-api.jar:$J/slf4j-nop.jar"
WORK=$(mktemp -d /tmp/localmq-jms-bench.XXXXXX)
javac -nowarn -d "$WORK/classes" -cp "$CP" bench/openwire/JmsThroughput.java
CP="$WORK/classes:$CP"
LM_PORT=${LM_PORT:-25616}
AMQ_PORT=${AMQ_PORT:-25626}

# LocalMQ on a data dir (persistent sends are answered once on disk)
[ -f dist/cli/main.js ] || npm run build >/dev/null
node dist/cli/main.js start --engine activemq --data-dir "$WORK/localmq" --openwire-port "$LM_PORT" \
  --openwire-ssl-port off --amqp10-port off --amqp10s-port off --stomp-port off --stomps-port off --mqtt-port off \
  --mqtts-port off --wss-port off --console-port off --api-port off --log-level warn &
LM_PID=$!
# ActiveMQ 5.17 (Debian), its config with the OpenWire connector moved to our port
mkdir -p "$WORK/amq/conf" "$WORK/amq/data"
cp /etc/activemq/instances-available/main/* "$WORK/amq/conf/"
sed -i "s#tcp://127.0.0.1:61616#tcp://127.0.0.1:$AMQ_PORT#" "$WORK/amq/conf/activemq.xml"
java -Xms512M -Xmx512M --add-opens java.base/java.lang=ALL-UNNAMED --add-opens java.base/java.util=ALL-UNNAMED \
  --add-opens java.base/java.util.concurrent=ALL-UNNAMED --add-opens java.base/java.net=ALL-UNNAMED \
  -Dactivemq.classpath="$WORK/amq/conf" -Dactivemq.home=/usr/share/activemq -Dactivemq.base="$WORK/amq" \
  -Dactivemq.conf="$WORK/amq/conf" -Dactivemq.data="$WORK/amq/data" \
  -jar /usr/share/activemq/bin/activemq.jar start "xbean:file:$WORK/amq/conf/activemq.xml" >"$WORK/amq.log" 2>&1 &
AMQ_PID=$!
trap 'kill $LM_PID $AMQ_PID 2>/dev/null; wait 2>/dev/null; rm -rf "$WORK"' EXIT
for p in "$LM_PORT" "$AMQ_PORT"; do
  for i in $(seq 1 120); do (exec 3<>/dev/tcp/127.0.0.1/$p) 2>/dev/null && break; sleep 0.5; done
done
ROUNDS=${ROUNDS:-1}
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
for mode in ${MODES:-false true}; do
  n=$COUNT
  [ "$mode" = true ] && n=${PCOUNT:-$COUNT}
  : >"$WORK/lm.$mode"
  : >"$WORK/amq.$mode"
  for r in $(seq 1 "$ROUNDS"); do
    # the broker measured second in a round does a little worse (seen on LocalMQ against itself):
    # odd rounds start with LocalMQ, even rounds with ActiveMQ
    if [ $((r % 2)) -eq 1 ]; then
      lm=$(java -cp "$CP" JmsThroughput tcp://127.0.0.1:$LM_PORT "$n" "$SIZE" $mode)
      amq=$(java -cp "$CP" JmsThroughput tcp://127.0.0.1:$AMQ_PORT "$n" "$SIZE" $mode)
    else
      amq=$(java -cp "$CP" JmsThroughput tcp://127.0.0.1:$AMQ_PORT "$n" "$SIZE" $mode)
      lm=$(java -cp "$CP" JmsThroughput tcp://127.0.0.1:$LM_PORT "$n" "$SIZE" $mode)
    fi
    echo "round $r LocalMQ:   $lm"
    echo "round $r ActiveMQ:  $amq"
    echo "$lm" | awk '{ print $3 }' >>"$WORK/lm.$mode"
    echo "$amq" | awk '{ print $3 }' >>"$WORK/amq.$mode"
  done
  l=$(median <"$WORK/lm.$mode")
  a=$(median <"$WORK/amq.$mode")
  echo "MEDIAN $([ "$mode" = true ] && echo persistent || echo non-persistent): LocalMQ $l msgs/s, ActiveMQ $a msgs/s, ratio $(awk -v l="$l" -v a="$a" 'BEGIN { printf "%.2f", l / a }') (LocalMQ $(tr '\n' ' ' <"$WORK/lm.$mode")/ ActiveMQ $(tr '\n' ' ' <"$WORK/amq.$mode"))"
done
